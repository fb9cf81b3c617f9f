#include "pipeline/lakehouse/raw_table.h"

#include <cstdio>
#include <unordered_set>

#include "pipeline/lakehouse/json_records.h"

namespace sluice::lakehouse {
namespace {

// A name for an error message: quoted, at most 80 bytes, control bytes as \xNN.
std::string Shown(std::string_view s) {
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

}  // namespace

Status ValidateColumnNames(const std::vector<std::string>& names) {
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const std::string where = "column " + std::to_string(i + 1);
    if (n.empty()) return Status::InvalidArgument(where + ": empty column name");
    if (n.find('\0') != std::string::npos)
      return Status::InvalidArgument(where + ": column name " + Shown(n) + " holds a NUL byte");
    std::string folded = FoldCase(n);
    if (folded == kSourceFileColumn || folded == kIngestDateColumn || folded == kLoadIdColumn)
      return Status::InvalidArgument(where + ": column name " + Shown(n) + " is reserved for the loader");
    if (!seen.insert(folded).second)
      return Status::InvalidArgument(where + ": duplicate column name " + Shown(n) +
                                     " (names are compared without ASCII case)");
  }
  return Status::Ok();
}

Status EnsureRawTable(sluice::Database& db, const std::string& table, const std::vector<std::string>& columns,
                      std::string_view type) {
  auto info = db.Prepare("SELECT name FROM pragma_table_info(?1)");
  if (!info.ok()) return info.status();
  info->Bind(1, std::string_view(table));
  std::unordered_set<std::string> have;
  int rc;
  while ((rc = info->Step()) == SQLITE_ROW) have.insert(FoldCase(info->Text(0)));
  if (rc != SQLITE_DONE) return Status::IOError("reading the columns of " + table + ": " + info->error());
  const std::string suffix = type.empty() ? std::string() : " " + std::string(type);

  if (have.empty()) {
    std::string sql = "CREATE TABLE " + QuoteIdentifier(table) + " (";
    for (const auto& c : columns) sql += QuoteIdentifier(c) + suffix + ", ";
    sql += QuoteIdentifier(kSourceFileColumn) + " TEXT, " + QuoteIdentifier(kIngestDateColumn) + " TEXT, " +
           QuoteIdentifier(kLoadIdColumn) + " INTEGER)";
    Status s = db.Exec(sql);
    if (!s.ok()) return Status::IOError("creating " + table + ": " + s.message());
    return Status::Ok();
  }
  // A table of a lakehouse from before load ids gets the column from the
  // migration (lakehouse_schema.h); this is for one it did not know of.
  if (!have.count(std::string(kLoadIdColumn))) {
    Status s = db.Exec("ALTER TABLE " + QuoteIdentifier(table) + " ADD COLUMN " + QuoteIdentifier(kLoadIdColumn) +
                       " INTEGER");
    if (!s.ok()) return Status::IOError("adding column _load_id to " + table + ": " + s.message());
  }
  for (const auto& c : columns) {
    if (have.count(FoldCase(c))) continue;
    Status s = db.Exec("ALTER TABLE " + QuoteIdentifier(table) + " ADD COLUMN " + QuoteIdentifier(c) + suffix);
    if (!s.ok()) return Status::IOError("adding column " + Shown(c) + " to " + table + ": " + s.message());
  }
  return Status::Ok();
}

}  // namespace sluice::lakehouse
