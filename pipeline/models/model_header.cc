#include "pipeline/models/model_header.h"

#include <set>

#include "pipeline/models/iso_day.h"

namespace sluice::models {

namespace {

class HeaderParser {
 public:
  HeaderParser(const std::vector<Token>& t, const std::string& path, Model* m, std::vector<std::string>* problems)
      : t_(t), path_(path), m_(m), problems_(problems) {}

  std::optional<std::size_t> Parse() {
    if (t_.empty() || !t_[0].IsKeyword("model")) {
      Problem(t_.empty() ? 1 : t_[0].line, "expected the header MODEL ( name ..., kind ... ); first");
      return std::nullopt;
    }
    model_line_ = t_[0].line;
    i_ = 1;
    if (!Expect("(", "after MODEL")) return std::nullopt;
    bool have_kind = false;
    std::set<std::string> seen;
    while (true) {
      if (AtEnd()) return Eof("the header's closing )");
      if (Peek().IsPunct(")")) break;
      const Token& key = Peek();
      if (!key.IsWord()) return Bad(key, "expected a property name (name, kind, grain, start, lookback, description, audits)");
      const std::string k = Lower(key.text);
      ++i_;
      if (!seen.insert(k).second) return Bad(key, "property '" + k + "' given twice");
      bool ok = false;
      if (k == "name") ok = ParseName();
      else if (k == "kind") ok = have_kind = ParseKind();
      else if (k == "grain") ok = ParseNameList(&m_->grain, "grain");
      else if (k == "start") ok = ParseStart();
      else if (k == "lookback") ok = ParseLookback();
      else if (k == "description" || k == "owner") ok = ParseString(k == "description" ? &m_->description : &ignored_, k);
      else if (k == "audits") ok = ParseAudits();
      else return Bad(key, "unknown property '" + key.text + "' (expected name, kind, grain, start, lookback, description, audits)");
      if (!ok) return std::nullopt;
      if (AtEnd()) return Eof("the header's closing )");
      if (Peek().IsPunct(",")) {
        ++i_;
        continue;
      }
      if (!Peek().IsPunct(")")) return Bad(Peek(), "expected , or ) after property '" + k + "'");
    }
    ++i_;
    if (!AtEnd() && Peek().IsPunct(";")) ++i_;
    bool ok = true;
    if (m_->name.empty()) ok = Problem(model_line_, "missing name (name <layer>_<table>)");
    if (!have_kind)
      ok = Problem(model_line_, "missing kind (FULL, VIEW, INCREMENTAL_BY_TIME_RANGE, INCREMENTAL_BY_UNIQUE_KEY or SEED)");
    if (m_->lookback > 0 && have_kind && m_->kind != ModelKind::kIncrementalByTimeRange)
      ok = Problem(model_line_, "lookback is for INCREMENTAL_BY_TIME_RANGE models");
    for (const Audit& a : m_->audits)
      if (a.type == Audit::Type::kUniqueGrain && m_->grain.empty())
        ok = Problem(a.line, "audit unique_grain needs a grain (grain (col, ...))");
    if (!ok) return std::nullopt;
    return i_;
  }

 private:
  bool AtEnd() const { return i_ >= t_.size(); }
  const Token& Peek() const { return t_[i_]; }
  int LastLine() const { return t_.empty() ? 1 : t_.back().line; }

  bool Problem(int line, const std::string& what) {
    problems_->push_back(path_ + ":" + std::to_string(line) + ": " + what);
    return false;
  }
  std::nullopt_t Bad(const Token& at, const std::string& what) {
    Problem(at.line, what);
    return std::nullopt;
  }
  std::nullopt_t Eof(const std::string& expected) {
    Problem(LastLine(), "header ends early: expected " + expected);
    return std::nullopt;
  }
  bool Expect(std::string_view punct, const std::string& where) {
    if (AtEnd()) return Eof(std::string(punct) + " " + where), false;
    if (!Peek().IsPunct(punct)) return Bad(Peek(), "expected " + std::string(punct) + " " + where), false;
    ++i_;
    return true;
  }

  bool ParseName() {
    if (AtEnd()) return Eof("a model name"), false;
    const Token& tok = Peek();
    if (!tok.IsName()) return Bad(tok, "expected a model name after 'name'"), false;
    ++i_;
    if (!IsValidName(tok.text))
      return Problem(tok.line, "invalid model name '" + tok.text + "' (expected [a-z][a-z0-9_]*)");
    m_->name = tok.text;
    m_->name_line = tok.line;
    return true;
  }

