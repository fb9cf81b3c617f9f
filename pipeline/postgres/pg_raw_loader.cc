#include "pipeline/postgres/pg_raw_loader.h"

#include <cstdint>
#include <set>

#include "pipeline/lakehouse/csv_reader.h"
#include "pipeline/lakehouse/gzip_reader.h"
#include "pipeline/lakehouse/ingest_date.h"
#include "pipeline/lakehouse/json_records.h"
#include "pipeline/lakehouse/prefetch_source.h"
#include "pipeline/lakehouse/raw_table.h"
#include "pipeline/lakehouse/status_context.h"
#include "pipeline/postgres/pg_lakehouse.h"

namespace sluice::postgres {
namespace {

using lakehouse::RawFormat;
using lakehouse::RawSource;

constexpr std::int64_t kCancelCheckRows = 65536;  // a power of two: checked with a mask
constexpr std::size_t kCopyChunk = 1 << 20;
constexpr std::size_t kMaxIdentifier = 63;        // NAMEDATALEN - 1

struct FileLoad {
  const RawSource& source;
  std::string rel;
  std::string abs;
  std::string ingest_date;
  const std::function<bool()>& cancelled;
  bool was_cancelled = false;
  std::int64_t rows = 0;
  std::int64_t load_id = 0;
};

// Appends `v` in COPY's text format. False when it holds a NUL byte.
bool AppendEscaped(std::string& out, const char* v, std::size_t n) {
  std::size_t run = 0;  // bytes [i - run, i) need no escape
  for (std::size_t i = 0; i < n; ++i) {
    const char c = v[i];
    const char* esc = nullptr;
    switch (c) {
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\0': return false;
      default: ++run; continue;
    }
    out.append(v + i - run, run);
    run = 0;
    out.append(esc, 2);
  }
  out.append(v + n - run, run);
  return true;
}

// The folded column names, checked for what PostgreSQL cannot take.
Result<std::vector<std::string>> PgColumns(const std::vector<std::string>& names) {
  Status s = lakehouse::ValidateColumnNames(names);
  if (!s.ok()) return s;
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (n.size() > kMaxIdentifier)
      return Status::InvalidArgument("column name '" + n.substr(0, 40) + "...' is longer than PostgreSQL's " +
                                     std::to_string(kMaxIdentifier) + " bytes");
    out.push_back(lakehouse::FoldCase(n));
  }
  return out;
}

// Creates raw.<table>, or adds the columns it lacks.
Status EnsureTable(PgConnection& c, const std::string& table, const std::vector<std::string>& columns) {
  auto have = c.Query("SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                      {std::string(kRawSchema), table});
  if (!have.ok()) return have.status();
  const std::string qt = RawTable(table);
  if (have->rows() == 0) {
    std::string sql = "CREATE TABLE " + qt + " (";
    for (const std::string& col : columns) sql += QuoteIdent(col) + " text, ";
    sql += QuoteIdent(lakehouse::kSourceFileColumn) + " text, " + QuoteIdent(lakehouse::kIngestDateColumn) +
           " text, " + QuoteIdent(lakehouse::kLoadIdColumn) + " bigint)";
    return c.Exec(sql);
  }
  std::set<std::string> existing;
  for (int i = 0; i < have->rows(); ++i) existing.insert(have->Text(i, 0));
  std::string alter;
  for (const std::string& col : columns)
    if (!existing.count(col)) alter += std::string(alter.empty() ? "" : ", ") + "ADD COLUMN " + QuoteIdent(col) + " text";
  if (!existing.count(std::string(lakehouse::kLoadIdColumn)))
    alter += std::string(alter.empty() ? "" : ", ") + "ADD COLUMN " + QuoteIdent(lakehouse::kLoadIdColumn) + " bigint";
  return alter.empty() ? Status::Ok() : c.Exec("ALTER TABLE " + qt + " " + alter);
}

std::string CopySql(const std::string& table, const std::vector<std::string>& columns) {
  std::string sql = "COPY " + RawTable(table) + " (";
  for (const std::string& col : columns) sql += QuoteIdent(col) + ", ";
  return sql + QuoteIdent(lakehouse::kSourceFileColumn) + ", " + QuoteIdent(lakehouse::kIngestDateColumn) + ", " +
         QuoteIdent(lakehouse::kLoadIdColumn) + ") FROM STDIN";
}

// The three metadata columns, the same on every row of the file.
std::string RowSuffix(const FileLoad& f) {
  std::string s = "\t";
  AppendEscaped(s, f.rel.data(), f.rel.size());
  s += "\t";
  AppendEscaped(s, f.ingest_date.data(), f.ingest_date.size());
  s += "\t" + std::to_string(f.load_id) + "\n";
  return s;
}

bool CheckCancel(FileLoad& f) {
  if ((f.rows & (kCancelCheckRows - 1)) == 0 && f.cancelled && f.cancelled()) {
    f.was_cancelled = true;
    return true;
  }
  return false;
}

// Streams rows through COPY: Add()s fill a buffer sent in 1 MiB messages.
class CopyStream {
 public:
  explicit CopyStream(PgConnection& c) : c_(c) { buf_.reserve(kCopyChunk + 4096); }
  Status Begin(const std::string& sql) {
    Status s = c_.CopyBegin(sql);
    open_ = s.ok();
    return s;
  }
  std::string& buffer() { return buf_; }
  Status MaybeFlush() {
    if (buf_.size() < kCopyChunk) return Status::Ok();
    Status s = c_.CopyPut(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }
  Result<std::int64_t> End() {
    open_ = false;
    if (!buf_.empty()) {
      if (Status s = c_.CopyPut(buf_.data(), buf_.size()); !s.ok()) return s;
      buf_.clear();
    }
    return c_.CopyEnd();
  }
  ~CopyStream() {
    if (open_) c_.CopyAbort("sluice: load abandoned");
  }

 private:
  PgConnection& c_;
  std::string buf_;
  bool open_ = false;
};

Status LoadCsv(PgConnection& c, FileLoad& f) {
  auto gz = lakehouse::GzipFileReader::Open(f.abs);
  if (!gz.ok()) return gz.status();
  std::unique_ptr<lakehouse::ByteSource> bytes = lakehouse::PrefetchSource::Wrap(std::move(gz).value());
  lakehouse::CsvReader csv(*bytes);
  Status s = csv.ReadHeader();
  if (!s.ok()) return s;
  if (csv.header().empty()) return Status::Ok();  // an empty file
  auto columns = PgColumns(csv.header());
  if (!columns.ok())
    return Status::InvalidArgument("line " + std::to_string(csv.header_line()) + ": " + columns.status().message());
  if (s = EnsureTable(c, f.source.table, *columns); !s.ok()) return s;
  CopyStream copy(c);
  if (s = copy.Begin(CopySql(f.source.table, *columns)); !s.ok()) return s;
  const std::string suffix = RowSuffix(f);
  const std::size_t n = columns->size();
  std::string& out = copy.buffer();
  for (;;) {
    auto more = csv.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    const auto& fields = csv.fields();
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) out += '\t';
      const lakehouse::CsvField& v = fields[i];
      if (v.null) {
        out += "\\N";
      } else if (!AppendEscaped(out, v.data, v.size)) {
        return Status::InvalidArgument("line " + std::to_string(csv.record_line()) + ": column " + (*columns)[i] +
                                       " holds a NUL byte, which PostgreSQL text cannot");
      }
    }
    out += suffix;
    ++f.rows;
    if (s = copy.MaybeFlush(); !s.ok()) return s;
    if (CheckCancel(f)) return Status::Unavailable("cancelled");
  }
  auto copied = copy.End();
  return copied.ok() ? Status::Ok() : copied.status();
}

// A JSON value as the text a raw column holds; false for null.
bool JsonText(const nlohmann::ordered_json& v, std::string* text) {
  using V = nlohmann::ordered_json::value_t;
  switch (v.type()) {
    case V::null:
    case V::discarded: return false;
    case V::boolean: *text = v.get<bool>() ? "1" : "0"; return true;
    case V::string: *text = v.get_ref<const std::string&>(); return true;
    case V::number_integer:
    case V::number_unsigned:
    case V::number_float:
    default: *text = v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace); return true;
  }
}

