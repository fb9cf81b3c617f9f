#include "pipeline/workflows/registry.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "pipeline/workflows/edit_distance.h"
#include "pipeline/workflows/stage_kind.h"
#include "pipeline/workflows/stage_template.h"
#include "schemas/job_kinds.h"
#include "schemas/name_rule.h"

namespace sluice::workflows {
namespace {

constexpr double kMaxSeconds = 31536000;  // a year, for timeout_s and backoff_s

// What a registry name must be, for an error message.
std::string MustBeAName() { return "it must be " + std::string(proto::kNameRuleText); }

// Whether `cron` fires at all. An expression that can fire does so within
// kCronSearchYears of any instant (cron_expr.h); a fixed instant keeps the
// answer the same whenever the registry is read.
bool FiresAtAll(const CronExpr& cron) {
  constexpr std::int64_t k2000 = 946684800;  // 2000-01-01T00:00:00Z
  return cron.NextAfter(k2000).has_value();
}

constexpr std::string_view kWorkflowKeys[] = {"schedule", "catch_up", "max_active_runs",
                                              "description", "params", "stage"};
constexpr std::string_view kStageKeys[] = {"name",    "kind",      "queue",        "params",
                                           "depends_on", "timeout_s", "max_attempts", "backoff_s"};
constexpr std::string_view kReservedParams[] = {"year", "month", "day", "run_id", "workflow"};

struct Problem {
  int line;
  std::string text;  // "path:line: ..."
};

// Collects the problems of one file.
class Problems {
 public:
  explicit Problems(const std::string& path) : path_(path) {}

  void Add(int line, const std::string& what) {
    problems_.push_back({line, path_ + ":" + std::to_string(line) + ": " + what});
  }
  bool empty() const { return problems_.empty(); }

  Status ToStatus() {
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    std::string msg;
    const std::size_t n = std::min<std::size_t>(problems_.size(), kMaxRegistryErrors);
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) msg += '\n';
      msg += problems_[i].text;
    }
    if (problems_.size() > n)
      msg += "\n" + path_ + ": ... and " + std::to_string(problems_.size() - n) + " more problems";
    return Status::InvalidArgument(std::move(msg));
  }

 private:
  const std::string& path_;
  std::vector<Problem> problems_;
};

int LineOf(const toml::source_region& r) { return static_cast<int>(r.begin.line); }
int LineOf(const toml::node& n) { return LineOf(n.source()); }
int LineOf(const toml::key& k) { return LineOf(k.source()); }

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string Join(const std::string_view* begin, const std::string_view* end) {
  std::string out;
  for (const std::string_view* p = begin; p != end; ++p) {
    if (!out.empty()) out += ", ";
    out += *p;
  }
  return out;
}

