// What every `sluice` command shares: the global options, the streams, and
// how results and errors are printed. Internal to the CLI.
#pragma once

#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "producers/client.h"
#include "schemas/status.h"

namespace sluice::cli {

// Options accepted before or after the subcommand.
struct GlobalOptions {
  std::string broker = "tcp://127.0.0.1:5555";  // --broker, $SLUICE_BROKER
  bool json = false;                            // --json
  std::string rpc_timeout = "5";                // --rpc-timeout seconds, $SLUICE_RPC_TIMEOUT
  std::string curve_key;                        // --curve-key FILE, $SLUICE_CURVE_KEY (own .key)
  std::string broker_key;                       // --broker-key FILE, $SLUICE_BROKER_KEY (broker's .pub)
};

class Context {
 public:
  Context(std::istream& in, std::ostream& out, std::ostream& err) : in(in), out(out), err(err) {}

  GlobalOptions global;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;

  // A client for --broker with --rpc-timeout (and CURVE with --curve-key and
  // --broker-key). A bad timeout, endpoint or key file is InvalidArgument (a
  // usage error).
  Result<Client> Connect() const;

  // Prints "sluice: <message>" on stderr; returns ExitCodeFor(status).
  int Fail(const Status& status) const;
  // Prints "sluice: <message>" on stderr; returns kExitUsage.
  int Usage(const std::string& message) const;
  // Prints `doc` as one line of JSON on stdout.
  void PrintJson(const nlohmann::json& doc) const;
};

// Subcommands and what runs each once the command line is parsed (the one
// whose CLI::App was parsed runs). Each returns the exit code.
using CommandList = std::vector<std::pair<CLI::App*, std::function<int()>>>;

// submit, submit-many (cli_submit.cc)
void AddSubmitCommands(CLI::App& app, Context& ctx, CommandList* commands);
// status, list, wait, retry, cancel (cli_jobs.cc)
void AddJobCommands(CLI::App& app, Context& ctx, CommandList* commands);
// backup, restore (cli_backup.cc)
void AddBackupCommands(CLI::App& app, Context& ctx, CommandList* commands);
// workers, stats (cli_cluster.cc)
void AddClusterCommands(CLI::App& app, Context& ctx, CommandList* commands);
// extractions, backfill (cli_extract.cc)
void AddExtractCommands(CLI::App& app, Context& ctx, CommandList* commands);
// keygen (cli_keys.cc)
void AddKeyCommands(CLI::App& app, Context& ctx, CommandList* commands);

}  // namespace sluice::cli
