#include "pipeline/serving/serving_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "pipeline/serving/serving_inputs.h"

namespace sluice::serving {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status::Ok() : Errno("fsync", path);
}

// Temp files of an export that died half-way: nobody else writes them
// (exports of one lakehouse are serialized), so they can go.
void SweepTemps(const fs::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) == 0) fs::remove(it->path(), ec);
  }
}

Result<std::int64_t> QueryInt(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  if (st->Step() != SQLITE_ROW) return Status::Internal(st->error());
  return st->Int(0);
}

// Undoes a half-done export: the transaction, the attachment, the file.
class TempExport {
 public:
  TempExport(Database& db, std::string path) : db_(db), path_(std::move(path)) {}
  ~TempExport() {
    if (in_tx_) (void)db_.Exec("ROLLBACK");
    if (attached_) (void)db_.Exec("DETACH DATABASE out");
    if (!kept_) {
      ::unlink(path_.c_str());
      ::unlink((path_ + "-journal").c_str());
    }
  }
  const std::string& path() const { return path_; }
  bool attached_ = false;
  bool in_tx_ = false;
  bool kept_ = false;

 private:
  Database& db_;
  std::string path_;
};

std::atomic<std::uint64_t> temp_counter{0};

// The lakehouse as a file: a stamped one is sluice's; an unstamped one
// cannot be told apart from one that tables were put in by hand, so only
// another application's id (or a file that is no database) is refused.
Status CheckLakehouseFile(Database& lake) {
  const char* name = sqlite3_db_filename(lake.handle(), "main");
  if (name == nullptr || *name == '\0') return Status::Ok();  // in memory
  static const DatabaseKind kAnyLakehouse{"sluice lakehouse", "tables", [](const DatabaseContents&) {
                                            return true;
                                          }};
  return InspectDatabaseFile(name, kAnyLakehouse).status();
}

// The lakehouse's serving_ tables and views, by name; NotFound when there
// is none.
Result<std::vector<std::string>> ServingTables(Database& lake) {
  std::vector<std::string> names;
  auto st = lake.Prepare(
      "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
      "AND substr(name, 1, 8) = 'serving_' ORDER BY name");
  if (!st.ok()) return st.status();
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) names.emplace_back(st->Text(0));
  if (rc != SQLITE_DONE) return Status::Internal(st->error());
  if (names.empty()) return Status::NotFound("the lakehouse has no serving_ tables to export");
  return names;
}

// Attaches the temp file as `out` (rollback journal, synchronous, stamped
// as sluice's) and opens the copy's transaction.
Status AttachTemp(Database& lake, TempExport& temp) {
  {
    auto attach = lake.Prepare("ATTACH DATABASE ?1 AS out");
    if (!attach.ok()) return attach.status();
    attach->Bind(1, temp.path());
    if (auto s = attach->Run(); !s.ok()) return Status::IOError("cannot create " + temp.path() + ": " + s.message());
    temp.attached_ = true;
  }
  if (auto s = lake.Exec("PRAGMA out.journal_mode = DELETE; PRAGMA out.synchronous = FULL"); !s.ok())
    return s;
  if (auto s = StampApplicationId(lake, "out"); !s.ok()) return s;
  if (auto s = lake.Exec("BEGIN"); !s.ok()) return s;
  temp.in_tx_ = true;
  return Status::Ok();
}

// Copies each table into `out`, counting rows into `report`.
Status CopyTables(Database& lake, const std::vector<std::string>& names,
                  const std::function<bool()>& cancelled, ExportReport* report) {
  for (const std::string& name : names) {
    if (cancelled && cancelled()) return Status::Unavailable("export cancelled");
    std::string q = QuoteIdentifier(name);
    if (auto s = lake.Exec("CREATE TABLE out." + q + " AS SELECT * FROM main." + q); !s.ok())
      return Status::IOError("copying " + name + ": " + s.message());
    auto rows = QueryInt(lake, "SELECT count(*) FROM out." + q);
    if (!rows.ok()) return rows.status();
    report->tables.push_back({name, *rows});
    report->rows += *rows;
  }
  return Status::Ok();
}

// One row (version, now, tables, rows) into `table`; with `inputs` (the
// lakehouse's own counter) the serving tables' inputs too.
Status InsertExportRow(Database& lake, const std::string& table, const ExportReport& report,
                       const std::optional<std::string>* inputs = nullptr) {
  auto ins = lake.Prepare("INSERT INTO " + table + " (version, exported_at, tables, rows" +
                          (inputs ? ", inputs" : "") + ") VALUES (?1, strftime('%Y-%m-%d %H:%M:%S', 'now'), ?2, ?3" +
                          (inputs ? ", ?4" : "") + ")");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, report.version).Bind(2, static_cast<std::int64_t>(report.tables.size())).Bind(3, report.rows);
  if (inputs != nullptr) ins->BindOptional(4, inputs->has_value() ? std::string_view(**inputs) : std::string_view());
  return ins->Run();
}

// The version of the export at `serving_path` (its _sluice_export), or 0
// when there is no file or it cannot be read.
std::int64_t PublishedVersion(const std::string& serving_path) {
  std::error_code ec;
  if (!fs::is_regular_file(serving_path, ec)) return 0;
  Database serving;
  if (!serving.Open(serving_path, /*read_only=*/true).ok()) return 0;
  auto v = QueryInt(serving, std::string("SELECT max(version) FROM ") + kExportMetaTable);
  return v.ok() ? *v : 0;
}

