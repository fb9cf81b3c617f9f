#include "pipeline/lakehouse/raw_loader.h"

#include <climits>
#include <cstdint>
#include <limits>

#include "pipeline/lakehouse/csv_reader.h"
#include "pipeline/lakehouse/gzip_reader.h"
#include "pipeline/lakehouse/ingest_date.h"
#include "pipeline/lakehouse/json_records.h"
#include "pipeline/lakehouse/landing_glob.h"
#include "pipeline/lakehouse/load_ledger.h"
#include "pipeline/lakehouse/prefetch_source.h"
#include "pipeline/lakehouse/raw_table.h"
#include "pipeline/lakehouse/status_context.h"

namespace sluice::lakehouse {
namespace {

constexpr std::int64_t kCancelCheckRows = 65536;  // a power of two: checked with a mask

// One landing file being loaded.
struct FileLoad {
  const RawSource& source;
  std::string rel;          // relative to the landing dir: _source_file
  std::string abs;
  std::string ingest_date;  // _ingest_date
  const std::function<bool()>& cancelled;
  bool was_cancelled = false;
  std::int64_t rows = 0;
  std::int64_t load_id = 0;  // _load_id
};

std::string InsertSql(const std::string& table, const std::vector<std::string>& columns) {
  std::string sql = "INSERT INTO " + QuoteIdentifier(table) + " (";
  std::string values;
  for (const auto& c : columns) {
    sql += QuoteIdentifier(c) + ", ";
    values += "?, ";
  }
  sql += QuoteIdentifier(kSourceFileColumn) + ", " + QuoteIdentifier(kIngestDateColumn) + ", " +
         QuoteIdentifier(kLoadIdColumn) + ") VALUES (" + values + "?, ?, ?)";
  return sql;
}

// Binds the three metadata columns (after `n` data columns) for the whole file.
void BindMeta(sqlite3_stmt* h, int n, const FileLoad& f) {
  sqlite3_bind_text(h, n + 1, f.rel.data(), static_cast<int>(f.rel.size()), SQLITE_STATIC);
  sqlite3_bind_text(h, n + 2, f.ingest_date.data(), static_cast<int>(f.ingest_date.size()), SQLITE_STATIC);
  sqlite3_bind_int64(h, n + 3, f.load_id);
}

bool CheckCancel(FileLoad& f) {
  if ((f.rows & (kCancelCheckRows - 1)) == 0 && f.cancelled && f.cancelled()) {
    f.was_cancelled = true;
    return true;
  }
  return false;
}

Status LoadCsv(sluice::Database& db, FileLoad& f) {
  auto gz = GzipFileReader::Open(f.abs);
  if (!gz.ok()) return gz.status();
  // Inflating runs on its own thread, ahead of parsing and inserting.
  std::unique_ptr<ByteSource> bytes = PrefetchSource::Wrap(std::move(gz).value());
  CsvReader csv(*bytes);
  Status s = csv.ReadHeader();
  if (!s.ok()) return s;
  const auto& header = csv.header();
  if (header.empty()) return Status::Ok();  // an empty file
  s = ValidateColumnNames(header);
  if (!s.ok()) return Status::InvalidArgument("line " + std::to_string(csv.header_line()) + ": " + s.message());
  s = EnsureRawTable(db, f.source.table, header, "TEXT");
  if (!s.ok()) return s;
  auto insert = db.Prepare(InsertSql(f.source.table, header));
  if (!insert.ok()) return insert.status();
  sqlite3_stmt* h = insert->handle();
  const int n = static_cast<int>(header.size());
  BindMeta(h, n, f);
  for (;;) {
    auto more = csv.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    const auto& fields = csv.fields();
    for (int i = 0; i < n; ++i) {
      const CsvField& v = fields[static_cast<std::size_t>(i)];
      if (v.null)
        sqlite3_bind_null(h, i + 1);
      else
        sqlite3_bind_text(h, i + 1, v.data, static_cast<int>(v.size), SQLITE_STATIC);
    }
    int rc = sqlite3_step(h);
    sqlite3_reset(h);
    if (rc != SQLITE_DONE)
      return Status::IOError("line " + std::to_string(csv.record_line()) + ": insert into " + f.source.table +
                             " failed: " + db.error());
    ++f.rows;
    if (CheckCancel(f)) return Status::Unavailable("cancelled");
  }
  return Status::Ok();
}

void BindJson(sqlite3_stmt* h, int i, const nlohmann::ordered_json& v) {
  using V = nlohmann::ordered_json::value_t;
  switch (v.type()) {
    case V::null:
    case V::discarded:
      sqlite3_bind_null(h, i);
      break;
    case V::boolean:
      sqlite3_bind_int(h, i, v.get<bool>() ? 1 : 0);
      break;
    case V::number_integer:
      sqlite3_bind_int64(h, i, v.get<std::int64_t>());
      break;
    case V::number_unsigned: {
      auto u = v.get<std::uint64_t>();
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        sqlite3_bind_int64(h, i, static_cast<std::int64_t>(u));
      else
        sqlite3_bind_double(h, i, static_cast<double>(u));
      break;
    }
    case V::number_float:
      sqlite3_bind_double(h, i, v.get<double>());
      break;
    case V::string: {
      const auto& s = v.get_ref<const std::string&>();
      sqlite3_bind_text(h, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
      break;
    }
    default: {  // object, array, binary: their JSON text
      std::string text = v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      sqlite3_bind_text(h, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      break;
    }
  }
}

Status LoadJson(sluice::Database& db, FileLoad& f) {
  auto gz = GzipFileReader::Open(f.abs);
  if (!gz.ok()) return gz.status();
  auto text = ReadAll(**gz);
  if (!text.ok()) return text.status();
  auto recs = ParseJsonRecords(*text, f.source.format, f.source.records);
  if (!recs.ok()) return recs.status();
  text = std::string();  // the DOM holds everything now
  if (recs->rows.empty()) return Status::Ok();
  Status s = ValidateColumnNames(recs->columns);
  if (!s.ok()) return s;
  s = EnsureRawTable(db, f.source.table, recs->columns, "");
  if (!s.ok()) return s;
  auto insert = db.Prepare(InsertSql(f.source.table, recs->columns));
  if (!insert.ok()) return insert.status();
  sqlite3_stmt* h = insert->handle();
  const int n = static_cast<int>(recs->columns.size());
  BindMeta(h, n, f);
  std::int64_t k = 0;
  for (const auto& row : recs->rows) {
    ++k;
    for (int i = 1; i <= n; ++i) sqlite3_bind_null(h, i);
    for (auto it = row.begin(); it != row.end(); ++it) BindJson(h, recs->ColumnOf(it.key()) + 1, it.value());
    int rc = sqlite3_step(h);
    sqlite3_reset(h);
    if (rc != SQLITE_DONE)
      return Status::IOError("record " + std::to_string(k) + ": insert into " + f.source.table +
                             " failed: " + db.error());
    ++f.rows;
    if (CheckCancel(f)) return Status::Unavailable("cancelled");
  }
  return Status::Ok();
}

}  // namespace

Result<LoadReport> LoadRaw(sluice::Database& db, const std::vector<RawSource>& sources,
                           const std::string& landing_dir, const std::function<bool()>& cancelled) {
  FolderLandingFiles folder(landing_dir);
  return LoadRaw(db, sources, folder, cancelled);
}

Result<LoadReport> LoadRaw(sluice::Database& db, const std::vector<RawSource>& sources, LandingFiles& landing,
                           const std::function<bool()>& cancelled) {
  LoadReport report;
  if (db.handle() == nullptr) return Status::InvalidArgument("LoadRaw: the lakehouse is not open");
  LoadLedger ledger;
  Status s = ledger.Open(db);
  if (!s.ok()) return s;
  auto loaded_before = [&report]() {
    return std::to_string(report.files_loaded) + (report.files_loaded == 1 ? " file" : " files") +
           " loaded before it stay loaded";
  };

  for (const RawSource& source : sources) {
    auto files = landing.Find(source.glob);
    if (!files.ok()) return files.status();
    for (const std::string& rel : *files) {
      if (cancelled && cancelled())
        return Status::Unavailable("cancelled before " + rel + "; " + loaded_before());
      auto known = ledger.Contains(rel);
      if (!known.ok()) return known.status();
      if (*known) {
        ++report.files_skipped;
        continue;
      }
      auto fetched = landing.Fetch(rel);
      if (!fetched.ok()) return WithContext(fetched.status(), rel + ": ");
      const std::string abs = std::move(fetched).value();
      auto date = IngestDate(rel, abs);
      if (!date.ok()) return date.status();
      FileLoad f{source, rel, abs, *date, cancelled};

      s = db.Exec("BEGIN IMMEDIATE");
      if (!s.ok()) return Status::IOError(rel + ": cannot begin a transaction: " + s.message());
      auto load_id = ledger.NextLoadId();
      if (load_id.ok())
        f.load_id = *load_id;
      else
        s = load_id.status();
      if (s.ok()) s = source.format == RawFormat::kCsv ? LoadCsv(db, f) : LoadJson(db, f);
      if (s.ok()) s = ledger.Record(rel, source.table, f.rows, f.load_id);
      if (s.ok()) s = db.Exec("COMMIT");
      if (!s.ok()) {
        (void)db.Exec("ROLLBACK");
        if (f.was_cancelled)
          return Status::Unavailable("cancelled while loading " + rel + " (rolled back after " +
                                     std::to_string(f.rows) + " rows); " + loaded_before());
        return WithContext(s, rel + ": ");
      }
      report.files.push_back(LoadedFile{rel, source.table, f.rows});
      ++report.files_loaded;
      report.rows_loaded += f.rows;
    }
  }
  return report;
}

}  // namespace sluice::lakehouse
