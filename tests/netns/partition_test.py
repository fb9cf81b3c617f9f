#!/usr/bin/python3
"""A worker cut off by the network gives its jobs back and rejoins.

The broker in one network namespace, two workers in two others, each joined
to the broker's by a veth pair; CURVE everywhere (keys from `sluice keygen`).
2,000 test.sleep jobs (200 ms) run on both workers; while they run, worker
w1's link is taken down for longer than the broker's liveness window, then
restored. Then:
  - every job ends `succeeded`, with exactly one succeeded attempt;
  - w1's attempts that were running at the cut are recorded `lost`, and
    their jobs were run again by w2;
  - w1's results for them, sent after the link came back, are late
    duplicates (STATS duplicate_results), never a second success;
  - w1 rejoins and takes jobs again (a queue only it serves).
Exit 77 (skipped) where network namespaces cannot be made.

Usage: partition_test.py BIN_DIR
"""
import json
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Lab, run, wait_until  # noqa: E402

JOBS = 2000
SLOTS = 16
HEARTBEAT_MS = 1000
LIVENESS = 3
SCALE = float(os.environ.get("SLUICE_TIMEOUT_SCALE", "1"))


def main():
    bin_dir = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="sluice-partition-")
    sluice = os.path.join(bin_dir, "sluice")
    keys = os.path.join(tmp, "keys")
    for name in ("broker", "w1", "w2", "ops"):
        run([sluice, "keygen", name, "--out", keys])
    auth = os.path.join(tmp, "authorized")
    for role, names in (("workers", ("w1", "w2")), ("admins", ("ops",))):
        os.makedirs(os.path.join(auth, role))
        for n in names:
            with open(os.path.join(keys, n + ".pub")) as src, open(os.path.join(auth, role, n + ".pub"), "w") as dst:
                dst.write(src.read())

    with Lab("partition") as lab:
        try:
            body(lab, bin_dir, tmp, sluice, keys, auth)
        except BaseException:
            print(lab.describe(), file=sys.stderr)
            print("files kept in " + tmp, file=sys.stderr)
            raise


