#include "pipeline/models/model_lineage.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

#include "pipeline/models/model_check.h"
#include "pipeline/models/model_probe.h"
#include "pipeline/models/model_set.h"
#include "pipeline/models/select_parts.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

namespace {

// The marker functions (never called: statements are only prepared).
constexpr std::string_view kArm = "_sluice_arm";  // + arm number + "_": the start of an arm's result list
constexpr std::string_view kItem = "_sluice_i_";  // after each result item
constexpr std::string_view kKey = "_sluice_k_";   // around a subquery inside an item
constexpr std::string_view kKeyEnd = "_sluice_ke_";
constexpr std::string_view kValue = "_sluice_v_";  // around a subquery's result item
constexpr std::string_view kValueEnd = "_sluice_ve_";
constexpr std::string_view kArg = "_sluice_t_";  // around a table-valued function's argument
constexpr std::string_view kArgEnd = "_sluice_te_";

enum class EdgeKind { kValue = 0, kKey = 1, kFilter = 2 };

const char* KindName(EdgeKind k) {
  switch (k) {
    case EdgeKind::kValue: return "value";
    case EdgeKind::kKey: return "key";
    case EdgeKind::kFilter: return "filter";
  }
  return "value";
}

// A column a query reads: of a block of the same model (block >= 0), or of
// a table of the schema (a model or a raw table).
struct Target {
  int block = -1;
  int index = -1;     // block: the column's position
  std::string table;  // schema: lowercase
  std::string column; // schema: as declared
  bool operator<(const Target& o) const {
    return std::tie(block, index, table, column) < std::tie(o.block, o.index, o.table, o.column);
  }
};

struct Edge {
  EdgeKind kind = EdgeKind::kValue;
  Target to;
  bool operator<(const Edge& o) const { return std::tie(kind, to) < std::tie(o.kind, o.to); }
};

// One query of a model: a CTE, a subquery in FROM, or the model's SELECT.
struct Block {
  std::string name;   // its TEMP table (lowercase)
  std::string label;  // "CTE monthly", "subquery", "SELECT"
  std::vector<std::string> columns;
  std::vector<std::set<Edge>> column_edges;  // by column
  std::set<Edge> filter_edges;               // apply to every column
  bool traced = false;
};

struct ModelLineage {
  std::string name;
  std::vector<Block> blocks;  // the model's SELECT last
  std::vector<std::string> notes;
  bool traced = false;  // its SELECT (the last block) traced

  const Block* Main() const { return blocks.empty() ? nullptr : &blocks.back(); }
};

struct Edit {
  std::size_t begin = 0, end = 0;  // bytes of the SQL replaced (begin == end: an insertion)
  std::string text;
  int order = 0;  // among insertions at one place: smaller first
};

// Insertions at one place: closing markers before opening ones, inner
// closers before outer ones, outer openers before inner ones.
int Closer(int depth) { return -1000 + (100 - depth); }
int Opener(int depth) { return depth; }

std::string Render(const std::string& sql, const std::vector<Token>& tk, TokenRange range, std::vector<Edit> edits) {
  if (range.empty()) return "";
  const std::size_t begin = tk[range.begin].offset;
  const std::size_t end = tk[range.end - 1].offset + tk[range.end - 1].length;
  std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return std::tie(a.begin, a.order) < std::tie(b.begin, b.order);
  });
  std::string out;
  std::size_t at = begin;
  for (const Edit& e : edits) {
    if (e.begin < at || e.end > end) continue;  // outside the range, or inside a replaced one
    out.append(sql, at, e.begin - at);
    out += e.text;
    at = e.end;
  }
  out.append(sql, at, end - at);
  return out;
}

void NoOp(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_null(ctx); }

struct AuthEvent {
  bool function = false;
  std::string table;  // read: table (lowercase); function: its name
  std::string column;
  std::string db;
};

