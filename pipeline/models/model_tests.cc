#include "pipeline/models/model_tests.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <system_error>

#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_sql.h"
#include "schemas/sqlite_db.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/models/sql_value.h"
#include "schemas/sqlite_db.h"

namespace sluice::models {

namespace {

using Row = std::vector<SqlValue>;

struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

std::string Two(int v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

std::string DateText(const toml::date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year), static_cast<int>(d.month),
                static_cast<int>(d.day));
  return buf;
}

std::string TimeText(const toml::time& t) {
  return Two(t.hour) + ":" + Two(t.minute) + ":" + Two(t.second);
}

std::optional<SqlValue> ToValue(const toml::node& n) {
  if (auto v = n.as_string()) return SqlValue::Text(v->get());
  if (auto v = n.as_integer()) return SqlValue::Integer(v->get());
  if (auto v = n.as_floating_point()) return SqlValue::Real(v->get());
  if (auto v = n.as_boolean()) return SqlValue::Integer(v->get() ? 1 : 0);
  if (auto v = n.as_date()) return SqlValue::Text(DateText(v->get()));
  if (auto v = n.as_time()) return SqlValue::Text(TimeText(v->get()));
  if (auto v = n.as_date_time()) return SqlValue::Text(DateText(v->get().date) + " " + TimeText(v->get().time));
  return std::nullopt;
}

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// A table's entries in the order they were written (toml++ keeps them sorted).
std::vector<std::pair<const toml::key*, const toml::node*>> InSourceOrder(const toml::table& t) {
  std::vector<std::pair<const toml::key*, const toml::node*>> out;
  for (auto&& [k, v] : t) out.emplace_back(&k, &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const toml::source_position& x = a.first->source().begin;
    const toml::source_position& y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return out;
}

// rows = [ {k = v, ...}, ... ] (and optional columns = [...]) into columns
// (union of keys, first-seen order) and rows.
Result<Rows> ReadRows(const toml::table& t, const std::string& where) {
  Rows out;
  std::map<std::string, std::size_t> index;
  auto add_column = [&](const std::string& c) {
    if (index.emplace(Lower(c), out.columns.size()).second) out.columns.push_back(c);
  };
  if (const toml::node* cols = t.get("columns")) {
    const toml::array* arr = cols->as_array();
    if (!arr) return Status::InvalidArgument(where + ": columns must be an array of names");
    for (const toml::node& c : *arr) {
      if (!c.as_string()) return Status::InvalidArgument(where + ": columns must be an array of names");
      add_column(c.as_string()->get());
    }
  }
  const toml::node* rows_node = t.get("rows");
  if (!rows_node) return Status::InvalidArgument(where + ": missing rows = [ {...}, ... ]");
  const toml::array* rows = rows_node->as_array();
  if (!rows) return Status::InvalidArgument(where + ": rows must be an array of tables { col = value, ... }");
  for (const toml::node& r : *rows)
    if (!r.as_table())
      return Status::InvalidArgument(where + ", line " + std::to_string(LineOf(r)) +
                                     ": each row must be a table { col = value, ... }");
  for (const toml::node& r : *rows)
    for (const auto& [k, v] : InSourceOrder(*r.as_table())) add_column(std::string(k->str()));
  for (const toml::node& r : *rows) {
    Row row(out.columns.size());
    for (const auto& [key, value_node] : InSourceOrder(*r.as_table())) {
      const toml::key& k = *key;
      const toml::node& v = *value_node;
      auto value = ToValue(v);
      if (!value)
        return Status::InvalidArgument(where + ", line " + std::to_string(LineOf(v)) + ": column '" +
                                       std::string(k.str()) + "' must be a string, number, boolean or date");
      row[index.at(Lower(k.str()))] = std::move(*value);
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

std::string RenderRow(const std::vector<std::string>& columns, const Row& row) {
  std::string out = "{";
  for (std::size_t c = 0; c < columns.size(); ++c)
    out += (c ? ", " : "") + columns[c] + " = " + row[c].Render();
  return out + "}";
}

bool RowsMatch(const Row& a, const Row& b) {
  for (std::size_t c = 0; c < a.size(); ++c)
    if (!Matches(a[c], b[c])) return false;
  return true;
}

// The diff of `actual` against `expected` (same columns); empty when equal.
std::string Diff(const std::vector<std::string>& columns, const std::vector<Row>& expected,
                 const std::vector<Row>& actual, bool ordered) {
  std::string out;
  if (ordered) {
    const std::size_t n = std::max(expected.size(), actual.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (i < expected.size() && i < actual.size()) {
        const std::string prefix = "  row " + std::to_string(i + 1) + ": ";
        if (!RowsMatch(expected[i], actual[i]))
          out += prefix + "expected " + RenderRow(columns, expected[i]) + "\n" + std::string(prefix.size() + 5, ' ') +
                 "got " + RenderRow(columns, actual[i]) + "\n";
      } else if (i < expected.size()) {
        out += "  row " + std::to_string(i + 1) + ": expected " + RenderRow(columns, expected[i]) + ", missing\n";
      } else {
        out += "  row " + std::to_string(i + 1) + ": unexpected " + RenderRow(columns, actual[i]) + "\n";
      }
    }
    return out;
  }
  std::vector<bool> used(actual.size(), false);
  std::string missing, unexpected;
  for (const Row& e : expected) {
    bool found = false;
    for (std::size_t i = 0; i < actual.size() && !found; ++i) {
      if (!used[i] && RowsMatch(e, actual[i])) used[i] = found = true;
    }
    if (!found) missing += "    " + RenderRow(columns, e) + "\n";
  }
  for (std::size_t i = 0; i < actual.size(); ++i)
    if (!used[i]) unexpected += "    " + RenderRow(columns, actual[i]) + "\n";
  if (!missing.empty()) out += "  missing rows (expected, not returned):\n" + missing;
  if (!unexpected.empty()) out += "  unexpected rows (returned, not expected):\n" + unexpected;
  return out;
}

Status CreateInput(Database& db, const std::string& table, const Rows& input) {
  if (input.columns.empty())
    return Status::InvalidArgument("input " + table + " has no rows and no columns = [...]");
  std::string cols, params;
  for (std::size_t c = 0; c < input.columns.size(); ++c) {
    cols += (c ? ", " : "") + QuoteIdentifier(input.columns[c]);
    params += (c ? ", ?" : "?");
  }
  if (Status s = db.Exec("CREATE TABLE " + QuoteIdentifier(table) + " (" + cols + ")"); !s.ok())
    return Status::InvalidArgument("input " + table + ": " + s.message());
  auto insert = db.Prepare("INSERT INTO " + QuoteIdentifier(table) + " VALUES (" + params + ")");
  if (!insert.ok()) return insert.status();
  for (const Row& row : input.rows) {
    for (std::size_t c = 0; c < row.size(); ++c) row[c].Bind(*insert, static_cast<int>(c) + 1);
    if (Status s = insert->Run(); !s.ok()) return Status::InvalidArgument("input " + table + ": " + s.message());
  }
  return Status::Ok();
}

Result<Rows> Query(Database& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return Status::InvalidArgument(st.status().message());
  Rows out;
  for (int c = 0; c < st->columns(); ++c) out.columns.emplace_back(st->ColumnName(c));
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    Row row;
    for (int c = 0; c < st->columns(); ++c) row.push_back(SqlValue::FromColumn(*st, c));
    out.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return Status::InvalidArgument(st->error());
  return out;
}

// Runs one [[test]] table; Ok when it passed, else what went wrong.
Status RunOne(const ModelSet& set, const toml::table& test, const std::string& where, ModelTestCase* c) {
  const Model* model = set.Find(c->model);
  if (c->model.empty()) return Status::InvalidArgument(where + ": missing model = \"<model name>\"");
  if (!model) return Status::InvalidArgument(where + ": no model named '" + c->model + "' in the folder");

  std::string start_ds = model->start.value_or("1970-01-01");
  std::string end_ds = "9999-12-31";
  for (auto [key, target] : {std::pair<const char*, std::string*>{"start_ds", &start_ds}, {"end_ds", &end_ds}}) {
    if (const toml::node* n = test.get(key)) {
      std::optional<SqlValue> v = ToValue(*n);
      if (!v || v->type != SqlValue::Type::kText || !IsIsoDay(v->text))
        return Status::InvalidArgument(where + ": " + key + " must be a date \"YYYY-MM-DD\"");
      *target = v->text;
    }
  }

  Database db;
  if (Status s = db.Open(":memory:"); !s.ok()) return s;
  std::map<std::string, bool> given;
  if (const toml::node* inputs_node = test.get("inputs")) {
    const toml::table* inputs = inputs_node->as_table();
    if (!inputs) return Status::InvalidArgument(where + ": inputs must be tables [test.inputs.<table>]");
    for (auto&& [k, v] : *inputs) {
      const std::string table(k.str());
      const std::string at = where + ", input " + table;
      if (!v.as_table()) return Status::InvalidArgument(at + ": must be a table with rows = [...]");
      auto rows = ReadRows(*v.as_table(), at);
      if (!rows.ok()) return rows.status();
      if (Status s = CreateInput(db, table, *rows); !s.ok()) return Status::InvalidArgument(where + ": " + s.message());
      given[Lower(table)] = true;
    }
  }
  std::string missing;
  for (const TableReference& r : model->reads)
    if (!given.count(r.name)) missing += (missing.empty() ? "" : ", ") + r.name;
  if (!missing.empty())
    return Status::InvalidArgument("the model reads " + missing + ": give it as [test.inputs." +
                                   missing.substr(0, missing.find(',')) + "] rows");

  const toml::node* expect_node = test.get("expect");
  if (!expect_node || !expect_node->as_table())
    return Status::InvalidArgument(where + ": missing [test.expect] with rows = [...]");
  const toml::table& expect = *expect_node->as_table();
  auto expected = ReadRows(expect, where + ", expect");
  if (!expected.ok()) return expected.status();
  bool ordered = false;
  if (const toml::node* o = expect.get("ordered")) {
    if (!o->as_boolean()) return Status::InvalidArgument(where + ": expect.ordered must be true or false");
    ordered = o->as_boolean()->get();
  }

  auto select = RenderSelect(*model, start_ds, end_ds);
  if (!select.ok()) return select.status();
  auto actual = Query(db, *select);
  if (!actual.ok()) return Status::InvalidArgument("the SELECT failed: " + actual.status().message());

  // Project the output onto the expected columns.
  std::vector<std::size_t> pick;
  for (const std::string& col : expected->columns) {
    std::size_t found = actual->columns.size();
    for (std::size_t i = 0; i < actual->columns.size(); ++i)
      if (Lower(actual->columns[i]) == Lower(col)) found = i;
    if (found == actual->columns.size()) {
      std::string have;
      for (const std::string& a : actual->columns) have += (have.empty() ? "" : ", ") + a;
      return Status::InvalidArgument("the output has no column '" + col + "' (it has: " + have + ")");
    }
    pick.push_back(found);
  }
  std::vector<Row> projected;
  for (const Row& r : actual->rows) {
    Row p;
    for (std::size_t i : pick) p.push_back(r[i]);
    projected.push_back(std::move(p));
  }
  std::string diff = Diff(expected->columns, expected->rows, projected, ordered);
  if (!diff.empty())
    return Status::Conflict("expected " + std::to_string(expected->rows.size()) + " rows, got " +
                            std::to_string(projected.size()) + (ordered ? " (ordered)" : "") + "\n" + diff);
  return Status::Ok();
}

std::string Relative(const ModelSet& set, const std::filesystem::path& file) {
  std::filesystem::path rel = file.lexically_relative(set.dir);
  return rel.empty() || rel.native().rfind("..", 0) == 0 ? file.generic_string() : rel.generic_string();
}

void Record(ModelTestReport* report, ModelTestCase c) {
  ++report->run;
  if (c.passed) {
    ++report->passed;
  } else {
    ++report->failed;
    report->messages.push_back(c.message);
  }
  report->cases.push_back(std::move(c));
}

void RunFile(const ModelSet& set, const std::filesystem::path& path, ModelTestReport* report) {
  const std::string file = Relative(set, path.is_absolute() ? path : set.dir / path);
  auto fail_file = [&](const std::string& why) {
    ModelTestCase c;
    c.file = file;
    c.message = "FAIL " + file + ": " + why;
    Record(report, std::move(c));
  };
  toml::table doc;
  try {
    doc = toml::parse_file((path.is_absolute() ? path : set.dir / path).string());
  } catch (const toml::parse_error& e) {
    return fail_file("line " + std::to_string(e.source().begin.line) + ", column " +
                     std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  } catch (const std::exception& e) {
    return fail_file(e.what());
  }
  const toml::array* tests = doc.get("test") ? doc.get("test")->as_array() : nullptr;
  if (!tests || tests->empty()) return fail_file("no [[test]] tables");
  for (const toml::node& n : *tests) {
    ModelTestCase c;
    c.file = file;
    const std::string where = file + ":" + std::to_string(LineOf(n));
    const toml::table* test = n.as_table();
    Status s;
    if (!test) {
      s = Status::InvalidArgument(where + ": each [[test]] must be a table");
    } else {
      c.name = test->get("name") && test->get("name")->as_string() ? test->get("name")->as_string()->get() : "";
      c.model = test->get("model") && test->get("model")->as_string() ? test->get("model")->as_string()->get() : "";
      if (c.name.empty()) s = Status::InvalidArgument(where + ": missing name = \"...\"");
      else s = RunOne(set, *test, where, &c);
    }
    c.passed = s.ok();
    if (!c.passed) {
      c.message = "FAIL " + file + ": " + (c.name.empty() ? "(unnamed)" : c.name) +
                  (c.model.empty() ? "" : " (" + c.model + ")") + "\n  " + s.message();
      while (!c.message.empty() && c.message.back() == '\n') c.message.pop_back();
    }
    Record(report, std::move(c));
  }
}

}  // namespace

ModelTestReport RunModelTests(const ModelSet& set, const std::vector<std::filesystem::path>& test_files) {
  ModelTestReport report;
  for (const std::filesystem::path& f : test_files) {
    try {
      RunFile(set, f, &report);
    } catch (const std::exception& e) {  // toml++ or the standard library; nothing leaves the library
      ModelTestCase c;
      c.file = f.generic_string();
      c.message = "FAIL " + c.file + ": " + e.what();
      Record(&report, std::move(c));
    }
  }
  return report;
}

Result<ModelTestReport> RunModelTests(const std::filesystem::path& dir) {
  auto set = LoadModelSet(dir);
  if (!set.ok()) return set.status();
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file(ec) && name.size() > 10 && name.compare(name.size() - 10, 10, ".test.toml") == 0)
      files.push_back(it->path().lexically_relative(dir));  // RunFile reads set.dir / file
  }
  if (ec) return Status::IOError("cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return RunModelTests(*set, files);
}

std::string FormatModelTestReport(const ModelTestReport& report) {
  std::string out;
  for (const ModelTestCase& c : report.cases) {
    if (c.passed) out += "PASS " + c.file + ": " + c.name + " (" + c.model + ")\n";
    else out += c.message + "\n";
  }
  out += std::to_string(report.run) + " tests, " + std::to_string(report.passed) + " passed, " +
         std::to_string(report.failed) + " failed\n";
  return out;
}

}  // namespace sluice::models
