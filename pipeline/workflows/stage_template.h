// Stage parameter templates: how a stage's params (registry.h) become the
// params of the job a run submits.
//
// Run variables:
//   date            the run's logical date, YYYY-MM-DD
//   year month day  parts of `date` (2024, 03, 15)
//   yesterday       the day before `date`, YYYY-MM-DD: the last complete day
//                   (a run parameter named `yesterday` replaces it)
//   run_id          the run's id (r12)
//   workflow        the workflow's name
//   <param>         every run parameter: the registry's defaults
//                   ([workflow.W.params]), overridden by the run's own
//                   (`sluice run W --param k=v`, RUN params)
// A run parameter `date` (YYYY-MM-DD, a real calendar date) replaces the
// logical date; year, month and day follow it. Run parameters may not be
// named year, month, day, run_id or workflow.
//
// `{name}` in any string value, at any depth of arrays and objects, becomes
// the variable's value when `name` is a run variable. Keys are never
// changed; any other `{...}` stays as written, so `${env:TOKEN}` (resolved by
// the worker) and literal braces pass through. Expansion is one pass: a
// substituted value is not expanded again.
//
// extract.http: the worker expands the date placeholders of its `url`
// ({year} {month} {day} {date}) from its `date` param and walks back earlier
// periods on 404, so in the top-level `url` those four are left as written
// (other run variables, e.g. `{region}`, are expanded), and a `date` param
// holding the logical date is added when the stage sets none.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "schemas/status.h"

namespace sluice::workflows {

// The run variables (see above). `defaults` is a {str: str} JSON object
// (WorkflowDef::params; null is taken as empty; non-string values are used
// as their JSON text). Errors (InvalidArgument): a `date` that is not a
// YYYY-MM-DD calendar date (whether it is `logical_date`, a default or an
// override), a reserved or empty parameter name, `defaults` not an object.
Result<std::map<std::string, std::string>> RunVariables(
    const std::string& logical_date, const std::string& run_id, const std::string& workflow,
    const nlohmann::json& defaults, const std::map<std::string, std::string>& overrides);

// The stage's params with {var} expanded (see above). Never throws.
nlohmann::json ExpandStageParams(const nlohmann::json& params,
                                 const std::map<std::string, std::string>& vars,
                                 std::string_view kind);

// Replaces each `{name}` of `text` whose `name` is in `vars`; one pass.
std::string ExpandTemplate(std::string_view text, const std::map<std::string, std::string>& vars);

// YYYY-MM-DD, years 0001-9999, a real calendar date (2024-02-29 yes,
// 2023-02-29 no).
bool IsCalendarDate(std::string_view s);

}  // namespace sluice::workflows