// Whether the last export of this lakehouse had these inputs and its file is
// still at `serving_path`: then *last is filled and there is nothing to do.
Result<bool> Unchanged(Database& lake, const std::string& serving_path, const std::optional<std::string>& inputs,
                       ExportReport* last) {
  if (!inputs) return false;
  auto st = lake.Prepare("SELECT version, rows, inputs FROM main._sluice_exports ORDER BY version DESC LIMIT 1");
  if (!st.ok()) return st.status();
  int rc = st->Step();
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return Status::IOError(st->error());
  if (st->IsNull(2) || st->Text(2) != *inputs) return false;
  if (PublishedVersion(serving_path) != st->Int(0)) return false;
  last->published = false;
  last->version = st->Int(0);
  last->rows = st->Int(1);
  last->reason = "no serving table changed since export " + std::to_string(last->version);
  return true;
}

// The export's version (the lakehouse's count, plus one) into `report` and
// into the new file's _sluice_export.
Status WriteExportMeta(Database& lake, ExportReport* report) {
  auto version = QueryInt(lake, "SELECT coalesce(max(version), 0) + 1 FROM main._sluice_exports");
  if (!version.ok()) return version.status();
  report->version = *version;
  const std::string meta = std::string("out.") + kExportMetaTable;
  if (auto s = lake.Exec("CREATE TABLE " + meta +
                         " (version INTEGER NOT NULL, exported_at TEXT NOT NULL, "
                         "tables INTEGER NOT NULL, rows INTEGER NOT NULL)");
      !s.ok())
    return s;
  return InsertExportRow(lake, meta, *report);
}

// Commits and detaches the temp file.
Status CloseTemp(Database& lake, TempExport& temp) {
  if (auto s = lake.Exec("COMMIT"); !s.ok()) return s;
  temp.in_tx_ = false;
  if (auto s = lake.Exec("DETACH DATABASE out"); !s.ok()) return s;
  temp.attached_ = false;
  return Status::Ok();
}

// Fsyncs the temp file, renames it over `serving_path` and fsyncs the
// folder; the new file's size goes into `report`.
Status Publish(TempExport& temp, const std::string& serving_path, const fs::path& dir, ExportReport* report) {
  if (auto s = FsyncPath(temp.path(), O_RDONLY); !s.ok()) return s;
  struct stat st {};
  if (::stat(temp.path().c_str(), &st) == 0) report->bytes = st.st_size;
  if (::rename(temp.path().c_str(), serving_path.c_str()) != 0)
    return Errno("rename " + temp.path() + " to", serving_path);
  temp.kept_ = true;
  return FsyncPath(dir.string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace

const DatabaseKind& ServingDatabase() {
  static const DatabaseKind kind{
      "sluice serving database", std::string("a table ") + kExportMetaTable + " and user_version 0",
      [](const DatabaseContents& c) { return c.user_version == 0 && c.HasTable(kExportMetaTable); }};
  return kind;
}

Result<ExportReport> ExportServing(Database& lake, const std::string& serving_path,
                                   const std::function<bool()>& cancelled, bool force) {
  fs::path target(serving_path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  // Before anything is created or written: both files must be sluice's.
  if (auto owner = InspectDatabaseFile(serving_path, ServingDatabase()); !owner.ok())
    return owner.status();
  if (auto s = CheckLakehouseFile(lake); !s.ok()) return s;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
  const std::string temp_prefix = target.filename().string() + ".tmp-";
  SweepTemps(dir, temp_prefix);

  auto names = ServingTables(lake);
  if (!names.ok()) return names.status();
  if (auto s = lake.Exec(
          "CREATE TABLE IF NOT EXISTS _sluice_exports (version INTEGER PRIMARY KEY, "
          "exported_at TEXT NOT NULL, tables INTEGER NOT NULL, rows INTEGER NOT NULL, inputs TEXT)");
      !s.ok())
    return s;
  // A lakehouse opened without its migrations (lakehouse_schema.h) may lack
  // the inputs column: then every export publishes.
  auto has_inputs = QueryInt(lake, "SELECT count(*) FROM pragma_table_info('_sluice_exports') WHERE name = 'inputs'");
  if (!has_inputs.ok()) return has_inputs.status();
  std::optional<std::string> inputs;
  if (*has_inputs) {
    auto read = ServingInputs(lake, *names);
    if (!read.ok()) return read.status();
    inputs = std::move(*read);
    ExportReport last;
    auto unchanged = Unchanged(lake, serving_path, inputs, &last);
    if (!unchanged.ok()) return unchanged.status();
    if (*unchanged && !force) return last;
  }

  TempExport temp(lake, (dir / (temp_prefix + std::to_string(::getpid()) + "-" +
                                std::to_string(temp_counter.fetch_add(1))))
                            .string());
  if (auto s = AttachTemp(lake, temp); !s.ok()) return s;
  ExportReport report;
  if (auto s = CopyTables(lake, *names, cancelled, &report); !s.ok()) return s;
  if (auto s = WriteExportMeta(lake, &report); !s.ok()) return s;
  if (auto s = CloseTemp(lake, temp); !s.ok()) return s;
  // The counter moves first: a crash between here and the rename skips a
  // version number, which is harmless; the reverse could repeat one.
  if (auto s = InsertExportRow(lake, "_sluice_exports", report, *has_inputs ? &inputs : nullptr); !s.ok()) return s;
  if (auto s = Publish(temp, serving_path, dir, &report); !s.ok()) return s;
  return report;
}

}  // namespace sluice::serving