int RecordAuth(void* arg, int code, const char* a1, const char* a2, const char* a3, const char*) {
  auto* events = static_cast<std::vector<AuthEvent>*>(arg);
  if (code == SQLITE_READ && a1 != nullptr && a2 != nullptr && a2[0] != '\0')
    events->push_back({false, Lower(a1), a2, a3 ? a3 : ""});
  else if (code == SQLITE_FUNCTION && a2 != nullptr)
    events->push_back({true, Lower(a2), "", ""});
  return SQLITE_OK;
}

std::string DedupedColumnsSql(const std::vector<std::string>& columns) {
  std::string sql;
  std::set<std::string> seen;
  for (const std::string& c : columns) {
    std::string name = c;
    for (int n = 1; !seen.insert(Lower(name)).second; ++n) name = c + ":" + std::to_string(n);
    sql += (sql.empty() ? "" : ", ") + QuoteIdentifier(name);
  }
  return sql.empty() ? QuoteIdentifier(kOpenColumn) : sql;
}

int FindColumn(const std::vector<std::string>& columns, std::string_view name) {
  const std::string l = Lower(name);
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (Lower(columns[i]) == l) return static_cast<int>(i);
  return -1;
}

class LineageCompiler {
 public:
  Status Open() {
    if (auto s = db_.Open(":memory:"); !s.ok()) return s;
    return Status::Ok();
  }

  // A table of the schema: a model or a raw table.
  Status AddTable(const std::string& name, const std::vector<std::string>& columns) {
    schema_.insert(Lower(name));
    return db_.Exec("CREATE TABLE " + QuoteIdentifier(Lower(name)) + " (" + DedupedColumnsSql(columns) + ")");
  }

  ModelLineage Compile(const ModelCompile& c) {
    ModelLineage m;
    m.name = c.name;
    if (!c.compiled) {
      m.notes.push_back(c.name + " does not compile (" + c.error + "): not traced");
      return m;
    }
    auto parts = SelectParts::Of(&c.tokens);
    if (!parts.ok()) {
      m.notes.push_back(c.name + ": " + parts.status().message());
      return m;
    }
    Trace(c, *parts, &m);
    for (const Block& b : m.blocks) db_.Exec("DROP TABLE IF EXISTS temp." + QuoteIdentifier(b.name)).ok();
    return m;
  }

 private:
  struct Pending {
    TokenRange range;  // the query
    std::string name, label;
    std::vector<std::string> explicit_columns;
    std::vector<Subquery> lifts;  // its subqueries in FROM position
  };

