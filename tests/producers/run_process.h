// Runs a program to completion for tests that check a real binary: its exit
// code, stdout and stderr, within a deadline (after which it is killed).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sluice::testing {

struct ProcessResult {
  int exit_code = -1;   // -1: killed at the deadline or by a signal
  bool timed_out = false;
  std::string out, err;
  std::chrono::milliseconds elapsed{0};
};

// Runs argv[0] (a path) with argv, `stdin_text` on its stdin and the current
// environment minus SLUICE_* variables plus `env`. Output goes through temp
// files, so a chatty child never blocks on a pipe.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::milliseconds deadline = std::chrono::seconds(60));

}  // namespace sluice::testing
