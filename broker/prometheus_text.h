// PrometheusText: writes the Prometheus text exposition format (version
// 0.0.4): per metric family a `# HELP` and a `# TYPE` line, then its
// samples, `name{label="value",...} value`. Label values and help text are
// escaped as the format says (backslash, double quote, line feed); numbers
// are written so that a float reads back exactly (`+Inf`, `-Inf`, `NaN`
// spelled as Prometheus spells them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::broker {

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // Starts a family: `type` is counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family; `suffix` is appended to its name
  // (`_bucket`, `_sum`, `_count` for histograms, else empty).
  void Sample(std::string_view suffix, const Labels& labels, double value);
  void Sample(const Labels& labels, double value) { Sample({}, labels, value); }
  void Sample(double value) { Sample({}, {}, value); }
  // A sample whose labels are already rendered (k="v",... escaped; "" for none).
  void RawSample(std::string_view suffix, std::string_view rendered_labels, double value);

  // A histogram's samples from cumulative bucket counts: `bounds[i]` is
  // bucket i's upper bound, `cumulative[i]` how many observations were at
  // most that; `count` (the +Inf bucket) and `sum` close it.
  void Histogram(const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

  static std::string FormatValue(double v);

 private:
  std::string out_;
  std::string family_;
};

}  // namespace sluice::broker
