#include "broker/metric_counters.h"

#include <cstdio>

namespace sluice::broker {

std::string MetricCounters::Render(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += '"';
  }
  return out;
}

namespace {

// A histogram part's family: the name without _bucket, _sum or _count.
std::string FamilyOf(std::string_view name) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"})
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix)
      return std::string(name.substr(0, name.size() - suffix.size()));
  return std::string(name);
}

// Rendered labels without a trailing le="..." (how buckets end).
std::string WithoutLe(const std::string& rendered) {
  const std::size_t at = rendered.rfind("le=\"");
  if (at == std::string::npos || (at != 0 && rendered[at - 1] != ',')) return rendered;
  return rendered.substr(0, at == 0 ? 0 : at - 1);
}

}  // namespace

double& MetricCounters::Slot(std::string_view name, const Labels& labels) {
  auto& family = values_[std::string(name)];
  // A series seen before (the usual case): one rendering, one lookup.
  if (!family.empty()) {
    std::string seen = Render(labels);
    if (auto it = family.find(seen); it != family.end()) {
      changed_.try_emplace(std::make_pair(std::string(name), std::move(seen)), it->second);
      return it->second;
    }
  }
  // The label set without le: what the family's bound counts.
  auto without_le = [](const Labels& from) {
    Labels out;
    for (const auto& kv : from)
      if (kv.first != "le") out.push_back(kv);
    return out;
  };
  auto& series = series_[FamilyOf(name)];
  Labels folded = labels;
  if (const std::string key = Render(without_le(labels)); series.count(key) == 0) {
    if (series.size() >= kMaxSeries) {
      for (auto& [k, v] : folded)
        if (k != "le") v = "_other";
    }
    series.insert(Render(without_le(folded)));
  }
  const std::string rendered = Render(folded);
  auto [it, inserted] = family.emplace(rendered, 0.0);
  changed_.emplace(std::make_pair(std::string(name), rendered), inserted ? -1.0 : it->second);
  return it->second;
}

void MetricCounters::Add(std::string_view name, const Labels& labels, double delta) {
  if (delta <= 0) return;  // counters only grow
  Slot(name, labels) += delta;
}

void MetricCounters::Observe(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                             double seconds) {
  const std::string n(name);
  for (double b : bounds) {
    if (seconds <= b) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", b);
      Labels with = labels;
      with.emplace_back("le", le);
      Slot(n + "_bucket", with) += 1;
      break;
    }
  }
  Slot(n + "_count", labels) += 1;
  if (seconds > 0) Slot(n + "_sum", labels) += seconds;
}

double MetricCounters::Get(std::string_view name, const std::string& rendered_labels) const {
  auto f = values_.find(std::string(name));
  if (f == values_.end()) return 0;
  auto v = f->second.find(rendered_labels);
  return v == f->second.end() ? 0 : v->second;
}

Status MetricCounters::Load(Database& db) {
  values_.clear();
  changed_.clear();
  auto st = db.Prepare("SELECT name, labels, value FROM metric_counters");
  if (!st.ok()) return st.status();
  int rc;
  series_.clear();
  while ((rc = st->Step()) == SQLITE_ROW) {
    const std::string name(st->Text(0)), labels(st->Text(1));
    values_[name][labels] = st->Double(2);
    series_[FamilyOf(name)].insert(WithoutLe(labels));
  }
  if (rc != SQLITE_DONE) return Status::IOError("cannot read metric_counters: " + st->error());
  return Status::Ok();
}

Status MetricCounters::Save(Statement& upsert) {
  for (const auto& [key, before] : changed_) {
    upsert.Bind(1, key.first).Bind(2, key.second).BindDouble(3, values_[key.first][key.second]);
    if (Status s = upsert.Run(); !s.ok()) return s;
  }
  return Status::Ok();
}

void MetricCounters::Revert() {
  for (const auto& [key, before] : changed_) {
    auto& family = values_[key.first];
    if (before < 0) {
      family.erase(key.second);
      if (family.empty()) values_.erase(key.first);
    } else {
      family[key.second] = before;
    }
  }
  changed_.clear();
}

}  // namespace sluice::broker
