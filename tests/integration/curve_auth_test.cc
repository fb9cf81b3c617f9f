// CURVE between hosts: keys from `sluice keygen`, the broker's --curve-key
// and --authorized folder, roles enforced on every message, a key removed
// and SIGHUP, what an eavesdropper sees on the wire, and the refusal to
// listen beyond loopback without keys.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/integration_test.h"
#include "tests/integration/tcp_relay.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

class CurveAuthTest : public IntegrationTest {
 protected:
  std::string keys() const { return dir_.path() + "/keys"; }
  std::string auth() const { return dir_.path() + "/authorized"; }

  // broker, alice (client), bob (worker), carol (admin) and mallory (not
  // authorized), made by the CLI as a user would.
  void MakeKeys() {
    for (const char* name : {"broker", "alice", "bob", "carol", "mallory"}) {
      CommandResult r = cluster_.Cli({"keygen", name, "--out", keys()}, Scaled(Ms(30000)), false);
      ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.Describe();
    }
    for (const char* role : {"clients", "workers", "admins"}) fs::create_directories(auth() + "/" + role);
    fs::copy_file(keys() + "/alice.pub", auth() + "/clients/alice.pub");
    fs::copy_file(keys() + "/bob.pub", auth() + "/workers/bob.pub");
    fs::copy_file(keys() + "/carol.pub", auth() + "/admins/carol.pub");
  }