  bool ParseKind() {
    if (AtEnd()) return Eof("a kind"), false;
    const Token& tok = Peek();
    if (tok.IsKeyword("full")) {
      m_->kind = ModelKind::kFull;
    } else if (tok.IsKeyword("view")) {
      m_->kind = ModelKind::kView;
    } else if (tok.IsKeyword("incremental_by_time_range")) {
      m_->kind = ModelKind::kIncrementalByTimeRange;
    } else if (tok.IsKeyword("incremental_by_unique_key")) {
      m_->kind = ModelKind::kIncrementalByUniqueKey;
    } else if (tok.IsKeyword("seed")) {
      m_->kind = ModelKind::kSeed;
    } else {
      return Problem(tok.line, "unknown kind '" + tok.text +
                                   "' (expected FULL, VIEW, INCREMENTAL_BY_TIME_RANGE, INCREMENTAL_BY_UNIQUE_KEY or SEED)");
    }
    ++i_;
    const bool has_args = !AtEnd() && Peek().IsPunct("(");
    if (m_->kind == ModelKind::kIncrementalByUniqueKey) {
      if (!has_args) return Problem(tok.line, "INCREMENTAL_BY_UNIQUE_KEY needs (unique_key <column> | (<columns>))");
      ++i_;
      if (AtEnd() || !Peek().IsKeyword("unique_key"))
        return Bad(AtEnd() ? tok : Peek(), "INCREMENTAL_BY_UNIQUE_KEY needs (unique_key <column> | (<columns>))"), false;
      ++i_;
      if (!ParseNameList(&m_->unique_key, "unique_key")) return false;
      return Expect(")", "after the kind's arguments");
    }
    if (m_->kind == ModelKind::kSeed) {
      if (!has_args) return Problem(tok.line, "SEED needs (path '<file>.csv')");
      ++i_;
      if (AtEnd() || !Peek().IsKeyword("path")) return Bad(AtEnd() ? tok : Peek(), "SEED needs (path '<file>.csv')"), false;
      ++i_;
      if (!ParseString(&m_->seed_path, "path")) return false;
      return Expect(")", "after the kind's arguments");
    }
    if (m_->kind != ModelKind::kIncrementalByTimeRange) {
      if (has_args) return Bad(Peek(), std::string("kind ") + KindName(m_->kind) + " takes no arguments"), false;
      return true;
    }
    if (!has_args) return Problem(tok.line, "INCREMENTAL_BY_TIME_RANGE needs (time_column <column>)");
    ++i_;
    while (!AtEnd() && !Peek().IsPunct(")")) {
      const Token& key = Peek();
      if (!key.IsKeyword("time_column"))
        return Bad(key, "unknown INCREMENTAL_BY_TIME_RANGE argument '" + key.text + "' (expected time_column)"), false;
      ++i_;
      if (AtEnd() || !Peek().IsName()) return Bad(AtEnd() ? key : Peek(), "expected a column after time_column"), false;
      m_->time_column = Peek().text;
      ++i_;
      if (!AtEnd() && Peek().IsPunct(",")) ++i_;
    }
    if (!Expect(")", "after the kind's arguments")) return false;
    if (m_->time_column.empty()) return Problem(tok.line, "INCREMENTAL_BY_TIME_RANGE needs (time_column <column>)");
    return true;
  }

  // `col` or `(col, col, ...)`.
  bool ParseNameList(std::vector<std::string>* out, const std::string& what) {
    if (AtEnd()) return Eof("a column or (columns) for " + what), false;
    if (Peek().IsName()) {
      out->push_back(Peek().text);
      ++i_;
      return true;
    }
    if (!Peek().IsPunct("(")) return Bad(Peek(), "expected a column or (columns) for " + what), false;
    ++i_;
    while (true) {
      if (AtEnd()) return Eof(") closing " + what), false;
      if (!Peek().IsName()) return Bad(Peek(), "expected a column name in " + what), false;
      out->push_back(Peek().text);
      ++i_;
      if (AtEnd()) return Eof(") closing " + what), false;
      if (Peek().IsPunct(",")) {
        ++i_;
        continue;
      }
      return Expect(")", "closing " + what);
    }
  }

  bool ParseString(std::string* out, const std::string& what) {
    if (AtEnd()) return Eof("a 'string' for " + what), false;
    if (Peek().type != TokenType::kString) return Bad(Peek(), "expected a 'string' after " + what), false;
    *out = Peek().text;
    ++i_;
    return true;
  }

  bool ParseStart() {
    std::string s;
    const int line = AtEnd() ? LastLine() : Peek().line;
    if (!ParseString(&s, "start")) return false;
    if (!IsIsoDay(s)) return Problem(line, "start '" + s + "' is not a date 'YYYY-MM-DD'");
    m_->start = s;
    return true;
  }

  bool ParseLookback() {
    if (AtEnd()) return Eof("a number of days after lookback"), false;
    const Token& t = Peek();
    if (t.type != TokenType::kNumber || t.text.empty() || t.text.size() > 3 ||
        t.text.find_first_not_of("0123456789") != std::string::npos || std::stoi(t.text) > 366)
      return Bad(t, "lookback takes a number of days, 0 to 366"), false;
    m_->lookback = std::stoi(t.text);
    ++i_;
    return true;
  }

