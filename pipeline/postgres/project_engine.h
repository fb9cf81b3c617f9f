// Which engine a models folder runs on, from a `[project]` table:
//
//   [project]
//   engine = "postgres"     # "sqlite" (the default) | "postgres"
//
// in the folder's `sources.toml` (beside the [[raw]] entries) or in a
// `sluice.toml` beside it (which holds only [project]). When both say it
// they must agree. Nothing else about the database is configured here: the
// PostgreSQL connection comes from libpq's environment (pg_connection.h).
// Errors are "<file>:<line>: <what>".
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/status.h"

namespace sluice::postgres {

enum class Engine { kSqlite, kPostgres };
const char* EngineName(Engine e);  // "sqlite", "postgres"

Result<Engine> ReadProjectEngine(const std::filesystem::path& models_dir);
// The same over one file's text; `name` is used in errors. `only_project`:
// any other top-level key is an error (sluice.toml); otherwise others are
// left alone (sources.toml's [[raw]]). Absent [project]: nullopt engine.
Result<std::optional<Engine>> ParseProjectEngine(std::string_view text, const std::string& name, bool only_project);

}  // namespace sluice::postgres
