#include "pipeline/models/model_actions.h"

#include <algorithm>

#include "pipeline/models/iso_day.h"
#include "pipeline/models/model_fingerprint.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Consecutive days of `days` (sorted) as ranges.
std::vector<DayRange> Ranges(const std::vector<std::string>& days) {
  std::vector<DayRange> out;
  for (const std::string& d : days) {
    if (!out.empty() && NextIsoDay(out.back().to) == d) {
      out.back().to = d;
    } else {
      out.push_back({d, d});
    }
  }
  return out;
}

std::string JoinRanges(const std::vector<DayRange>& ranges) {
  std::string s;
  for (const DayRange& r : ranges) s += (s.empty() ? "" : ", ") + FormatDayRange(r);
  return s;
}

class Decider {
 public:
  Decider(const ModelSet& set, const ModelState& state, const ActionOptions& options)
      : set_(set), state_(state), options_(options) {}

  ModelAction Decide(const Model& m) {
    ModelAction a;
    a.name = m.name;
    a.fingerprint = Fingerprint(m);
    if (m.start && *m.start > options_.end_ds) {
      a.reason = "starts on " + *m.start + ", after " + options_.end_ds;
      return a;
    }
    switch (m.kind) {
      case ModelKind::kFull:
      case ModelKind::kSeed: DecideFull(m, &a); break;
      case ModelKind::kIncrementalByUniqueKey:
        DecideFull(m, &a);
        a.rebuild = a.action == Action::kBuild && !FromScratch(m, a).empty();
        break;
      case ModelKind::kView: DecideView(m, &a); break;
      case ModelKind::kIncrementalByTimeRange: DecideIncremental(m, &a); break;
    }
    if (a.action != Action::kSkip) builds_.insert(Lower(m.name));
    return a;
  }

 private:
  // Why the model must be built from scratch, or empty.
  std::string FromScratch(const Model& m, const ModelAction& a) const {
    const BuildRecord* b = state_.Build(Lower(m.name));
    if (options_.full_refresh) return "full refresh";
    if (b == nullptr) return "no build recorded";
    if (!state_.Exists(Lower(m.name))) return "table missing";
    if (b->fingerprint != a.fingerprint) return "sql changed";
    return "";
  }

  // The first table the model reads that changed since its build, as a
  // reason; empty when none did.
  std::string UpstreamChange(const Model& m) const {
    const BuildRecord* b = state_.Build(Lower(m.name));
    for (const std::string& t : EffectiveInputs(set_, m)) {
      if (builds_.count(t)) return "upstream " + t + " builds in this run";
      if (b == nullptr) continue;
      auto seen = b->inputs.find(t);
      if (t.rfind("raw_", 0) == 0 && !set_.Find(t)) {
        const std::int64_t n = state_.FilesLoadedSince(t, seen == b->inputs.end() ? 0 : seen->second);
        if (n > 0) return "upstream " + t + " loaded " + std::to_string(n) + (n == 1 ? " file" : " files");
        continue;
      }
      const BuildRecord* up = state_.Build(t);
      if (seen == b->inputs.end() || up == nullptr || up->version != seen->second)
        return "upstream " + t + " rebuilt";
    }
    return "";
  }

  void DecideFull(const Model& m, ModelAction* a) const {
    a->reason = FromScratch(m, *a);
    if (a->reason.empty()) a->reason = UpstreamChange(m);
    if (!a->reason.empty()) {
      a->action = Action::kBuild;
      return;
    }
    a->reason = "unchanged since build " + std::to_string(state_.Build(Lower(m.name))->version);
  }

  void DecideView(const Model& m, ModelAction* a) const {
    a->reason = FromScratch(m, *a);
    if (!a->reason.empty()) {
      a->action = Action::kBuild;
      return;
    }
    a->reason = "view unchanged (it reads its upstream when queried)";
  }

