// The MODEL ( ... ); block at the top of a model file (SQLMesh-like):
//
//   MODEL (
//     name foundation_fct_prices,
//     kind INCREMENTAL_BY_TIME_RANGE (time_column price_date),   -- or FULL, or VIEW
//     grain (commodity_code, price_date),
//     start '2020-01-01',
//     description 'one row per commodity and day',
//     audits (
//       not_null(columns := (commodity_code, price_date)),
//       unique_grain,
//       accepted_values(column := unit, is_in := ('USD/lb', 'USc/lb'))
//     )
//   );
//
// Property names, kinds and audit names are case-insensitive. `owner` is
// accepted and ignored.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/models/model.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

// Parses the header at the start of `tokens` into `model` (name, kind,
// time_column, grain, start, description, audits). Returns the index of the
// first token after it (past the optional ';'), or nullopt after appending
// one or more problems, each "path:line: what", to `problems`.
std::optional<std::size_t> ParseModelHeader(const std::vector<Token>& tokens, const std::string& path,
                                            Model* model, std::vector<std::string>* problems);

}  // namespace sluice::models