template <std::size_t N>
bool Known(std::string_view key, const std::string_view (&keys)[N]) {
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

template <std::size_t N>
std::string UnknownKey(std::string_view key, const std::string_view (&keys)[N], std::string_view where) {
  std::string msg = "unknown key " + Quote(key) + " in " + std::string(where);
  std::string_view best;
  std::size_t best_d = 3;
  for (std::string_view k : keys) {
    const std::size_t d = EditDistance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  if (!best.empty()) msg += "; did you mean " + Quote(best) + "?";
  msg += " (known: " + Join(std::begin(keys), std::end(keys)) + ")";
  return msg;
}

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string Printed(const toml::node& n) {
  std::ostringstream out;
  n.visit([&out](const auto& v) { out << v; });
  return out.str();
}

bool TooDeep(std::string* error) {
  *error = "tables and arrays nested deeper than " + std::to_string(kMaxStageParamsDepth) + " levels";
  return false;
}

// TOML value -> JSON. Dates and times become their TOML text
// (2024-03-15, 07:30:00, 2024-03-15T07:30:00Z).
// `depth` is the nesting level of `n` (the params table is 1); deeper than
// kMaxStageParamsDepth is an error.
bool ToJson(const toml::node& n, nlohmann::json* out, std::string* error, int depth = 1) {
  switch (n.type()) {
    case toml::node_type::string: *out = n.as_string()->get(); return true;
    case toml::node_type::integer: *out = n.as_integer()->get(); return true;
    case toml::node_type::boolean: *out = n.as_boolean()->get(); return true;
    case toml::node_type::floating_point: {
      const double d = n.as_floating_point()->get();
      if (!std::isfinite(d)) {
        *error = "a float that is not finite";
        return false;
      }
      *out = d;
      return true;
    }
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: *out = Printed(n); return true;
    case toml::node_type::array: {
      if (depth > kMaxStageParamsDepth) return TooDeep(error);
      *out = nlohmann::json::array();
      for (const toml::node& e : *n.as_array()) {
        nlohmann::json v;
        if (!ToJson(e, &v, error, depth + 1)) return false;
        out->push_back(std::move(v));
      }
      return true;
    }
    case toml::node_type::table: {
      if (depth > kMaxStageParamsDepth) return TooDeep(error);
      *out = nlohmann::json::object();
      for (auto&& [k, v] : *n.as_table()) {
        nlohmann::json j;
        if (!ToJson(v, &j, error, depth + 1)) return false;
        (*out)[std::string(k.str())] = std::move(j);
      }
      return true;
    }
    default: *error = "an unsupported value"; return false;
  }
}

// One workflow's table -> WorkflowDef; problems go to `problems`.
class WorkflowReader {
 public:
  WorkflowReader(std::string name, int line, Problems* problems)
      : problems_(problems), prefix_("workflow " + Quote(name) + ": ") {
    wf_.name = std::move(name);
    wf_.line = line;
  }

  WorkflowDef Read(const toml::table& t) {
    if (!IsValidRegistryName(wf_.name))
      Fail(wf_.line, "bad workflow name: " + MustBeAName());
    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      const int line = LineOf(key);
      if (!Known(k, kWorkflowKeys)) {
        Fail(line, UnknownKey(k, kWorkflowKeys, "[workflow." + wf_.name + "]"));
      } else if (k == "schedule") {
        ReadSchedule(node, line);
      } else if (k == "catch_up") {
        const auto* s = node.as_string();
        if (s != nullptr && s->get() == "none") wf_.catch_up = CatchUp::kNone;
        else if (s != nullptr && s->get() == "latest") wf_.catch_up = CatchUp::kLatest;
        else
          Fail(line, "'catch_up' must be \"none\" or \"latest\", not " +
                         (s != nullptr ? "\"" + s->get() + "\"" : TypeName(node)));
      } else if (k == "max_active_runs") {
        const auto* i = node.as_integer();
        if (i == nullptr || i->get() < 1 || i->get() > 1000)
          Fail(line, "'max_active_runs' must be an integer 1..1000, not " + Describe(node));
        else
          wf_.max_active_runs = static_cast<std::uint32_t>(i->get());
      } else if (k == "description") {
        if (const auto* s = node.as_string()) wf_.description = s->get();
        else Fail(line, "'description' must be a string, not " + TypeName(node));
      } else if (k == "params") {
        ReadParams(node, line);
      }
    }
    const toml::node* stages = t.get("stage");
    if (stages == nullptr) {
      Fail(wf_.line, "no stages (add [[workflow." + wf_.name + ".stage]] entries)");
    } else if (const toml::array* arr = stages->as_array(); arr != nullptr && arr->empty()) {
      Fail(LineOf(*stages), "no stages (add [[workflow." + wf_.name + ".stage]] entries)");
    } else if (arr == nullptr || !arr->is_array_of_tables()) {
      Fail(LineOf(*stages), "'stage' must be an array of tables ([[workflow." + wf_.name + ".stage]])");
    } else {
      for (const toml::node& e : *arr) ReadStage(*e.as_table());
      Order();
    }
    return std::move(wf_);
  }

 private:
  void Fail(int line, const std::string& what) { problems_->Add(line, prefix_ + what); }

  static std::string Describe(const toml::node& n) {
    if (n.is_integer() || n.is_floating_point()) return Printed(n);
    return TypeName(n);
  }

  void ReadSchedule(const toml::node& node, int line) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      Fail(line, "'schedule' must be a string (a cron expression), not " + TypeName(node));
      return;
    }
    wf_.schedule = s->get();
    if (wf_.schedule.empty()) return;
    Result<CronExpr> cron = ParseCron(wf_.schedule);
    if (!cron.ok()) Fail(line, cron.status().message());
    else if (!FiresAtAll(*cron)) Fail(line, "cron \"" + wf_.schedule + "\" never fires (no date matches it)");
    else wf_.cron = std::move(cron).value();
  }

  void ReadParams(const toml::node& node, int line) {
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      Fail(line, "'params' must be a table of strings, not " + TypeName(node));
      return;
    }
    for (auto&& [key, v] : *t) {
      const std::string k(key.str());
      const int kline = LineOf(key);
      if (!IsValidRegistryName(k)) {
        Fail(kline, "bad parameter name " + Quote(k) + ": " + MustBeAName());
        continue;
      }
      if (Known(k, kReservedParams)) {
        Fail(kline, "parameter " + Quote(k) +
                        " is reserved (year, month and day follow 'date'; run_id and workflow are the run's own)");
        continue;
      }
      std::string text;
      if (const auto* s = v.as_string()) text = s->get();
      else if (const auto* i = v.as_integer()) text = std::to_string(i->get());
      else if (v.is_floating_point() || v.is_boolean() || v.is_date()) text = Printed(v);
      else {
        Fail(kline, "parameter " + Quote(k) + " must be a string, not " + TypeName(v));
        continue;
      }
      if (k == "date" && !IsCalendarDate(text)) {
        Fail(kline, "parameter 'date' \"" + text + "\" must be a calendar date YYYY-MM-DD");
        continue;
      }
      wf_.params[k] = text;
    }
  }

  // A positive number of seconds -> milliseconds; 0 after a problem.
  std::uint64_t Millis(const toml::node& node, const std::string& key, int line, const std::string& where) {
    double s = 0;
    if (const auto* i = node.as_integer()) s = static_cast<double>(i->get());
    else if (const auto* f = node.as_floating_point()) s = f->get();
    else {
      Fail(line, where + Quote(key) + " must be a number of seconds, not " + TypeName(node));
      return 0;
    }
    if (!(s > 0) || s > kMaxSeconds) {
      Fail(line, where + Quote(key) + " must be > 0 and at most 31536000 (seconds), not " + Printed(node));
      return 0;
    }
    const std::uint64_t ms = static_cast<std::uint64_t>(std::llround(s * 1000));
    if (ms == 0) Fail(line, where + Quote(key) + " must be at least 0.001 (seconds), not " + Printed(node));
    return ms;
  }

  void ReadStage(const toml::table& t) {
    StageDef st;
    std::map<std::string, int> dep_lines;
    st.line = LineOf(t);
    bool named = false;
    // The stage's name first, so that every other problem can name it.
    std::string where = "stage #" + std::to_string(index_ + 1) + ": ";
    ++index_;
    if (const toml::node* n = t.get("name")) {
      const auto* s = n->as_string();
      if (s == nullptr) {
        Fail(LineOf(*n), where + "'name' must be a string, not " + TypeName(*n));
      } else if (!IsValidRegistryName(s->get())) {
        Fail(LineOf(*n), where + "bad stage name \"" + s->get() + "\": " + MustBeAName());
      } else {
        st.name = s->get();
        where = "stage " + Quote(st.name) + ": ";
        named = true;
      }
    } else {
      Fail(st.line, where + "no 'name'");
    }
    if (!t.contains("kind")) Fail(st.line, where + "no 'kind'");

    for (auto&& [key, node] : t) {
      const std::string k(key.str());
      const int line = LineOf(key);
      if (!Known(k, kStageKeys)) {
        Fail(line, where + UnknownKey(k, kStageKeys, "[[workflow." + wf_.name + ".stage]]"));
      } else if (k == "kind") {
        const auto* s = node.as_string();
        if (s == nullptr) Fail(line, where + "'kind' must be a string, not " + TypeName(node));
        else if (!IsValidRegistryName(s->get()))
          Fail(line, where + "bad kind \"" + s->get() + "\": " + MustBeAName());
        else if (auto meant = NearMissOfBuiltinKind(s->get()))
          Fail(line, where + "unknown kind \"" + s->get() + "\"; did you mean " + Quote(*meant) +
                         "? (a custom kind may not be this close to a built-in one; built-in: " +
                         Join(proto::kBuiltinKinds.data(), proto::kBuiltinKinds.data() + proto::kBuiltinKinds.size()) +
                         ")");
        else st.kind = s->get();
      } else if (k == "queue") {
        const auto* s = node.as_string();
        if (s == nullptr) Fail(line, where + "'queue' must be a string, not " + TypeName(node));
        else if (!IsValidRegistryName(s->get()))
          Fail(line, where + "bad queue name \"" + s->get() + "\": " + MustBeAName());
        else st.queue = s->get();
      } else if (k == "params") {
        if (!node.is_table()) {
          Fail(line, where + "'params' must be a table, not " + TypeName(node));
        } else {
          std::string error;
          nlohmann::json j;
          if (ToJson(node, &j, &error)) st.params = std::move(j);
          else Fail(line, where + "'params' holds " + error);
        }
      } else if (k == "depends_on") {
        ReadDepends(node, line, where, &st, &dep_lines);
      } else if (k == "timeout_s") {
        st.timeout_ms = Millis(node, k, line, where);
      } else if (k == "backoff_s") {
        st.backoff_ms = Millis(node, k, line, where);
      } else if (k == "max_attempts") {
        const auto* i = node.as_integer();
        if (i == nullptr || i->get() < 1 || i->get() > 1000)
          Fail(line, where + "'max_attempts' must be an integer 1..1000, not " + Describe(node));
        else st.max_attempts = static_cast<std::uint32_t>(i->get());
      }
    }
    if (!named) return;  // nothing can refer to it
    auto [it, inserted] = first_line_.emplace(st.name, st.line);
    if (!inserted) {
      Fail(st.line, "duplicate stage " + Quote(st.name) + " (first declared on line " +
                        std::to_string(it->second) + ")");
      return;
    }
    declared_.push_back(std::move(st));
    dep_lines_.push_back(std::move(dep_lines));
  }

  void ReadDepends(const toml::node& node, int line, const std::string& where, StageDef* st,
                   std::map<std::string, int>* lines) {
    const toml::array* arr = node.as_array();
    if (arr == nullptr) {
      Fail(line, where + "'depends_on' must be an array of stage names, not " + TypeName(node));
      return;
    }
    for (const toml::node& e : *arr) {
      const auto* s = e.as_string();
      if (s == nullptr) {
        Fail(line, where + "'depends_on' must hold stage names (strings), not " + TypeName(e));
        continue;
      }
      const std::string& dep = s->get();
      if (std::find(st->depends_on.begin(), st->depends_on.end(), dep) == st->depends_on.end())
        st->depends_on.push_back(dep);
      const int at = LineOf(e);
      lines->emplace(dep, at > 0 ? at : line);
    }
  }

  int DepLine(std::size_t stage, const std::string& dep) const {
    auto it = dep_lines_[stage].find(dep);
    return it != dep_lines_[stage].end() ? it->second : declared_[stage].line;
  }

  // Checks the dependencies and puts the stages in topological order,
  // stable in file order; reports unknown ones, self-dependencies, cycles.
  void Order() {
    const std::size_t n = declared_.size();
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < n; ++i) index[declared_[i].name] = i;
    std::vector<std::vector<std::size_t>> deps(n);        // i depends on deps[i]
    std::vector<std::vector<std::size_t>> dependents(n);  // the reverse
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) {
      const StageDef& st = declared_[i];
      for (const std::string& d : st.depends_on) {
        auto it = index.find(d);
        if (d == st.name) {
          Fail(DepLine(i, d), "stage " + Quote(st.name) + ": depends on itself");
          ok = false;
        } else if (it == index.end()) {
          std::string msg = "stage " + Quote(st.name) + ": unknown dependency " + Quote(d);
          if (first_line_.count(d) == 0 && IsValidRegistryName(d)) {
            // A near miss among the stage names helps more than the list.
            for (const auto& [name, _] : index)
              if (EditDistance(d, name) <= 2) {
                msg += " (did you mean " + Quote(name) + "?)";
                break;
              }
          }
          Fail(DepLine(i, d), msg);
          ok = false;
        } else {
          deps[i].push_back(it->second);
          dependents[it->second].push_back(i);
        }
      }
    }

    std::vector<std::size_t> waiting(n);
    std::set<std::size_t> ready;
    for (std::size_t i = 0; i < n; ++i)
      if ((waiting[i] = deps[i].size()) == 0) ready.insert(i);
    std::vector<std::size_t> order;
    while (!ready.empty()) {
      const std::size_t i = *ready.begin();
      ready.erase(ready.begin());
      order.push_back(i);
      for (std::size_t j : dependents[i])
        if (--waiting[j] == 0) ready.insert(j);
    }
    if (order.size() < n) {
      ReportCycles(deps, waiting);
      ok = false;
    }
    if (!ok) return;
    wf_.stages.reserve(n);
    for (std::size_t i : order) wf_.stages.push_back(std::move(declared_[i]));
  }

  // The stages left with waiting > 0 are on a cycle or depend on one:
  // reports each cycle found by a depth-first walk from them, in file order.
  void ReportCycles(const std::vector<std::vector<std::size_t>>& deps, const std::vector<std::size_t>& waiting) {
    const std::size_t n = deps.size();
    enum Color { kWhite, kGray, kBlack };
    std::vector<Color> color(n, kWhite);
    std::vector<std::size_t> path;
    // Iterative DFS: (node, next dependency to look at).
    for (std::size_t start = 0; start < n; ++start) {
      if (waiting[start] == 0 || color[start] != kWhite) continue;
      std::vector<std::pair<std::size_t, std::size_t>> stack{{start, 0}};
      color[start] = kGray;
      path.assign(1, start);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == deps[node].size()) {
          color[node] = kBlack;
          stack.pop_back();
          path.pop_back();
          continue;
        }
        const std::size_t d = deps[node][next++];
        if (color[d] == kGray) {
          auto from = std::find(path.begin(), path.end(), d);
          std::string text;
          int line = 0;
          for (auto p = from; p != path.end(); ++p) {
            text += declared_[*p].name + " -> ";
            if (line == 0 || declared_[*p].line < line) line = declared_[*p].line;
          }
          text += declared_[d].name;
          Fail(line, "cycle: " + text);
        } else if (color[d] == kWhite) {
          color[d] = kGray;
          path.push_back(d);
          stack.emplace_back(d, 0);
        }
      }
    }
  }

  Problems* problems_;
  std::string prefix_;
  WorkflowDef wf_;
  int index_ = 0;
  std::vector<StageDef> declared_;              // valid, unique names, file order
  std::map<std::string, int> first_line_;       // stage name -> line
  std::vector<std::map<std::string, int>> dep_lines_;  // per declared_ stage: dep -> line
};

