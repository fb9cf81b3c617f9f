// Model unit tests: *.test.toml files anywhere in the models folder give
// fixture rows for the tables a model reads and the rows it must return.
//
//   [[test]]
//   name = "monthly average"
//   model = "serving_monthly_prices"
//   start_ds = "2024-01-01"     # optional: the model's `start`, else 1970-01-01
//   end_ds = "2024-01-31"       # optional: 9999-12-31
//   [test.inputs.foundation_fct_prices]
//   rows = [ { commodity_code = "0711100", price_date = 2024-01-02, price = 1.5 } ]
//   # columns = ["a", "b"]      # optional; needed for an input with no rows
//   [test.expect]
//   rows = [ { commodity_code = "0711100", month = "2024-01", avg_price = 1.5 } ]
//   ordered = false             # default: compared as multisets
//
// Each test runs in a fresh in-memory SQLite: each input table is created
// (columns: the union of its rows' keys; a missing key is NULL), the model's
// SELECT runs, and its rows, projected onto the columns named in expect
// (others are ignored), are compared: numbers within a relative 1e-9
// (integer 2 equals real 2.0), text exactly; TOML dates are 'YYYY-MM-DD'
// text, date-times 'YYYY-MM-DD HH:MM:SS', booleans 0/1.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/models/model_set.h"
#include "schemas/status.h"

namespace sluice::models {

struct ModelTestCase {
  std::string file;   // relative to the models folder
  std::string name;   // the test's name ("" when the file did not parse)
  std::string model;
  bool passed = false;
  std::string message;  // failed: the test, the model and what differs
};

struct ModelTestReport {
  int run = 0;
  int passed = 0;
  int failed = 0;
  std::vector<ModelTestCase> cases;   // in file order, then test order
  std::vector<std::string> messages;  // one per failure (the failed cases' messages)
};

// Loads the models under `dir` (any raw_* name accepted) and runs every
// *.test.toml under it. A folder whose models do not load fails with their
// problems; a test file that does not parse counts as one failed test.
Result<ModelTestReport> RunModelTests(const std::filesystem::path& dir);

// The tests of the files `test_files` (absolute, or relative to set.dir)
// against an already loaded set.
ModelTestReport RunModelTests(const ModelSet& set, const std::vector<std::filesystem::path>& test_files);

// "PASS file: name (model)" / "FAIL ..." with the diff, then
// "N tests, P passed, F failed".
std::string FormatModelTestReport(const ModelTestReport& report);

}  // namespace sluice::models
