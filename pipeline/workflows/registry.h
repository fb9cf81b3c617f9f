// The workflow registry: a TOML file that declares the workflows the broker
// schedules and runs (workflow.h is the data model it fills).
//
//   [workflow.coffee]
//   schedule = "0 6 * * *"     # optional: 5-field cron or @hourly, @daily,
//                              #   @weekly, @monthly, @yearly (cron_expr.h);
//                              #   absent or "": manual runs only
//   catch_up = "latest"        # optional: none (default) | latest
//   max_active_runs = 1        # optional, 1..1000, default 1
//   description = "..."        # optional
//
//   [workflow.coffee.params]   # optional: run parameter defaults. Values are
//   region = "all"             #   strings; integers, floats, booleans and
//                              #   dates are kept as their text. A `date`
//                              #   default must be YYYY-MM-DD (it pins the
//                              #   logical date); year, month, day, run_id
//                              #   and workflow are reserved (stage_template.h)
//
//   [[workflow.coffee.stage]]
//   name = "extract_prices"    # required, [A-Za-z0-9._-]{1,64}, unique in
//                              #   the workflow
//   kind = "extract.http"      # required: a built-in kind (schemas/job_kinds.h)
//                              #   or a custom one, served by a worker of
//                              #   your own: any [A-Za-z0-9._-]{1,64}, but
//                              #   not a near miss of a built-in kind
//                              #   (stage_kind.h: "extract.htp" is refused,
//                              #   "did you mean 'extract.http'?")
//   queue = "extract"          # optional, default "default", [A-Za-z0-9._-]{1,64}
//   params = { source = "prices", url = "http://h/prices/{year}-{month}.csv" }
//                              # optional table, becomes the job's JSON params
//                              #   (after stage_template.h expands {var});
//                              #   TOML dates and times become their text
//   depends_on = ["other"]     # optional: stages of the same workflow
//   timeout_s = 600            # optional, > 0, at most 31536000
//   max_attempts = 3           # optional, 1..1000
//   backoff_s = 30             # optional, > 0, at most 31536000; fractions
//                              #   of a second are kept to the millisecond
//
// Nothing else is accepted: an unknown key (a typo like `depend_on`) is an
// error, as is a value of the wrong type. A file with no workflow at all is a
// valid, empty registry.
//
// Errors are InvalidArgument (a file that cannot be read: NotFound or
// IOError). Every problem found is reported, one per line of the message,
// in line order:
//
//   reg.toml:12: workflow 'coffee': stage 'load': unknown kind "lod"; did you mean 'load'? (...)
//   reg.toml:14: workflow 'coffee': stage 'load': unknown dependency 'extract_price'
//   reg.toml:20: workflow 'coffee': cycle: a -> b -> a
//
// In a cycle `a -> b` reads "a depends on b". A TOML syntax error stops the
// parse and is reported alone, with toml++'s line and column
// (`reg.toml:3:9: ...`). At most kMaxRegistryErrors problems are listed.
//
// In the result, workflows are sorted by name and each workflow's stages are
// in a topological order: every stage after the stages it depends on, and,
// among stages that could go next, the one declared first in the file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pipeline/workflows/workflow.h"
#include "schemas/status.h"

namespace sluice::workflows {

inline constexpr int kMaxRegistryErrors = 100;
// A larger registry file is refused before it is parsed (at start and on
// every reload), so that a reload never stalls the broker's loop.
inline constexpr std::size_t kMaxRegistryBytes = std::size_t{1} << 20;  // 1 MiB
// Stage params may hold tables and arrays nested this deep (the params
// table is level 1), so that the job they become stays well within the
// protocol's nesting limit (schemas/protocol.h kMaxDepth).
inline constexpr int kMaxStageParamsDepth = 32;

// Reads and validates the registry file at `path`. A file over
// kMaxRegistryBytes is InvalidArgument, `path: larger than 1048576 bytes
// (1 MiB), the registry's size limit`; so is a `schedule` that never fires
// (`0 0 30 2 *`), as `sluice cron` says.
Result<Registry> LoadRegistry(const std::string& path);

// Validates registry text; `path` names it in errors and in Registry::path.
// Text over kMaxRegistryBytes is refused as above.
Result<Registry> ParseRegistry(std::string_view text, const std::string& path);

// The name rule (proto::IsValidName, schemas/name_rule.h): workflow, stage,
// queue and parameter names.
bool IsValidRegistryName(std::string_view name);

}  // namespace sluice::workflows