Result<Registry> FromTable(const toml::table& root, const std::string& path) {
  Problems problems(path);
  Registry reg;
  reg.path = path;
  for (auto&& [key, node] : root) {
    if (key.str() != "workflow")
      problems.Add(LineOf(key), "unknown key " + Quote(key.str()) + " (expected [workflow.NAME] tables)");
  }
  if (const toml::node* w = root.get("workflow")) {
    const toml::table* all = w->as_table();
    if (all == nullptr) {
      problems.Add(LineOf(*w), "'workflow' must be a table of workflows ([workflow.NAME])");
    } else {
      for (auto&& [key, node] : *all) {
        const std::string name(key.str());
        int line = LineOf(node);
        if (line == 0) line = LineOf(key);
        const toml::table* t = node.as_table();
        if (t == nullptr) {
          problems.Add(LineOf(key), "workflow " + Quote(name) + ": must be a table ([workflow." + name + "]), not " +
                                        TypeName(node));
          continue;
        }
        reg.workflows.push_back(WorkflowReader(name, line, &problems).Read(*t));
      }
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  std::sort(reg.workflows.begin(), reg.workflows.end(),
            [](const WorkflowDef& a, const WorkflowDef& b) { return a.name < b.name; });
  return reg;
}

}  // namespace

bool IsValidRegistryName(std::string_view name) { return proto::IsValidName(name); }

namespace {
Status TooLarge(const std::string& path) {
  return Status::InvalidArgument(path + ": larger than " + std::to_string(kMaxRegistryBytes) + " bytes (" +
                                 std::to_string(kMaxRegistryBytes >> 20) + " MiB), the registry's size limit");
}
}  // namespace

Result<Registry> ParseRegistry(std::string_view text, const std::string& path) {
  if (text.size() > kMaxRegistryBytes) return TooLarge(path);
  try {
    toml::table root = toml::parse(text, path);
    return FromTable(root, path);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return Status::InvalidArgument(path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                                   std::string(e.description()));
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

Result<Registry> LoadRegistry(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string why = std::strerror(err);
    if (err == ENOENT) return Status::NotFound("cannot read " + path + ": " + why);
    return Status::IOError("cannot read " + path + ": " + why);
  }
  // At most one byte past the limit is read: a huge file costs nothing.
  std::string text(kMaxRegistryBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::IOError("cannot read " + path);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxRegistryBytes) return TooLarge(path);
  return ParseRegistry(text, path);
}

}  // namespace sluice::workflows
