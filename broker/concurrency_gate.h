// ConcurrencyGate: at most `limit` running jobs per concurrency key. The
// broker counts every job entering and leaving `running` (SetState), asks
// MayRun() before dispatching, and parks jobs that may not run yet; when a
// job with the key stops running, its parked jobs go back to the ready
// queues (those over the limit park again).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/ready_queue.h"

namespace sluice::broker {

// The lakehouse is a single-writer SQLite file: jobs of these kinds share
// one concurrency key with limit 1 unless their SUBMIT names another key.
inline constexpr char kLakehouseConcurrencyKey[] = "lakehouse";
inline bool IsLakehouseKind(std::string_view kind) {
  return kind == "load" || kind == "transform.sql" || kind == "export.serving";
}

struct ParkedJob {
  std::string queue;
  std::string kind;
  ReadyEntry entry;
};

class ConcurrencyGate {
 public:
  bool MayRun(const std::string& key, std::uint32_t limit) const;
  void Started(const std::string& key) { ++running_[key]; }
  // Moves the jobs parked on `key` into `unparked`.
  void Stopped(const std::string& key, std::vector<ParkedJob>* unparked);
  void Park(const std::string& key, ParkedJob job) { parked_[key].push_back(std::move(job)); }
  std::int64_t running(const std::string& key) const;
  std::size_t parked() const;

 private:
  std::unordered_map<std::string, std::int64_t> running_;
  std::unordered_map<std::string, std::vector<ParkedJob>> parked_;
};

}  // namespace sluice::broker
