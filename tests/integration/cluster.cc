#include "tests/integration/cluster.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>

namespace sluice::testing {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string BinDir() {
  const char* env = std::getenv("SLUICE_BIN_DIR");
  if (env != nullptr && *env != '\0') return env;
#ifdef SLUICE_BIN_DIR
  return SLUICE_BIN_DIR;
#else
  return "bin";
#endif
}

std::string BinPath(const std::string& name) { return BinDir() + "/" + name; }

Cluster::Cluster(std::string dir) : dir_(std::move(dir)) {}

Cluster::~Cluster() { KillAll(); }

void Cluster::KillAll() {
  // Workers first, so that they do not spend their last moments reconnecting.
  for (auto& w : workers_) w->KillGroup();
  if (broker_) broker_->KillGroup();
}

Status Cluster::StartBroker(std::vector<std::string> extra_args, std::string endpoint, Ms timeout) {
  if (broker_ && broker_->Running())
    return Status::Conflict("a broker is already running (pid " + std::to_string(broker_->pid()) + ")");
  const std::string binary = BinPath("sluice-broker");
  if (!std::filesystem::exists(binary)) return Status::NotFound("no broker binary at " + binary);
  std::error_code ec;
  std::filesystem::remove(endpoint_file(), ec);
  broker_args_ = extra_args;
  std::vector<std::string> argv{binary,
                                "--endpoint", endpoint.empty() ? "tcp://127.0.0.1:*" : endpoint,
                                "--endpoint-file", endpoint_file(),
                                "--state", state_path(),
                                "--heartbeat-ms", "1000"};
  // No HTTP unless the test says something about it (--http 127.0.0.1:0 for
  // a free port): the default 127.0.0.1:5556 is one port for every broker
  // on the host.
  if (std::none_of(extra_args.begin(), extra_args.end(), [](const std::string& a) { return a.rfind("--http", 0) == 0; }))
    argv.insert(argv.end(), {"--http", "off"});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (broker_) dead_brokers_.push_back(std::move(broker_));
  broker_ = std::make_unique<Process>("broker", std::move(argv), dir_);

  static const std::regex kEndpoint(R"(tcp://[0-9.]+:[0-9]+)");
  std::string seen;
  bool up = WaitUntil(
      [&] {
        seen = Trim(ReadFileTail(endpoint_file(), 4096));
        if (std::regex_match(seen, kEndpoint)) return true;
        return !broker_->Running();
      },
      timeout, Ms(20));
  if (!broker_->Running())
    return Status::Unavailable("the broker exited during start-up: " + broker_->Describe());
  if (!up)
    return Status::Unavailable("the broker wrote no endpoint file (" + endpoint_file() +
                               ", content '" + seen + "') in time: " + broker_->Describe());
  if (!endpoint.empty() && endpoint.find('*') == std::string::npos && seen != endpoint)
    return Status::Internal("the broker bound " + seen + ", not the requested " + endpoint);
  endpoint_ = seen;
  return Status::Ok();
}

Status Cluster::RestartBroker(Ms timeout) {
  if (endpoint_.empty()) return Status::Conflict("the broker was never started");
  return StartBroker(broker_args_, endpoint_, timeout);
}

ExitStatus Cluster::StopBroker(int sig, Ms timeout) {
  if (!broker_) return ExitStatus{};
  broker_->Signal(sig);
  auto st = broker_->Wait(timeout);
  if (!st) {
    broker_->KillGroup();
    st = broker_->status();
    ExitStatus s = st.value_or(ExitStatus{});
    s.exited = false;
    return s;
  }
  return *st;
}

Process& Cluster::StartWorker(int slots, std::vector<std::string> extra_args) {
  std::vector<std::string> argv{BinPath("sluice-worker"), "--broker", endpoint_,
                                "--slots", std::to_string(slots), "--heartbeat-ms", "1000"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  workers_.push_back(std::make_unique<Process>("worker-" + std::to_string(++worker_count_),
                                               std::move(argv), dir_));
  return *workers_.back();
}

CommandResult Cluster::Cli(std::vector<std::string> args, Ms timeout, bool with_broker_flag) {
  std::vector<std::string> argv{BinPath("sluice")};
  if (with_broker_flag) {
    argv.push_back("--broker");
    argv.push_back(endpoint_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand("cli-" + std::to_string(++cli_count_), std::move(argv), dir_, timeout);
}

std::string Cluster::Describe() {
  std::ostringstream os;
  os << "--- processes in " << dir_ << " ---\n";
  for (auto& b : dead_brokers_) os << b->Describe(2000) << "\n";
  if (broker_) os << broker_->Describe(4000) << "\n";
  for (auto& w : workers_) os << w->Describe(2000) << "\n";
  return os.str();
}

}  // namespace sluice::testing