def body(lab, bin_dir, tmp, sluice, keys, auth):
    if True:
        b = lab.host("b")
        w1 = lab.host("w1")
        w2 = lab.host("w2")
        lab.link(b, "10.201.1.1", w1, "10.201.1.2")
        lab.link(b, "10.201.2.1", w2, "10.201.2.2")
        state = os.path.join(tmp, "state.sqlite")
        broker = lab.start(b, [os.path.join(bin_dir, "sluice-broker"), "--endpoint", "tcp://0.0.0.0:5555",
                               "--state", state, "--curve-key", os.path.join(keys, "broker.key"),
                               "--authorized", auth, "--heartbeat-ms", str(HEARTBEAT_MS),
                               "--liveness", str(LIVENESS), "--sync", "normal"], "broker", cwd=tmp)

        def cli(*args, check=True):
            r = b.run([sluice, "--broker", "tcp://127.0.0.1:5555", "--curve-key", os.path.join(keys, "ops.key"),
                       "--broker-key", os.path.join(keys, "broker.pub"), "--rpc-timeout", "30"] + list(args),
                      check=check)
            return r

        def stats():
            return json.loads(cli("--json", "stats").stdout)["stats"]

        wait_until(lambda: cli("stats", check=False).returncode == 0, 60 * SCALE, "the broker to answer")

        def worker(host, name, addr, queues):
            return lab.start(host, [os.path.join(bin_dir, "sluice-worker"), "--broker", "tcp://%s:5555" % addr,
                                    "--curve-key", os.path.join(keys, name + ".key"),
                                    "--broker-key", os.path.join(keys, "broker.pub"),
                                    "--worker-id", name, "--slots", str(SLOTS), "--queues", queues,
                                    "--heartbeat-ms", str(HEARTBEAT_MS)], name, cwd=tmp)

        worker(w1, "w1", "10.201.1.1", "default,only-w1")
        worker(w2, "w2", "10.201.2.1", "default")

        def workers():
            return {w["worker"]: w for w in json.loads(cli("--json", "workers").stdout)["workers"]}

        wait_until(lambda: set(workers()) == {"w1", "w2"}, 60 * SCALE, "both workers to join")
        assert workers()["w1"]["key"] == "w1", workers()

        ndjson = "".join(json.dumps({"kind": "test.sleep", "params": {"ms": 200}}) + "\n" for _ in range(JOBS))
        r = b.run([sluice, "--broker", "tcp://127.0.0.1:5555", "--curve-key", os.path.join(keys, "ops.key"),
                   "--broker-key", os.path.join(keys, "broker.pub"), "--rpc-timeout", "60", "submit-many"],
                  input=ndjson)
        ids = r.stdout.split()
        assert len(ids) == JOBS, "submitted %d of %d" % (len(ids), JOBS)

        db = sqlite3.connect("file:%s?mode=ro" % state, uri=True, timeout=30)

        def running_on(worker_id):
            return workers().get(worker_id, {}).get("busy", 0)

        # Cut while w1 holds a full set of running attempts.
        wait_until(lambda: running_on("w1") >= SLOTS // 2, 120 * SCALE, "w1 to run jobs")
        cut_at_ms = int(time.time() * 1000)
        lab.cut(b, w1)
        # The broker declares w1 gone after its liveness window: its
        # attempts are lost and their jobs queued again.
        wait_until(lambda: db.execute("SELECT count(*) FROM attempts WHERE worker = 'w1' AND outcome = 'lost'")
                   .fetchone()[0] > 0, 120 * SCALE, "w1's attempts to be declared lost")
        assert "w1" not in workers()
        lost = [row[0] for row in db.execute(
            "SELECT job_seq FROM attempts WHERE worker = 'w1' AND outcome = 'lost'")]
        # Keep the link down well past the window, then restore it.
        wait_until(lambda: int(time.time() * 1000) - cut_at_ms > 3 * LIVENESS * HEARTBEAT_MS, 60,
                   "the cut to outlast the liveness window")
        lab.restore(b, w1)
        restored_at_ms = int(time.time() * 1000)

        # w1 rejoins, and takes jobs again: a queue only it serves.
        wait_until(lambda: "w1" in workers(), 120 * SCALE, "w1 to rejoin after the link came back")
        rejoin_ids = []
        for _ in range(20):
            rejoin_ids.append(cli("submit", "test.noop", "--queue", "only-w1").stdout.strip())

        def ended():
            return db.execute("SELECT count(*) FROM jobs WHERE state IN ('succeeded', 'dead', 'cancelled')").fetchone()[0]

        wait_until(lambda: ended() >= JOBS + len(rejoin_ids), 300 * SCALE, "every job to end")

        states = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
        assert states == {"succeeded": JOBS + len(rejoin_ids)}, states
        twice = db.execute("SELECT count(*) FROM (SELECT job_seq FROM attempts WHERE outcome = 'succeeded' "
                           "GROUP BY job_seq HAVING count(*) <> 1)").fetchone()[0]
        assert twice == 0, "%d jobs without exactly one succeeded attempt" % twice
        for seq in lost:
            rows = db.execute("SELECT worker, outcome FROM attempts WHERE job_seq = ? ORDER BY attempt",
                              (seq,)).fetchall()
            assert ("w1", "lost") in rows and ("w2", "succeeded") in rows, (seq, rows)
        on_w1 = db.execute("SELECT count(*) FROM attempts WHERE worker = 'w1' AND outcome = 'succeeded' "
                           "AND started_ms >= ?", (restored_at_ms,)).fetchone()[0]
        assert on_w1 >= len(rejoin_ids), "w1 ran %d jobs after rejoining" % on_w1
        s = stats()
        assert s["counters"]["succeeded"] == JOBS + len(rejoin_ids), s["counters"]
        assert s["counters"]["lost"] >= len(lost), s["counters"]
        assert s["counters"]["duplicate_results"] >= 1, s["counters"]
        print("ok: %d jobs succeeded once; %d attempts of w1 lost and re-run on w2; %d late results; "
              "w1 rejoined and ran %d jobs" % (JOBS, len(lost), s["counters"]["duplicate_results"], on_w1))
        assert lab.stop(broker) == 0, lab.log("broker")[-3000:]
        db.close()


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        print("FAILED: %r" % e, file=sys.stderr)
        sys.exit(1)