  void Trace(const ModelCompile& c, const SelectParts& parts, ModelLineage* m) {
    lifted_names_.clear();
    std::vector<CteDef> ctes;
    TokenRange main;
    parts.SplitWith({0, c.tokens.size()}, &ctes, &main);
    std::vector<Pending> order;
    int lifted = 0;
    auto add = [&](TokenRange top, const std::string& name, const std::string& label,
                    const std::vector<std::string>& explicit_columns) {
      // Every subquery in FROM position at any depth becomes a block; a
      // block's subqueries close before it does, so ordering by the
      // closing token puts each after the ones it reads.
      std::vector<Pending> found;
      std::deque<std::size_t> work;
      found.push_back({top, name, label, explicit_columns, {}});
      work.push_back(0);
      while (!work.empty()) {
        const std::size_t at = work.front();
        work.pop_front();
        for (const Subquery& s : parts.Subqueries(found[at].range)) {
          if (s.kind != Subquery::Kind::kFrom) continue;
          found[at].lifts.push_back(s);
          const std::string lifted_name = "_sluice_sq" + std::to_string(++lifted) + "_";
          lifted_names_[s.open] = lifted_name;
          found.push_back({{s.open + 1, s.close}, lifted_name, "subquery", {}, {}});
          work.push_back(found.size() - 1);
        }
      }
      std::stable_sort(found.begin() + 1, found.end(),
                       [](const Pending& a, const Pending& b) { return a.range.end < b.range.end; });
      for (std::size_t i = 1; i < found.size(); ++i) order.push_back(found[i]);
      order.push_back(found[0]);
    };
    for (const CteDef& cte : ctes) add(cte.body, cte.name, "CTE " + cte.name, cte.columns);
    add(main, "_sluice_select_", "SELECT", {});
    for (const Pending& p : order) {
      Block b;
      b.name = p.name;
      b.label = p.label;
      const bool is_main = &p == &order.back();
      bool pre_created = false;
      std::string why;
      // A recursive CTE reads itself: with its columns given, its table
      // exists before its body compiles.
      // Without them, its first arm (which cannot read it) names them.
      std::vector<std::string> self = p.explicit_columns;
      if (!is_main && self.empty() && ReadsItself(c.tokens, p)) self = FirstArmColumns(c, parts, p);
      if (!is_main && !self.empty()) {
        const std::string create =
            "CREATE TEMP TABLE " + QuoteIdentifier(b.name) + " (" + DedupedColumnsSql(self) + ")";
        if (db_.Exec(create).ok()) block_index_[b.name] = static_cast<int>(m->blocks.size());
        self_columns_ = self;
        pre_created = true;
      }
      if (!TraceBlock(c, parts, p, *m, &b, &why)) {
        // SQLite's message without the statement it quotes.
        if (const std::size_t in = why.find(" in: "); in != std::string::npos) why.resize(in);
        m->notes.push_back(c.name + " (" + p.label + "): not traced: " + why);
        b.traced = false;
      }
      if (!is_main) {
        if (pre_created) db_.Exec("DROP TABLE IF EXISTS temp." + QuoteIdentifier(b.name)).ok();
        const std::string create = "CREATE TEMP TABLE " + QuoteIdentifier(b.name) + " (" + DedupedColumnsSql(b.columns) + ")";
        if (auto s = db_.Exec(create); !s.ok()) m->notes.push_back(c.name + " (" + p.label + "): " + s.message());
      }
      block_index_[b.name] = static_cast<int>(m->blocks.size());
      m->blocks.push_back(std::move(b));
    }
    block_index_.clear();
    m->traced = !m->blocks.empty() && m->blocks.back().traced;
    if (m->traced && m->blocks.back().columns.size() != c.columns.size()) {
      m->notes.push_back(c.name + ": its columns here differ from its compile: not traced");
      m->traced = false;
    }
  }

  static bool ReadsItself(const std::vector<Token>& tk, const Pending& p) {
    for (std::size_t i = p.range.begin; i < p.range.end; ++i)
      if (tk[i].IsName() && Lower(tk[i].text) == p.name) return true;
    return false;
  }

  std::vector<std::string> FirstArmColumns(const ModelCompile& c, const SelectParts& parts, const Pending& p) {
    const std::vector<Token>& tk = c.tokens;
    TokenRange first = p.range;
    for (std::size_t i = p.range.begin; i < p.range.end; ++i)
      if (parts.Depth(i) == parts.Depth(p.range.begin) &&
          (tk[i].IsKeyword("union") || tk[i].IsKeyword("intersect") || tk[i].IsKeyword("except"))) {
        first.end = i;
        break;
      }
    std::vector<std::string> out;
    auto st = Prepare(Render(c.sql, tk, first, Lifts(tk, p)), nullptr);
    if (st.ok())
      for (int i = 0; i < st->columns(); ++i) out.emplace_back(st->ColumnName(i));
    return out;
  }

  std::vector<Edit> Lifts(const std::vector<Token>& tk, const Pending& p) {
    std::vector<Edit> edits;
    for (const Subquery& s : p.lifts) {
      edits.push_back({tk[s.open].offset, tk[s.close].offset + 1, " " + LiftedName(s) + " ", 0});
    }
    return edits;
  }

  std::string LiftedName(const Subquery& s) {
    auto it = lifted_names_.find(s.open);
    return it == lifted_names_.end() ? "_sluice_missing_" : it->second;
  }

  Result<Statement> Prepare(const std::string& sql, std::vector<AuthEvent>* events) {
    if (events) sqlite3_set_authorizer(db_.handle(), RecordAuth, events);
    auto st = db_.Prepare(sql);
    if (events) sqlite3_set_authorizer(db_.handle(), nullptr, nullptr);
    return st;
  }

