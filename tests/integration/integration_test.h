// IntegrationTest: the GoogleTest fixture every integration test starts
// from. It owns a temp directory and a Cluster (broker + workers as real
// processes in it); when a test fails the directory is kept and every
// process's stderr tail is printed.
//
// Helpers that wait poll the broker over the wire (STATUS / STATS) with
// generous, SLUICE_TIMEOUT_SCALE-scaled deadlines, and never assert speed.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"
#include "tests/integration/state_db.h"
#include "tests/integration/temp_dir.h"
#include "tests/integration/wait_for.h"
#include "tests/integration/wire_client.h"

namespace sluice::testing {

class IntegrationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    client_.reset();
    if (HasFailure()) {
      dir_.Keep();
      std::cerr << cluster_.Describe();
    }
  }

  // Starts the broker (fatal failure if it does not come up) and connects
  // the wire client to it.
  void StartBroker(std::vector<std::string> extra_args = {}) {
    auto s = cluster_.StartBroker(std::move(extra_args));
    ASSERT_TRUE(s.ok()) << s.ToString();
    client_ = std::make_unique<WireClient>(cluster_.endpoint());
  }

  WireClient& client() { return *client_; }

  // Submits `specs` in batches of `batch`; returns the ids in order. Adds a
  // failure (and returns what it has) when a SUBMIT is not answered OK.
  std::vector<std::string> SubmitAll(const std::vector<proto::JobSpec>& specs,
                                     std::size_t batch = 1000) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < specs.size(); i += batch) {
      std::vector<proto::JobSpec> part(specs.begin() + static_cast<std::ptrdiff_t>(i),
                                       specs.begin() + static_cast<std::ptrdiff_t>(std::min(specs.size(), i + batch)));
      std::vector<proto::SubmittedJob> out;
      Answer a = client().Submit(part, &out, Scaled(Ms(60000)));
      EXPECT_TRUE(a.ok()) << "SUBMIT of jobs " << i << ".." << i + part.size() << ": " << a.Describe();
      if (!a.ok()) return ids;
      EXPECT_EQ(out.size(), part.size());
      for (auto& j : out) ids.push_back(j.id);
    }
    return ids;
  }

  std::string SubmitOne(const proto::JobSpec& spec) {
    auto ids = SubmitAll({spec});
    return ids.empty() ? std::string() : ids[0];
  }

  // Polls STATUS until the job's state is one of `states`; returns the last
  // job object seen (check its state: the wait may have timed out).
  json WaitForState(const std::string& id, const std::set<std::string>& states,
                    Ms timeout = Scaled(Ms(60000))) {
    json job;
    WaitUntil(
        [&] {
          json j = client().Job(id, Scaled(Ms(10000)));
          if (!j.is_discarded()) job = j;
          return job.is_object() && states.count(job.value("state", "")) > 0;
        },
        timeout, Ms(100));
    return job;
  }

  // Polls STATS until `jobs.<state>` >= n. Returns the last count seen.
  std::int64_t WaitForCount(const std::string& state, std::int64_t n,
                            Ms timeout = Scaled(Ms(120000))) {
    std::int64_t seen = -1;
    WaitUntil(
        [&] {
          seen = client().CountInState(state, Scaled(Ms(10000)));
          return seen >= n;
        },
        timeout, Ms(100));
    return seen;
  }

  // Polls WORKERS until `n` workers are connected.
  bool WaitForWorkers(std::size_t n, Ms timeout = Scaled(Ms(60000))) {
    return WaitUntil(
        [&] {
          Answer a = client().Workers(Scaled(Ms(10000)));
          return a.ok() && a.body.contains("workers") && a.body["workers"].is_array() &&
                 a.body["workers"].size() >= n;
        },
        timeout, Ms(100));
  }

  // The WORKERS entry whose pid is `pid` (a discarded json when none).
  json WorkerByPid(pid_t pid) {
    Answer a = client().Workers(Scaled(Ms(10000)));
    if (a.ok() && a.body.contains("workers") && a.body["workers"].is_array())
      for (const auto& w : a.body["workers"])
        if (w.is_object() && w.value("pid", -1) == pid) return w;
    return json(json::value_t::discarded);
  }

  TempDir dir_;
  Cluster cluster_{dir_.path()};
  std::unique_ptr<WireClient> client_;
};

// "j123" -> 123; -1 when it is not a job id.
inline long long JobSeq(const std::string& id) {
  if (id.size() < 2 || id[0] != 'j') return -1;
  for (std::size_t i = 1; i < id.size(); ++i)
    if (id[i] < '0' || id[i] > '9') return -1;
  return std::stoll(id.substr(1));
}

}  // namespace sluice::testing
