#include "broker/http_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "broker/status_page.h"
#include "schemas/job_kinds.h"
#include "schemas/messages.h"
#include "schemas/replies.h"
#include "schemas/requests.h"

namespace sluice::broker {
namespace {

using json = nlohmann::json;

constexpr std::uint32_t kOverviewRunsDefault = 10;
constexpr std::uint32_t kOverviewRunsMax = 50;
constexpr std::size_t kOverviewWorkflowsMax = 50;
constexpr std::uint32_t kOverviewDead = 20;
constexpr std::uint32_t kOverviewExtractions = 20;

HttpReply JsonReply(int status, const json& body) {
  HttpReply r;
  r.status = status;
  // Replace: a stored tail that is not UTF-8 is shown, not refused.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpReply ErrorReply(int status, std::string_view code, const std::string& message) {
  return JsonReply(status, {{"error", {{"code", code}, {"message", message}}}});
}

// The answer to a refused request, as HTTP.
HttpReply FromError(const ApiMailbox::Answer& a) {
  proto::ErrorMsg e;
  if (!proto::Decode(a.body, &e).ok()) return ErrorReply(500, proto::err::kInternal, "an unreadable answer");
  int status = 500;
  if (e.code == proto::err::kBadRequest) status = 400;
  else if (e.code == proto::err::kNotFound) status = 404;
  else if (e.code == proto::err::kShuttingDown) status = 503;
  return ErrorReply(status, e.code, e.message);
}

// A `limit` parameter: "" (the command's default) or 1..kMaxLimit.
bool ReadLimit(const HttpQuery& q, const char* name, std::uint32_t* limit, HttpReply* refusal) {
  const std::string v = q.Param(name);
  if (v.empty()) return true;
  std::uint32_t n = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size() || n == 0 || n > proto::kMaxLimit) {
    *refusal = ErrorReply(400, proto::err::kBadRequest,
                          std::string(name) + " must be a whole number from 1 to " + std::to_string(proto::kMaxLimit));
    return false;
  }
  *limit = n;
  return true;
}

template <typename Request>
std::pair<proto::Command, std::string> Ask(proto::Command command, const Request& m) {
  std::string body;
  proto::Encode(m, &body);
  return {command, std::move(body)};
}

// A REPLY decoded as `Reply`, or nullopt (an ERROR, or unreadable).
template <typename Reply>
std::optional<Reply> As(const ApiMailbox::Answer& a) {
  if (a.command != proto::Command::kReply) return std::nullopt;
  Reply r;
  if (!proto::Decode(a.body, &r).ok()) return std::nullopt;
  return r;
}

// A REPLY as its JSON (`field` of the reply: "jobs", "runs", ...).
std::optional<json> ReplyJson(proto::Command command, const ApiMailbox::Answer& a) {
  switch (command) {
    case proto::Command::kStats:
      if (auto r = As<proto::StatsReply>(a)) return proto::ToJson(r->stats);
      break;
    case proto::Command::kWorkers:
      if (auto r = As<proto::WorkersReply>(a)) return json{{"workers", proto::ToJson(r->workers)}};
      break;
    case proto::Command::kList:
      if (auto r = As<proto::ListReply>(a)) return json{{"jobs", proto::ToJson(r->jobs)}};
      break;
    case proto::Command::kRuns:
      if (auto r = As<proto::RunsReply>(a)) return json{{"runs", proto::ToJson(r->runs)}};
      break;
    case proto::Command::kSchedules:
      if (auto r = As<proto::SchedulesReply>(a)) return json{{"schedules", proto::ToJson(r->schedules)}};
      break;
    case proto::Command::kExtractions:
      if (auto r = As<proto::ExtractionsReply>(a)) return json{{"extractions", proto::ToJson(r->extractions)}};
      break;
    default:
      break;
  }
  return std::nullopt;
}

HttpReply NoAnswer() {
  return ErrorReply(503, proto::err::kShuttingDown, "the broker did not answer (stopping, or busy)");
}

}  // namespace