  Status Register(std::string_view name, int args) {
    if (!registered_.insert(std::string(name)).second) return Status::Ok();
    const int rc = sqlite3_create_function_v2(db_.handle(), std::string(name).c_str(), args, SQLITE_UTF8, nullptr,
                                              NoOp, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : Status::Internal(db_.error());
  }

  // A column of the schema or of a block of this model; nullopt: neither
  // (a table-valued function, sqlite_schema).
  std::optional<Target> Resolve(const ModelLineage& m, const std::string& db, const std::string& table,
                                const std::string& column) const {
    if (db == "temp") {
      auto it = block_index_.find(table);
      if (it == block_index_.end()) return std::nullopt;
      const std::size_t at = static_cast<std::size_t>(it->second);
      const int index = FindColumn(at < m.blocks.size() ? m.blocks[at].columns : self_columns_, column);
      if (index < 0) return std::nullopt;
      return Target{it->second, index, "", ""};
    }
    if (db != "main" || !schema_.count(table)) return std::nullopt;
    return Target{-1, -1, table, column};
  }

  bool TraceBlock(const ModelCompile& c, const SelectParts& parts, const Pending& p, const ModelLineage& m, Block* b,
                  std::string* why) {
    const std::vector<Token>& tk = c.tokens;
    const std::string& sql = c.sql;
    const std::vector<Edit> lifts = Lifts(tk, p);
    // 1. The columns.
    {
      auto st = Prepare(Render(sql, tk, p.range, lifts), nullptr);
      if (!st.ok()) {
        *why = st.status().message();
        return false;
      }
      for (int i = 0; i < st->columns(); ++i) b->columns.emplace_back(st->ColumnName(i));
      if (!p.explicit_columns.empty() && p.explicit_columns.size() == b->columns.size())
        b->columns = p.explicit_columns;
    }
    b->column_edges.assign(b->columns.size(), {});
    // Its columns are known (readers of it still compile), what feeds them is not.
    if (!p.range.empty() && tk[p.range.begin].IsKeyword("with")) {
      *why = "a WITH inside a subquery or CTE";
      return false;
    }
    const std::vector<SelectArm> arms = parts.Arms(p.range);
    if (arms.empty()) {
      *why = "no SELECT found";
      return false;
    }
    for (const SelectArm& arm : arms)
      if (arm.values) {
        if (arms.size() == 1) {
          b->traced = true;  // VALUES: constants
          return true;
        }
        *why = "a compound with a VALUES arm";
        return false;
      }
    std::size_t widest = 0;
    for (const SelectArm& arm : arms) widest = std::max(widest, arm.items.size());
    // 2. Positions of the items; `*` columns from their origins.
    std::vector<std::vector<int>> position(arms.size());
    std::set<std::string> functions;  // table-valued functions of this block
    for (std::size_t a = 0; a < arms.size(); ++a) {
      int at = 0;
      for (const SelectItem& item : arms[a].items) {
        position[a].push_back(at);
        if (!item.star) {
          ++at;
          continue;
        }
        const std::string star = "SELECT " + Render(sql, tk, item.tokens, {}) + " " + Render(sql, tk, arms[a].from, lifts);
        auto st = Prepare(star, nullptr);
        if (!st.ok()) {
          *why = st.status().message();
          return false;
        }
        for (int i = 0; i < st->columns(); ++i) {
          const std::size_t col = static_cast<std::size_t>(at + i);
          if (col >= b->columns.size()) break;
          if (!ColumnOriginsAvailable()) continue;
          const char* t = sqlite3_column_table_name(st->handle(), i);
          const char* o = sqlite3_column_origin_name(st->handle(), i);
          const char* d = sqlite3_column_database_name(st->handle(), i);
          if (t == nullptr || o == nullptr || d == nullptr) continue;
          if (auto target = Resolve(m, d, Lower(t), o)) b->column_edges[col].insert({EdgeKind::kValue, *target});
        }
        at += st->columns();
      }
      if (static_cast<std::size_t>(at) != b->columns.size()) {
        *why = "the result items were not split right";
        return false;
      }
      for (const TableFunction& f : parts.TableFunctions(arms[a].from))
        if (f.open > 0) functions.insert(Lower(tk[f.open - 1].text));
    }
    if (!ColumnOriginsAvailable())
      for (const SelectArm& arm : arms)
        for (const SelectItem& item : arm.items)
          if (item.star) {
            *why = "this SQLite does not tell the origins of `*` columns (no SQLITE_ENABLE_COLUMN_METADATA)";
            return false;
          }
    // 3. The markers.
    std::vector<Edit> edits = lifts;
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const SelectArm& arm = arms[a];
      if (arm.items.empty()) continue;
      const std::string arm_fn = std::string(kArm) + std::to_string(a) + "_";
      if (auto s = Register(arm_fn, 0); !s.ok()) {
        *why = s.message();
        return false;
      }
      std::string open = arm_fn + "(), ";
      for (std::size_t n = arm.items.size(); n < widest; ++n) open += "NULL, ";
      const int base = parts.Depth(arm.items.front().tokens.begin);
      edits.push_back({tk[arm.items.front().tokens.begin].offset, tk[arm.items.front().tokens.begin].offset, open,
                       Opener(base)});
      for (const SelectItem& item : arm.items) {
        const Token& last = tk[item.tokens.end - 1];
        edits.push_back({last.offset + last.length, last.offset + last.length, ", " + std::string(kItem) + "()",
                         Closer(base)});
        if (item.star) continue;
        for (const Subquery& s : parts.Subqueries(item.tokens)) {
          const int d = parts.Depth(s.open);
          const std::size_t after = tk[s.close].offset + 1;
          if (s.kind == Subquery::Kind::kFrom || s.kind == Subquery::Kind::kIn) continue;
          const std::size_t from = s.kind == Subquery::Kind::kExists ? tk[s.exists].offset : tk[s.open].offset;
          edits.push_back({from, from, std::string(kKey) + "(", Opener(d)});
          edits.push_back({after, after, ", " + std::string(kKeyEnd) + "())", Closer(d)});
          if (s.kind != Subquery::Kind::kScalar) continue;
          std::vector<CteDef> inner_ctes;
          TokenRange inner;
          parts.SplitWith({s.open + 1, s.close}, &inner_ctes, &inner);
          if (!inner_ctes.empty()) {
            *why = "a WITH inside a subquery";
            return false;
          }
          for (const SelectArm& ia : parts.Arms(inner))
            for (const SelectItem& ii : ia.items) {
              if (ii.star || ii.expr.empty()) continue;
              const Token& e = tk[ii.expr.end - 1];
              edits.push_back({tk[ii.expr.begin].offset, tk[ii.expr.begin].offset, std::string(kValue) + "(",
                               Opener(d + 1)});
              edits.push_back({e.offset + e.length, e.offset + e.length, ", " + std::string(kValueEnd) + "())",
                               Closer(d + 1)});
            }
        }
      }
      for (const TableFunction& f : parts.TableFunctions(arm.from))
        for (const TokenRange& arg : f.args) {
          const Token& e = tk[arg.end - 1];
          const int d = parts.Depth(arg.begin);
          edits.push_back({tk[arg.begin].offset, tk[arg.begin].offset, std::string(kArg) + "(", Opener(d)});
          edits.push_back({e.offset + e.length, e.offset + e.length, ", " + std::string(kArgEnd) + "())", Closer(d)});
        }
    }
    for (auto [fn, args] : {std::pair{kItem, 0}, {kKey, 2}, {kKeyEnd, 0}, {kValue, 2}, {kValueEnd, 0}, {kArg, 2},
                            {kArgEnd, 0}})
      if (auto s = Register(fn, args); !s.ok()) {
        *why = s.message();
        return false;
      }
    std::vector<AuthEvent> events;
    const std::string marked = Render(sql, tk, p.range, edits);
    auto st = Prepare(marked, &events);
    if (!st.ok()) {
      *why = "with lineage markers: " + st.status().message();
      return false;
    }
    // 4. The reads, by where they were resolved.
    int arm = -1;
    std::size_t item = 0;
    std::vector<char> frames;
    std::set<Edge> function_args;
    std::vector<std::size_t> reads_function;  // columns that read a table-valued function
    for (const AuthEvent& e : events) {
      if (e.function) {
        const std::string& f = e.table;
        if (f.rfind(kArm, 0) == 0 && f.size() > kArm.size()) {
          arm = std::atoi(f.c_str() + kArm.size());
          item = 0;
          frames.clear();
        } else if (f == kItem) {
          ++item;
        } else if (f == kKey) {
          frames.push_back('k');
        } else if (f == kValue) {
          frames.push_back('v');
        } else if (f == kArg) {
          frames.push_back('t');
        } else if (f == kKeyEnd || f == kValueEnd || f == kArgEnd) {
          if (!frames.empty()) frames.pop_back();
        }
        continue;
      }
      const bool in_item = arm >= 0 && static_cast<std::size_t>(arm) < arms.size() &&
                           item < arms[static_cast<std::size_t>(arm)].items.size();
      auto target = Resolve(m, e.db, e.table, e.column);
      if (!frames.empty() && frames.back() == 't') {
        if (target) {
          function_args.insert({EdgeKind::kValue, *target});
          b->filter_edges.insert({EdgeKind::kFilter, *target});
        }
        continue;
      }
      if (!in_item) {
        if (target) b->filter_edges.insert({EdgeKind::kFilter, *target});
        continue;
      }
      const SelectItem& it = arms[static_cast<std::size_t>(arm)].items[item];
      if (it.star) continue;  // its columns come from their origins
      const std::size_t col = static_cast<std::size_t>(position[static_cast<std::size_t>(arm)][item]);
      const EdgeKind kind = frames.empty() || frames.back() == 'v' ? EdgeKind::kValue : EdgeKind::kKey;
      if (target) {
        b->column_edges[col].insert({kind, *target});
      } else if (kind == EdgeKind::kValue && e.db == "main" && functions.count(e.table)) {
        reads_function.push_back(col);
      }
    }
    for (std::size_t col : reads_function)
      for (const Edge& arg : function_args) b->column_edges[col].insert(arg);
    b->traced = true;
    return true;
  }

