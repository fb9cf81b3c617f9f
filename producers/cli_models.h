// `sluice models plan DIR` and `sluice models test DIR`: a SQL models
// folder's plan and unit tests (pipeline/models), run here; no broker.
// Internal to the CLI.
#pragma once

#include "producers/cli_context.h"

namespace sluice::cli {

void AddModelCommands(CLI::App& app, Context& ctx, CommandList* commands);
// `models check` and `models lineage` (cli_models_check.cc), under `models`.
void AddModelCheckCommands(CLI::App& models, Context& ctx, CommandList* commands);

}  // namespace sluice::cli
