#include "pipeline/postgres/pg_model_state.h"

#include <nlohmann/json.hpp>

#include "pipeline/postgres/pg_lakehouse.h"

namespace sluice::postgres {

Result<models::ModelState> ReadModelState(PgConnection& c) {
  models::ModelState state;
  auto builds = c.Query("SELECT model, kind, fingerprint, version, built_at::text, inputs::text FROM sluice.model_builds");
  if (!builds.ok()) return builds.status();
  for (int i = 0; i < builds->rows(); ++i) {
    models::BuildRecord b;
    b.kind = builds->Text(i, 1);
    b.fingerprint = builds->Text(i, 2);
    b.version = builds->Int(i, 3);
    b.built_at = builds->Text(i, 4);
    auto inputs = nlohmann::json::parse(builds->Text(i, 5), nullptr, false);
    if (inputs.is_object())
      for (auto it = inputs.begin(); it != inputs.end(); ++it)
        if (it.value().is_number_integer()) b.inputs[it.key()] = it.value().get<std::int64_t>();
    state.AddBuild(builds->Text(i, 0), std::move(b));
  }
  auto days = c.Query("SELECT model, day, fingerprint FROM sluice.model_intervals");
  if (!days.ok()) return days.status();
  for (int i = 0; i < days->rows(); ++i) state.AddDay(days->Text(i, 0), days->Text(i, 1), days->Text(i, 2));
  auto loads = c.Query("SELECT lower(raw_table), load_id FROM sluice.loaded_files");
  if (!loads.ok()) return loads.status();
  for (int i = 0; i < loads->rows(); ++i) state.AddLoad(loads->Text(i, 0), loads->Int(i, 1));
  auto objects = c.Query(
      "SELECT lower(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname IN ('raw', 'staging', 'foundation', 'serving') AND c.relkind IN ('r', 'v', 'm', 'p')");
  if (!objects.ok()) return objects.status();
  for (int i = 0; i < objects->rows(); ++i) state.AddObject(objects->Text(i, 0));
  return state;
}

Result<std::int64_t> RecordBuild(PgConnection& c, std::string_view model, const models::BuildRecord& record) {
  auto next = c.QueryInt("SELECT coalesce(max(version), 0) + 1 FROM sluice.model_builds");
  if (!next.ok()) return next.status();
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [table, version] : record.inputs) inputs[table] = version;
  auto r = c.Query(
      "INSERT INTO sluice.model_builds (model, kind, fingerprint, version, built_at, inputs) "
      "VALUES ($1, $2, $3, $4, now(), $5::jsonb) ON CONFLICT (model) DO UPDATE SET kind = excluded.kind, "
      "fingerprint = excluded.fingerprint, version = excluded.version, built_at = excluded.built_at, "
      "inputs = excluded.inputs",
      {std::string(model), record.kind, record.fingerprint, std::to_string(*next), inputs.dump()});
  if (!r.ok()) return r.status();
  return *next;
}

Status RecordDays(PgConnection& c, std::string_view model, std::string_view fingerprint, std::int64_t version,
                  std::string_view from, std::string_view to, bool forget_others) {
  if (forget_others) {
    auto d = c.Query("DELETE FROM sluice.model_intervals WHERE model = $1", {std::string(model)});
    if (!d.ok()) return d.status();
  }
  auto r = c.Query(
      "INSERT INTO sluice.model_intervals (model, day, fingerprint, version, processed_at) "
      "SELECT $1, to_char(d, 'YYYY-MM-DD'), $2, $3, now() "
      "FROM generate_series($4::date, $5::date, interval '1 day') AS d "
      "ON CONFLICT (model, day) DO UPDATE SET fingerprint = excluded.fingerprint, version = excluded.version, "
      "processed_at = excluded.processed_at",
      {std::string(model), std::string(fingerprint), std::to_string(version), std::string(from), std::string(to)});
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::map<std::string, std::int64_t>> CurrentVersions(PgConnection& c, const std::set<std::string>& tables) {
  std::map<std::string, std::int64_t> versions;
  for (const std::string& t : tables) {
    const bool raw = t.rfind("raw_", 0) == 0;
    auto v = c.QueryInt(raw ? "SELECT coalesce(max(load_id), 0) FROM sluice.loaded_files WHERE lower(raw_table) = $1"
                            : "SELECT coalesce(max(version), 0) FROM sluice.model_builds WHERE model = $1",
                        {t});
    if (!v.ok()) return v.status();
    versions[t] = *v;
  }
  return versions;
}

}  // namespace sluice::postgres
