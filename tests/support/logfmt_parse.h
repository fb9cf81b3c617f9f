// A strict reader of logfmt lines, for tests: key=value pairs separated by
// one space; a key is [A-Za-z0-9_.]+; a value is bare (printable ASCII, no
// space, '=', '"' or '\') or a quoted string with JSON's escapes. Every
// line must start with time=, level= and msg=. ParseLogfmt returns the
// pairs in order, or an error naming the column.
#pragma once

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::testing {

struct LogfmtLine {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string error;  // "" when the line is well-formed
  const std::string* Find(const std::string& key) const {
    for (const auto& [k, v] : pairs)
      if (k == key) return &v;
    return nullptr;
  }
};

inline LogfmtLine ParseLogfmt(const std::string& line) {
  LogfmtLine out;
  std::size_t i = 0;
  auto fail = [&](const std::string& why) {
    out.error = why + " at column " + std::to_string(i) + " of: " + line;
    return out;
  };
  while (i < line.size()) {
    if (i > 0) {
      if (line[i] != ' ') return fail("expected one space between pairs");
      ++i;
    }
    const std::size_t key_start = i;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == '.'))
      ++i;
    if (i == key_start) return fail("expected a key");
    std::string key = line.substr(key_start, i - key_start);
    if (i >= line.size() || line[i] != '=') return fail("expected '=' after " + key);
    ++i;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      const std::size_t q = i++;
      while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
      if (i >= line.size()) return fail("unterminated quoted value of " + key);
      ++i;
      try {
        value = nlohmann::json::parse(line.substr(q, i - q)).get<std::string>();
      } catch (const std::exception& e) {
        return fail("bad escape in the value of " + key + ": " + e.what());
      }
    } else {
      const std::size_t v = i;
      while (i < line.size() && line[i] != ' ') {
        const unsigned char c = static_cast<unsigned char>(line[i]);
        if (c < 0x21 || c > 0x7e || c == '=' || c == '"' || c == '\\') return fail("a bare value with a quote, '=' or a control");
        ++i;
      }
      if (i == v) return fail("an empty bare value of " + key);
      value = line.substr(v, i - v);
    }
    out.pairs.emplace_back(std::move(key), std::move(value));
  }
  const char* first[] = {"time", "level", "msg"};
  for (std::size_t k = 0; k < 3; ++k)
    if (out.pairs.size() <= k || out.pairs[k].first != first[k]) {
      out.error = std::string("the line does not start with time=, level=, msg=: ") + line;
      return out;
    }
  return out;
}

}  // namespace sluice::testing
