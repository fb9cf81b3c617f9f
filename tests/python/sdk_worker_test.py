#!/usr/bin/python3
"""The Python SDK's worker passes the behaviour tests of sluice-worker.

With a real broker over TCP and `python3 -m sluice.worker sdk_kinds`
workers (tests/python/sdk_kinds.py), through sluice.Client:
  1. a job runs and succeeds with its outputs; typed results and errors;
  2. Retryable retries, Final and an unknown kind go dead at once, an
     exception is retried with its traceback as stderr;
  3. CANCEL and the timeout reach the handler (job.cancelled());
  4. SIGKILL of a worker: its jobs run again on another worker, each
     attempt recorded once (lost, then succeeded);
  5. a broker SIGKILLed and restarted mid-job: the result is recorded
     once and the job does not run again;
  6. SIGTERM: the worker hands back what it has not finished (returned)
     within its grace and exits 0; another worker runs it;
  7. an extraction run (params extraction + source): the landing file, the
     row in EXTRACTIONS with its counts, the cursor handed to the next run,
     the unchanged file skipped; a source that would leave the landing
     folder fails, not retryable, and writes nothing;
  8. CURVE: worker and client with keys from `sluice keygen`.

    /usr/bin/python3 tests/python/sdk_worker_test.py --bin-dir build/bin
Exit codes: 0 pass, 1 fail, 77 skipped (python3-zmq / python3-msgpack missing).
"""

import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdk_harness import Failure, check, free_port, run_main, sluice, wait_until  # noqa: E402


def log_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f]
    except FileNotFoundError:
        return []


def starts(path, job_id):
    return [(int(w[2]), int(w[3])) for w in log_lines(path) if w[0] == "start" and w[1] == job_id]


