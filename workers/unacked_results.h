// UnackedResults: every RESULT sent to the broker and not yet ACKed, as the
// encoded body ready to send again. The worker re-sends all of them, oldest
// first, after READY on a new connection (PROTOCOL.md §5.3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "workers/job_key.h"

namespace sluice::worker {

class UnackedResults {
 public:
  // Keeps `body` (an encoded RESULT) for `key`, replacing an older one.
  // Returns the stored body, valid until the key is acked or replaced.
  const std::string& Add(JobKeyView key, std::string body);

  // Forgets `key`; false if it was not kept (a duplicate or late ACK).
  bool Ack(JobKeyView key);

  // The stored body, or nullptr.
  const std::string* Find(JobKeyView key) const;

  // Every kept body, oldest first.
  std::vector<const std::string*> InOrder() const;

  std::size_t size() const { return results_.size(); }
  bool empty() const { return results_.empty(); }

 private:
  struct Entry {
    std::uint64_t seq;
    std::string body;
  };
  std::unordered_map<JobKey, Entry, JobKeyHash, JobKeyEqual> results_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace sluice::worker
