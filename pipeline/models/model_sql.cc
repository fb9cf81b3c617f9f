#include "pipeline/models/model_sql.h"

#include "pipeline/models/iso_day.h"
#include "schemas/sqlite_db.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {

Result<std::string> RenderSelect(const Model& model, std::string_view start_ds, std::string_view end_ds) {
  if (!IsIsoDay(start_ds) || !IsIsoDay(end_ds))
    return Status::InvalidArgument("start_ds and end_ds must be dates 'YYYY-MM-DD', got '" + std::string(start_ds) +
                                   "' and '" + std::string(end_ds) + "'");
  auto tokens = Tokenize(model.select_sql, model.path);
  if (!tokens.ok()) return tokens.status();
  std::string out;
  std::size_t copied = 0;
  for (const Token& t : *tokens) {
    if (t.type != TokenType::kMacro) continue;
    std::string value;
    if (t.text == "start_ds") value = QuoteLiteral(start_ds);
    else if (t.text == "end_ds") value = QuoteLiteral(end_ds);
    else return Status::InvalidArgument(model.path + ": unknown macro @" + t.text);
    out.append(model.select_sql, copied, t.offset - copied);
    out += value;
    copied = t.offset + t.length;
  }
  out.append(model.select_sql, copied, std::string::npos);
  return out;
}

}  // namespace sluice::models