  void StartCurveBroker(std::vector<std::string> extra = {}) {
    ASSERT_NO_FATAL_FAILURE(MakeKeys());
    std::vector<std::string> args{"--curve-key", keys() + "/broker.key", "--authorized", auth()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto s = cluster_.StartBroker(args);
    ASSERT_TRUE(s.ok()) << s.ToString();
    client_ = std::make_unique<WireClient>(cluster_.endpoint(), Keys("carol"));
  }

  curve::ClientKeys Keys(const std::string& name) {
    auto k = curve::LoadClientKeys(keys() + "/" + name + ".key", keys() + "/broker.pub");
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k.ok() ? *k : curve::ClientKeys{};
  }

  std::vector<std::string> CurveFlags(const std::string& name) {
    return {"--curve-key", keys() + "/" + name + ".key", "--broker-key", keys() + "/broker.pub"};
  }

  std::int64_t Counter(const std::string& name) {
    Answer a = client().Stats(Scaled(Ms(10000)));
    if (!a.ok()) return -1;
    return a.body["stats"]["counters"].value(name, std::int64_t{-1});
  }
};

TEST_F(CurveAuthTest, KeygenWritesCzmqCertificatesAndRefusesToOverwrite) {
  ASSERT_NO_FATAL_FAILURE(MakeKeys());
  EXPECT_EQ(fs::status(keys() + "/alice.key").permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto pair = curve::ReadSecretCert(keys() + "/alice.key");
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  auto pub = curve::ReadPublicKey(keys() + "/alice.pub");
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(*pub, pair->public_z85);
  std::string text;
  {
    std::ifstream in(keys() + "/alice.pub");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(text.find("curve\n    public-key = \"" + *pub + "\""), std::string::npos) << text;
  EXPECT_EQ(text.find("secret-key"), std::string::npos) << text;

  CommandResult again = cluster_.Cli({"keygen", "alice", "--out", keys()}, Scaled(Ms(30000)), false);
  EXPECT_EQ(again.status.code, 1) << again.Describe();
  EXPECT_NE(again.err.find("not overwriting"), std::string::npos) << again.err;
  auto still = curve::ReadSecretCert(keys() + "/alice.key");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->secret_z85, pair->secret_z85) << "keygen overwrote a key";
}

TEST_F(CurveAuthTest, UnknownKeyIsRefusedAndCreatesNoJob) {
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  WireClient mallory(cluster_.endpoint(), Keys("mallory"));
  std::vector<proto::SubmittedJob> out;
  // No answer comes (the handshake is refused); the fence below and the
  // counters are the proof, so the client need not wait long.
  Answer a = mallory.Submit({Spec("test.noop")}, &out, Scaled(Ms(500)));
  EXPECT_FALSE(a.ok()) << a.Describe();
  // The fence: the broker logged the refused handshake, with the key.
  const std::string key = Keys("mallory").own.public_z85;
  EXPECT_TRUE(WaitUntil([&] { return cluster_.broker()->Stderr().find("(key " + key + ")") != std::string::npos; },
                        Scaled(Ms(30000)), Ms(50)))
      << cluster_.broker()->Stderr();
  EXPECT_GE(Counter("refused_handshakes"), 1);
  EXPECT_EQ(Counter("submitted"), 0);
  // A client without any key is not let in either.
  WireClient plain(cluster_.endpoint());
  EXPECT_FALSE(plain.Submit({Spec("test.noop")}, &out, Scaled(Ms(500))).ok());
  EXPECT_EQ(Counter("submitted"), 0);
  // The CLI says why, without waiting out its timeout.
  std::vector<std::string> args = CurveFlags("mallory");
  args.insert(args.end(), {"--rpc-timeout", "600", "submit", "test.noop"});
  CommandResult r = cluster_.Cli(args, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 3) << r.Describe();
  EXPECT_NE(r.err.find("refused this client's CURVE key"), std::string::npos) << r.err;
  r = cluster_.Cli({"--rpc-timeout", "600", "submit", "test.noop"}, Scaled(Ms(120000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 3) << r.Describe();
  EXPECT_NE(r.err.find("--curve-key"), std::string::npos) << r.err;
  EXPECT_FALSE(r.timed_out);
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), 0);
}

TEST_F(CurveAuthTest, WorkerKeyCannotSubmit) {
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  WireClient bob(cluster_.endpoint(), Keys("bob"));
  std::vector<proto::SubmittedJob> out;
  Answer a = bob.Submit({Spec("test.noop")}, &out, Scaled(Ms(30000)));
  EXPECT_EQ(a.code(), "forbidden") << a.Describe();
  // The CLI exits 1 on it.
  std::vector<std::string> args = CurveFlags("bob");
  args.insert(args.end(), {"submit", "test.noop"});
  CommandResult r = cluster_.Cli(args);
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.Describe();
  EXPECT_NE(r.err.find("forbidden"), std::string::npos) << r.err;
  EXPECT_EQ(Counter("submitted"), 0);
  EXPECT_GE(Counter("forbidden"), 2);
}

TEST_F(CurveAuthTest, ClientKeyCannotBeAWorker) {
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  WireClient alice(cluster_.endpoint(), Keys("alice"));
  std::vector<proto::SubmittedJob> out;
  ASSERT_TRUE(alice.Submit({Spec("test.noop")}, &out, Scaled(Ms(30000))).ok());
  ASSERT_EQ(out.size(), 1u);
  // READY from a client key: forbidden, and no worker is registered.
  proto::Ready ready;
  ready.worker = "alice-as-worker";
  ready.host = "h";
  ready.slots = 4;
  ready.queues = {"default"};
  ready.kinds = {"test.noop"};
  std::string body;
  proto::Encode(ready, &body);
  ASSERT_TRUE(alice.Send(proto::Command::kReady, body));
  std::optional<WireMessage> m = alice.Receive(Scaled(Ms(30000)));
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->command, static_cast<std::uint8_t>(proto::Command::kError));
  EXPECT_EQ(m->Json().value("code", ""), "forbidden") << m->Json().dump();
  // A RESULT for the job from that key is refused too.
  proto::JobResult result;
  result.job = out[0].id;
  result.attempt = 1;
  result.outcome = Outcome::kSucceeded;
  body.clear();
  proto::Encode(result, &body);
  ASSERT_TRUE(alice.Send(proto::Command::kResult, body));
  m = alice.Receive(Scaled(Ms(30000)));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->Json().value("code", ""), "forbidden") << m->Json().dump();
  Answer w = client().Workers(Scaled(Ms(10000)));
  ASSERT_TRUE(w.ok()) << w.Describe();
  EXPECT_TRUE(w.body["workers"].empty()) << w.body.dump();
  EXPECT_EQ(client().Job(out[0].id).value("state", ""), "queued");

