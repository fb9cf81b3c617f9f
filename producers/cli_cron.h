// `sluice cron`: checks a cron expression and prints its next fire times
// (UTC). Needs no broker. Internal to the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "producers/cli_context.h"

namespace sluice::cli {

// Adds `cron EXPR [--from T] [--count N]`.
void AddCronCommands(CLI::App& app, Context& ctx, CommandList* commands);

// A --from instant in Unix seconds, UTC: "YYYY-MM-DDTHH:MM:SSZ",
// "YYYY-MM-DDTHH:MMZ" or "YYYY-MM-DD" (midnight); the Z may be left out (the
// time is UTC all the same) and the T may be a space. nullopt if malformed
// or not a real date and time.
std::optional<std::int64_t> ParseUtcInstant(std::string_view text);

}  // namespace sluice::cli
