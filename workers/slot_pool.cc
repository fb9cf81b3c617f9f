#include "workers/slot_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace sluice::worker {

SlotPool::SlotPool(unsigned threads, const EventLog& log, const HandlerSettings& settings)
    : log_(log), settings_(settings), wakeup_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wakeup_fd_ < 0) log_.Info("cannot create the slot pool's eventfd");
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { ThreadMain(); });
}

SlotPool::~SlotPool() {
  Stop();
  if (wakeup_fd_ >= 0) ::close(wakeup_fd_);
}

void SlotPool::Start(RunningJob* job) {
  {
    std::lock_guard lock(mu_);
    queued_.push_back(job);
  }
  work_ready_.notify_one();
}

void SlotPool::TakeFinished(std::vector<RunningJob*>* out) {
  if (wakeup_fd_ >= 0) {
    std::uint64_t n;
    ssize_t ignored = ::read(wakeup_fd_, &n, sizeof n);
    (void)ignored;
  }
  std::lock_guard lock(mu_);
  out->insert(out->end(), finished_.begin(), finished_.end());
  finished_.clear();
}

void SlotPool::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void SlotPool::ThreadMain() {
  ParamsView scratch;
  while (true) {
    RunningJob* job;
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
      if (stopping_) return;
      job = queued_.front();
      queued_.pop_front();
    }
    ExecuteJob(*job->handler, job->msg, job->cancel, &scratch, log_, settings_, &job->result);
    {
      std::lock_guard lock(mu_);
      finished_.push_back(job);
    }
    if (wakeup_fd_ >= 0) {
      std::uint64_t one = 1;
      ssize_t ignored = ::write(wakeup_fd_, &one, sizeof one);
      (void)ignored;
    }
  }
}

}  // namespace sluice::worker
