// The handler interface: what one job kind does with one attempt.
//
// A handler gets the job (id, attempt, kind, params as a msgpack map,
// timeout) and the attempt's CancelToken, and fills in a RESULT. On entry
// `result` has job and attempt set and outcome `succeeded`; the handler
// sets outcome, error, retryable, exit_code, the stdout/stderr tails and
// outputs as they apply. Conventions:
//   - bad params (missing, wrong type): SetBadParams() (job_params.h), i.e.
//     failed with retryable = false and an error naming the param;
//   - stopped by its token: outcome OutcomeFor(reason) (cancel_token.h);
//   - never throw; an exception that escapes anyway becomes a failed RESULT.
//
// How a handler is run is part of its registration (handler_table.h):
// kInline handlers must return at once (microseconds, no I/O, no sleeping)
// because they run on the I/O thread; anything that may block is kSlotThread
// and runs on one of the worker's `slots` threads.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/messages.h"
#include "schemas/s3_config.h"
#include "schemas/s3_location.h"
#include "workers/cancel_token.h"
#include "workers/event_log.h"
#include "workers/secret_allow_list.h"

namespace sluice::worker {

// extract.http's default body limit: 2 GiB.
inline constexpr std::uint64_t kDefaultExtractMaxBytes = std::uint64_t{2} << 30;

// Worker-wide settings that handlers read, from WorkerOptions. Fixed for
// the life of the worker; shared by all slot threads (read only).
struct HandlerSettings {
  std::string landing_dir = "data/landing";            // --landing: where extract.http writes
  // --landing s3://...: the store's settings (null for a folder), and the
  // local folder where a body waits for its upload (--spool-dir).
  std::shared_ptr<const s3::Config> store;
  std::string spool_dir = "/tmp";
  // --backup s3://...: where the backup kind writes (null: no location; the
  // kind then succeeds as a no-op).
  struct BackupTarget {
    s3::Location location;
    s3::Config config;
  };
  std::shared_ptr<const BackupTarget> backup;
  std::string lakehouse_path = "data/lakehouse.sqlite";  // --lakehouse: load, transform, export
  std::string serving_path = "data/analytics.sqlite";    // --serving: export.serving's target
  // --models-root: where load / transform.sql may read (models_roots.h).
  std::vector<std::string> models_roots = {"."};
  SecretAllowList secret_env;   // --secret-env: what ${env:NAME} may read
  bool secret_in_url = false;   // --secret-in-url: ${env:NAME} allowed in extract.http URLs
  // --extract-max-bytes: extract.http's body limit, and the most a job's
  // max_bytes may ask for; 0: no limit.
  std::uint64_t extract_max_bytes = kDefaultExtractMaxBytes;
};

struct JobContext {
  std::string_view job;
  std::uint32_t attempt = 0;
  std::string_view kind;
  const msgpack::object& params;  // a msgpack map
  std::uint64_t timeout_ms = 0;   // 0: none. Already enforced by the token's deadline.
  const EventLog& log;
  const HandlerSettings& settings;
};

using HandlerFn = void (*)(const JobContext& job, const CancelToken& cancel,
                           proto::JobResult* result);

enum class Execution : std::uint8_t {
  kInline,      // on the I/O thread, returns at once
  kSlotThread,  // on a slot thread; may block, must honour the token
};

struct HandlerSpec {
  std::string_view kind;
  HandlerFn run;
  Execution execution;
  bool needs_allow_exec;  // refused (and not announced) unless --allow-exec
};

}  // namespace sluice::worker
