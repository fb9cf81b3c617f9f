// SEED models: small reference data (country codes, units) kept as a CSV
// file in the models folder and built as a table.
//
//   MODEL (name staging_country_codes, kind SEED (path 'country_codes.csv'));
//
// The header is the whole file (no SELECT). `path` is relative to the model
// file's folder and stays inside the models folder (no absolute path, no
// `..`, no symlink out of it). The CSV's first record names the columns
// (RFC 4180 as the raw loader reads it; an unquoted empty field is NULL).
// A column whose every value is a number is numeric, any other TEXT.
//
// LoadSeed turns the file into the model's SELECT, a VALUES list, so a seed
// is fingerprinted by its content (a changed CSV builds again), compiled,
// unit-tested, traced and built like any FULL model: built aside, audited,
// swapped in.
#pragma once

#include <cstddef>
#include <filesystem>

#include "pipeline/models/model.h"
#include "schemas/status.h"

namespace sluice::models {

inline constexpr std::size_t kMaxSeedBytes = 4 << 20;
inline constexpr std::size_t kMaxSeedRows = 100000;
inline constexpr std::size_t kMaxSeedColumns = 1000;

// Reads `model->seed_path` under `dir` (the models folder) and sets
// `model->select_sql`. Errors: "path:line: what".
Status LoadSeed(const std::filesystem::path& dir, Model* model);

}  // namespace sluice::models