  void DecideIncremental(const Model& m, ModelAction* a) const {
    const std::string name = Lower(m.name);
    const std::string& end = options_.end_ds;
    const std::string scratch = FromScratch(m, *a);
    if (!scratch.empty()) {
      // The history: from `start`, else the first day ever processed (with
      // any fingerprint), else the end day.
      std::string first = m.start.value_or(std::min(state_.FirstDay(name).value_or(end), end));
      a->action = Action::kBackfill;
      a->rebuild = true;
      a->intervals = {{first, end}};
      a->reason = scratch + ": " + FormatDayRange(a->intervals.front());
      return;
    }
    const std::set<std::string> done = state_.Days(name, a->fingerprint);
    std::string first = m.start.value_or(done.empty() ? end : std::min(*done.begin(), end));
    std::vector<std::string> missing;
    for (std::string d = first; d <= end; d = NextIsoDay(d))
      if (!done.count(d)) missing.push_back(d);
    std::set<std::string> days(missing.begin(), missing.end());
    std::string reason;
    if (!missing.empty()) reason = "missing intervals " + JoinRanges(Ranges(missing));
    if (options_.backfill && (options_.backfill_models.empty() || Contains(options_.backfill_models, m.name))) {
      std::string from = std::max(options_.backfill->from, m.start.value_or(""));
      for (std::string d = from; d <= options_.backfill->to && d <= end; d = NextIsoDay(d)) days.insert(d);
      if (from <= std::min(options_.backfill->to, end))
        reason += (reason.empty() ? "" : "; ") + std::string("backfill ") +
                  FormatDayRange({from, std::min(options_.backfill->to, end)});
    }
    // The days still being filled: the end day and the `lookback` days
    // before it go again when a table the model reads changed, and the
    // lookback days whenever the model processes anything.
    const std::string upstream = days.empty() ? UpstreamChange(m) : "";
    if (!upstream.empty() || (!days.empty() && m.lookback > 0)) {
      std::vector<std::string> again;
      for (std::string d = AddIsoDays(end, -m.lookback); d <= end; d = NextIsoDay(d))
        if (d >= m.start.value_or("") && !days.count(d)) again.push_back(d);
      days.insert(again.begin(), again.end());
      if (!upstream.empty()) {
        reason = upstream + ": " + (again.empty() ? end : JoinRanges(Ranges(again))) + " again";
      } else if (!again.empty()) {
        reason += "; lookback " + JoinRanges(Ranges(again));
      }
    }
    if (days.empty()) {
      a->reason = "every interval to " + end + " processed";
      return;
    }
    a->action = Action::kBackfill;
    a->intervals = Ranges(std::vector<std::string>(days.begin(), days.end()));
    a->reason = reason;
  }

  const ModelSet& set_;
  const ModelState& state_;
  const ActionOptions& options_;
  std::set<std::string> builds_;  // models that build (or backfill) earlier in this run
};

}  // namespace

const char* ActionName(Action action) {
  switch (action) {
    case Action::kBuild: return "build";
    case Action::kSkip: return "skip";
    case Action::kBackfill: return "backfill";
  }
  return "?";
}

std::string FormatDayRange(const DayRange& r) { return r.from == r.to ? r.from : r.from + ".." + r.to; }

std::set<std::string> EffectiveInputs(const ModelSet& set, const Model& model) {
  std::set<std::string> inputs, seen;
  std::vector<std::string> todo;
  for (const TableReference& r : model.reads) todo.push_back(Lower(r.name));
  while (!todo.empty()) {
    std::string t = std::move(todo.back());
    todo.pop_back();
    if (t == Lower(model.name) || !seen.insert(t).second) continue;  // a self-read is not an input
    const Model* up = set.Find(t);
    if (up != nullptr && up->kind == ModelKind::kView) {
      for (const TableReference& r : up->reads) todo.push_back(Lower(r.name));
    } else {
      inputs.insert(t);
    }
  }
  return inputs;
}

std::vector<ModelAction> DecideActions(const ModelSet& set, const ModelState& state, const ActionOptions& options) {
  Decider decider(set, state, options);
  std::vector<ModelAction> actions;
  for (const Model& m : set.models) {
    if (!options.select.empty() && !Contains(options.select, m.name)) continue;
    actions.push_back(decider.Decide(m));
  }
  return actions;
}

}  // namespace sluice::models
