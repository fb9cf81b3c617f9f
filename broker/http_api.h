// HttpApi: the broker's /api routes and its status page (GET /), served on
// the HTTP threads. Each /api route is a protocol request (PROTOCOL.md §6)
// put to the loop through the ApiMailbox, and its answer is the JSON that
// `sluice ... --json` prints for the same request. README "Status page and
// /api" documents the routes.
//
//   /api/overview[?runs=N]   what the page shows, in one answer (a few
//                            requests, put to the loop together)
//   /api/stats               STATS
//   /api/workers             WORKERS            {"workers": [...]}
//   /api/jobs?state&queue&kind&limit   LIST     {"jobs": [...]}
//   /api/jobs/ID             STATUS             the job (or run) object, with attempts
//   /api/runs?workflow&state&limit     RUNS     {"runs": [...]}
//   /api/runs/ID             STATUS             the run object
//   /api/schedules           SCHEDULES          {"schedules": [...]}
//   /api/extractions?source&limit      EXTRACTIONS {"extractions": [...]}
//
// Errors: {"error": {"code", "message"}} with 400 (bad_request), 404
// (not_found), 503 (the broker is stopping, or did not answer in time) or
// 500.
#pragma once

#include <chrono>

#include "broker/api_mailbox.h"
#include "broker/http_server.h"

namespace sluice::broker {

class HttpApi {
 public:
  explicit HttpApi(ApiMailbox* mailbox, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : mailbox_(mailbox), timeout_(timeout) {}
  // Adds the routes (before the server starts).
  void Mount(HttpServer* server);

 private:
  HttpReply Overview(const HttpQuery& q);
  HttpReply One(proto::Command command, std::string body);
  HttpReply Status(const std::string& id, bool run_only);

  ApiMailbox* mailbox_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sluice::broker