HttpReply HttpApi::One(proto::Command command, std::string body) {
  std::vector<std::pair<proto::Command, std::string>> asks;
  asks.emplace_back(command, std::move(body));
  auto answers = mailbox_->Ask(std::move(asks), timeout_);
  if (!answers) return NoAnswer();
  const ApiMailbox::Answer& a = answers->front();
  if (a.command == proto::Command::kError) return FromError(a);
  auto j = ReplyJson(command, a);
  if (!j) return ErrorReply(500, proto::err::kInternal, "an unreadable answer");
  return JsonReply(200, *j);
}

HttpReply HttpApi::Status(const std::string& id, bool run_only) {
  const bool run = !id.empty() && id[0] == 'r';
  if (run_only && !run) return ErrorReply(404, proto::err::kNotFound, "no run " + id + " (run ids are rN)");
  proto::StatusRequest m;
  m.req = 1;
  m.id = id;
  std::vector<std::pair<proto::Command, std::string>> asks;
  asks.push_back(Ask(proto::Command::kStatus, m));
  auto answers = mailbox_->Ask(std::move(asks), timeout_);
  if (!answers) return NoAnswer();
  const ApiMailbox::Answer& a = answers->front();
  if (a.command == proto::Command::kError) return FromError(a);
  if (run) {
    if (auto r = As<proto::RunReply>(a)) return JsonReply(200, proto::ToJson(r->run));
  } else if (auto r = As<proto::JobReply>(a)) {
    return JsonReply(200, proto::ToJson(r->job));
  }
  return ErrorReply(500, proto::err::kInternal, "an unreadable answer");
}

HttpReply HttpApi::Overview(const HttpQuery& q) {
  std::uint32_t per_workflow = kOverviewRunsDefault;
  HttpReply refusal;
  if (!ReadLimit(q, "runs", &per_workflow, &refusal)) return refusal;
  per_workflow = std::min(per_workflow, kOverviewRunsMax);

  // First: everything but the runs (which need the workflows' names). One
  // turn of the loop.
  proto::ListRequest dead;
  dead.req = 1;
  dead.state = "dead";
  dead.limit = kOverviewDead;
  proto::ExtractionsRequest extractions;
  extractions.req = 1;
  extractions.limit = kOverviewExtractions;
  std::vector<std::pair<proto::Command, std::string>> first;
  first.push_back(Ask(proto::Command::kStats, proto::StatsRequest{1}));
  first.push_back(Ask(proto::Command::kWorkers, proto::WorkersRequest{1}));
  first.push_back(Ask(proto::Command::kSchedules, proto::SchedulesRequest{1}));
  first.push_back(Ask(proto::Command::kList, dead));
  first.push_back(Ask(proto::Command::kExtractions, extractions));
  auto a = mailbox_->Ask(std::move(first), timeout_);
  if (!a) return NoAnswer();
  auto stats = As<proto::StatsReply>((*a)[0]);
  auto workers = As<proto::WorkersReply>((*a)[1]);
  auto schedules = As<proto::SchedulesReply>((*a)[2]);
  auto dead_jobs = As<proto::ListReply>((*a)[3]);
  auto extraction_rows = As<proto::ExtractionsReply>((*a)[4]);
  if (!stats || !workers || !schedules || !dead_jobs || !extraction_rows) {
    for (const auto& answer : *a)
      if (answer.command == proto::Command::kError) return FromError(answer);
    return ErrorReply(500, proto::err::kInternal, "an unreadable answer");
  }

  std::vector<std::pair<proto::Command, std::string>> second;
  std::vector<std::string> workflows;
  for (const auto& s : schedules->schedules) {
    if (workflows.size() == kOverviewWorkflowsMax) break;
    workflows.push_back(s.workflow);
    proto::RunsRequest r;
    r.req = 1;
    r.workflow = s.workflow;
    r.limit = per_workflow;
    second.push_back(Ask(proto::Command::kRuns, r));
  }
  json runs = json::object();
  // The serving export: the newest succeeded export.serving stage of the
  // runs shown (not a LIST by kind: that would read every job).
  std::string export_job;
  std::int64_t export_finished = -1;
  if (!second.empty()) {
    auto b = mailbox_->Ask(std::move(second), timeout_);
    if (!b) return NoAnswer();
    for (std::size_t i = 0; i < workflows.size(); ++i) {
      auto r = As<proto::RunsReply>((*b)[i]);
      runs[workflows[i]] = r ? proto::ToJson(r->runs) : json::array();
      if (!r) continue;
      for (const proto::RunView& run : r->runs)
        for (const proto::StageView& st : run.stages)
          if (st.kind == proto::kind::kExportServing && st.state == "succeeded" && !st.job.empty() &&
              st.finished_ms.value_or(0) > export_finished) {
            export_finished = st.finished_ms.value_or(0);
            export_job = st.job;
          }
    }
  }
  json export_doc = nullptr;
  if (!export_job.empty()) {
    proto::StatusRequest s;
    s.req = 1;
    s.id = export_job;
    std::vector<std::pair<proto::Command, std::string>> third;
    third.push_back(Ask(proto::Command::kStatus, s));
    auto c = mailbox_->Ask(std::move(third), timeout_);
    if (!c) return NoAnswer();
    if (auto j = As<proto::JobReply>(c->front())) export_doc = proto::ToJson(j->job);
  }
  return JsonReply(200, {{"stats", proto::ToJson(stats->stats)},
                         {"workers", proto::ToJson(workers->workers)},
                         {"schedules", proto::ToJson(schedules->schedules)},
                         {"runs", std::move(runs)},
                         {"dead", proto::ToJson(dead_jobs->jobs)},
                         {"extractions", proto::ToJson(extraction_rows->extractions)},
                         {"export", std::move(export_doc)}});
}

