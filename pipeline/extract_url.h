// The URL an extract.http job fetches. The broker works it out at dispatch
// (it looks the job's cursor up by it and records it in extraction_runs),
// the worker when it fetches (and for earlier periods on 404): both call
// ResolveExtractUrl, so both get the same URL.
//
// The job's `url` param is a template: {year} {month} {day} {date} expand
// from its logical period (ExpandPeriodTemplate, period.h; in a month period
// {day} is 01); ${env:...} secrets are left for the worker to resolve.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pipeline/period.h"

namespace sluice {

struct ExtractUrl {
  Period period;    // the period fetched
  std::string url;  // the template expanded for it
};

// The period `back` periods before the job's logical period, and its URL.
// The logical period is the `date` param (YYYY, YYYY-MM or YYYY-MM-DD) read
// in `unit` (the `period` param), or, when `date` is empty, the period of
// `unit` holding the UTC instant `now_ms`. nullopt when `date` is not such a
// date.
std::optional<ExtractUrl> ResolveExtractUrl(std::string_view url_template, std::string_view date,
                                            PeriodUnit unit, long long now_ms, unsigned back = 0);

// Whether `url_template` names the period at all (then a 404 may walk back).
bool HasPeriodPlaceholders(std::string_view url_template);

}  // namespace sluice
