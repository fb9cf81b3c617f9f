#include "broker/prometheus_text.h"

#include <charconv>
#include <cmath>

namespace sluice::broker {
namespace {

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (quote && c == '"') {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

}  // namespace

std::string PrometheusText::FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, r.ptr);
  }
  char buf[64];
  // The shortest form that reads back exactly, %g style: 0.0005, 5e-05.
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return std::string(buf, r.ptr);
}

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  family_ = name;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscaped(&out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusText::Sample(std::string_view suffix, const Labels& labels, double value) {
  out_ += family_;
  out_ += suffix;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      AppendEscaped(&out_, v, true);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void PrometheusText::RawSample(std::string_view suffix, std::string_view rendered_labels, double value) {
  out_ += family_;
  out_ += suffix;
  if (!rendered_labels.empty()) {
    out_ += '{';
    out_ += rendered_labels;
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void PrometheusText::Histogram(const Labels& labels, const std::vector<double>& bounds,
                               const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum) {
  for (std::size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    const std::string le = FormatValue(bounds[i]);
    Labels with = labels;
    with.emplace_back("le", le);
    Sample("_bucket", with, static_cast<double>(cumulative[i]));
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  Sample("_bucket", inf, static_cast<double>(count));
  Sample("_sum", labels, sum);
  Sample("_count", labels, static_cast<double>(count));
}

}  // namespace sluice::broker
