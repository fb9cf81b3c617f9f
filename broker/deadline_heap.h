// DeadlineHeap: timers ordered by due time (ms). Like ReadyQueues, entries
// are never removed early; each carries the generation of the thing it is
// for, and the owner ignores it when stale.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace sluice::broker {

enum class TimerKind : std::uint8_t {
  kRunAt,        // a scheduled job becomes queued
  kLease,        // a running attempt passed its timeout (+ grace)
  kOrphan,       // a running job loaded at start was not re-adopted in time
};

struct Deadline {
  std::int64_t due_ms = 0;
  TimerKind kind = TimerKind::kRunAt;
  std::int64_t seq = 0;
  std::uint64_t gen = 0;
};

class DeadlineHeap {
 public:
  void Push(Deadline d) { heap_.push(d); }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // The earliest due time; only when !empty().
  std::int64_t next_due_ms() const { return heap_.top().due_ms; }
  // Pops one entry due at or before now_ms; false when none is due.
  bool PopDue(std::int64_t now_ms, Deadline* out) {
    if (heap_.empty() || heap_.top().due_ms > now_ms) return false;
    *out = heap_.top();
    heap_.pop();
    return true;
  }

 private:
  struct Later {
    bool operator()(const Deadline& a, const Deadline& b) const { return a.due_ms > b.due_ms; }
  };
  std::priority_queue<Deadline, std::vector<Deadline>, Later> heap_;
};

}  // namespace sluice::broker
