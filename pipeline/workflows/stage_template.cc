#include "pipeline/workflows/stage_template.h"

#include <array>
#include <exception>
#include <utility>

#include "pipeline/period.h"
#include "schemas/job_kinds.h"

namespace sluice::workflows {
namespace {

using Vars = std::map<std::string, std::string>;

// The variables a run derives itself: parameters cannot take these names.
constexpr std::array<std::string_view, 5> kReserved = {"year", "month", "day", "run_id", "workflow"};

template <std::size_t N>
bool OneOf(std::string_view s, const std::array<std::string_view, N>& list) {
  for (std::string_view x : list)
    if (x == s) return true;
  return false;
}

std::string Expand(std::string_view text, const Vars& vars, bool skip_dates) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close != std::string_view::npos) {
        const std::string_view name = text.substr(i + 1, close - i - 1);
        // skip_dates: the period placeholders of an extract.http url are the
        // worker's (pipeline/extract_url.h).
        if (!(skip_dates && OneOf(name, kPeriodPlaceholders))) {
          auto it = vars.find(std::string(name));
          if (it != vars.end()) {
            out += it->second;
            i = close + 1;
            continue;
          }
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

nlohmann::json ExpandValue(const nlohmann::json& v, const Vars& vars) {
  if (v.is_string()) return Expand(v.get_ref<const std::string&>(), vars, false);
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const nlohmann::json& e : v) out.push_back(ExpandValue(e, vars));
    return out;
  }
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = ExpandValue(it.value(), vars);
    return out;
  }
  return v;
}

}  // namespace

bool IsCalendarDate(std::string_view s) { return IsIsoDay(s); }

std::string ExpandTemplate(std::string_view text, const Vars& vars) {
  return Expand(text, vars, false);
}

Result<Vars> RunVariables(const std::string& logical_date, const std::string& run_id,
                          const std::string& workflow, const nlohmann::json& defaults,
                          const Vars& overrides) {
  try {
    if (!defaults.is_null() && !defaults.is_object())
      return Status::InvalidArgument("run parameter defaults must be an object");
    Vars params;
    if (defaults.is_object())
      for (auto it = defaults.begin(); it != defaults.end(); ++it)
        params[it.key()] =
            it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    for (const auto& [k, v] : overrides) params[k] = v;

    for (const auto& [k, v] : params) {
      if (k.empty()) return Status::InvalidArgument("run parameter with an empty name");
      if (OneOf(k, kReserved))
        return Status::InvalidArgument("run parameter '" + k +
                                       "' is reserved: year, month and day follow 'date', run_id "
                                       "and workflow are the run's own");
    }

    std::string date = logical_date;
    auto d = params.find("date");
    if (d != params.end()) {
      if (!IsCalendarDate(d->second))
        return Status::InvalidArgument("run parameter 'date' \"" + d->second +
                                       "\" must be a calendar date YYYY-MM-DD");
      date = d->second;
    } else if (!IsCalendarDate(date)) {
      return Status::InvalidArgument("logical date \"" + date + "\" must be a calendar date YYYY-MM-DD");
    }

    Vars vars = std::move(params);
    vars["date"] = date;
    vars["year"] = date.substr(0, 4);
    vars["month"] = date.substr(5, 2);
    vars["day"] = date.substr(8, 2);
    vars["run_id"] = run_id;
    vars["workflow"] = workflow;
    // Not reserved: a run parameter of that name (from before it existed) wins.
    if (!vars.count("yesterday")) {
      auto p = ParsePeriod(date, PeriodUnit::kDay);
      if (p) vars["yesterday"] = FormatPeriod(Step(*p, -1));
    }
    return vars;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("run variables: ") + e.what());
  }
}

nlohmann::json ExpandStageParams(const nlohmann::json& params, const Vars& vars, std::string_view kind) {
  try {
    if (kind != proto::kind::kExtractHttp || !params.is_object()) return ExpandValue(params, vars);
    nlohmann::json out = nlohmann::json::object();
    for (auto it = params.begin(); it != params.end(); ++it) {
      if (it.key() == "url" && it.value().is_string())
        out[it.key()] = Expand(it.value().get_ref<const std::string&>(), vars, true);
      else
        out[it.key()] = ExpandValue(it.value(), vars);
    }
    if (!out.contains("date")) {
      auto d = vars.find("date");
      if (d != vars.end()) out["date"] = d->second;
    }
    return out;
  } catch (const std::exception&) {
    // Only allocation can fail here; the params as written are the best
    // answer left.
    return params;
  }
}

}  // namespace sluice::workflows
