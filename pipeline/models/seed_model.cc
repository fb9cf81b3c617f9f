#include "pipeline/models/seed_model.h"

#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "pipeline/lakehouse/byte_source.h"
#include "pipeline/lakehouse/csv_reader.h"
#include "pipeline/models/sql_tokens.h"
#include "schemas/sqlite_db.h"

namespace sluice::models {
namespace {

namespace fs = std::filesystem;

// An SQL number as written: [-]digits[.digits][e[-+]digits], nothing else.
bool IsNumber(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const std::size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits) return false;
  if (i - digits > 1 && s[digits] == '0') return false;  // 0042 is a code, not 42
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == frac) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t exp = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == exp) return false;
  }
  return i == s.size() && s.size() <= 40;
}

std::string QuoteText(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

}  // namespace

Status LoadSeed(const fs::path& dir, Model* model) {
  const std::string where = model->path + ":" + std::to_string(model->name_line) + ": ";
  const fs::path rel(model->seed_path);
  if (rel.empty() || rel.is_absolute()) return Status::InvalidArgument(where + "seed path must be relative");
  for (const fs::path& part : rel)
    if (part == "..") return Status::InvalidArgument(where + "seed path must not contain '..'");
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return Status::IOError(where + "cannot resolve " + dir.string() + ": " + ec.message());
  const fs::path file = fs::canonical(root / fs::path(model->path).parent_path() / rel, ec);
  if (ec) return Status::InvalidArgument(where + "no seed file " + model->seed_path + " beside the model");
  const auto [end, _] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (end != root.end()) return Status::InvalidArgument(where + "seed file " + model->seed_path + " is outside the models folder");
  if (!fs::is_regular_file(file, ec)) return Status::InvalidArgument(where + "seed " + model->seed_path + " is not a file");
  if (fs::file_size(file, ec) > kMaxSeedBytes || ec)
    return Status::InvalidArgument(where + "seed " + model->seed_path + " is over " +
                                   std::to_string(kMaxSeedBytes >> 20) + " MiB (seeds are for small reference data)");
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::IOError(where + "cannot read " + file.string());

  lakehouse::StringSource source(text.str());
  lakehouse::CsvReader csv(source, kMaxSeedBytes + 1);
  const std::string seed = model->seed_path + ": ";
  if (Status s = csv.ReadHeader(); !s.ok()) return Status::InvalidArgument(where + seed + s.message());
  const std::vector<std::string> header = csv.header();
  if (header.empty()) return Status::InvalidArgument(where + seed + "no header row");
  if (header.size() > kMaxSeedColumns) return Status::InvalidArgument(where + seed + "too many columns");
  std::set<std::string> names;
  for (const std::string& h : header) {
    if (h.empty()) return Status::InvalidArgument(where + seed + "a column without a name");
    if (!names.insert(Lower(h)).second) return Status::InvalidArgument(where + seed + "column '" + h + "' twice");
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::vector<bool> numeric(header.size(), true);
  for (;;) {
    auto more = csv.Next();
    if (!more.ok()) return Status::InvalidArgument(where + seed + more.status().message());
    if (!*more) break;
    if (rows.size() >= kMaxSeedRows)
      return Status::InvalidArgument(where + seed + "over " + std::to_string(kMaxSeedRows) + " rows");
    std::vector<std::optional<std::string>> row;
    for (std::size_t c = 0; c < csv.fields().size(); ++c) {
      const lakehouse::CsvField& f = csv.fields()[c];
      if (f.null) {
        row.emplace_back(std::nullopt);
        continue;
      }
      row.emplace_back(std::string(f.view()));
      numeric[c] = numeric[c] && IsNumber(f.view());
    }
    rows.push_back(std::move(row));
  }

  std::string columns;
  for (std::size_t c = 0; c < header.size(); ++c)
    columns += (c ? ", " : "") + std::string("column") + std::to_string(c + 1) + " AS " + QuoteIdentifier(header[c]);
  if (rows.empty()) {
    std::string nulls;
    for (std::size_t c = 0; c < header.size(); ++c)
      nulls += (c ? ", " : "") + std::string("NULL AS ") + QuoteIdentifier(header[c]);
    model->select_sql = "SELECT " + nulls + " WHERE 1 = 0";
  } else {
    std::string values;
    for (const auto& row : rows) {
      values += values.empty() ? "(" : ", (";
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (c) values += ", ";
        values += !row[c] ? "NULL" : numeric[c] ? *row[c] : QuoteText(*row[c]);
      }
      values += ")";
    }
    // The alias and `1 = 0` above: the same SQL runs on PostgreSQL.
    model->select_sql = "SELECT " + columns + " FROM (VALUES " + values + ") AS seed_rows";
  }
  model->select_line = model->name_line;
  return Status::Ok();
}

}  // namespace sluice::models
