#include "pipeline/lakehouse/raw_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <toml++/toml.h>

namespace sluice::lakehouse {
namespace {

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

Status At(const std::string& name, int line, const std::string& what) {
  return Status::InvalidArgument(name + ":" + std::to_string(line) + ": " + what);
}

// A glob must stay inside the landing dir: relative, no "." or ".." segment.
bool IsSafeGlob(std::string_view g) {
  if (g.empty() || g.front() == '/') return false;
  std::size_t i = 0;
  while (i <= g.size()) {
    std::size_t j = g.find('/', i);
    if (j == std::string_view::npos) j = g.size();
    std::string_view seg = g.substr(i, j - i);
    if (seg.empty() || seg == "." || seg == "..") return false;
    i = j + 1;
  }
  return true;
}

Result<std::vector<RawSource>> FromTable(const toml::table& root, const std::string& name) {
  std::vector<RawSource> out;
  for (auto&& [key, node] : root) {
    if (key.str() == "project") continue;  // the engine (pipeline/postgres/project_engine.h)
    if (key.str() != "raw")
      return At(name, static_cast<int>(key.source().begin.line),
                "unknown key '" + std::string(key.str()) + "' (expected [[raw]] entries or [project])");
  }
  const toml::node* raw = root.get("raw");
  if (raw == nullptr) return out;
  const toml::array* arr = raw->as_array();
  if (arr == nullptr || !arr->is_array_of_tables())
    return At(name, LineOf(*raw), "'raw' must be an array of tables ([[raw]])");

  std::map<std::string, int> seen;  // table -> line
  for (const toml::node& elem : *arr) {
    const toml::table& t = *elem.as_table();
    RawSource src;
    src.line = LineOf(t);
    for (auto&& [key, node] : t) {
      const int line = static_cast<int>(key.source().begin.line);
      const std::string k(key.str());
      if (k != "table" && k != "glob" && k != "format" && k != "records")
        return At(name, line,
                  "unknown key '" + k + "' in [[raw]] (known: table, glob, format, records)");
      const std::string* v = node.is_string() ? &node.as_string()->get() : nullptr;
      if (v == nullptr) return At(name, line, "'" + k + "' must be a string");
      if (k == "table") {
        if (!IsValidRawTableName(*v))
          return At(name, line,
                    "bad table name '" + *v + "': it must be \"raw_\" then [a-z0-9_], at most 64 bytes");
        src.table = *v;
      } else if (k == "glob") {
        if (!IsSafeGlob(*v))
          return At(name, line,
                    "bad glob '" + *v +
                        "': it must be relative to the landing dir, without '.' or '..' segments");
        src.glob = *v;
      } else if (k == "format") {
        auto f = ParseRawFormat(*v);
        if (!f) return At(name, line, "unknown format '" + *v + "' (expected csv, json or ndjson)");
        src.format = *f;
      } else {
        if (v->empty() || v->front() == '.' || v->back() == '.' || v->find("..") != std::string::npos)
          return At(name, line, "bad records path '" + *v + "': expected keys joined by '.'");
        src.records = *v;
      }
    }
    for (const char* required : {"table", "glob", "format"})
      if (!t.contains(required)) return At(name, src.line, std::string("[[raw]] without '") + required + "'");
    if (!src.records.empty() && src.format != RawFormat::kJson)
      return At(name, LineOf(*t.get("records")), "'records' applies to format = \"json\" only");
    auto [it, inserted] = seen.emplace(src.table, src.line);
    if (!inserted)
      return At(name, src.line,
                "duplicate table '" + src.table + "' (first declared on line " + std::to_string(it->second) + ")");
    out.push_back(std::move(src));
  }
  return out;
}

Result<std::vector<RawSource>> Parse(const std::string& name, std::string_view text) {
  try {
    toml::table root = toml::parse(text, name);
    return FromTable(root, name);
  } catch (const toml::parse_error& e) {
    return At(name, static_cast<int>(e.source().begin.line), std::string(e.description()));
  } catch (const std::exception& e) {
    return Status::IOError(name + ": " + e.what());
  }
}

}  // namespace

std::optional<RawFormat> ParseRawFormat(std::string_view s) {
  if (s == "csv") return RawFormat::kCsv;
  if (s == "json") return RawFormat::kJson;
  if (s == "ndjson") return RawFormat::kNdjson;
  return std::nullopt;
}

const char* RawFormatName(RawFormat f) {
  switch (f) {
    case RawFormat::kCsv: return "csv";
    case RawFormat::kJson: return "json";
    case RawFormat::kNdjson: return "ndjson";
  }
  return "?";
}

bool IsValidRawTableName(std::string_view name) {
  if (name.size() <= 4 || name.size() > 64 || name.substr(0, 4) != "raw_") return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

Result<std::vector<RawSource>> ReadSources(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + path);
  return Parse(path, text.str());
}

Result<std::vector<RawSource>> ParseSources(std::string_view text, const std::string& name) {
  return Parse(name, text);
}

}  // namespace sluice::lakehouse
