// SQL tokens: the lexical view of a model file (identifiers, quoted names,
// string literals, numbers, @macros, punctuation), with the line each token
// starts on. Comments and whitespace are dropped; the offsets let a caller
// slice the original text back out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/status.h"

namespace sluice::models {

enum class TokenType {
  kIdentifier,        // bare word: SELECT, staging_prices, price_date
  kQuotedIdentifier,  // "name", [name] or `name`; text holds the name unquoted
  kString,            // 'text'; text holds the value ('' unescaped)
  kNumber,            // 12, 1.5, 1e-3, 0x1F
  kMacro,             // @start_ds; text holds the name without '@'
  kPunct,             // ( ) , ; . := || <= >= <> != == -> ->> and other single characters
};

struct Token {
  TokenType type = TokenType::kPunct;
  std::string text;         // see TokenType
  int line = 1;             // 1-based line of the first character
  std::size_t offset = 0;   // byte offset of the first character in the source
  std::size_t length = 0;   // bytes in the source, quotes included

  bool IsWord() const { return type == TokenType::kIdentifier; }
  // A bare word equal to `kw`, case-insensitively.
  bool IsKeyword(std::string_view kw) const;
  bool IsPunct(std::string_view p) const { return type == TokenType::kPunct && text == p; }
  // An identifier, bare or quoted.
  bool IsName() const { return type == TokenType::kIdentifier || type == TokenType::kQuotedIdentifier; }
};

// Splits `sql` into tokens. Fails on an unterminated string, quoted
// identifier or block comment with "<where>:<line>: what" ("line <line>:
// what" when `where` is empty).
Result<std::vector<Token>> Tokenize(std::string_view sql, std::string_view where = {});

// Lowercase ASCII copy (SQLite names compare case-insensitively).
std::string Lower(std::string_view s);

}  // namespace sluice::models
