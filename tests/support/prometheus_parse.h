// A strict reader of the Prometheus text exposition format (0.0.4), for
// tests: what `promtool check metrics` would refuse, it refuses, with the
// line. It checks names and label names, label value escapes, float values,
// that a family's `# TYPE` comes once and before its samples, that its
// samples are contiguous, no series twice, counters named `_total`, and a
// histogram's buckets (ascending `le`, cumulative counts, `+Inf` equal to
// `_count`, `_sum` present).
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::testing {

struct PromSample {
  std::string name;                           // with its suffix (_bucket, ...)
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct PromFamily {
  std::string type, help;
  std::vector<PromSample> samples;
};

struct PromText {
  std::map<std::string, PromFamily> families;
  std::string error;  // empty: the text is valid
  // The value of the series `name{labels}` (labels a subset match is not
  // enough: exactly these); NAN when absent.
  double Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& [f, fam] : families)
      for (const PromSample& s : fam.samples)
        if (s.name == name && s.labels == labels) return s.value;
    return NAN;
  }
};

inline bool PromParseValue(const std::string& v, double* out) {
  if (v == "NaN") return *out = NAN, true;
  if (v == "+Inf" || v == "Inf") return *out = INFINITY, true;
  if (v == "-Inf") return *out = -INFINITY, true;
  static const std::regex kFloat(R"([-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?)");
  if (!std::regex_match(v, kFloat)) return false;
  *out = std::strtod(v.c_str(), nullptr);
  return true;
}

inline PromText ParsePrometheusText(const std::string& text) {
  PromText out;
  static const std::regex kName(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
  static const std::regex kLabel(R"([a-zA-Z_][a-zA-Z0-9_]*)");
  std::istringstream in(text);
  std::string line, current;  // current: the family whose samples come now
  std::set<std::string> closed, series;
  int n = 0;
  auto fail = [&](const std::string& why) {
    out.error = "line " + std::to_string(n) + ": " + why + ": " + line;
    return out;
  };
  if (!text.empty() && text.back() != '\n') {
    out.error = "the text does not end with a line feed";
    return out;
  }
  auto family_of = [&](const std::string& name) -> std::string {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        const std::string base = name.substr(0, name.size() - s.size());
        auto it = out.families.find(base);
        if (it != out.families.end() && (it->second.type == "histogram" || it->second.type == "summary"))
          return base;
      }
    }
    return name;
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream ls(line.substr(1));
      std::string kw, name;
      ls >> kw >> name;
      if (kw != "HELP" && kw != "TYPE") continue;  // a comment
      if (!std::regex_match(name, kName)) return fail("bad metric name");
      PromFamily& fam = out.families[name];
      if (closed.count(name)) return fail("a family's lines are not together");
      if (!current.empty() && current != name) closed.insert(current);
      current = name;
      std::string rest;
      std::getline(ls, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (kw == "TYPE") {
        if (!fam.type.empty()) return fail("a second TYPE");
        if (!fam.samples.empty()) return fail("TYPE after the family's samples");
        if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" && rest != "untyped")
          return fail("unknown type");
        fam.type = rest;
        if (rest == "counter" && !(name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0))
          return fail("a counter not named _total");
      } else {
        if (!fam.help.empty()) return fail("a second HELP");
        for (std::size_t i = 0; i < rest.size(); ++i)
          if (rest[i] == '\\' && (i + 1 == rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
            return fail("bad escape in HELP");
          else if (rest[i] == '\\')
            ++i;
        fam.help = rest.empty() ? " " : rest;
      }
      continue;
    }
    PromSample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!std::regex_match(s.name, kName)) return fail("bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail("a label without =");
        std::string key = line.substr(i, eq - i);
        if (!std::regex_match(key, kLabel) || key.rfind("__", 0) == 0) return fail("bad label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return fail("a label value not quoted");
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) return fail("bad escape");
            char e = line[++j];
            if (e == 'n') value += '\n';
            else if (e == '\\' || e == '"') value += e;
            else return fail("bad escape");
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return fail("an unterminated label value");
        if (!s.labels.emplace(key, value).second) return fail("a label twice");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail("no closing }");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    std::istringstream vs(line.substr(i + 1));
    std::string v, ts, extra;
    vs >> v >> ts >> extra;
    if (!extra.empty() || !PromParseValue(v, &s.value)) return fail("bad value");
    const std::string fam_name = family_of(s.name);
    auto it = out.families.find(fam_name);
    if (it == out.families.end() || it->second.type.empty()) return fail("a sample before its TYPE");
    if (fam_name != current || closed.count(fam_name)) return fail("a family's samples are not together");
    std::string key = s.name + "{";
    for (const auto& [k, val] : s.labels) key += k + "=" + val + ",";
    if (!series.insert(key).second) return fail("a series twice");
    it->second.samples.push_back(std::move(s));
  }
  // Histograms: per label set (without le), buckets ascending and
  // cumulative, +Inf == _count, _sum present.
  for (const auto& [name, fam] : out.families) {
    if (fam.type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts, sums;
    for (const PromSample& s : fam.samples) {
      auto labels = s.labels;
      if (s.name == name + "_bucket") {
        auto le = labels.find("le");
        double bound;
        if (le == labels.end() || !PromParseValue(le->second, &bound)) {
          out.error = name + ": a bucket without a valid le";
          return out;
        }
        labels.erase(le);
        buckets[labels].emplace_back(bound, s.value);
      } else if (s.name == name + "_count") {
        counts[labels] = s.value;
      } else if (s.name == name + "_sum") {
        sums[labels] = s.value;
      } else {
        out.error = name + ": a histogram sample named " + s.name;
        return out;
      }
    }
    for (const auto& [labels, b] : buckets) {
      for (std::size_t k = 1; k < b.size(); ++k)
        if (!(b[k].first > b[k - 1].first) || b[k].second < b[k - 1].second) {
          out.error = name + ": buckets not ascending or not cumulative";
          return out;
        }
      if (b.empty() || !std::isinf(b.back().first) || !counts.count(labels) || counts[labels] != b.back().second ||
          !sums.count(labels)) {
        out.error = name + ": no +Inf bucket equal to _count, or no _sum";
        return out;
      }
    }
  }
  return out;
}

}  // namespace sluice::testing
