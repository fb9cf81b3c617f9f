#include "pipeline/models/model_state.h"

#include <algorithm>
#include <functional>

#include <nlohmann/json.hpp>

#include "pipeline/lakehouse/lakehouse_schema.h"
#include "pipeline/lakehouse/load_ledger.h"
#include "pipeline/models/iso_day.h"
#include "pipeline/models/sql_tokens.h"

namespace sluice::models {
namespace {

// A build row's inputs are written by RecordBuild; anything else there (a
// hand edit) reads as "no inputs known", which makes the model build again.
std::map<std::string, std::int64_t> ParseInputs(std::string_view text) {
  std::map<std::string, std::int64_t> inputs;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return inputs;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_number_integer()) inputs[it.key()] = it.value().get<std::int64_t>();
  return inputs;
}

Result<bool> TableExists(Database& db, const char* name) {
  auto st = db.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, std::string_view(name));
  if (st->Step() != SQLITE_ROW) return Status::IOError(st->error());
  return st->Int(0) > 0;
}

Status StepAll(Statement& st, const std::function<void(const Statement&)>& row) {
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) row(st);
  if (rc != SQLITE_DONE) return Status::IOError("reading the model state: " + st.error());
  return Status::Ok();
}

}  // namespace

Result<ModelState> ModelState::Read(Database& db) {
  ModelState state;
  {
    auto st = db.Prepare("SELECT lower(name) FROM sqlite_master WHERE type IN ('table', 'view')");
    if (!st.ok()) return st.status();
    if (Status s = StepAll(*st, [&](const Statement& r) { state.AddObject(std::string(r.Text(0))); }); !s.ok()) return s;
  }
  auto builds = TableExists(db, "_sluice_model_builds");
  if (!builds.ok()) return builds.status();
  if (*builds) {
    auto st = db.Prepare("SELECT model, kind, fingerprint, version, built_at, inputs FROM _sluice_model_builds");
    if (!st.ok()) return st.status();
    Status s = StepAll(*st, [&](const Statement& r) {
      BuildRecord b;
      b.kind = r.Text(1);
      b.fingerprint = r.Text(2);
      b.version = r.Int(3);
      b.built_at = r.Text(4);
      b.inputs = ParseInputs(r.Text(5));
      state.AddBuild(Lower(r.Text(0)), std::move(b));
    });
    if (!s.ok()) return s;
  }
  auto intervals = TableExists(db, "_sluice_model_intervals");
  if (!intervals.ok()) return intervals.status();
  if (*intervals) {
    auto st = db.Prepare("SELECT model, day, fingerprint FROM _sluice_model_intervals");
    if (!st.ok()) return st.status();
    Status s = StepAll(*st, [&](const Statement& r) {
      state.AddDay(Lower(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)));
    });
    if (!s.ok()) return s;
  }
  auto ledger = TableExists(db, lakehouse::kLedgerTable);
  if (!ledger.ok()) return ledger.status();
  if (*ledger) {
    auto st = db.Prepare(std::string("SELECT lower(raw_table), load_id FROM ") + lakehouse::kLedgerTable +
                         " WHERE load_id IS NOT NULL");
    if (!st.ok()) return st.status();
    Status s = StepAll(*st, [&](const Statement& r) { state.AddLoad(std::string(r.Text(0)), r.Int(1)); });
    if (!s.ok()) return s;
  }
  return state;
}

const BuildRecord* ModelState::Build(std::string_view model) const {
  auto it = builds_.find(model);
  return it == builds_.end() ? nullptr : &it->second;
}

std::set<std::string> ModelState::Days(std::string_view model, std::string_view fingerprint) const {
  std::set<std::string> days;
  auto it = days_.find(model);
  if (it == days_.end()) return days;
  for (const auto& [day, fp] : it->second)
    if (fp == fingerprint) days.insert(day);
  return days;
}

std::optional<std::string> ModelState::FirstDay(std::string_view model) const {
  auto it = days_.find(model);
  if (it == days_.end() || it->second.empty()) return std::nullopt;
  return it->second.begin()->first;
}

