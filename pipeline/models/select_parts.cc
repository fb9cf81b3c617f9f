#include "pipeline/models/select_parts.h"

#include <algorithm>
#include <initializer_list>

namespace sluice::models {

namespace {

bool IsAnyKeyword(const Token& t, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words)
    if (t.IsKeyword(w)) return true;
  return false;
}

bool StartsSelect(const Token& t) { return IsAnyKeyword(t, {"select", "with", "values"}); }

// Keywords that end a result list at its own depth.
bool EndsItems(const Token& t) {
  return IsAnyKeyword(t, {"from", "where", "group", "having", "window", "order", "limit", "union", "intersect",
                          "except"});
}

bool EndsFrom(const Token& t) {
  return IsAnyKeyword(t, {"where", "group", "having", "window", "order", "limit", "union", "intersect", "except"});
}

// Words that end an expression, so cannot be an implicit alias after one.
bool EndsExpression(const Token& t) {
  return IsAnyKeyword(t, {"null", "end", "true", "false", "current_date", "current_time", "current_timestamp",
                          "notnull", "isnull"});
}

// Words after which a name continues the expression rather than aliasing it.
bool ContinuesExpression(const Token& t) {
  return IsAnyKeyword(t, {"and", "or", "not", "is", "in", "like", "glob", "match", "regexp", "between", "escape",
                          "collate", "case", "when", "then", "else", "distinct", "select", "as", "cast"});
}

SelectItem MakeItem(const std::vector<Token>& tk, TokenRange r) {
  SelectItem item;
  item.tokens = r;
  item.expr = r;
  const std::size_t n = r.end - r.begin;
  if ((n == 1 && tk[r.begin].IsPunct("*")) ||
      (n == 3 && tk[r.begin].IsName() && tk[r.begin + 1].IsPunct(".") && tk[r.begin + 2].IsPunct("*"))) {
    item.star = true;
    item.expr = {r.begin, r.begin};
    return item;
  }
  if (n >= 3 && tk[r.end - 2].IsKeyword("as") && (tk[r.end - 1].IsName() || tk[r.end - 1].type == TokenType::kString)) {
    item.expr.end = r.end - 2;
    return item;
  }
  if (n >= 2) {
    const Token& last = tk[r.end - 1];
    const Token& prev = tk[r.end - 2];
    const bool prev_ends = prev.IsPunct(")") || prev.type == TokenType::kNumber || prev.type == TokenType::kString ||
                           prev.type == TokenType::kQuotedIdentifier ||
                           (prev.type == TokenType::kIdentifier && !ContinuesExpression(prev));
    if (last.IsName() && !EndsExpression(last) && prev_ends) item.expr.end = r.end - 1;
  }
  return item;
}

}  // namespace

Result<SelectParts> SelectParts::Of(const std::vector<Token>* tokens) {
  SelectParts p;
  p.tokens_ = tokens;
  const std::vector<Token>& tk = *tokens;
  p.match_.assign(tk.size(), 0);
  p.depth_.assign(tk.size(), 0);
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < tk.size(); ++i) {
    if (tk[i].IsPunct(")")) {
      if (open.empty()) return Status::InvalidArgument("line " + std::to_string(tk[i].line) + ": unbalanced ')'");
      p.match_[open.back()] = i;
      p.match_[i] = open.back();
      open.pop_back();
    }
    p.depth_[i] = static_cast<int>(open.size());
    if (tk[i].IsPunct("(")) open.push_back(i);
  }
  if (!open.empty()) return Status::InvalidArgument("line " + std::to_string(tk[open.back()].line) + ": unclosed '('");
  return p;
}

void SelectParts::SplitWith(TokenRange range, std::vector<CteDef>* ctes, TokenRange* statement) const {
  const std::vector<Token>& tk = *tokens_;
  *statement = range;
  std::size_t i = range.begin;
  if (i >= range.end || !tk[i].IsKeyword("with")) return;
  ++i;
  if (i < range.end && tk[i].IsKeyword("recursive")) ++i;
  while (i < range.end && tk[i].IsName()) {
    CteDef cte;
    cte.name = Lower(tk[i].text);
    ++i;
    if (i < range.end && tk[i].IsPunct("(")) {
      const std::size_t close = match_[i];
      for (std::size_t j = i + 1; j < close; ++j)
        if (tk[j].IsName()) cte.columns.push_back(tk[j].text);
      i = close + 1;
    }
    if (i < range.end && tk[i].IsKeyword("as")) ++i;
    if (i < range.end && tk[i].IsKeyword("not")) ++i;
    if (i < range.end && tk[i].IsKeyword("materialized")) ++i;
    if (i >= range.end || !tk[i].IsPunct("(")) return;  // not a WITH we understand: no CTEs
    cte.body = {i + 1, match_[i]};
    i = match_[i] + 1;
    ctes->push_back(std::move(cte));
    if (i < range.end && tk[i].IsPunct(",")) {
      ++i;
      continue;
    }
    break;
  }
  statement->begin = i;
}