  Database db_;
  std::set<std::string> schema_;      // tables of main: models and raw tables
  std::set<std::string> registered_;  // marker functions
  std::map<std::string, int> block_index_;  // this model's blocks so far, by TEMP name
  std::vector<std::string> self_columns_;  // a recursive CTE's, while its body is traced
  std::map<std::size_t, std::string> lifted_names_;  // this model's lifted subqueries, by their '(' token
};

// The walk from one column down to raw columns: breadth first over
// (column, whether a filter or key step was taken), with an explicit queue;
// each state is visited once, so the walk ends on any cycle.
class Walker {
 public:
  Walker(const ProbedModels& probed, LineageCompiler* compiler) : probed_(probed), compiler_(compiler) {}

  ColumnLineage Walk(const std::string& model, int column) {
    ColumnLineage out;
    const int start = Model(model);
    const ModelLineage& m = lineages_[static_cast<std::size_t>(start)];
    out.model = model;
    out.column = probed_.Find(model)->columns[static_cast<std::size_t>(column)];
    if (!m.traced) {
      notes_.insert(m.notes.begin(), m.notes.end());
      out.notes.assign(notes_.begin(), notes_.end());
      return out;
    }
    Push({start, static_cast<int>(m.blocks.size()) - 1, column, "", "", false, -1, EdgeKind::kValue});
    std::map<std::pair<std::string, std::string>, std::size_t> values, rows;
    for (std::size_t q = 0; q < states_.size(); ++q) {
      const State s = states_[q];
      if (s.model < 0 || s.block < 0) {
        auto key = std::make_pair(s.table, Lower(s.column_name));
        (s.tainted ? rows : values).emplace(key, q);
        continue;
      }
      const ModelLineage& ml = lineages_[static_cast<std::size_t>(s.model)];
      notes_.insert(ml.notes.begin(), ml.notes.end());
      const Block& b = ml.blocks[static_cast<std::size_t>(s.block)];
      if (!b.traced) continue;
      auto follow = [&](const Edge& e) {
        const bool tainted = s.tainted || e.kind != EdgeKind::kValue;
        if (e.to.block >= 0) {
          Push({s.model, e.to.block, e.to.index, "", "", tainted, static_cast<int>(q), e.kind});
          return;
        }
        const Target& t = e.to;
        const ModelCompile* mc = probed_.Find(t.table);
        if (mc == nullptr) {
          Push({-1, -1, -1, t.table, t.column, tainted, static_cast<int>(q), e.kind});
          return;
        }
        const int mi = Model(t.table);
        const ModelLineage& up = lineages_[static_cast<std::size_t>(mi)];
        const int col = up.traced ? FindColumn(up.blocks.back().columns, t.column) : -1;
        if (col < 0) {
          notes_.insert(up.notes.begin(), up.notes.end());
          // Not traced: the walk stops at the model's column.
          Push({mi, -1, -1, t.table, t.column, tainted, static_cast<int>(q), e.kind});
          return;
        }
        Push({mi, static_cast<int>(up.blocks.size()) - 1, col, "", "", tainted, static_cast<int>(q), e.kind});
      };
      for (const Edge& e : b.column_edges[static_cast<std::size_t>(s.column)]) follow(e);
      for (const Edge& e : b.filter_edges) follow(e);
    }
    for (const auto& [key, q] : values) out.sources.push_back(Source(q));
    for (const auto& [key, q] : rows)
      if (!values.count(key)) out.filters.push_back(Source(q));
    out.notes.assign(notes_.begin(), notes_.end());
    return out;
  }

