#include "pipeline/lakehouse/json_records.h"

#include <algorithm>

namespace sluice::lakehouse {
namespace {

using Json = nlohmann::ordered_json;

// The message of a nlohmann exception without its "[json.exception.x.y] ".
std::string Reason(const std::exception& e) {
  std::string s = e.what();
  if (!s.empty() && s.front() == '[') {
    auto close = s.find("] ");
    if (close != std::string::npos) s.erase(0, close + 2);
  }
  return s;
}

// "line L, column C: invalid JSON: <what>" from a parse error, whose text
// reads "parse error at line l, column C: <what>". `first_line` is the
// document's first line in the file (NDJSON: the record's line).
Status SyntaxError(const std::exception& e, std::int64_t first_line) {
  std::string s = Reason(e);
  static const std::string kAt = "parse error at line ";
  std::int64_t line = first_line;
  std::string column;
  if (s.compare(0, kAt.size(), kAt) == 0) {
    std::size_t i = kAt.size();
    std::int64_t l = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') l = l * 10 + (s[i++] - '0');
    line = first_line + l - 1;
    if (s.compare(i, 9, ", column ") == 0) {
      i += 9;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') column += s[i++];
    }
    if (s.compare(i, 2, ": ") == 0) s.erase(0, i + 2);
  }
  return Status::InvalidArgument("line " + std::to_string(line) + (column.empty() ? "" : ", column " + column) +
                                 ": invalid JSON: " + s);
}

// Adds one record's keys to the columns. `where` prefixes errors.
Status AddRecord(JsonRecords& out, Json&& rec, const std::string& where) {
  if (!rec.is_object()) return Status::InvalidArgument(where + ": not an object but " + rec.type_name());
  std::vector<int> used;
  used.reserve(rec.size());
  for (auto it = rec.begin(); it != rec.end(); ++it) {
    std::string folded = FoldCase(it.key());
    auto [pos, inserted] = out.index.emplace(std::move(folded), static_cast<int>(out.columns.size()));
    if (inserted) out.columns.push_back(it.key());
    int col = pos->second;
    if (std::find(used.begin(), used.end(), col) != used.end())
      return Status::InvalidArgument(where + ": keys '" + out.columns[static_cast<std::size_t>(col)] +
                                     "' and '" + it.key() + "' name the same column (case differs only)");
    used.push_back(col);
  }
  out.rows.push_back(std::move(rec));
  return Status::Ok();
}

}  // namespace

std::string FoldCase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int JsonRecords::ColumnOf(std::string_view key) const {
  auto it = index.find(FoldCase(key));
  return it == index.end() ? -1 : it->second;
}

Result<JsonRecords> ParseJsonRecords(std::string_view text, RawFormat format, std::string_view records_path) {
  JsonRecords out;
  try {
    if (format == RawFormat::kNdjson) {
      std::size_t pos = 0;
      std::int64_t line = 0;
      while (pos < text.size()) {
        ++line;
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view l = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const std::string where = "line " + std::to_string(line);
        Json rec;
        try {
          rec = Json::parse(l);
        } catch (const Json::parse_error& e) {
          return SyntaxError(e, line);
        }
        Status s = AddRecord(out, std::move(rec), where);
        if (!s.ok()) return s;
      }
      return out;
    }
    if (format != RawFormat::kJson) return Status::Internal("ParseJsonRecords: not a JSON format");
    Json doc;
    try {
      doc = Json::parse(text);
    } catch (const Json::parse_error& e) {
      return SyntaxError(e, 1);
    }
    Json* arr = &doc;
    std::string walked;
    std::size_t i = 0;
    while (i < records_path.size()) {
      std::size_t dot = records_path.find('.', i);
      if (dot == std::string_view::npos) dot = records_path.size();
      std::string key(records_path.substr(i, dot - i));
      if (!arr->is_object())
        return Status::InvalidArgument("records path '" + std::string(records_path) + "': " +
                                       (walked.empty() ? std::string("the document") : "'" + walked + "'") +
                                       " is not an object but " + arr->type_name());
      auto it = arr->find(key);
      if (it == arr->end())
        return Status::InvalidArgument("records path '" + std::string(records_path) + "': no key '" + key +
                                       "'" + (walked.empty() ? std::string() : " in '" + walked + "'"));
      arr = &*it;
      walked += (walked.empty() ? "" : ".") + key;
      i = dot + 1;
    }
    if (!arr->is_array())
      return Status::InvalidArgument(
          (records_path.empty() ? std::string("the document") : "records path '" + std::string(records_path) + "'") +
          " is not an array of objects but " + arr->type_name() +
          (records_path.empty() && arr->is_object() ? " (set records = \"<path>\" in sources.toml)" : ""));
    out.rows.reserve(arr->size());
    std::size_t k = 0;
    for (auto& rec : *arr) {
      ++k;
      Status s = AddRecord(out, std::move(rec), "record " + std::to_string(k));
      if (!s.ok()) return s;
    }
    return out;
  } catch (const std::exception& e) {
    return Status::InvalidArgument("invalid JSON: " + Reason(e));
  }
}

}  // namespace sluice::lakehouse
