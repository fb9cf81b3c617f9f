// MetricCounters: the broker's Prometheus counters that survive restarts,
// kept in the state database's own table `metric_counters` (schema 5) and
// written in the group commit with the changes they count: a crash loses
// or doubles nothing, and retention (which prunes job rows) takes nothing
// from them. Keyed by metric name and rendered label set; values only
// grow.
//
// A histogram is stored as its parts: `NAME_bucket` per `le` (counts of
// that bucket alone, not cumulative), `NAME_sum`, `NAME_count`.
//
// Label sets are bounded: a family holds at most kMaxSeries; past that,
// new label sets go to one series whose every label value is "_other" (a
// flood of made-up job kinds must not grow the table or /metrics without
// end).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/sqlite_db.h"
#include "schemas/status.h"

namespace sluice::broker {

class MetricCounters {
 public:
  static constexpr std::size_t kMaxSeries = 1000;
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // Prometheus label text: k="v",k2="v2" (values escaped), "" for none.
  static std::string Render(const Labels& labels);

  void Add(std::string_view name, const Labels& labels, double delta);
  // Observes `seconds` into the histogram `name` (bounds: upper bounds of
  // the buckets, ascending; above the last only _count and _sum grow).
  void Observe(std::string_view name, const Labels& labels, const std::vector<double>& bounds, double seconds);
  double Get(std::string_view name, const std::string& rendered_labels) const;

  // name -> rendered labels -> value.
  const std::map<std::string, std::map<std::string, double>>& values() const { return values_; }

  // Reads the table (after the migrations).
  Status Load(Database& db);
  // Writes what changed since the last commit with `upsert` (INSERT INTO
  // metric_counters(name, labels, value) VALUES (?1, ?2, ?3) ON CONFLICT
  // DO UPDATE), inside the open transaction.
  Status Save(Statement& upsert);
  // The transaction that saved them committed / was rolled back (back to
  // the values last committed).
  void Committed() { changed_.clear(); }
  void Revert();
  bool dirty() const { return !changed_.empty(); }

 private:
  double& Slot(std::string_view name, const Labels& labels);
  std::map<std::string, std::map<std::string, double>> values_;
  // Per family (a histogram's parts together), its label sets without `le`:
  // what kMaxSeries bounds.
  std::map<std::string, std::set<std::string>> series_;
  // The values as last saved, of the series changed since.
  std::map<std::pair<std::string, std::string>, double> changed_;
};

}  // namespace sluice::broker
