// Model fuzzer: the text of a SQL model file (model_file.h: the MODEL (...)
// header, model_header.h, then one SELECT) through ParseModelFile, as
// staging/<file>.sql. A model that parses must have a valid name of its
// layer, and its SELECT must render for an interval (model_sql.h) with the
// macros gone.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/models/model_file.h"
#include "pipeline/models/model_sql.h"
#include "pipeline/models/sql_tokens.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::models;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)Tokenize(text, "fuzz");
  auto m = ParseModelFile(text, "staging/fuzz.sql");
  if (!m.ok()) {
    FUZZ_CHECK(!m.status().message().empty(), "an error without a message");
    return 0;
  }
  FUZZ_CHECK(IsValidName(m->name), "model name '%s'", m->name.c_str());
  FUZZ_CHECK(m->name.rfind("staging_", 0) == 0, "name '%s' outside its layer", m->name.c_str());
  FUZZ_CHECK(m->kind != ModelKind::kIncrementalByTimeRange || !m->time_column.empty(),
             "incremental model without a time column");
  FUZZ_CHECK(!m->select_sql.empty(), "empty SELECT");
  auto sql = RenderSelect(*m, "2024-01-01", "2024-01-31");
  if (sql.ok()) {
    auto tokens = Tokenize(*sql);
    FUZZ_CHECK(tokens.ok(), "the rendered SELECT does not tokenize: %s", tokens.status().message().c_str());
    for (const Token& t : *tokens)
      FUZZ_CHECK(t.type != TokenType::kMacro || (t.text != "start_ds" && t.text != "end_ds"),
                 "@%s left in the rendered SELECT", t.text.c_str());
  }
  return 0;
}
