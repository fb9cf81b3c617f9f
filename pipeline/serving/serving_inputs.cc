#include "pipeline/serving/serving_inputs.h"

namespace sluice::serving {
namespace {

Result<bool> HasTable(Database& db, const char* name) {
  auto st = db.Prepare("SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = ?1");
  if (!st.ok()) return st.status();
  st->Bind(1, std::string_view(name));
  if (st->Step() != SQLITE_ROW) return Status::IOError(st->error());
  return st->Int(0) > 0;
}

Result<std::string> One(Database& db, const std::string& sql, const std::string& bind = {}) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  if (!bind.empty()) st->Bind(1, std::string_view(bind));
  int rc = st->Step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return Status::IOError(st->error());
  return std::string(st->Text(0));
}

}  // namespace

Result<std::optional<std::string>> ServingInputs(Database& lake, const std::vector<std::string>& names) {
  auto builds = HasTable(lake, "_sluice_model_builds");
  if (!builds.ok()) return builds.status();
  if (!*builds) return std::optional<std::string>();
  std::string inputs;
  for (const std::string& name : names) {
    auto type = One(lake, "SELECT type FROM main.sqlite_master WHERE name = ?1", name);
    if (!type.ok()) return type.status();
    std::string version;
    if (*type == "view") {
      auto ledger = HasTable(lake, "_sluice_loaded_files");
      if (!ledger.ok()) return ledger.status();
      auto all = One(lake, std::string("SELECT (SELECT coalesce(max(version), 0) FROM main._sluice_model_builds) || '/' || ") +
                               (*ledger ? "(SELECT coalesce(max(load_id), 0) FROM main._sluice_loaded_files)" : "0"));
      if (!all.ok()) return all.status();
      version = "view@" + *all;
    } else {
      auto v = One(lake, "SELECT version FROM main._sluice_model_builds WHERE model = lower(?1)", name);
      if (!v.ok()) return v.status();
      if (v->empty()) return std::optional<std::string>();
      version = *v;
    }
    inputs += (inputs.empty() ? "" : ",") + name + "=" + version;
  }
  return std::optional<std::string>(inputs);
}

}  // namespace sluice::serving