Status LoadJson(PgConnection& c, FileLoad& f) {
  auto gz = lakehouse::GzipFileReader::Open(f.abs);
  if (!gz.ok()) return gz.status();
  auto text = lakehouse::ReadAll(**gz);
  if (!text.ok()) return text.status();
  auto recs = lakehouse::ParseJsonRecords(*text, f.source.format, f.source.records);
  if (!recs.ok()) return recs.status();
  text = std::string();
  if (recs->rows.empty()) return Status::Ok();
  auto columns = PgColumns(recs->columns);
  if (!columns.ok()) return columns.status();
  Status s = EnsureTable(c, f.source.table, *columns);
  if (!s.ok()) return s;
  CopyStream copy(c);
  if (s = copy.Begin(CopySql(f.source.table, *columns)); !s.ok()) return s;
  const std::string suffix = RowSuffix(f);
  const std::size_t n = columns->size();
  std::vector<const nlohmann::ordered_json*> cells(n);
  std::string& out = copy.buffer();
  std::string value;
  std::int64_t k = 0;
  for (const auto& row : recs->rows) {
    ++k;
    std::fill(cells.begin(), cells.end(), nullptr);
    for (auto it = row.begin(); it != row.end(); ++it) cells[static_cast<std::size_t>(recs->ColumnOf(it.key()))] = &it.value();
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) out += '\t';
      if (cells[i] == nullptr || !JsonText(*cells[i], &value)) {
        out += "\\N";
      } else if (!AppendEscaped(out, value.data(), value.size())) {
        return Status::InvalidArgument("record " + std::to_string(k) + ": column " + (*columns)[i] +
                                       " holds a NUL character, which PostgreSQL text cannot");
      }
    }
    out += suffix;
    ++f.rows;
    if (s = copy.MaybeFlush(); !s.ok()) return s;
    if (CheckCancel(f)) return Status::Unavailable("cancelled");
  }
  auto copied = copy.End();
  return copied.ok() ? Status::Ok() : copied.status();
}

}  // namespace