std::int64_t ModelState::RawVersion(std::string_view raw_table) const {
  auto it = loads_.find(raw_table);
  return it == loads_.end() || it->second.empty() ? 0 : *it->second.rbegin();
}

std::int64_t ModelState::FilesLoadedSince(std::string_view raw_table, std::int64_t load_id) const {
  auto it = loads_.find(raw_table);
  if (it == loads_.end()) return 0;
  return static_cast<std::int64_t>(std::distance(it->second.upper_bound(load_id), it->second.end()));
}

Result<std::int64_t> RecordBuild(Database& db, std::string_view model, const BuildRecord& record) {
  if (Status s = db.Exec(lakehouse::kModelBuildsTableSql); !s.ok()) return s;
  auto next = db.Prepare("SELECT coalesce(max(version), 0) + 1 FROM _sluice_model_builds");
  if (!next.ok()) return next.status();
  if (next->Step() != SQLITE_ROW) return Status::IOError("reading the build versions: " + next->error());
  const std::int64_t version = next->Int(0);
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [table, v] : record.inputs) inputs[table] = v;
  auto st = db.Prepare(
      "INSERT OR REPLACE INTO _sluice_model_builds (model, kind, fingerprint, version, built_at, inputs) "
      "VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%d %H:%M:%S', 'now'), ?5)");
  if (!st.ok()) return st.status();
  st->Bind(1, model).Bind(2, std::string_view(record.kind)).Bind(3, std::string_view(record.fingerprint));
  st->Bind(4, version).Bind(5, std::string_view(inputs.dump()));
  if (Status s = st->Run(); !s.ok()) return Status::IOError("recording the build of " + std::string(model) + ": " + s.message());
  return version;
}

Status RecordDays(Database& db, std::string_view model, std::string_view fingerprint, std::int64_t version,
                  std::string_view from, std::string_view to, bool forget_others) {
  if (Status s = db.Exec(lakehouse::kModelIntervalsTableSql); !s.ok()) return s;
  if (forget_others) {
    auto del = db.Prepare("DELETE FROM _sluice_model_intervals WHERE model = ?1");
    if (!del.ok()) return del.status();
    del->Bind(1, model);
    if (Status s = del->Run(); !s.ok()) return s;
  }
  auto st = db.Prepare(
      "INSERT OR REPLACE INTO _sluice_model_intervals (model, day, fingerprint, version, processed_at) "
      "VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%d %H:%M:%S', 'now'))");
  if (!st.ok()) return st.status();
  for (std::string day(from); day <= to; day = NextIsoDay(day)) {
    st->Bind(1, model).Bind(2, std::string_view(day)).Bind(3, fingerprint).Bind(4, version);
    if (Status s = st->Run(); !s.ok())
      return Status::IOError("recording the intervals of " + std::string(model) + ": " + s.message());
  }
  return Status::Ok();
}

Result<std::map<std::string, std::int64_t>> CurrentVersions(Database& db, const std::set<std::string>& tables) {
  std::map<std::string, std::int64_t> versions;
  auto ledger = TableExists(db, lakehouse::kLedgerTable);
  if (!ledger.ok()) return ledger.status();
  auto builds = TableExists(db, "_sluice_model_builds");
  if (!builds.ok()) return builds.status();
  for (const std::string& t : tables) {
    const bool raw = t.rfind("raw_", 0) == 0;
    if ((raw && !*ledger) || (!raw && !*builds)) {
      versions[t] = 0;
      continue;
    }
    auto st = db.Prepare(raw ? std::string("SELECT coalesce(max(load_id), 0) FROM ") + lakehouse::kLedgerTable +
                                   " WHERE lower(raw_table) = ?1"
                             : std::string("SELECT coalesce(max(version), 0) FROM _sluice_model_builds WHERE model = ?1"));
    if (!st.ok()) return st.status();
    st->Bind(1, std::string_view(t));
    if (st->Step() != SQLITE_ROW) return Status::IOError("reading the version of " + t + ": " + st->error());
    versions[t] = st->Int(0);
  }
  return versions;
}

}  // namespace sluice::models