void HttpApi::Mount(HttpServer* server) {
  for (const StatusPageFile& f : StatusPageFiles()) {
    const std::string path = f.path;
    server->Get(
        path,
        [f](const HttpQuery&) {
          HttpReply r;
          r.content_type = f.content_type;
          r.body = std::string(f.body);
          return r;
        },
        /*open=*/true);
  }
  server->Get("/api/overview", [this](const HttpQuery& q) { return Overview(q); });
  server->Get("/api/stats", [this](const HttpQuery&) {
    std::string body;
    proto::Encode(proto::StatsRequest{1}, &body);
    return One(proto::Command::kStats, std::move(body));
  });
  server->Get("/api/workers", [this](const HttpQuery&) {
    std::string body;
    proto::Encode(proto::WorkersRequest{1}, &body);
    return One(proto::Command::kWorkers, std::move(body));
  });
  server->Get("/api/schedules", [this](const HttpQuery&) {
    std::string body;
    proto::Encode(proto::SchedulesRequest{1}, &body);
    return One(proto::Command::kSchedules, std::move(body));
  });
  server->Get("/api/jobs", [this](const HttpQuery& q) {
    proto::ListRequest m;
    m.req = 1;
    m.state = q.Param("state");
    m.queue = q.Param("queue");
    m.kind = q.Param("kind");
    HttpReply refusal;
    if (!ReadLimit(q, "limit", &m.limit, &refusal)) return refusal;
    std::string body;
    proto::Encode(m, &body);
    return One(proto::Command::kList, std::move(body));
  });
  server->Get("/api/runs", [this](const HttpQuery& q) {
    proto::RunsRequest m;
    m.req = 1;
    m.workflow = q.Param("workflow");
    m.state = q.Param("state");
    HttpReply refusal;
    if (!ReadLimit(q, "limit", &m.limit, &refusal)) return refusal;
    std::string body;
    proto::Encode(m, &body);
    return One(proto::Command::kRuns, std::move(body));
  });
  server->Get("/api/extractions", [this](const HttpQuery& q) {
    proto::ExtractionsRequest m;
    m.req = 1;
    m.source = q.Param("source");
    HttpReply refusal;
    if (!ReadLimit(q, "limit", &m.limit, &refusal)) return refusal;
    std::string body;
    proto::Encode(m, &body);
    return One(proto::Command::kExtractions, std::move(body));
  });
  server->Get(R"(/api/jobs/([A-Za-z0-9]{1,32}))", [this](const HttpQuery& q) { return Status(q.captures.at(1), false); });
  server->Get(R"(/api/runs/([A-Za-z0-9]{1,32}))", [this](const HttpQuery& q) { return Status(q.captures.at(1), true); });
  server->Get(R"(/api/.*)", [](const HttpQuery& q) {
    return ErrorReply(404, proto::err::kNotFound, "no such route: " + q.captures.at(0) + " (see README: /api)");
  });
}

}  // namespace sluice::broker
