// The workflow commands: RUN, RUNS, SCHEDULES, PAUSE / RESUME, RELOAD, and
// STATUS / CANCEL_JOB of a run id (PROTOCOL.md 6.9-6.13). Their bodies are
// small and rare, so they are read as JSON.
#include "broker/broker.h"
#include "broker/log.h"
#include "schemas/job_id.h"
#include "schemas/msgpack_json.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"
#include "schemas/utf8.h"

namespace sluice::broker {
namespace {

// The body as JSON, or a message saying why not. The decoding limits
// (nesting, size: protocol.h) hold as for every other body.
bool ReadBody(std::string_view body, const char* what, nlohmann::json* out, std::string* error) {
  auto j = proto::MsgpackToJson(body);
  if (!j.ok()) {
    *error = std::string(what) + ": " + j.status().message();
    return false;
  }
  *out = std::move(j).value();
  if (!out->is_object()) {
    *error = std::string(what) + ": body must be a map";
    return false;
  }
  return true;
}

std::string Str(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void Broker::OnRun(const std::string& rid, std::string_view body) {
  std::uint64_t req = proto::PeekReq(body);
  nlohmann::json b;
  std::string error;
  if (!ReadBody(body, "RUN", &b, &error)) return ReplyError(rid, req, proto::err::kBadRequest, error);
  const std::string name = Str(b, "workflow");
  if (name.empty()) return ReplyError(rid, req, proto::err::kBadRequest, "RUN: field 'workflow' (str) is required");
  if (!proto::IsValidUtf8(name))
    return ReplyError(rid, req, proto::err::kBadRequest, "RUN: field 'workflow' is not valid UTF-8");
  std::map<std::string, std::string> overrides;
  if (auto p = b.find("params"); p != b.end() && !p->is_null()) {
    if (!p->is_object()) return ReplyError(rid, req, proto::err::kBadRequest, "RUN: field 'params' must be a map");
    for (auto it = p->begin(); it != p->end(); ++it) {
      if (!proto::IsValidUtf8(it.key()))
        return ReplyError(rid, req, proto::err::kBadRequest, "RUN: a params key is not valid UTF-8");
      if (!it->is_string())
        return ReplyError(rid, req, proto::err::kBadRequest, "RUN: params." + it.key() + " must be a string");
      if (!proto::IsValidUtf8(it->get_ref<const std::string&>()))
        return ReplyError(rid, req, proto::err::kBadRequest, "RUN: params." + it.key() + " is not valid UTF-8");
      overrides[it.key()] = it->get<std::string>();
    }
  }
  const workflows::WorkflowDef* w = registry_.Find(name);
  if (w == nullptr)
    return ReplyError(rid, req, proto::err::kNotFound,
                      "no workflow '" + name + "'" +
                          (config_.workflows_path.empty() ? " (the broker has no --workflows registry)"
                                                          : " in " + config_.workflows_path));
  const std::int64_t now = clock_->NowMs();
  auto seq = StartRun(*w, "manual", UtcDay(now), std::nullopt, overrides, now);
  if (!seq.ok()) {
    const bool bad = seq.status().code() == Code::kInvalidArgument;
    return ReplyError(rid, req, bad ? proto::err::kBadRequest : proto::err::kInternal, seq.status().message());
  }
  ProcessRunEvents(now);
  auto run = FindRun(*seq);
  if (!run.ok()) return ReplyError(rid, req, proto::err::kInternal, run.status().message());
  Logf("run r%lld of %s started by request", static_cast<long long>(*seq), name.c_str());
  ReplyJson(rid, req, {{"run", RunJson(**run, false)}});
}

void Broker::OnRuns(const std::string& rid, std::string_view body) {
  std::uint64_t req = proto::PeekReq(body);
  nlohmann::json b;
  std::string error;
  if (!ReadBody(body, "RUNS", &b, &error)) return ReplyError(rid, req, proto::err::kBadRequest, error);
  std::int64_t limit = 50;
  if (auto l = b.find("limit"); l != b.end() && l->is_number_unsigned() && l->get<std::int64_t>() > 0)
    limit = std::min<std::int64_t>(l->get<std::int64_t>(), 10000);
  const std::string state = Str(b, "state");
  RunPhase phase;
  if (!state.empty() && !ParseRunPhase(state, &phase))
    return ReplyError(rid, req, proto::err::kBadRequest, "RUNS: unknown state '" + state + "'");
  auto rows = run_store_.List(Str(b, "workflow"), state, limit);
  if (!rows.ok()) return ReplyError(rid, req, proto::err::kInternal, rows.status().message());
  nlohmann::json runs = nlohmann::json::array();
  for (RunRow& row : *rows) {
    auto live = runs_.find(row.seq);
    if (live != runs_.end()) {
      runs.push_back(RunJson(live->second, false));
      continue;
    }
    auto stages = run_store_.Stages(row.seq);
    if (!stages.ok()) return ReplyError(rid, req, proto::err::kInternal, stages.status().message());
    auto run = RestoreRun(std::move(row), *stages);
    if (run.ok()) runs.push_back(RunJson(*run, false));
  }
  ReplyJson(rid, req, {{"runs", std::move(runs)}});
}

void Broker::OnRunStatus(const std::string& rid, std::uint64_t req, std::int64_t run_seq) {
  auto run = FindRun(run_seq);
  if (!run.ok())
    return ReplyError(rid, req, run.status().code() == Code::kNotFound ? proto::err::kNotFound : proto::err::kInternal,
                      run.status().message());
  nlohmann::json j = RunJson(**run, true);
  ForgetRunIfDone(run_seq);
  ReplyJson(rid, req, {{"run", std::move(j)}});
}

void Broker::OnRunCancel(const std::string& rid, std::uint64_t req, std::int64_t run_seq) {
  const std::int64_t now = clock_->NowMs();
  Status s = CancelRun(run_seq, now);
  if (!s.ok()) {
    std::string_view code = s.code() == Code::kNotFound   ? proto::err::kNotFound
                            : s.code() == Code::kConflict ? proto::err::kInvalidState
                                                          : proto::err::kInternal;
    return ReplyError(rid, req, code, s.message());
  }
  Logf("run r%lld cancelled by request", static_cast<long long>(run_seq));
  OnRunStatus(rid, req, run_seq);
}

void Broker::OnSchedules(const std::string& rid, std::string_view body) {
  std::uint64_t req = 0;
  if (!ReadReqOnly(rid, static_cast<std::uint8_t>(proto::Command::kSchedules), body, &req)) return;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& w : registry_.workflows) list.push_back(ScheduleJson(w));
  ReplyJson(rid, req, {{"schedules", std::move(list)}});
}

void Broker::OnPauseResume(const std::string& rid, std::string_view body, bool pause) {
  const char* what = pause ? "PAUSE" : "RESUME";
  std::uint64_t req = proto::PeekReq(body);
  nlohmann::json b;
  std::string error;
  if (!ReadBody(body, what, &b, &error)) return ReplyError(rid, req, proto::err::kBadRequest, error);
  const std::string name = Str(b, "workflow");
  const workflows::WorkflowDef* w = registry_.Find(name);
  if (w == nullptr) return ReplyError(rid, req, proto::err::kNotFound, "no workflow '" + name + "'");
  if (!Db(store_.Begin()) || !Db(run_store_.SetPaused(name, pause)))
    return ReplyError(rid, req, proto::err::kInternal, fatal_.message());
  if (pause) paused_.insert(name);
  else paused_.erase(name);
  // A resumed schedule starts from now: the slots it slept through stay missed.
  if (!pause && w->cron) {
    if (auto n = w->cron->NextAfter(clock_->NowMs() / 1000)) next_fire_[name] = *n * 1000;
  }
  Logf("workflow %s %s", name.c_str(), pause ? "paused" : "resumed");
  ReplyJson(rid, req, {{"schedule", ScheduleJson(*w)}});
}

void Broker::OnReload(const std::string& rid, std::string_view body) {
  std::uint64_t req = proto::PeekReq(body);
  std::string message;
  Status s = ReloadRegistry(&message);
  if (!s.ok()) return ReplyError(rid, req, proto::err::kBadRequest, message);
  ReplyJson(rid, req, {{"workflows", registry_.workflows.size()}, {"path", config_.workflows_path}});
}

void Broker::Alert(const std::string& title, const std::string& text) {
  if (config_.verbose) Logf("alert: %s", title.c_str());
  if (alerts_) alerts_->Enqueue(title, text);  // never blocks: a queue and a thread
}

}  // namespace sluice::broker