  // A real worker with the client's key is refused and takes nothing.
  Process& impostor = cluster_.StartWorker(2, CurveFlags("alice"));
  EXPECT_TRUE(WaitUntil([&] { return impostor.Stderr().find("(forbidden)") != std::string::npos; },
                        Scaled(Ms(30000)), Ms(50)))
      << impostor.Describe();
  EXPECT_EQ(client().Job(out[0].id).value("state", ""), "queued");
  Answer none = client().Workers(Scaled(Ms(10000)));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.body["workers"].empty()) << none.body.dump();
  impostor.KillGroup();

  // The worker key runs it, and `sluice workers` names the key.
  std::vector<std::string> flags = CurveFlags("bob");
  cluster_.StartWorker(2, flags);
  json job = WaitForState(out[0].id, {"succeeded"});
  EXPECT_EQ(job.value("state", ""), "succeeded") << job.dump();
  Answer w2 = client().Workers(Scaled(Ms(10000)));
  ASSERT_TRUE(w2.ok() && w2.body["workers"].size() == 1) << w2.Describe();
  EXPECT_EQ(w2.body["workers"][0].value("key", ""), "bob");
  std::vector<std::string> args = CurveFlags("alice");
  args.push_back("workers");
  CommandResult r = cluster_.Cli(args);
  EXPECT_EQ(r.status.code, 0) << r.Describe();
  EXPECT_NE(r.out.find("KEY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" bob "), std::string::npos) << r.out;
}

TEST_F(CurveAuthTest, ClientKeyCannotReloadButAdminCan) {
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  WireClient alice(cluster_.endpoint(), Keys("alice"));
  Answer a = alice.Request(proto::Command::kReload, json::object(), Scaled(Ms(30000)));
  EXPECT_EQ(a.code(), "forbidden") << a.Describe();
  a = alice.Request(proto::Command::kPause, json{{"workflow", "w"}}, Scaled(Ms(30000)));
  EXPECT_EQ(a.code(), "forbidden") << a.Describe();
  // Queries are a client's.
  EXPECT_TRUE(alice.Stats(Scaled(Ms(30000))).ok());
  // carol is an admin.
  a = client().Request(proto::Command::kReload, json::object(), Scaled(Ms(30000)));
  EXPECT_NE(a.code(), "forbidden") << a.Describe();
}

TEST_F(CurveAuthTest, RemovedKeyIsRefusedAtOnceAfterSighup) {
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  WireClient alice(cluster_.endpoint(), Keys("alice"));
  ASSERT_TRUE(alice.Stats(Scaled(Ms(30000))).ok());
  // bob runs a long job.
  std::vector<std::string> flags = CurveFlags("bob");
  cluster_.StartWorker(1, flags);
  ASSERT_TRUE(WaitForWorkers(1));
  std::string id = SubmitOne(Spec("test.sleep", json{{"ms", 600000}}));
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(WaitForState(id, {"running"}).value("state", ""), "running");

  fs::remove(auth() + "/clients/alice.pub");
  fs::remove(auth() + "/workers/bob.pub");
  const std::size_t log_before = cluster_.broker()->Stderr().size();
  cluster_.broker()->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] {
    return cluster_.broker()->Stderr().find("authorized keys reloaded", log_before) != std::string::npos;
  }, Scaled(Ms(30000)), Ms(50))) << cluster_.broker()->Stderr();

  // The same connection, its next message: forbidden.
  Answer a = alice.Stats(Scaled(Ms(30000)));
  EXPECT_EQ(a.code(), "forbidden") << a.Describe();
  // bob's worker is gone and its job is queued again, its attempt lost.
  json job = WaitForState(id, {"queued"});
  EXPECT_EQ(job.value("state", ""), "queued") << job.dump();
  Answer w = client().Workers(Scaled(Ms(10000)));
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w.body["workers"].empty()) << w.body.dump();
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM attempts WHERE attempt = 1 AND outcome = 'lost'"), 1);
}

