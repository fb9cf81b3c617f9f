// JobKey: one attempt of one job, (job id, attempt) — the unit a RESULT,
// an ACK and a CANCEL talk about. Hashable, with lookups by string_view so
// that the hot path does not build a key string per message.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sluice::worker {

struct JobKeyView {
  std::string_view job;
  std::uint32_t attempt = 0;
};

struct JobKey {
  std::string job;
  std::uint32_t attempt = 0;

  JobKeyView view() const { return {job, attempt}; }
};

struct JobKeyHash {
  using is_transparent = void;
  std::size_t operator()(JobKeyView k) const {
    return std::hash<std::string_view>{}(k.job) * 31 + k.attempt;
  }
  std::size_t operator()(const JobKey& k) const { return (*this)(k.view()); }
};

struct JobKeyEqual {
  using is_transparent = void;
  static JobKeyView V(JobKeyView k) { return k; }
  static JobKeyView V(const JobKey& k) { return k.view(); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    JobKeyView x = V(a), y = V(b);
    return x.attempt == y.attempt && x.job == y.job;
  }
};

}  // namespace sluice::worker