 private:
  struct State {
    int model = -1;   // < 0: a table that is not a model
    int block = -1;   // < 0: a leaf (a raw column, or a model's column not traced)
    int column = -1;  // in the block
    std::string table, column_name;  // a leaf's
    bool tainted = false;
    int parent = -1;
    EdgeKind via = EdgeKind::kValue;  // from the parent
  };

  int Model(const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    lineages_.push_back(compiler_->Compile(*probed_.Find(name)));
    index_[name] = static_cast<int>(lineages_.size()) - 1;
    return index_[name];
  }

  void Push(State s) {
    auto key = std::make_tuple(s.model, s.block, s.column, s.table, Lower(s.column_name), s.tainted);
    if (!seen_.insert(key).second) return;
    states_.push_back(std::move(s));
  }

  // The name of a state's column, and its table.
  std::pair<std::string, std::string> Name(const State& s) const {
    if (s.block < 0) return {s.table, s.column_name};
    const ModelLineage& m = lineages_[static_cast<std::size_t>(s.model)];
    return {m.name, m.blocks[static_cast<std::size_t>(s.block)].columns[static_cast<std::size_t>(s.column)]};
  }

  bool IsStop(const State& s) const {
    if (s.block < 0) return true;
    return s.block == static_cast<int>(lineages_[static_cast<std::size_t>(s.model)].blocks.size()) - 1;
  }

