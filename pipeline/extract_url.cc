#include "pipeline/extract_url.h"

namespace sluice {

std::optional<ExtractUrl> ResolveExtractUrl(std::string_view url_template, std::string_view date,
                                            PeriodUnit unit, long long now_ms, unsigned back) {
  const std::optional<Period> logical = date.empty() ? PeriodAt(now_ms, unit) : ParsePeriod(date, unit);
  if (!logical) return std::nullopt;
  ExtractUrl out;
  out.period = Step(*logical, -static_cast<int>(back));
  out.url = ExpandPeriodTemplate(url_template, out.period);
  return out;
}

bool HasPeriodPlaceholders(std::string_view url_template) {
  for (std::string_view name : kPeriodPlaceholders)
    if (url_template.find("{" + std::string(name) + "}") != std::string_view::npos) return true;
  return false;
}

}  // namespace sluice
