// ApiMailbox: how the HTTP threads ask the broker's loop a question. A
// request is a protocol command and its body (STATUS, LIST, RUNS, ...), the
// same a client sends; the loop answers it with the same handler, on its
// own thread, and the reply (REPLY or ERROR and its body) comes back here.
// So the HTTP threads never touch the broker's state, the loop never waits
// for them (it takes what is waiting once a turn, after one atomic load),
// and /api answers exactly what `sluice ... --json` prints.
//
// A request's routing id is "\0api:N". ROUTER makes up ids of 5 bytes with
// a leading zero byte, and a peer may not choose one that starts with zero,
// so no socket peer can be mistaken for a waiting HTTP request, and the
// loop's SendTo tells them apart with IsMailboxId().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/protocol.h"

namespace sluice::broker {

class ApiMailbox {
 public:
  struct Request {
    std::string routing_id;  // "\0api:N"
    proto::Command command;
    std::string body;
  };
  struct Answer {
    proto::Command command = proto::Command::kError;
    std::string body;
  };

  // `wake`: ends the loop's wait (Broker::Wake), called after a request is queued.
  explicit ApiMailbox(std::function<void()> wake);

  // HTTP thread: queues every request at once (the loop takes them in one
  // turn) and waits up to `timeout` for all their answers. nullopt when the
  // time ran out or the mailbox closed (the broker is stopping).
  std::optional<std::vector<Answer>> Ask(std::vector<std::pair<proto::Command, std::string>> requests,
                                         std::chrono::milliseconds timeout);

  // Loop: true when a request waits (one atomic load, every turn).
  bool pending() const { return pending_.load(std::memory_order_acquire); }
  // Loop: the requests waiting, in the order they came.
  std::vector<Request> Take();
  static bool IsMailboxId(std::string_view routing_id);
  // Loop: the answer to request `routing_id`; dropped when its asker gave up.
  void Deliver(std::string_view routing_id, proto::Command command, std::string_view body);
  // Answers nothing more: every waiting Ask returns nullopt now, later ones at once.
  void Close();

 private:
  struct Slot {
    std::optional<Answer> answer;
  };
  std::function<void()> wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::uint64_t next_ = 1;
  std::vector<Request> queue_;
  std::map<std::uint64_t, Slot> slots_;  // asked and not yet given up
  std::atomic<bool> pending_{false};
};

}  // namespace sluice::broker
