#include "broker/state_backup.h"

#include "broker/log.h"

namespace sluice::broker {

StateBackup::StateBackup(StateBackupConfig config)
    : config_(std::move(config)), client_(std::make_unique<s3::Client>(config_.store)) {
  client_->SetStop([this] { return stopping_.load(); });
}

StateBackup::~StateBackup() {
  stopping_ = true;
  Stop();
}

void StateBackup::Start() { thread_ = std::thread([this] { Loop(); }); }

void StateBackup::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status StateBackup::RunOnce() {
  const auto started = std::chrono::steady_clock::now();
  Result<backup::BackupReport> r =
      backup::BackupDatabase(*client_, config_.location, backup::StateSubject(), config_.state_path, config_.temp_dir,
                             config_.retention, std::chrono::system_clock::now());
  const long long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (!r.ok()) {
    ++failures_;
    Logf("WARNING: backup of the state database to %s failed: %s", config_.location.ToString().c_str(),
         r.status().message().c_str());
    return r.status();
  }
  ++successes_;
  last_success_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  Logf("backup: state database snapshot s3://%s/%s (%llu bytes, %llu gzipped) in %lld ms; %zu old pruned",
       config_.location.bucket.c_str(), r->key.c_str(), static_cast<unsigned long long>(r->db_bytes),
       static_cast<unsigned long long>(r->gz_bytes), ms, r->pruned.size());
  return Status::Ok();
}

void StateBackup::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (cv_.wait_for(lock, config_.interval, [this] { return stop_; })) break;
    lock.unlock();
    (void)RunOnce();
    lock.lock();
  }
}

}  // namespace sluice::broker
