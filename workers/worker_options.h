// WorkerOptions: everything sluice-worker is configured with. main.cc fills
// it from flags; tests fill it directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "schemas/curve_cert.h"
#include "schemas/s3_config.h"
#include "schemas/status.h"

namespace sluice::worker {

// Software version, announced in READY.
inline constexpr const char* kWorkerVersion = SLUICE_VERSION;

// The prefetch ceiling announced with adaptive prefetch (--prefetch auto).
inline constexpr unsigned kAdaptivePrefetch = 1024;

struct WorkerOptions {
  std::string broker = "tcp://127.0.0.1:5555";
  std::string worker_id;                           // empty: DefaultWorkerId()
  unsigned slots = 4;                              // blocking jobs run at once, 1..kMaxSlots
  // Jobs accepted beyond slots, 0..kMaxSlots. With `adaptive` (the
  // default) this is only the ceiling: the broker sends as much of it as the
  // worker's pace calls for, and asks prefetched jobs back (RECALL) when
  // another worker has a free slot. --prefetch N: a fixed N, not adaptive.
  unsigned prefetch = kAdaptivePrefetch;
  bool adaptive = true;
  std::vector<std::string> queues = {"default"};
  bool allow_exec = false;                         // run (and announce) the exec kind
  std::string landing = "data/landing";            // landing zone root (extract.http): a folder or s3://bucket/prefix
  std::string spool_dir;                           // where bodies wait before an upload; "": $TMPDIR or /tmp
  std::string backup;                              // --backup s3://bucket/prefix for the backup kind; "": none
  std::string lakehouse = "data/lakehouse.sqlite";  // load, transform.sql, export.serving
  std::string serving = "data/analytics.sqlite";    // export.serving's target
  std::vector<std::string> models_roots = {"."};    // where load / transform.sql may read
  std::vector<std::string> secret_env = {"SLUICE_SECRET_*"};  // what ${env:NAME} may read
  bool secret_in_url = false;                      // ${env:NAME} allowed in extract.http URLs
  std::uint64_t extract_max_bytes = std::uint64_t{2} << 30;  // extract.http body cap; 0: none
  std::chrono::milliseconds heartbeat{1000};       // >= 10 ms
  std::chrono::milliseconds grace{30000};          // after a stop request, how long running jobs may finish
  std::chrono::milliseconds ack_wait{5000};        // at shutdown, how long to wait for the last ACKs
  // CURVE: this worker's NAME.key (--curve-key) and the broker's NAME.pub
  // (--broker-key), both or neither; LoadCurveKeys() reads them into
  // `curve`. An empty `curve` (neither file): plain TCP.
  std::string curve_key_file;
  std::string broker_key_file;
  curve::ClientKeys curve;
  // The object store's settings (AWS_* variables) when --landing or
  // --backup is s3://...; LoadObjectStore() reads them.
  std::shared_ptr<const s3::Config> store;
};

// "<host>-<pid>-<6 random hex digits>", at most proto::kMaxIdBytes bytes
// (the host name is cut to fit).
std::string DefaultWorkerId();

// InvalidArgument naming the first option out of range, e.g.
// "--queues: 'a b' must be 1-64 characters of [A-Za-z0-9._-]".
Status ValidateOptions(const WorkerOptions& options);

// Reads `curve_key_file` and `broker_key_file` into `curve`. An error
// (InvalidArgument/NotFound) names the file, or the missing flag when only
// one of the two is given; sluice-worker exits 2 with it.
Status LoadCurveKeys(WorkerOptions* options);

// When --landing or --backup is s3://...: checks the locations and reads
// the store's credentials and endpoint from the AWS_* variables into
// `store`.
// InvalidArgument names the flag or the missing variable; sluice-worker
// exits 2 with it.
Status LoadObjectStore(WorkerOptions* options);

struct HandlerSettings;
// What handlers read, from validated options.
HandlerSettings SettingsFrom(const WorkerOptions& options);

}  // namespace sluice::worker