  bool ParseLiteral(std::vector<Literal>* out) {
    if (AtEnd()) return Eof("a value"), false;
    bool negative = false;
    if (Peek().IsPunct("-")) {
      negative = true;
      ++i_;
      if (AtEnd()) return Eof("a number"), false;
    }
    const Token& tok = Peek();
    Literal lit;
    if (tok.type == TokenType::kString && !negative) {
      lit.type = Literal::Type::kText;
      lit.text = tok.text;
    } else if (tok.type == TokenType::kNumber) {
      const bool real = tok.text.find_first_of(".eE") != std::string::npos && tok.text.rfind("0x", 0) != 0;
      lit.type = real ? Literal::Type::kReal : Literal::Type::kInteger;
      lit.text = (negative ? "-" : "") + tok.text;
    } else {
      return Bad(tok, "expected a 'string' or a number"), false;
    }
    out->push_back(std::move(lit));
    ++i_;
    return true;
  }

  bool ParseAudits() {
    if (!Expect("(", "after audits")) return false;
    while (true) {
      if (AtEnd()) return Eof(") closing audits"), false;
      if (Peek().IsPunct(")")) break;
      if (!ParseAudit()) return false;
      if (AtEnd()) return Eof(") closing audits"), false;
      if (Peek().IsPunct(",")) {
        ++i_;
        continue;
      }
      if (!Peek().IsPunct(")")) return Bad(Peek(), "expected , or ) in audits"), false;
    }
    ++i_;
    return true;
  }

  bool ParseAudit() {
    const Token& head = Peek();
    if (!head.IsWord()) return Bad(head, "expected an audit name"), false;
    Audit a;
    a.line = head.line;
    const std::string name = Lower(head.text);
    if (name == "not_null") a.type = Audit::Type::kNotNull;
    else if (name == "unique_grain") a.type = Audit::Type::kUniqueGrain;
    else if (name == "accepted_values") a.type = Audit::Type::kAcceptedValues;
    else return Problem(head.line, "unknown audit '" + head.text + "' (expected not_null, unique_grain, accepted_values)");
    ++i_;
    bool have_columns = false, have_column = false, have_is_in = false;
    if (!AtEnd() && Peek().IsPunct("(")) {
      ++i_;
      while (true) {
        if (AtEnd()) return Eof(") closing " + name + "(...)"), false;
        if (Peek().IsPunct(")")) break;
        const Token& arg = Peek();
        const std::string key = Lower(arg.text);
        if (!arg.IsWord() || !((a.type == Audit::Type::kNotNull && key == "columns") ||
                               (a.type == Audit::Type::kAcceptedValues && (key == "column" || key == "is_in"))))
          return Bad(arg, "unknown argument '" + arg.text + "' for audit " + name), false;
        ++i_;
        if (AtEnd() || !(Peek().IsPunct(":=") || Peek().IsPunct("=")))
          return Bad(AtEnd() ? arg : Peek(), "expected := after " + key), false;
        ++i_;
        if (key == "columns") {
          if (!ParseNameList(&a.columns, "columns")) return false;
          have_columns = true;
        } else if (key == "column") {
          if (AtEnd() || !Peek().IsName()) return Bad(AtEnd() ? arg : Peek(), "expected a column after column :="), false;
          a.columns = {Peek().text};
          ++i_;
          have_column = true;
        } else {
          if (AtEnd()) return Eof("(values) after is_in :="), false;
          if (Peek().IsPunct("(")) {
            ++i_;
            while (true) {
              if (!ParseLiteral(&a.values)) return false;
              if (AtEnd()) return Eof(") closing is_in"), false;
              if (Peek().IsPunct(",")) {
                ++i_;
                continue;
              }
              if (!Expect(")", "closing is_in")) return false;
              break;
            }
          } else if (!ParseLiteral(&a.values)) {
            return false;
          }
          have_is_in = true;
        }
        if (AtEnd()) return Eof(") closing " + name + "(...)"), false;
        if (Peek().IsPunct(",")) ++i_;
      }
      ++i_;
    }
    if (a.type == Audit::Type::kNotNull && !have_columns)
      return Problem(head.line, "audit not_null needs columns := (col, ...)");
    if (a.type == Audit::Type::kAcceptedValues && (!have_column || !have_is_in))
      return Problem(head.line, "audit accepted_values needs column := col and is_in := (value, ...)");
    m_->audits.push_back(std::move(a));
    return true;
  }

  const std::vector<Token>& t_;
  const std::string& path_;
  Model* m_;
  std::vector<std::string>* problems_;
  std::size_t i_ = 0;
  int model_line_ = 1;
  std::string ignored_;
};

}  // namespace

std::optional<std::size_t> ParseModelHeader(const std::vector<Token>& tokens, const std::string& path,
                                            Model* model, std::vector<std::string>* problems) {
  return HeaderParser(tokens, path, model, problems).Parse();
}

}  // namespace sluice::models
