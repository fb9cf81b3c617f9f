#include "broker/api_mailbox.h"

#include <charconv>

namespace sluice::broker {
namespace {

constexpr std::string_view kPrefix{"\0api:", 5};

}  // namespace

ApiMailbox::ApiMailbox(std::function<void()> wake) : wake_(std::move(wake)) {}

std::optional<std::vector<ApiMailbox::Answer>> ApiMailbox::Ask(
    std::vector<std::pair<proto::Command, std::string>> requests, std::chrono::milliseconds timeout) {
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return std::nullopt;
    for (auto& [command, body] : requests) {
      const std::uint64_t id = next_++;
      ids.push_back(id);
      slots_[id];
      queue_.push_back({std::string(kPrefix) + std::to_string(id), command, std::move(body)});
    }
    pending_.store(true, std::memory_order_release);
  }
  wake_();
  std::unique_lock<std::mutex> lock(mu_);
  const bool answered = cv_.wait_for(lock, timeout, [&] {
    if (closed_) return true;
    for (std::uint64_t id : ids)
      if (!slots_[id].answer) return false;
    return true;
  });
  std::optional<std::vector<Answer>> out;
  if (answered && !closed_) {
    out.emplace();
    for (std::uint64_t id : ids) out->push_back(std::move(*slots_[id].answer));
  }
  for (std::uint64_t id : ids) slots_.erase(id);
  return out;
}

std::vector<ApiMailbox::Request> ApiMailbox::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.store(false, std::memory_order_release);
  std::vector<Request> out;
  out.swap(queue_);
  return out;
}

bool ApiMailbox::IsMailboxId(std::string_view routing_id) {
  return routing_id.size() > kPrefix.size() && routing_id.substr(0, kPrefix.size()) == kPrefix;
}

void ApiMailbox::Deliver(std::string_view routing_id, proto::Command command, std::string_view body) {
  if (!IsMailboxId(routing_id)) return;
  const std::string_view digits = routing_id.substr(kPrefix.size());
  std::uint64_t id = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(id);
    if (it == slots_.end()) return;  // its asker gave up
    it->second.answer = Answer{command, std::string(body)};
  }
  cv_.notify_all();
}

void ApiMailbox::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    queue_.clear();
    pending_.store(false, std::memory_order_release);
  }
  cv_.notify_all();
}

}  // namespace sluice::broker
