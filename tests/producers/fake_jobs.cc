#include "tests/producers/fake_jobs.h"

#include <map>

namespace sluice::testing {

using json = nlohmann::json;

namespace {

struct Table {
  std::map<std::string, json> jobs;
  std::uint64_t next_id = 1;
};

json NewJob(const std::string& id, const json& spec) {
  const std::string kind = spec.value("kind", "");
  json job = {{"id", id}, {"kind", kind}, {"queue", spec.value("queue", "default")},
              {"priority", spec.value("priority", 0)}, {"attempt", 0}, {"failures", 0},
              {"max_attempts", spec.value("max_attempts", 5)}, {"created_ms", 1714566896789},
              {"updated_ms", 1714566896789}, {"run_at_ms", 1714566896789}, {"finished_ms", nullptr},
              {"key", spec.contains("key") ? spec["key"] : json()}, {"error", nullptr},
              {"params", spec.value("params", json::object())}, {"outputs", nullptr},
              {"attempts", json::array()}};
  if (kind == "ok") {
    job["state"] = "succeeded";
    job["attempt"] = 1;
    job["attempts"] = {{{"attempt", 1}, {"worker", "w1"}, {"host", "h"}, {"started_ms", 1714566896789},
                        {"finished_ms", 1714566897000}, {"outcome", "succeeded"}}};
  } else if (kind == "fail") {
    job["state"] = "dead";
    job["attempt"] = 1;
    job["error"] = "exit status 1";
  } else if (kind == "slow") {
    job["state"] = "running";
    job["attempt"] = 1;
  } else {
    job["state"] = "queued";
    job["waiting"] = "no connected worker runs kind '" + kind + "' on queue 'default'";
  }
  return job;
}

}  // namespace

FakeBroker::Handler FakeJobsHandler() {
  auto table = std::make_shared<Table>();
  return [table](const FakeBroker::Request& r) -> std::vector<FakeBroker::Answer> {
    using C = proto::Command;
    const std::string id = r.body.is_object() ? r.body.value("id", "") : "";
    auto find = [&]() -> json* {
      auto it = table->jobs.find(id);
      return it == table->jobs.end() ? nullptr : &it->second;
    };
    switch (r.command) {
      case C::kSubmit: {
        json out = json::array();
        for (const auto& spec : r.body["jobs"])
          if (spec.value("kind", "") == "reject")
            return {FakeBroker::Error(r, "bad_request", "SUBMIT jobs[0]: kind 'reject' is refused")};
        for (const auto& spec : r.body["jobs"]) {
          const std::string new_id = "j" + std::to_string(table->next_id++);
          table->jobs[new_id] = NewJob(new_id, spec);
          out.push_back({{"id", new_id}, {"created", true}, {"state", table->jobs[new_id]["state"]}});
        }
        return {FakeBroker::Reply(r, {{"jobs", out}})};
      }
      case C::kStatus: {
        json* job = find();
        if (!job) return {FakeBroker::Error(r, "not_found", "no job " + id)};
        return {FakeBroker::Reply(r, {{"job", *job}})};
      }
      case C::kList: {
        json jobs = json::array();
        for (auto it = table->jobs.rbegin(); it != table->jobs.rend(); ++it) {
          if (r.body.contains("state") && r.body["state"] != it->second["state"]) continue;
          json j = it->second;
          j.erase("params");
          j.erase("attempts");
          j.erase("outputs");
          jobs.push_back(j);
        }
        return {FakeBroker::Reply(r, {{"jobs", jobs}})};
      }
      case C::kRetry:
      case C::kCancelJob: {
        json* job = find();
        if (!job) return {FakeBroker::Error(r, "not_found", "no job " + id)};
        const bool retry = r.command == C::kRetry;
        const std::string state = (*job)["state"];
        if (state == "succeeded" || (!retry && (state == "dead" || state == "cancelled")))
          return {FakeBroker::Error(r, "invalid_state", "job " + id + " is " + state)};
        (*job)["state"] = retry ? "queued" : "cancelled";
        return {FakeBroker::Reply(r, {{"job", *job}})};
      }
      case C::kWorkers:
        return {FakeBroker::Reply(r, {{"workers", {{{"worker", "w1"}, {"host", "h"}, {"slots", 2}, {"busy", 0}}}}})};
      case C::kStats:
        return {FakeBroker::Reply(r, {{"stats", {{"uptime_ms", 1000}, {"workers", 1}}}})};
      default:
        return {FakeBroker::Error(r, "unknown_command", "not a client command")};
    }
  };
}

}  // namespace sluice::testing
