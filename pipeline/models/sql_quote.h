// Quoting for SQL text we generate: identifiers as "name" and text as 'text',
// with embedded quotes doubled.
#pragma once

#include <string>
#include <string_view>

namespace sluice::models {

inline std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

inline std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace sluice::models
