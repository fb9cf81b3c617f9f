#include "pipeline/models/sql_tokens.h"

#include <cctype>

namespace sluice::models {

namespace {

bool IsWordStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

bool Token::IsKeyword(std::string_view kw) const {
  if (type != TokenType::kIdentifier || text.size() != kw.size()) return false;
  for (std::size_t i = 0; i < kw.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(kw[i])))
      return false;
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::vector<Token>> Tokenize(std::string_view sql, std::string_view where) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  auto fail = [&](int at, const std::string& what) {
    std::string prefix = where.empty() ? "line " + std::to_string(at) : std::string(where) + ":" + std::to_string(at);
    return Status::InvalidArgument(prefix + ": " + what);
  };
  auto count_lines = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to; ++k)
      if (sql[k] == '\n') ++line;
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      const std::size_t end = sql.find("*/", i + 2);
      if (end == std::string_view::npos)
        return fail(line, "unterminated /* comment");
      count_lines(i, end + 2);
      i = end + 2;
      continue;
    }
    Token t;
    t.line = line;
    t.offset = i;
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
      const char close = c == '[' ? ']' : c;
      std::string value;
      std::size_t k = i + 1;
      bool closed = false;
      while (k < n) {
        if (sql[k] == close) {
          if (close != ']' && k + 1 < n && sql[k + 1] == close) {  // doubled quote
            value.push_back(close);
            k += 2;
            continue;
          }
          closed = true;
          ++k;
          break;
        }
        value.push_back(sql[k]);
        ++k;
      }
      if (!closed)
        return fail(line, c == '\'' ? "unterminated string literal" : "unterminated quoted identifier");
      t.type = c == '\'' ? TokenType::kString : TokenType::kQuotedIdentifier;
      t.text = std::move(value);
      t.length = k - i;
      count_lines(i, k);
      i = k;
    } else if (IsWordStart(c)) {
      std::size_t k = i;
      while (k < n && IsWordChar(sql[k])) ++k;
      t.type = TokenType::kIdentifier;
      t.text = std::string(sql.substr(i, k - i));
      t.length = k - i;
      i = k;
    } else if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(sql[i + 1]))) {
      std::size_t k = i;
      if (c == '0' && k + 1 < n && (sql[k + 1] == 'x' || sql[k + 1] == 'X')) {
        k += 2;
        while (k < n && std::isxdigit(static_cast<unsigned char>(sql[k]))) ++k;
      } else {
        while (k < n && (IsDigit(sql[k]) || sql[k] == '.')) ++k;
        if (k < n && (sql[k] == 'e' || sql[k] == 'E')) {
          std::size_t e = k + 1;
          if (e < n && (sql[e] == '+' || sql[e] == '-')) ++e;
          if (e < n && IsDigit(sql[e])) {
            k = e;
            while (k < n && IsDigit(sql[k])) ++k;
          }
        }
      }
      t.type = TokenType::kNumber;
      t.text = std::string(sql.substr(i, k - i));
      t.length = k - i;
      i = k;
    } else if (c == '@' && i + 1 < n && IsWordStart(sql[i + 1])) {
      std::size_t k = i + 1;
      while (k < n && IsWordChar(sql[k])) ++k;
      t.type = TokenType::kMacro;
      t.text = std::string(sql.substr(i + 1, k - i - 1));
      t.length = k - i;
      i = k;
    } else {
      static constexpr std::string_view kMulti[] = {"->>", ":=", "||", "<=", ">=", "<>", "!=", "==", "->", "<<", ">>"};
      t.type = TokenType::kPunct;
      t.length = 1;
      for (std::string_view m : kMulti) {
        if (sql.substr(i, m.size()) == m) {
          t.length = m.size();
          break;
        }
      }
      t.text = std::string(sql.substr(i, t.length));
      i += t.length;
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace sluice::models
