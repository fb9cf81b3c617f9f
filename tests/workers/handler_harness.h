// Test helpers: job params written as JSON, and running one handler the way
// the worker does (through ExecuteJob and the handler table).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "schemas/messages.h"
#include "workers/cancel_token.h"
#include "workers/event_log.h"
#include "workers/handler_table.h"
#include "workers/job_params.h"
#include "workers/running_job.h"

namespace sluice::worker::testing {

// `json` (an object) as the msgpack map a JOB carries.
inline std::string Params(std::string_view json) {
  std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(nlohmann::json::parse(json));
  return std::string(bytes.begin(), bytes.end());
}

// Runs `kind` with `settings` (e.g. a temp landing folder).
inline proto::JobResult RunHandlerWith(const HandlerSettings& settings, std::string_view kind,
                                       std::string_view params_json, const CancelToken& cancel,
                                       std::uint32_t attempt = 1, std::uint64_t timeout_ms = 0) {
  static const EventLog log("handler-test");
  const HandlerSpec* handler = FindHandler(kind);
  proto::JobResult result;
  if (handler == nullptr) {
    result.outcome = Outcome::kLost;  // no test expects this
    result.error = "no handler";
    return result;
  }
  proto::JobMsg job;
  job.job = "j1";
  job.attempt = attempt;
  job.kind = std::string(kind);
  job.params = Params(params_json);
  job.timeout_ms = timeout_ms;
  ParamsView scratch;
  ExecuteJob(*handler, job, cancel, &scratch, log, settings, &result);
  return result;
}

inline proto::JobResult RunHandler(std::string_view kind, std::string_view params_json,
                                   const CancelToken& cancel, std::uint32_t attempt = 1,
                                   std::uint64_t timeout_ms = 0) {
  static const HandlerSettings defaults;
  return RunHandlerWith(defaults, kind, params_json, cancel, attempt, timeout_ms);
}

inline proto::JobResult RunHandler(std::string_view kind, std::string_view params_json,
                                   std::uint32_t attempt = 1) {
  CancelToken never;
  return RunHandler(kind, params_json, never, attempt);
}

}  // namespace sluice::worker::testing
