// The exit codes of `sluice`: a contract with the scripts that call it.
#pragma once

#include "schemas/status.h"

namespace sluice::cli {

inline constexpr int kExitOk = 0;
// A waited job ended dead or cancelled; a waited run
// (`run --wait`, `wait r3`) ended failed or cancelled; or the broker refused the request
// (not_found, invalid_state, internal, ...); or `models test` had a failing
// test, or a models folder did not load.
inline constexpr int kExitFailed = 1;
// Usage: bad flags, bad --param syntax, bad JSON or NDJSON, an invalid job
// spec; also the broker's bad_request.
inline constexpr int kExitUsage = 2;
// The broker did not answer within --rpc-timeout (or is shutting down).
inline constexpr int kExitUnreachable = 3;
// `wait --timeout` ran out before every job and run ended, or `run --wait
// --timeout` before the run ended.
inline constexpr int kExitWaitTimeout = 4;

// The exit code for a failed call: kInvalidArgument -> 2, kUnavailable -> 3,
// anything else -> 1.
int ExitCodeFor(const Status& status);

// The text for --help.
inline constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  ok\n"
    "  1  a waited job ended dead or cancelled, or a waited run failed\n"
    "     or was cancelled; or the broker refused the request (not_found, invalid_state,\n"
    "     internal); models test: a test failed or the folder did not load\n"
    "  2  usage: bad flags, --param or JSON; an invalid job; the broker's bad_request\n"
    "     (e.g. a refused reload)\n"
    "  3  broker unreachable: no answer within --rpc-timeout (or shutting down)\n"
    "  4  wait, run --wait: --timeout ran out\n"
    "Errors are one line on stderr: 'sluice: ...' (a models folder that does not load:\n"
    "then one line per problem). With --json, stdout carries exactly\n"
    "one JSON document whenever the command got its answer (exit 0, 1 from wait,\n"
    "run --wait or models test, 4).";

}  // namespace sluice::cli
