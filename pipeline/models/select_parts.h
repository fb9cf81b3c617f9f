// The parts of a SELECT, by its tokens (sql_tokens.h): the CTEs of its WITH
// clause, the arms of a compound (UNION / INTERSECT / EXCEPT), each arm's
// result items (expression, alias, `*`), its FROM clause, the subqueries in
// FROM position, the scalar (and EXISTS / IN) subqueries inside an
// expression, and the table-valued functions of a FROM clause.
//
// This is not a parser of SQL: it splits at parentheses, commas and clause
// keywords, which is what column lineage (model_lineage.h) needs to know
// where to put its markers. SQLite compiles the result and says whether the
// split was right. Every scan is a loop over a token range (no recursion),
// ranges are half-open token indices [begin, end).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pipeline/models/sql_tokens.h"
#include "schemas/status.h"

namespace sluice::models {

struct TokenRange {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool empty() const { return begin >= end; }
};

struct SelectItem {
  TokenRange tokens;  // the whole item, alias included
  TokenRange expr;    // the expression (the alias cut off); empty for a star
  bool star = false;  // `*` or `q.*`
};

struct SelectArm {
  bool values = false;           // a VALUES list: no items
  std::vector<SelectItem> items;
  TokenRange from;               // the FROM clause, FROM keyword included; empty when none
};

struct CteDef {
  std::string name;                  // lowercase
  std::vector<std::string> columns;  // `name(a, b) AS (...)`; empty when not given
  TokenRange body;                   // inside its parentheses
};

struct Subquery {
  std::size_t open = 0;   // the token '('
  std::size_t close = 0;  // the matching ')'
  enum class Kind { kFrom, kScalar, kExists, kIn } kind = Kind::kScalar;
  std::size_t exists = 0;  // kExists: the EXISTS token
};

struct TableFunction {
  std::size_t open = 0, close = 0;  // its argument parentheses
  std::vector<TokenRange> args;
};

class SelectParts {
 public:
  // Fails on unbalanced parentheses.
  static Result<SelectParts> Of(const std::vector<Token>* tokens);

  const std::vector<Token>& tokens() const { return *tokens_; }
  // The ')' matching the '(' at `open`.
  std::size_t Close(std::size_t open) const { return match_[open]; }
  // Paren depth of a token (the parentheses enclosing it).
  int Depth(std::size_t i) const { return depth_[i]; }

  // A leading WITH of `range`: its CTEs (in order) and the range of the
  // statement after them. Without WITH: no CTEs, the whole range.
  void SplitWith(TokenRange range, std::vector<CteDef>* ctes, TokenRange* statement) const;
  // The arms of a (compound) SELECT; a trailing ORDER BY / LIMIT stays in
  // the last arm's range but outside its items and FROM clause.
  std::vector<SelectArm> Arms(TokenRange statement) const;
  // Subqueries inside `range`, at any depth, in token order. FROM-position
  // subqueries are listed but nothing inside one is.
  std::vector<Subquery> Subqueries(TokenRange range) const;
  // Table-valued functions of a FROM clause (`FROM t, json_each(t.x) AS j`).
  std::vector<TableFunction> TableFunctions(TokenRange from) const;

 private:
  const std::vector<Token>* tokens_ = nullptr;
  std::vector<std::size_t> match_;
  std::vector<int> depth_;
};

}  // namespace sluice::models
