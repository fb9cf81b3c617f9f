// TimerSet: the broker's deadlines, ordered by due time (ms). A job has at
// most one armed timer at a time (run_at while scheduled, its lease while
// running, the orphan grace after a restart); re-arming or leaving the state
// removes the old one, so the set holds at most one entry per live job — a
// lazily-cleaned heap would keep every 30-minute lease of every finished
// job.
#pragma once

#include <cstdint>
#include <set>
#include <tuple>

namespace sluice::broker {

enum class TimerKind : std::uint8_t {
  kRunAt,   // a scheduled job becomes queued
  kLease,   // a running attempt passed its timeout (+ grace)
  kOrphan,  // a running job nobody re-adopted after a restart
};

struct Deadline {
  std::int64_t due_ms = 0;
  TimerKind kind = TimerKind::kRunAt;
  std::int64_t seq = 0;

  bool operator<(const Deadline& o) const {
    return std::tie(due_ms, seq, kind) < std::tie(o.due_ms, o.seq, o.kind);
  }
  bool operator==(const Deadline& o) const {
    return due_ms == o.due_ms && seq == o.seq && kind == o.kind;
  }
};

class TimerSet {
 public:
  void Add(const Deadline& d) { set_.insert(d); }
  void Erase(const Deadline& d) { set_.erase(d); }
  bool empty() const { return set_.empty(); }
  std::size_t size() const { return set_.size(); }
  // The earliest due time; only when !empty().
  std::int64_t next_due_ms() const { return set_.begin()->due_ms; }
  // Removes and returns one entry due at or before now_ms; false when none is.
  bool PopDue(std::int64_t now_ms, Deadline* out) {
    if (set_.empty() || set_.begin()->due_ms > now_ms) return false;
    *out = *set_.begin();
    set_.erase(set_.begin());
    return true;
  }

 private:
  std::set<Deadline> set_;
};

}  // namespace sluice::broker