std::vector<SelectArm> SelectParts::Arms(TokenRange statement) const {
  const std::vector<Token>& tk = *tokens_;
  std::vector<SelectArm> arms;
  if (statement.empty()) return arms;
  const int base = depth_[statement.begin];
  std::size_t i = statement.begin;
  while (i < statement.end) {
    SelectArm arm;
    std::size_t arm_end = statement.end;
    for (std::size_t j = i; j < statement.end; ++j)
      if (depth_[j] == base && IsAnyKeyword(tk[j], {"union", "intersect", "except"})) {
        arm_end = j;
        break;
      }
    if (tk[i].IsKeyword("values")) {
      arm.values = true;
    } else if (tk[i].IsKeyword("select")) {
      std::size_t j = i + 1;
      if (j < arm_end && IsAnyKeyword(tk[j], {"distinct", "all"})) ++j;
      std::size_t item_begin = j;
      for (; j <= arm_end; ++j) {
        const bool at_end = j == arm_end || (depth_[j] == base && (tk[j].IsPunct(",") || EndsItems(tk[j])));
        if (!at_end) continue;
        if (j > item_begin) arm.items.push_back(MakeItem(tk, {item_begin, j}));
        if (j == arm_end || !tk[j].IsPunct(",")) break;
        item_begin = j + 1;
      }
      if (j < arm_end && tk[j].IsKeyword("from")) {
        std::size_t k = j + 1;
        while (k < arm_end && !(depth_[k] == base && EndsFrom(tk[k]))) ++k;
        arm.from = {j, k};
      }
    }
    arms.push_back(std::move(arm));
    i = arm_end;
    // UNION ALL / INTERSECT / EXCEPT, then the next arm.
    if (i < statement.end) ++i;
    if (i < statement.end && tk[i].IsKeyword("all")) ++i;
  }
  return arms;
}

std::vector<Subquery> SelectParts::Subqueries(TokenRange range) const {
  const std::vector<Token>& tk = *tokens_;
  std::vector<Subquery> out;
  std::vector<std::string> clause;  // by depth: the last clause keyword seen at that depth
  auto clause_at = [&](int d) -> std::string& {
    if (clause.size() <= static_cast<std::size_t>(d)) clause.resize(static_cast<std::size_t>(d) + 1);
    return clause[static_cast<std::size_t>(d)];
  };
  for (std::size_t i = range.begin; i < range.end; ++i) {
    const Token& t = tk[i];
    const int d = depth_[i];
    if (IsAnyKeyword(t, {"select", "from", "join", "on", "using", "where", "group", "having", "order", "limit",
                         "window", "union", "intersect", "except"})) {
      clause_at(d) = Lower(t.text);
      continue;
    }
    if (!t.IsPunct("(")) continue;
    clause_at(d + 1).clear();
    if (i + 1 >= tk.size() || !StartsSelect(tk[i + 1])) continue;
    Subquery s;
    s.open = i;
    s.close = match_[i];
    const Token* prev = i > 0 ? &tk[i - 1] : nullptr;
    const std::string& c = clause_at(d);
    if (prev && (prev->IsKeyword("from") || prev->IsKeyword("join") ||
                 (prev->IsPunct(",") && (c == "from" || c == "join" || c == "on" || c == "using")))) {
      s.kind = Subquery::Kind::kFrom;
      out.push_back(s);
      i = s.close;  // nothing inside a FROM subquery: it is a query of its own
      continue;
    }
    if (prev && prev->IsKeyword("in")) {
      s.kind = Subquery::Kind::kIn;
    } else if (prev && prev->IsKeyword("exists")) {
      s.kind = Subquery::Kind::kExists;
      s.exists = i - 1;
    }
    out.push_back(s);
  }
  return out;
}

std::vector<TableFunction> SelectParts::TableFunctions(TokenRange from) const {
  const std::vector<Token>& tk = *tokens_;
  std::vector<TableFunction> out;
  if (from.empty()) return out;
  const int base = depth_[from.begin];
  for (std::size_t i = from.begin + 1; i + 1 < from.end; ++i) {
    if (depth_[i] != base || !tk[i].IsName() || !tk[i + 1].IsPunct("(")) continue;
    const Token& prev = tk[i - 1];
    if (!(prev.IsKeyword("from") || prev.IsKeyword("join") || prev.IsPunct(","))) continue;
    if (i + 2 < tk.size() && StartsSelect(tk[i + 2])) continue;
    TableFunction f;
    f.open = i + 1;
    f.close = match_[i + 1];
    std::size_t arg = f.open + 1;
    for (std::size_t j = arg; j <= f.close; ++j) {
      if (j < f.close && !(depth_[j] == base + 1 && tk[j].IsPunct(","))) continue;
      if (j > arg) f.args.push_back({arg, j});
      arg = j + 1;
    }
    i = f.close;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace sluice::models
