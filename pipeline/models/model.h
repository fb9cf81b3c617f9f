// A SQL model: one SELECT materialized as a table or view in the lakehouse,
// with the header that says how (kind, grain, audits) and the tables it reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/models/table_references.h"

namespace sluice::models {

// staging -> foundation -> serving. A model reads raw_* tables and models of
// its own or the previous layer (see MayRead).
enum class Layer { kStaging = 0, kFoundation = 1, kServing = 2 };

enum class ModelKind { kFull, kView, kIncrementalByTimeRange, kIncrementalByUniqueKey, kSeed };

// A constant in an audit argument: 'text', 12 or 1.5.
struct Literal {
  enum class Type { kText, kInteger, kReal };
  Type type = Type::kText;
  std::string text;  // the value as written (unquoted for text)
};

struct Audit {
  enum class Type { kNotNull, kUniqueGrain, kAcceptedValues };
  Type type = Type::kNotNull;
  std::vector<std::string> columns;  // not_null: columns; accepted_values: the one column
  std::vector<Literal> values;       // accepted_values: is_in
  int line = 0;
};

// One model, as loaded from its .sql file.
struct Model {
  std::string name;  // the table or view name
  int name_line = 0;
  Layer layer = Layer::kStaging;
  ModelKind kind = ModelKind::kFull;
  std::string time_column;         // INCREMENTAL_BY_TIME_RANGE only
  std::vector<std::string> unique_key;  // INCREMENTAL_BY_UNIQUE_KEY only
  std::string seed_path;           // SEED only: the CSV, relative to the model file's folder (seed_model.h)
  std::vector<std::string> grain;  // may be empty
  std::optional<std::string> start;  // 'YYYY-MM-DD'
  int lookback = 0;                  // incremental: days before the run's end day processed again with it
  std::string description;
  std::vector<Audit> audits;

  std::string select_sql;                 // the SELECT, @start_ds / @end_ds unexpanded
  int select_line = 0;                    // line of the SELECT in the file
  std::string path;                       // relative to the models folder: staging/staging_x.sql
  std::vector<TableReference> reads;      // every table it reads (models and raw), first mention each
};

const char* LayerName(Layer layer);         // "staging"
const char* LayerPrefix(Layer layer);       // "staging_"
std::optional<Layer> ParseLayer(std::string_view folder);
const char* KindName(ModelKind kind);       // "FULL", "VIEW", "INCREMENTAL_BY_TIME_RANGE", "INCREMENTAL_BY_UNIQUE_KEY"
std::string AuditName(const Audit& audit);  // "not_null(a, b)", "unique_grain", "accepted_values(unit)"

// Whether a model in `reader` may read a model in `source`: its own layer or
// the one before.
bool MayRead(Layer reader, Layer source);

// A valid table name: [a-z][a-z0-9_]*.
bool IsValidName(std::string_view name);

}  // namespace sluice::models
