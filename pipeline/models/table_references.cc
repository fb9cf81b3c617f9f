#include "pipeline/models/table_references.h"

#include <array>
#include <string_view>

namespace sluice::models {

namespace {

// Words that may follow a table name in a FROM clause and so are never its alias.
constexpr std::array<std::string_view, 32> kClauseWords = {
    "where",   "join",   "on",      "using",  "left",   "right",     "full",   "inner",
    "outer",   "cross",  "natural", "group",  "order",  "limit",     "union",  "except",
    "intersect", "window", "having", "indexed", "not",  "returning", "values", "select",
    "from",    "as",     "offset",  "lateral", "when",  "then",      "else",   "end"};

bool IsClauseWord(const Token& t) {
  if (t.type != TokenType::kIdentifier) return false;
  const std::string w = Lower(t.text);
  for (std::string_view k : kClauseWords)
    if (w == k) return true;
  return false;
}

// Index of the ')' matching the '(' at `open`, or `end` when unbalanced.
std::size_t MatchParen(const std::vector<Token>& t, std::size_t open, std::size_t end) {
  int depth = 0;
  for (std::size_t i = open; i < end; ++i) {
    if (t[i].IsPunct("(")) ++depth;
    if (t[i].IsPunct(")") && --depth == 0) return i;
  }
  return end;
}

// After WITH [RECURSIVE] at `i`: name [(cols)] AS [NOT] [MATERIALIZED] (...) [, ...]
void CollectCtes(const std::vector<Token>& t, std::size_t i, std::size_t end, std::set<std::string>* ctes) {
  if (i < end && t[i].IsKeyword("recursive")) ++i;
  while (i < end && t[i].IsName()) {
    const std::string name = Lower(t[i].text);
    ++i;
    if (i < end && t[i].IsPunct("(")) i = MatchParen(t, i, end) + 1;
    if (i >= end || !t[i].IsKeyword("as")) return;
    ++i;
    if (i < end && t[i].IsKeyword("not")) ++i;
    if (i < end && t[i].IsKeyword("materialized")) ++i;
    if (i >= end || !t[i].IsPunct("(")) return;
    ctes->insert(name);
    i = MatchParen(t, i, end) + 1;
    if (i >= end || !t[i].IsPunct(",")) return;
    ++i;
  }
}

// The FROM list (or JOIN operand) starting at `i`: table names are recorded;
// parenthesized subqueries are skipped here (the outer scan visits them).
void CollectFromList(const std::vector<Token>& t, std::size_t i, std::size_t end,
                     std::vector<TableReference>* found) {
  while (i < end) {
    if (t[i].IsPunct("(")) {
      i = MatchParen(t, i, end) + 1;
    } else if (t[i].IsName() && !IsClauseWord(t[i])) {
      TableReference ref{Lower(t[i].text), t[i].line};
      ++i;
      if (i + 1 < end && t[i].IsPunct(".") && t[i + 1].IsName()) {  // schema.table
        ref.name = Lower(t[i + 1].text);
        i += 2;
      }
      if (i < end && t[i].IsPunct("(")) {  // table-valued function
        i = MatchParen(t, i, end) + 1;
      } else {
        found->push_back(std::move(ref));
      }
    } else {
      return;
    }
    // Alias.
    if (i < end && t[i].IsKeyword("as")) {
      i += 2;
    } else if (i < end && t[i].IsName() && !IsClauseWord(t[i])) {
      ++i;
    }
    // INDEXED BY name | NOT INDEXED.
    if (i + 2 < end && t[i].IsKeyword("indexed") && t[i + 1].IsKeyword("by")) i += 3;
    if (i + 1 < end && t[i].IsKeyword("not") && t[i + 1].IsKeyword("indexed")) i += 2;
    if (i < end && t[i].IsPunct(",")) {
      ++i;
      continue;
    }
    return;
  }
}

}  // namespace

TableReferences FindTableReferences(const std::vector<Token>& tokens, std::size_t begin, std::size_t end) {
  TableReferences out;
  std::vector<TableReference> all;
  for (std::size_t i = begin; i < end; ++i) {
    const Token& tok = tokens[i];
    if (tok.IsKeyword("with")) {
      CollectCtes(tokens, i + 1, end, &out.ctes);
    } else if (tok.IsKeyword("from")) {
      // `a IS [NOT] DISTINCT FROM b` compares values.
      if (i > begin && tokens[i - 1].IsKeyword("distinct")) continue;
      CollectFromList(tokens, i + 1, end, &all);
    } else if (tok.IsKeyword("join")) {
      CollectFromList(tokens, i + 1, end, &all);
    }
  }
  std::set<std::string> seen;
  for (TableReference& r : all) {
    if (out.ctes.count(r.name) || !seen.insert(r.name).second) continue;
    out.tables.push_back(std::move(r));
  }
  return out;
}

}  // namespace sluice::models