def body(p):
    log = os.path.join(p.tmp, "handlers.log")
    landing = os.path.join(p.tmp, "landing")
    env = {"SDK_TEST_LOG": log, "LANDING_DIR": landing}
    broker, endpoint = p.broker()
    c = sluice.Client(endpoint, timeout=30)
    wa = p.sdk_worker("worker-a", "sdk_kinds", endpoint,
                      ["--heartbeat-ms", "300", "--slots", "2", "--worker-id", "py-a", "--grace", "2"], env)
    passed = 0

    # 1. A job, its outputs, typed results and errors.
    j = c.submit("py.echo", {"x": 3, "s": "hé"})
    check(j.created and j.id.startswith("j"), f"submit: {j}")
    done = c.wait(j.id, timeout=60)
    check(done.state == "succeeded", f"echo: {done}")
    check(done.outputs == {"echo": {"x": 3, "s": "hé"}, "attempt": 1, "kind": "py.echo"}, f"outputs {done.outputs}")
    check(done.attempts[0].worker == "py-a" and done.attempts[0].outcome == "succeeded", f"{done.attempts}")
    w = wait_until(lambda: [x for x in c.workers() if x.worker == "py-a"], 30, "WORKERS lists py-a")[0]
    check(set(w.kinds) >= {"py.echo", "py.land"} and w.slots == 2, f"workers: {w}")
    try:
        c.status("j999999999")
        raise Failure("STATUS of an unknown job did not raise NotFound")
    except sluice.NotFound:
        pass
    try:
        c.submit("bad kind!", {})
        raise Failure("SUBMIT of a bad kind did not raise BadRequest")
    except sluice.BadRequest as e:
        check("kind" in str(e), f"BadRequest says {e}")
    dead_end = sluice.Client(f"tcp://127.0.0.1:{free_port()}", timeout=0.5)
    try:
        dead_end.stats()
        raise Failure("a request to no broker did not raise Unreachable")
    except sluice.Unreachable:
        pass
    dead_end.close()
    check(isinstance(c.stats().counters.get("succeeded"), int), "STATS counters")
    passed += 1

    # 2. Failures: Retryable retries, Final / unknown kind dead at once,
    # an exception retried with its traceback.
    r = c.submit("py.fail", {"succeed_on": 2}, max_attempts=3, backoff_ms=50)
    fi = c.submit("py.fail", {"final": True}, max_attempts=5)
    cr = c.submit("py.crash", {}, max_attempts=2, backoff_ms=50)
    r, fi, cr = (c.wait(x.id, timeout=60) for x in (r, fi, cr))
    check(r.state == "succeeded" and [a.outcome for a in r.attempts] == ["failed", "succeeded"], f"retry: {r}")
    check(fi.state == "dead" and len(fi.attempts) == 1 and "no retry" in fi.error, f"final: {fi}")
    check(cr.state == "dead" and len(cr.attempts) == 2 and "ValueError: a bug" in cr.error, f"crash: {cr}")
    check("Traceback" in (cr.attempts[0].stderr or ""), f"crash stderr: {cr.attempts[0].stderr!r}")
    passed += 1

    # 3. CANCEL and the timeout reach the handler.
    b = c.submit("py.block", {})
    wait_until(lambda: starts(log, b.id), 60, "py.block started")
    c.cancel(b.id)
    wait_until(lambda: ["stopped", b.id, "1", "cancelled"] in log_lines(log), 60, "the handler saw the cancel")
    check(c.wait(b.id, timeout=30).state == "cancelled", "cancelled job")
    t = c.submit("py.block", {}, timeout_ms=800, max_attempts=1)
    wait_until(lambda: ["stopped", t.id, "1", "timed_out"] in log_lines(log), 60, "the handler saw the timeout")
    tj = c.wait(t.id, timeout=60)
    check(tj.state == "dead" and tj.attempts[0].outcome == "timed_out", f"timed out job: {tj}")
    passed += 1

    # 4. SIGKILL of the worker: its jobs run elsewhere, each attempt recorded once.
    jobs = [c.submit("py.sleep", {"first_ms": 600000, "ms": 10}, max_attempts=3) for _ in range(2)]
    for x in jobs:
        wait_until(lambda x=x: starts(log, x.id), 60, f"{x.id} started on worker A")
    p.kill(wa)
    wb = p.sdk_worker("worker-b", "sdk_kinds", endpoint, ["--heartbeat-ms", "300", "--worker-id", "py-b"], env)
    for x in jobs:
        d = c.wait(x.id, timeout=90)
        check(d.state == "succeeded", f"{x.id} after the kill: {d}")
        check([(a.attempt, a.outcome, a.worker) for a in d.attempts] ==
              [(1, "lost", "py-a"), (2, "succeeded", "py-b")], f"{x.id} attempts: {d.attempts}")
        check([a for a, _ in starts(log, x.id)] == [1, 2], f"{x.id} ran: {starts(log, x.id)}")
    passed += 1

    # 5. The broker SIGKILLed and restarted mid-job: recorded once, never run again.
    port = int(endpoint.rsplit(":", 1)[1])
    m = c.submit("py.sleep", {"ms": 1500})
    wait_until(lambda: starts(log, m.id), 60, f"{m.id} started")
    p.kill(broker)
    wait_until(lambda: ["done", m.id, "1"] in log_lines(log), 60, f"{m.id} finished while the broker was down")
    broker, endpoint2 = p.broker(port=port)
    check(endpoint2 == endpoint, f"the broker came back at {endpoint2}, not {endpoint}")
    d = c.wait(m.id, timeout=90)
    check(d.state == "succeeded" and [(a.attempt, a.outcome) for a in d.attempts] == [(1, "succeeded")],
          f"after the restart: {d}")
    # A fence: a job submitted after it has run, so the worker has taken
    # everything the broker would have sent it before.
    f = c.wait(c.submit("py.echo", {}).id, timeout=60)
    check(f.state == "succeeded", f"fence {f}")
    check(starts(log, m.id) == [(1, starts(log, m.id)[0][1])], f"{m.id} ran: {starts(log, m.id)}")
    passed += 1

    # 6. SIGTERM: running work handed back after the grace, the worker exits 0.
    wt = p.sdk_worker("worker-t", "sdk_kinds", endpoint,
                      ["--heartbeat-ms", "300", "--worker-id", "py-t", "--grace", "1", "--queues", "term"], env)
    s = c.submit("py.sleep", {"first_ms": 600000, "ms": 10}, queue="term", max_attempts=2)
    wait_until(lambda: starts(log, s.id), 60, f"{s.id} started on py-t")
    wt.send_signal(signal.SIGTERM)
    try:
        rc = wt.wait(timeout=60)
    except Exception:
        raise Failure("the SDK worker did not exit within 60 s of SIGTERM")
    check(rc == 0, f"the SDK worker exited {rc} on SIGTERM")
    wait_until(lambda: c.status(s.id).attempts and c.status(s.id).attempts[0].outcome == "returned", 30,
               f"{s.id} handed back")
    p.sdk_worker("worker-t2", "sdk_kinds", endpoint, ["--heartbeat-ms", "300", "--queues", "term"], env)
    d = c.wait(s.id, timeout=60)
    check(d.state == "succeeded" and [a.outcome for a in d.attempts] == ["returned", "succeeded"], f"{d}")
    passed += 1

    # 7. An extraction run of a custom kind.
    params = {"extraction": True, "source": "weather", "cursor_key": "station-1", "body": '{"t": 21}',
              "next_cursor": "2024-06-01"}
    e1 = c.wait(c.submit("py.land", params).id, timeout=60)
    check(e1.state == "succeeded" and e1.outputs["written"] is True and e1.outputs["cursor_in"] is None, f"{e1}")
    check(e1.outputs["extraction"]["files_written"] == 1, f"report {e1.outputs}")
    path = os.path.join(landing, e1.outputs["path"])
    check(os.path.isfile(path) and e1.outputs["path"].startswith("weather/") and path.endswith(".json.gz"), path)
    x = c.extractions(source="weather")
    check(len(x) == 1 and x[0].status == "success" and x[0].files_written == 1 and x[0].files_skipped == 0
          and x[0].bytes_written == os.path.getsize(path) and x[0].job_id == e1.id
          and x[0].cursor_value == "2024-06-01" and x[0].extractor == "py.land", f"extractions: {x}")
    e2 = c.wait(c.submit("py.land", dict(params, next_cursor="2024-06-02")).id, timeout=60)
    check(e2.outputs["cursor_in"] == "2024-06-01" and e2.outputs["written"] is False, f"second run: {e2.outputs}")
    x = c.extractions(source="weather")
    check(x[0].job_id == e2.id and x[0].files_written == 0 and x[0].files_skipped == 1
          and x[0].cursor_value == "2024-06-02", f"second run's row: {x[0]}")
    # Another key of the source has a cursor of its own; a submitted cursor is its first.
    e3 = c.wait(c.submit("py.land", dict(params, cursor_key="station-2", cursor="seed")).id, timeout=60)
    check(e3.outputs["cursor_in"] == "seed", f"station-2 started from {e3.outputs['cursor_in']!r}")
    cli = p.sluice("--broker", endpoint, "extractions", "--source", "weather", "--json")
    check(e3.id in cli.stdout and "py.land" in cli.stdout, f"sluice extractions: {cli.stdout}")
    bad = c.wait(c.submit("py.land", dict(params, source="../escape")).id, timeout=60)
    check(bad.state == "dead" and len(bad.attempts) == 1 and "source" in bad.error, f"bad source: {bad}")
    check(not os.path.exists(os.path.join(p.tmp, "escape")), "a file outside the landing folder")
    passed += 1

    # 8. CURVE keys from sluice keygen, for the SDK's worker and client.
    keys = os.path.join(p.tmp, "keys")
    for name in ("broker", "pyw", "pyc"):
        p.sluice("keygen", name, "--out", keys)
    auth = os.path.join(p.tmp, "authorized")
    for role, name in (("workers", "pyw"), ("clients", "pyc")):
        os.makedirs(os.path.join(auth, role), exist_ok=True)
        shutil.copy(os.path.join(keys, f"{name}.pub"), os.path.join(auth, role, f"{name}.pub"))
    _, cep = p.broker("broker-curve", extra=["--curve-key", os.path.join(keys, "broker.key"), "--authorized", auth],
                      state=os.path.join(p.tmp, "curve.sqlite"))
    p.sdk_worker("worker-curve", "sdk_kinds", cep, ["--heartbeat-ms", "300"],
                 dict(env, SLUICE_CURVE_KEY=os.path.join(keys, "pyw.key"),
                      SLUICE_BROKER_KEY=os.path.join(keys, "broker.pub")))
    os.environ["SLUICE_CURVE_KEY"] = os.path.join(keys, "pyc.key")
    os.environ["SLUICE_BROKER_KEY"] = os.path.join(keys, "broker.pub")
    cc = sluice.Client(cep, timeout=30)
    d = cc.wait(cc.submit("py.echo", {"over": "curve"}).id, timeout=60)
    check(d.state == "succeeded" and d.outputs["echo"] == {"over": "curve"}, f"over CURVE: {d}")
    check([x.key for x in cc.workers()] == ["pyw"], f"worker keys: {[x.key for x in cc.workers()]}")
    try:
        cc.pause("nothing")
        raise Failure("PAUSE by a client key was not refused")
    except (sluice.Forbidden, sluice.NotFound) as e:
        check(isinstance(e, sluice.Forbidden), f"PAUSE by a client key: {e!r}")
    del os.environ["SLUICE_CURVE_KEY"], os.environ["SLUICE_BROKER_KEY"]
    passed += 1
    return passed


if __name__ == "__main__":
    sys.exit(run_main("sdk-worker", body))