  LineageSource Source(std::size_t q) const {
    std::vector<std::size_t> chain;
    for (int at = static_cast<int>(q); at >= 0; at = states_[static_cast<std::size_t>(at)].parent)
      chain.push_back(static_cast<std::size_t>(at));
    std::reverse(chain.begin(), chain.end());
    LineageSource src;
    EdgeKind pending = EdgeKind::kValue;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      const State& s = states_[chain[i]];
      if (i > 0 && pending == EdgeKind::kValue) pending = s.via;
      if (i > 0 && !IsStop(s)) continue;
      auto [table, column] = Name(s);
      src.path.push_back({table, column, i == 0 ? "" : KindName(pending)});
      pending = EdgeKind::kValue;
    }
    src.table = src.path.back().table;
    src.column = src.path.back().column;
    return src;
  }

  const ProbedModels& probed_;
  LineageCompiler* compiler_;
  std::vector<ModelLineage> lineages_;
  std::map<std::string, int> index_;
  std::vector<State> states_;
  std::set<std::tuple<int, int, int, std::string, std::string, bool>> seen_;
  std::set<std::string> notes_;
};

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string PathText(const LineageSource& s) {
  std::string out;
  for (const LineageHop& h : s.path) {
    if (!h.via.empty()) out += h.via == "value" ? " <- " : " <~ ";
    out += h.table + "." + h.column;
  }
  return out;
}

}  // namespace

