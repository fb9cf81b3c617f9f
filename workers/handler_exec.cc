// exec: runs a program as a child process; see builtin_handlers.h for the
// params and the kill policy, child_process.h for the mechanics.
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "workers/builtin_handlers.h"
#include "workers/child_process.h"
#include "workers/executable_path.h"
#include "workers/job_params.h"

extern char** environ;

namespace sluice::worker {
namespace {

constexpr std::size_t kMaxPathBytes = 4096;
constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// The worker's environment with `extra` added (an entry in `extra` replaces
// the worker's variable of the same name).
std::vector<std::string> ChildEnvironment(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& kv : extra)
      if (kv.first == name) replaced = true;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::string_view PathOf(const std::vector<std::string>& env) {
  for (const std::string& e : env)
    if (e.starts_with("PATH=")) return std::string_view(e).substr(5);
  return kDefaultPath;
}

}  // namespace

void RunExec(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  proto::MapReader params(job.params, "exec params");
  std::string program, cwd;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> extra_env;
  params.Str("command", &program, kMaxPathBytes, /*required=*/true);
  if (params.ok() && program.empty()) params.Fail("field 'command' must not be empty");
  if (params.ok() && program.find('\0') != std::string::npos)
    params.Fail("field 'command' contains a NUL byte");
  ReadStringList(params, "args", &args);
  ReadStringMap(params, "env", &extra_env);
  for (const auto& kv : extra_env)
    if (params.ok() && kv.first.find('=') != std::string::npos)
      params.Fail("field 'env' entry '" + kv.first + "' has '=' in its name");
  params.Str("cwd", &cwd, kMaxPathBytes, /*required=*/false);
  if (params.ok() && cwd.find('\0') != std::string::npos) params.Fail("field 'cwd' contains a NUL byte");
  if (!params.ok()) return SetBadParams(params.status(), result);

  // The job's identity, for a program that tags its side effects (a job
  // may run again under a new attempt): these win over the params' `env`.
  std::erase_if(extra_env, [](const auto& kv) {
    return kv.first == "SLUICE_JOB_ID" || kv.first == "SLUICE_ATTEMPT";
  });
  extra_env.emplace_back("SLUICE_JOB_ID", std::string(job.job));
  extra_env.emplace_back("SLUICE_ATTEMPT", std::to_string(job.attempt));

  ChildCommand command;
  command.env = ChildEnvironment(extra_env);
  Result<std::string> path = FindExecutable(program, PathOf(command.env));
  if (!path.ok()) {
    result->outcome = Outcome::kFailed;
    result->error = "exec: " + path.status().message();
    return;
  }
  command.path = std::move(path.value());
  command.argv.reserve(args.size() + 1);
  command.argv.push_back(program);
  for (std::string& a : args) command.argv.push_back(std::move(a));
  command.cwd = std::move(cwd);

  ChildExit exit = RunChild(command, cancel, std::chrono::milliseconds(kExecKillGraceMs));
  if (!exit.status.ok()) {
    result->outcome = Outcome::kFailed;
    result->error = "exec: " + exit.status.message();
    return;
  }
  result->exit_code = exit.exit_code;
  result->stdout_tail = std::move(exit.stdout_tail);
  result->stderr_tail = std::move(exit.stderr_tail);
  if (exit.stopped_by != StopReason::kNone) {
    result->outcome = OutcomeFor(exit.stopped_by);
    result->error = "exec: " + std::string(Describe(exit.stopped_by));
    if (exit.stopped_by == StopReason::kTimedOut)
      result->error += " after " + std::to_string(job.timeout_ms) + " ms";
    result->error += "; process group " + std::to_string(exit.pid) + " killed";
    return;
  }
  if (exit.signal != 0) {
    result->outcome = Outcome::kFailed;
    const char* name = sigabbrev_np(exit.signal);
    result->error = "exec: killed by signal " + std::to_string(exit.signal) +
                    (name != nullptr ? " (SIG" + std::string(name) + ")" : std::string());
  } else if (exit.exit_code != 0) {
    result->outcome = Outcome::kFailed;
    result->error = "exec: exit code " + std::to_string(exit.exit_code);
  }
}

}  // namespace sluice::worker