TEST_F(CurveAuthTest, SubmitIdempotencyKeyAndCurveKeyStayApart) {
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  // Global options before the subcommand, and after it.
  std::vector<std::string> args = CurveFlags("alice");
  args.insert(args.end(), {"--json", "submit", "test.noop", "--key", "K-before"});
  CommandResult r = cluster_.Cli(args);
  ASSERT_EQ(r.status.code, 0) << r.Describe();
  std::vector<std::string> after{"--json", "submit", "test.noop", "--key", "K-after"};
  for (const std::string& f : CurveFlags("alice")) after.push_back(f);
  CommandResult r2 = cluster_.Cli(after);
  ASSERT_EQ(r2.status.code, 0) << r2.Describe();
  StateDb db(cluster_.state_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE idem_key = 'K-before'"), 1);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE idem_key = 'K-after'"), 1);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs"), 2);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM jobs WHERE idem_key LIKE '%.key%'"), 0);
}

TEST_F(CurveAuthTest, PayloadIsEncryptedOnTheWireOnlyWithCurve) {
  const std::string marker = "MARKER-0b7d3c1e-wire";
  // Without CURVE (loopback broker): the marker crosses the relay in clear.
  {
    TempDir d;
    Cluster plain(d.path());
    ASSERT_TRUE(plain.StartBroker().ok());
    const int port = std::stoi(plain.endpoint().substr(plain.endpoint().rfind(':') + 1));
    TcpRelay relay(port);
    ASSERT_TRUE(relay.ok());
    WireClient c(relay.endpoint());
    std::vector<proto::SubmittedJob> out;
    ASSERT_TRUE(c.Submit({Spec("test.noop", json{{"note", marker}})}, &out, Scaled(Ms(30000))).ok());
    EXPECT_NE(relay.Recorded().find(marker), std::string::npos) << "the relay saw " << relay.bytes() << " bytes";
  }
  ASSERT_NO_FATAL_FAILURE(StartCurveBroker());
  const int port = std::stoi(cluster_.endpoint().substr(cluster_.endpoint().rfind(':') + 1));
  TcpRelay relay(port);
  ASSERT_TRUE(relay.ok());
  WireClient alice(relay.endpoint(), Keys("alice"));
  std::vector<proto::SubmittedJob> out;
  ASSERT_TRUE(alice.Submit({Spec("test.noop", json{{"note", marker}})}, &out, Scaled(Ms(30000))).ok());
  ASSERT_EQ(out.size(), 1u);
  json job = client().Job(out[0].id);
  EXPECT_EQ(job["params"].value("note", ""), marker) << job.dump();  // it arrived
  EXPECT_GT(relay.bytes(), 0u);
  EXPECT_EQ(relay.Recorded().find(marker), std::string::npos) << "the payload crossed the wire in clear";
  EXPECT_EQ(relay.Recorded().find("test.noop"), std::string::npos);
}

TEST_F(CurveAuthTest, NonLoopbackBindWithoutCurveKeyExits2) {
  for (const char* endpoint : {"tcp://0.0.0.0:0", "tcp://*:0"}) {
    CommandResult r = RunCommand("broker-open", {BinPath("sluice-broker"), "--endpoint", endpoint, "--state",
                                                 dir_.path() + "/open.sqlite"},
                                 dir_.path(), Scaled(Ms(30000)));
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << endpoint << ": " << r.Describe();
    EXPECT_NE(r.err.find("--curve-key"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--insecure"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir_.path() + "/open.sqlite")) << "a refused start must not create the state database";
  // --authorized without --curve-key is a usage error too.
  CommandResult r = RunCommand("broker-auth", {BinPath("sluice-broker"), "--authorized", dir_.path(), "--state",
                                               dir_.path() + "/x.sqlite"},
                               dir_.path(), Scaled(Ms(30000)));
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.Describe();
  // --insecure allows it, with a warning.
  ASSERT_TRUE(cluster_.StartBroker({"--insecure"}, "tcp://0.0.0.0:*").ok()) << cluster_.Describe();
  EXPECT_NE(cluster_.broker()->Stderr().find("level=warn msg=\"--insecure"), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