bool ColumnOriginsAvailable() { return sqlite3_compileoption_used("ENABLE_COLUMN_METADATA") != 0; }

Result<ColumnLineage> TraceColumnLineage(const std::filesystem::path& dir, Database* lakehouse,
                                         std::string_view model, std::string_view column,
                                         const LineageOptions& options) {
  ProbeOptions probe;
  probe.raw_tables = options.declared_raw_tables;
  if (lakehouse != nullptr) {
    auto columns = ReadRawColumns(*lakehouse);
    if (!columns.ok()) return columns.status();
    probe.raw_columns = std::move(columns).value();
    if (!probe.raw_tables) probe.raw_tables.emplace();
    for (const auto& [table, cols] : probe.raw_columns) probe.raw_tables->insert(table);
  }
  auto set = LoadModelSet(dir, probe.raw_tables);
  if (!set.ok()) return set.status();
  const std::string name = Lower(model);
  const Model* target = set->Find(name);
  if (target == nullptr) {
    std::vector<std::string> names;
    for (const Model& m : set->models) names.push_back(m.name);
    std::sort(names.begin(), names.end());
    return Status::NotFound("unknown model '" + std::string(model) + "' (models: " + Join(names) + ")");
  }
  auto probed = ProbeModels(set->models, probe);
  if (!probed.ok()) return probed.status();
  const ModelCompile* mc = probed->Find(name);
  if (mc == nullptr || !mc->compiled)
    return Status::InvalidArgument(target->path + ":" + std::to_string(mc ? mc->error_line : target->select_line) +
                                   ": model " + name + " does not compile" + (mc ? ": " + mc->error : std::string()) +
                                   " (see sluice models check)");
  std::vector<std::string> columns;
  for (const std::string& c : mc->columns)
    if (c != kOpenColumn) columns.push_back(c);
  const int index = FindColumn(mc->columns, column);
  if (index < 0 || mc->columns[static_cast<std::size_t>(index)] == kOpenColumn)
    return Status::NotFound("model " + name + " has no column '" + std::string(column) + "' (columns: " +
                            Join(columns) + ")");
  LineageCompiler compiler;
  if (auto s = compiler.Open(); !s.ok()) return s;
  for (const ModelCompile& c : probed->models)
    if (c.probed)
      if (auto s = compiler.AddTable(c.name, c.compiled ? c.columns : std::vector<std::string>{}); !s.ok()) return s;
  for (const auto& [table, open] : probed->raw_open)
    if (auto s = compiler.AddTable(table, probed->probe->Columns(table)); !s.ok()) return s;
  Walker walker(*probed, &compiler);
  return walker.Walk(name, index);
}

std::string FormatColumnLineage(const ColumnLineage& lineage) {
  const std::string self = lineage.model + "." + lineage.column;
  std::string out;
  if (lineage.sources.empty())
    out += self + (lineage.notes.empty() ? ": no source columns (a constant, or a count of rows)\n"
                                         : ": no source columns found (see the notes)\n");
  for (const LineageSource& s : lineage.sources) out += PathText(s) + "\n";
  if (!lineage.filters.empty()) {
    out += "rows decided by (filters, join, group and subquery keys; <~ marks such a step):\n";
    for (const LineageSource& s : lineage.filters) out += "  " + s.table + "." + s.column + ": " + PathText(s) + "\n";
  }
  for (const std::string& n : lineage.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace sluice::models
