// Commands about workflow runs and schedules: run, runs, schedules, pause,
// resume, reload; and run ids (r12) for status and cancel. Internal to the
// CLI.
#pragma once

#include "producers/cli_context.h"

namespace sluice::cli {

// Adds run, runs, schedules, pause, resume, reload; and makes the `status`
// and `cancel` commands already in `commands` (AddJobCommands) take a run id
// as well as a job id. Call after AddJobCommands.
void AddRunCommands(CLI::App& app, Context& ctx, CommandList* commands);

// A run id: 'r' and 1 or more digits.
bool IsRunId(const std::string& id);

}  // namespace sluice::cli