Result<lakehouse::LoadReport> LoadRaw(PgConnection& c, const std::vector<RawSource>& sources,
                                      lakehouse::LandingFiles& landing, const std::function<bool()>& cancelled) {
  lakehouse::LoadReport report;
  if (Status s = EnsureLakehouse(c); !s.ok()) return s;
  auto loaded_before = [&report]() {
    return std::to_string(report.files_loaded) + (report.files_loaded == 1 ? " file" : " files") +
           " loaded before it stay loaded";
  };
  // What the ledger lists now; each file is checked again under the lock.
  std::set<std::string> known;
  {
    auto r = c.Query(std::string("SELECT path FROM ") + kLedgerTable);
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) known.insert(r->Text(i, 0));
  }
  c.SetCancelled(cancelled);
  struct Reset {
    PgConnection& c;
    ~Reset() { c.SetCancelled({}); }
  } reset{c};

  for (const RawSource& source : sources) {
    auto files = landing.Find(source.glob);
    if (!files.ok()) return files.status();
    for (const std::string& rel : *files) {
      if (cancelled && cancelled()) return Status::Unavailable("cancelled before " + rel + "; " + loaded_before());
      if (known.count(rel)) {
        ++report.files_skipped;
        continue;
      }
      auto fetched = landing.Fetch(rel);
      if (!fetched.ok()) return lakehouse::WithContext(fetched.status(), rel + ": ");
      const std::string abs = std::move(fetched).value();
      auto date = lakehouse::IngestDate(rel, abs);
      if (!date.ok()) return date.status();
      FileLoad f{source, rel, abs, *date, cancelled};

      PgTransaction tx(c);
      Status s = tx.Begin();
      bool skip = false;
      if (s.ok()) {
        auto again = c.Query(std::string("SELECT count(*) FROM ") + kLedgerTable + " WHERE path = $1", {rel});
        if (!again.ok()) s = again.status();
        else skip = again->Int(0, 0) > 0;  // another loader got there first
      }
      if (s.ok() && !skip) {
        auto id = c.QueryInt(std::string("SELECT coalesce(max(load_id), 0) + 1 FROM ") + kLedgerTable);
        if (id.ok()) f.load_id = *id;
        else s = id.status();
      }
      if (s.ok() && !skip) s = source.format == RawFormat::kCsv ? LoadCsv(c, f) : LoadJson(c, f);
      if (s.ok() && !skip) {
        auto rec = c.Query(std::string("INSERT INTO ") + kLedgerTable +
                               " (path, raw_table, rows, load_id) VALUES ($1, $2, $3, $4)",
                           {rel, source.table, std::to_string(f.rows), std::to_string(f.load_id)});
        if (!rec.ok()) s = rec.status();
      }
      if (s.ok()) s = tx.Commit();
      if (!s.ok()) {
        tx.Rollback();
        if (f.was_cancelled || s.code() == Code::kUnavailable)
          return Status::Unavailable("cancelled while loading " + rel + " (rolled back after " +
                                     std::to_string(f.rows) + " rows); " + loaded_before());
        return lakehouse::WithContext(s, rel + ": ");
      }
      if (skip) {
        ++report.files_skipped;
        continue;
      }
      report.files.push_back(lakehouse::LoadedFile{rel, source.table, f.rows});
      ++report.files_loaded;
      report.rows_loaded += f.rows;
    }
  }
  return report;
}

}  // namespace sluice::postgres
