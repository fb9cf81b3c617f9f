// Cluster: a broker and workers as real processes in one temp directory, the
// way a person would run them:
//
//   sluice-broker --endpoint tcp://127.0.0.1:* --endpoint-file DIR/broker.endpoint
//                 --state DIR/state.sqlite --heartbeat-ms 1000 [extra...]
//   sluice-worker --broker <bound endpoint> --slots N --heartbeat-ms 1000 [extra...]
//
// The broker binds a free port; the bound endpoint is read back from the
// endpoint file. RestartBroker() reuses that endpoint (same port, same state
// database), so workers and clients reconnect to it by themselves.
// Every process is killed when the Cluster goes away (see process.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "schemas/status.h"
#include "tests/integration/process.h"
#include "tests/integration/wait_for.h"

namespace sluice::testing {

// Where sluice-broker, sluice-worker and sluice are: $SLUICE_BIN_DIR, else
// the build's bin/ (compile definition SLUICE_BIN_DIR).
std::string BinDir();
// BinDir() + "/" + name.
std::string BinPath(const std::string& name);

class Cluster {
 public:
  explicit Cluster(std::string dir);
  ~Cluster();

  const std::string& dir() const { return dir_; }
  const std::string& endpoint() const { return endpoint_; }
  std::string state_path() const { return state_path_.empty() ? dir_ + "/state.sqlite" : state_path_; }
  // Puts the state database elsewhere (e.g. on a small tmpfs).
  void set_state_path(std::string path) { state_path_ = std::move(path); }
  std::string endpoint_file() const { return dir_ + "/broker.endpoint"; }

  // Starts the broker and waits (up to `timeout`) until it has written its
  // endpoint file. `endpoint` "" means a free port on 127.0.0.1.
  Status StartBroker(std::vector<std::string> extra_args = {}, std::string endpoint = "",
                     Ms timeout = Scaled(Ms(60000)));
  // Starts a new broker on the same endpoint and state, with the same extra
  // arguments as the last StartBroker().
  Status RestartBroker(Ms timeout = Scaled(Ms(60000)));
  Process* broker() { return broker_.get(); }
  // Sends `sig` to the broker and waits for it to exit (SIGKILL after
  // `timeout`). Returns the exit status.
  ExitStatus StopBroker(int sig, Ms timeout = Scaled(Ms(30000)));

  // Starts a worker against the current endpoint. Its log name is
  // "worker-<n>".
  Process& StartWorker(int slots, std::vector<std::string> extra_args = {});
  std::vector<std::unique_ptr<Process>>& workers() { return workers_; }

  // Runs the CLI: sluice --broker <endpoint> <args...>.
  CommandResult Cli(std::vector<std::string> args, Ms timeout = Scaled(Ms(60000)),
                    bool with_broker_flag = true);

  // Kills every process it started (as the destructor does).
  void KillAll();

  // A description of every process (state + stderr tail) for failure output.
  std::string Describe();

 private:
  std::string dir_;
  std::string state_path_;
  std::string endpoint_;
  std::vector<std::string> broker_args_;
  std::unique_ptr<Process> broker_;
  std::vector<std::unique_ptr<Process>> workers_;
  std::vector<std::unique_ptr<Process>> dead_brokers_;
  int worker_count_ = 0;
  int cli_count_ = 0;
};

}  // namespace sluice::testing
