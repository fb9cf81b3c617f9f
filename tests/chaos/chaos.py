#!/usr/bin/python3
"""The chaos soak's driver; tests/chaos/run.sh sets up the origin (nginx) and
runs it. Here:

1. A plan is drawn from --seed: when to SIGKILL (and restart) the broker, when
   to SIGKILL/restart or SIGSTOP/SIGCONT each worker, and the batches of jobs
   to submit (test.noop, test.sleep, test.fail, exec). Same seed, same plan;
   only the timing is the machine's. The plan is saved as plan.json.
2. A broker (its own state DB), 3 workers sharing one landing zone, lakehouse
   and serving DB, and a registry made from pipeline/default/workflows.toml
   with the coffee workflow on `* * * * *` against the local origin. One
   manual run starts at once; the cron adds one a minute.
3. For --duration seconds: a thread submits the batches with `sluice
   submit-many`, every job with its own idempotency key; a batch that gets
   no answer is sent again, with the same keys. The main thread applies the
   faults. A process that exits by itself is a violation (and restarted).
4. Then: no more faults, everything down is restarted and every stopped
   worker continued, the coffee workflow is paused (no new cron runs), and
   the driver waits (at most DRAIN_S) until every job and run has ended.
   The broker and workers are stopped with SIGTERM, and the checks run on
   what they left: the state DB, the side-effect file, the landing zone, the
   lakehouse and the serving DB (see check_* below).

Every exec job appends one line to side-effects.txt:
    <job> <attempt> <process> <epoch ms>
from the SLUICE_JOB_ID and SLUICE_ATTEMPT the worker gives it, and
CHAOS_PROCESS, which each worker process gets from us (w2#3: the third start
of worker w2) and its children inherit. events.log has every fault with its
time (epoch milliseconds, and seconds since the start: t+12.345s).
"""

import argparse
import collections
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

WORKERS = ("w1", "w2", "w3")
HEARTBEAT_MS = 500
RPC_TIMEOUT_S = 2
DRAIN_S = 120                 # after the soak: every job and run must end within this
WAL_LIMIT_BYTES = 64 << 20    # state.sqlite-wal must stay below it
STALE_TEMP_S = 35             # a download writes at least every 30 s (its stall timeout)
TERMINAL_JOB_STATES = {"succeeded", "dead", "cancelled", "upstream_failed"}
TERMINAL_RUN_STATES = {"succeeded", "failed", "cancelled"}
# Attempts whose side effect may have happened although they did not succeed.
UNFINISHED_OUTCOMES = {"lost", "timed_out", "cancelled"}
# Which job state a stage in this state must have (stages with a job).
STAGE_JOB_STATE = {"succeeded": "succeeded", "dead": "dead", "cancelled": "cancelled"}

# An exec job: sleep $2, append the tag line to $1, sleep $3.
EXEC_SCRIPT = ('sleep "$2"; printf \'%s %s %s %s\\n\' "$SLUICE_JOB_ID" "$SLUICE_ATTEMPT" '
               '"${CHAOS_PROCESS:-?}" "$(date +%s%3N)" >>"$1"; sleep "$3"')


def now_ms():
    return int(time.time() * 1000)


# ---------------------------------------------------------------- the plan

def plan_faults(rng, duration, which):
    """[(t, action, target)], sorted by t: faults of one process never overlap.
    Actions: kill/start (broker, workers), stop/cont (workers). `which`:
    all, workers (no broker kill) or none; the faults kept are those of
    `all`, so that a violation can be traced to the faults it needs."""
    events = []
    t = rng.uniform(4, 10)
    while t < duration - 2:
        down = rng.uniform(0.3, 3.0)
        events += [(t, "kill", "broker"), (t + down, "start", "broker")]
        t += down + rng.uniform(6, 16)
    for w in WORKERS:
        t = rng.uniform(2, 8)
        while t < duration - 1:
            if rng.random() < 0.5:
                down = rng.uniform(0.2, 3.0)
                events += [(t, "kill", w), (t + down, "start", w)]
            else:
                down = rng.uniform(0.3, 4.0)  # sometimes longer than the liveness (1.5 s)
                events += [(t, "stop", w), (t + down, "cont", w)]
            t += down + rng.uniform(3, 12)
    keep = {"all": lambda w: True, "workers": lambda w: w != "broker", "none": lambda w: False}[which]
    return sorted((round(t, 3), a, w) for t, a, w in events if keep(w))


def job_spec(rng, key, side_file):
    """One job of the mixed load, with its idempotency key."""
    spec = {"key": key, "max_attempts": 8, "backoff_ms": 200, "timeout_ms": 30000}
    r = rng.random()
    if r < 0.2:
        spec["kind"] = "test.noop"
    elif r < 0.45:
        spec.update(kind="test.sleep", params={"ms": rng.randint(50, 2500)})
    elif r < 0.6:
        spec.update(kind="test.fail", params={"succeed_on": rng.randint(2, 3)})
    else:
        before, after = round(rng.uniform(0, 0.8), 2), round(rng.uniform(0, 0.8), 2)
        if r > 0.95:  # one that outlives its timeout: timed_out attempts, with their side effect
            before, after = 0.1, 3
            spec.update(timeout_ms=800, max_attempts=2)
        spec.update(kind="exec", params={
            "command": "sh", "args": ["-c", EXEC_SCRIPT, "chaos-exec", side_file, str(before), str(after)]})
    return spec


def plan_load(rng, duration, seed, side_file):
    """[(t, [job spec])]: a batch every 0.5-1.5 s."""
    batches, t, n = [], 0.5, 0
    while t < duration:
        specs = []
        for _ in range(rng.randint(3, 10)):
            specs.append(job_spec(rng, "chaos-%d-%d" % (seed, n), side_file))
            n += 1
        batches.append((round(t, 3), specs))
        t += rng.uniform(0.5, 1.5)
    return batches


# ---------------------------------------------------------------- processes

class PidFile:
    """The PIDs of the live processes we started, in a file run.sh reads if
    this driver dies before it stops them."""

    def __init__(self, path):
        self.path, self.pids = path, set()

    def _write(self):
        with open(self.path + ".new", "w") as f:
            f.write("".join("%d\n" % p for p in sorted(self.pids)))
        os.replace(self.path + ".new", self.path)

    def add(self, pid):
        self.pids.add(pid)
        self._write()

    def remove(self, pid):
        self.pids.discard(pid)
        self._write()


class Proc:
    """One broker or worker: started again after each kill (a new `gen`)."""

    def __init__(self, name, argv, log_path, pidfile, cwd):
        self.name, self.argv, self.log_path, self.pidfile, self.cwd = name, argv, log_path, pidfile, cwd
        self.popen, self.gen, self.stopped = None, 0, False
        self.up = False  # we want it running (it may have exited by itself)

    def tag(self):
        return "%s#%d" % (self.name, self.gen)

    def start(self):
        self.gen += 1
        env = dict(os.environ, CHAOS_PROCESS=self.tag())
        with open(self.log_path, "ab") as log:
            log.write(("==== %s starts at %d\n" % (self.tag(), now_ms())).encode())
            log.flush()
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          env=env, cwd=self.cwd)
        self.pidfile.add(self.popen.pid)
        self.up, self.stopped = True, False

    def send(self, sig):
        os.kill(self.popen.pid, sig)
        self.stopped = sig == signal.SIGSTOP

    def kill(self):
        self.popen.kill()
        self.reap()
        self.up, self.stopped = False, False

    def reap(self, timeout=None):
        """Waits for the exit; returns the exit code (None: still running)."""
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.pidfile.remove(self.popen.pid)
        return rc

    def exited(self):
        """The exit code if it exited while we wanted it up, else None."""
        if not self.up or self.popen.poll() is None:
            return None
        self.up = False
        return self.reap()

    def terminate(self, timeout):
        """SIGTERM (after SIGCONT); SIGKILL if it is not gone in `timeout`.
        Returns the exit code, or None when it had to be killed."""
        if self.popen is None or self.popen.poll() is not None:
            if self.popen is not None:
                self.reap()
            return 0
        self.popen.send_signal(signal.SIGCONT)
        self.popen.send_signal(signal.SIGTERM)
        rc = self.reap(timeout)
        if rc is None:
            self.popen.kill()
            self.reap()
        self.up = False
        return rc


def log_tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
    except OSError as e:
        return "(no log: %s)" % e


class Cluster:
    def __init__(self, args, registry, pidfile, violations, events):
        self.args, self.violations, self.events = args, violations, events
        w = args.work
        self.state = os.path.join(w, "state.sqlite")
        self.endpoint_file = os.path.join(w, "endpoint")
        self.endpoint = None
        data = os.path.join(w, "data")
        self.landing = os.path.join(data, "landing")
        self.lakehouse = os.path.join(data, "lakehouse.sqlite")
        self.serving = os.path.join(data, "analytics.sqlite")
        os.makedirs(data, exist_ok=True)
        broker_argv = [os.path.join(args.bin, "sluice-broker"), "--endpoint", "tcp://127.0.0.1:*",
                       "--endpoint-file", self.endpoint_file, "--state", self.state,
                       "--workflows", registry, "--heartbeat-ms", str(HEARTBEAT_MS),
                       "--backoff-cap", "2s", "--default-timeout", "60s", "--verbose"]
        self.broker = Proc("broker", broker_argv, os.path.join(w, "broker.log"), pidfile, args.repo)
        worker_bin = os.path.join(args.bin, "sluice-worker")
        extra = []
        if "--models-root" in subprocess.run([worker_bin, "--help"], capture_output=True, text=True).stdout:
            extra = ["--models-root", os.path.join(args.repo, "pipeline", "default")]
        self.workers = {}
        for name in WORKERS:
            # Every worker serves the default pipeline's lakehouse queue
            # (its transform and export stages) as well as default.
            argv = [worker_bin, "--broker", "(set at start)", "--slots", "4", "--allow-exec",
                    "--queues", "lakehouse,default",
                    "--heartbeat-ms", str(HEARTBEAT_MS), "--worker-id", name, "--landing", self.landing,
                    "--lakehouse", self.lakehouse, "--serving", self.serving] + extra
            self.workers[name] = Proc(name, argv, os.path.join(w, name + ".log"), pidfile, args.repo)

    def procs(self):
        return [self.broker] + list(self.workers.values())

    def start(self):
        """The first start: the broker binds a free port; its restarts and
        the workers use that endpoint."""
        self.broker.start()
        deadline = time.monotonic() + 15
        while not (os.path.exists(self.endpoint_file) and open(self.endpoint_file).read().strip()):
            if self.broker.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the broker did not start:\n" + log_tail(self.broker.log_path))
            time.sleep(0.05)
        self.endpoint = open(self.endpoint_file).read().strip()
        self.broker.argv[self.broker.argv.index("tcp://127.0.0.1:*")] = self.endpoint
        for w in self.workers.values():
            w.argv[w.argv.index("(set at start)")] = self.endpoint
            w.start()

    def apply(self, action, name):
        p = self.broker if name == "broker" else self.workers[name]
        if action == "kill":
            if not p.up:
                return False
            p.kill()
        elif action == "start":
            if p.up:
                return False
            p.start()
        elif action == "stop":
            if not p.up or p.stopped:
                return False
            p.send(signal.SIGSTOP)
        elif action == "cont":
            if not p.up or not p.stopped:
                return False
            p.send(signal.SIGCONT)
        self.events.record(action, p.tag(), p.popen.pid)
        return True

    def watch(self):
        """A process that exited without being told to is a violation; it is
        started again."""
        for p in self.procs():
            rc = p.exited()
            if rc is not None:
                self.violations.add("process", "%s exited by itself with code %s; its log ends:\n%s"
                                    % (p.tag(), rc, log_tail(p.log_path)))
                self.events.record("exited", p.tag(), p.popen.pid)
                p.start()
                self.events.record("start", p.tag(), p.popen.pid)

    def restore(self):
        """Everything down started, everything stopped continued."""
        for p in self.procs():
            if not p.up:
                p.start()
                self.events.record("start", p.tag(), p.popen.pid)
            elif p.stopped:
                p.send(signal.SIGCONT)
                self.events.record("cont", p.tag(), p.popen.pid)

    def stop(self):
        for p in list(self.workers.values()) + [self.broker]:
            if p.terminate(30) is None:
                self.violations.add("process", "%s did not stop within 30 s of SIGTERM" % p.tag())

    def cli(self, *args, stdin=None):
        argv = [os.path.join(self.args.bin, "sluice"), "--broker", self.endpoint, "--json",
                "--rpc-timeout", str(RPC_TIMEOUT_S)] + list(args)
        try:
            r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=RPC_TIMEOUT_S + 20)
        except subprocess.TimeoutExpired:
            return 124, "", "the CLI did not return"
        return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------- bookkeeping

class Violations:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, what, text):
        with self.lock:
            self.items.append((what, text))
        print("VIOLATION [%s]: %s" % (what, text), file=sys.stderr, flush=True)

    def __len__(self):
        return len(self.items)


class Events:
    """The faults, with their epoch-ms times, in memory and in events.log."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.t0 = now_ms()
        self.items = []  # (ms, action, process tag, pid)
        self.file = open(path, "a")
        self.counts = collections.Counter()

    def record(self, action, tag, pid):
        ms = now_ms()
        with self.lock:
            self.items.append((ms, action, tag, pid))
            self.counts[(action, tag.split("#")[0] == "broker")] += 1
            self.file.write("%d %s %s %s pid %d\n" % (ms, self.rel(ms), action, tag, pid))
            self.file.flush()

    def rel(self, ms):
        """An epoch-ms time as seconds since the driver started: t+12.345s."""
        return "t%+.3fs" % ((ms - self.t0) / 1000.0)

    def broker_outages(self):
        """[(down_ms, back_ms)]: each time the broker went away and came back."""
        out, down = [], None
        for ms, action, tag, _ in self.items:
            if tag.startswith("broker#") and action in ("kill", "exited"):
                down = ms
            elif tag.startswith("broker#") and action == "start" and down is not None:
                out.append((down, ms))
                down = None
        return out

    def between(self, lo_ms, hi_ms):
        return [e for e in self.items if lo_ms <= e[0] <= hi_ms]


class Submitter(threading.Thread):
    """Submits the planned batches on time (late while the broker is down).
    A batch that gets no answer is sent again with the same keys: the broker
    must create each job once."""

    def __init__(self, cluster, batches, seed, start, violations):
        super().__init__(name="submitter", daemon=True)
        self.cluster, self.batches, self.start_time, self.violations = cluster, batches, start, violations
        self.seed = seed
        self.ids = {}          # key -> job id from the broker's answer
        self.resends = 0       # batches sent again after no answer
        self.deduplicated = 0  # jobs answered created=false (their first send was committed)
        self.give_up = threading.Event()

    def run(self):
        for t, specs in self.batches:
            delay = self.start_time + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ndjson = "".join(json.dumps(s) + "\n" for s in specs)
            while not self.give_up.is_set():
                rc, out, err = self.cluster.cli("submit-many", stdin=ndjson)
                if rc == 0:
                    self.took(specs, json.loads(out)["jobs"])
                    break
                if rc == 2:  # bad_request: the soak's own mistake
                    self.violations.add("submit", "a batch was refused: %s" % err.strip())
                    break
                self.resends += 1
                time.sleep(0.2)

    def took(self, specs, jobs):
        if len(jobs) != len(specs):
            self.violations.add("submit", "%d jobs submitted, %d answered" % (len(specs), len(jobs)))
        for spec, job in zip(specs, jobs):
            self.ids[spec["key"]] = job["id"]
            if not job.get("created", True):
                self.deduplicated += 1


def retry_cli(cluster, deadline, *args):
    """A CLI command, again until the broker answers (or the deadline)."""
    while True:
        rc, out, err = cluster.cli(*args)
        if rc == 0 or time.monotonic() > deadline:
            return rc, out, err
        time.sleep(0.3)


def make_registry(repo, origin, path):
    """pipeline/default/workflows.toml with the coffee workflow every
    minute, against our origin, with an absolute models folder."""
    text = open(os.path.join(repo, "pipeline", "default", "workflows.toml")).read()
    edits = [('schedule = "0 6 * * *"', 'schedule = "* * * * *"'),
             ('origin = "http://127.0.0.1:8089"', 'origin = "%s"' % origin),
             ('models = "pipeline/default/models"',
              'models = "%s"' % os.path.join(repo, "pipeline", "default", "models"))]
    for old, new in edits:
        if text.count(old) != 1:
            raise RuntimeError("workflows.toml changed: '%s' is not there once" % old)
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)


def wal_size(state):
    try:
        return os.path.getsize(state + "-wal")
    except OSError:
        return 0


def open_db(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def unfinished(state):
    """(jobs not ended, runs not ended), from the state DB."""
    db = open_db(state)
    try:
        jobs = db.execute("SELECT count(*) FROM jobs WHERE state NOT IN (%s)"
                          % ",".join("'%s'" % s for s in TERMINAL_JOB_STATES)).fetchone()[0]
        runs = db.execute("SELECT count(*) FROM runs WHERE state NOT IN (%s)"
                          % ",".join("'%s'" % s for s in TERMINAL_RUN_STATES)).fetchone()[0]
        return jobs, runs
    finally:
        db.close()


# ---------------------------------------------------------------- the checks

class Checker:
    def __init__(self, cluster, submitter, events, violations, side_file, broker_runs):
        self.cluster, self.submitter, self.events, self.v = cluster, submitter, events, violations
        self.side_file, self.broker_runs = side_file, broker_runs
        db = open_db(cluster.state)
        self.jobs = {r["id"]: dict(r) for r in db.execute(
            "SELECT seq, id, kind, state, attempt, idem_key, last_error FROM jobs")}
        self.attempts = collections.defaultdict(list)
        for r in db.execute("SELECT job_id, attempt, outcome, worker, started_ms, finished_ms, error "
                            "FROM attempts ORDER BY job_seq, attempt"):
            self.attempts[r["job_id"]].append(dict(r))
        self.runs = [dict(r) for r in db.execute("SELECT seq, id, workflow, state, trigger FROM runs")]
        self.stages = collections.defaultdict(list)
        for r in db.execute("SELECT run_seq, stage, state, job_seq FROM run_stages"):
            self.stages[r["run_seq"]].append(dict(r))
        self.extract_running = [dict(r) for r in db.execute(
            "SELECT run_id, job_id, attempt, source FROM extraction_runs WHERE status = 'running'")]
        self.state_integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        db.close()

    def failed_runs(self):
        """Why runs failed (not a violation: a stage may use up its attempts)."""
        jobs_by_seq = {j["seq"]: j for j in self.jobs.values()}
        for run in self.runs:
            for s in self.stages.get(run["seq"], []):
                job = jobs_by_seq.get(s["job_seq"])
                if run["state"] != "succeeded" and s["state"] in ("dead", "cancelled") and job:
                    yield "run %s %s: stage %s (%s) %s: %s" % (run["id"], run["state"], s["stage"], job["id"],
                                                              s["state"], job["last_error"])

    def run_all(self):
        self.check_jobs()
        self.check_keys()
        self.check_runs()
        self.check_side_effects()
        self.check_landing()
        self.check_databases()

    def check_jobs(self):
        """Every job in one terminal state, attempts numbered 1..n (n = the
        job's attempt count), each with an outcome, at most one succeeded;
        a succeeded job's last attempt is its success."""
        for job_id, job in self.jobs.items():
            attempts = self.attempts.get(job_id, [])
            nums = [a["attempt"] for a in attempts]
            what = "%s (%s, %s, attempt %d)" % (job_id, job["kind"], job["state"], job["attempt"])
            if job["state"] not in TERMINAL_JOB_STATES:
                self.v.add("job", "%s has not ended" % what)
            if nums != list(range(1, job["attempt"] + 1)):
                self.v.add("job", "%s: attempts recorded %s, not 1..%d" % (what, nums, job["attempt"]))
            if any(a["outcome"] is None for a in attempts):
                self.v.add("job", "%s: an attempt without outcome: %s" % (what, attempts))
            succeeded = [a["attempt"] for a in attempts if a["outcome"] == "succeeded"]
            if len(succeeded) > 1:
                self.v.add("job", "%s: attempts %s all succeeded" % (what, succeeded))
            if job["state"] == "succeeded" and (not succeeded or succeeded[-1] != nums[-1]):
                self.v.add("job", "%s: succeeded, but its last attempt did not (attempts %s)"
                           % (what, attempts))
            if job["state"] != "succeeded" and succeeded:
                self.v.add("job", "%s: attempt %s succeeded" % (what, succeeded))

    def check_keys(self):
        """One job per idempotency key, the one the broker answered with."""
        prefix = "chaos-%d-" % self.submitter.seed  # stage jobs have keys of their own (r1/extract_psd)
        by_key = {j["idem_key"]: j["id"] for j in self.jobs.values()
                  if j["idem_key"] and j["idem_key"].startswith(prefix)}
        for key, job_id in self.submitter.ids.items():
            if by_key.get(key) != job_id:
                self.v.add("submit", "key %s: answered %s, stored %s" % (key, job_id, by_key.get(key)))
        planned = {s["key"] for _, specs in self.submitter.batches for s in specs}
        for key in set(by_key) - planned:
            self.v.add("submit", "job %s has key %s, which was never submitted" % (by_key[key], key))
        missing = planned - set(self.submitter.ids)
        if missing:
            self.v.add("submit", "%d planned jobs were never confirmed submitted (e.g. %s)"
                       % (len(missing), sorted(missing)[:3]))

    def check_runs(self):
        """Every run ended, in the state its stages say; each stage with a
        job in that job's state; the broker's view (sluice runs) the same."""
        jobs_by_seq = {j["seq"]: j for j in self.jobs.values()}
        for run in self.runs:
            stages = self.stages.get(run["seq"], [])
            states = [s["state"] for s in stages]
            what = "run %s (%s, %s): stages %s" % (
                run["id"], run["trigger"], run["state"],
                ", ".join("%s=%s" % (s["stage"], s["state"]) for s in stages))
            if run["state"] not in TERMINAL_RUN_STATES:
                self.v.add("run", "%s: has not ended" % what)
            for s in stages:
                job = jobs_by_seq.get(s["job_seq"]) if s["job_seq"] is not None else None
                if s["state"] in STAGE_JOB_STATE:
                    if job is None or job["state"] != STAGE_JOB_STATE[s["state"]]:
                        self.v.add("run", "%s: stage %s is %s but its job is %s" % (
                            what, s["stage"], s["state"], job and "%s %s" % (job["id"], job["state"])))
                elif s["state"] == "submitted":
                    self.v.add("run", "%s: stage %s is still submitted (job %s)" % (
                        what, s["stage"], job and "%s %s" % (job["id"], job["state"])))
                elif job is not None and job["state"] != "upstream_failed":
                    self.v.add("run", "%s: stage %s is %s but has job %s (%s)" % (
                        what, s["stage"], s["state"], job["id"], job["state"]))
            if not stages:
                self.v.add("run", "%s: no stages" % what)
            elif run["state"] == "succeeded" and set(states) != {"succeeded"}:
                self.v.add("run", "%s: succeeded with a stage not succeeded" % what)
            elif run["state"] == "failed" and not ({"dead", "cancelled"} & set(states)):
                self.v.add("run", "%s: failed, but no stage is dead or cancelled" % what)
            elif run["state"] == "failed" and set(states) == {"succeeded"}:
                self.v.add("run", "%s: failed, but every stage succeeded" % what)
            elif run["state"] == "cancelled" and {"pending", "submitted"} & set(states):
                self.v.add("run", "%s: cancelled with stages unfinished" % what)
            seen = self.broker_runs.get(run["id"])
            if seen is not None and seen != run["state"]:
                self.v.add("run", "run %s: the broker said %s, its table says %s"
                           % (run["id"], seen, run["state"]))

    def check_side_effects(self):
        """Per exec (job, attempt): at most one side effect; exactly one per
        succeeded attempt; one of an attempt that did not succeed only if it
        was lost, timed out or cancelled."""
        lines = collections.defaultdict(list)  # (job, attempt) -> [(process, ms)]
        try:
            with open(self.side_file) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) != 4 or not parts[1].isdigit():
                        self.v.add("side-effect", "an untagged line %r (does the worker set SLUICE_JOB_ID "
                                   "and SLUICE_ATTEMPT?)" % line)
                        continue
                    lines[(parts[0], int(parts[1]))].append((parts[2], int(parts[3])))
        except FileNotFoundError:
            pass
        for (job_id, attempt), effects in sorted(lines.items()):
            job = self.jobs.get(job_id)
            record = next((a for a in self.attempts.get(job_id, []) if a["attempt"] == attempt), None)
            if job is None or job["kind"] != "exec":
                self.v.add("side-effect", "(%s, %d): no such exec job" % (job_id, attempt))
                continue
            if len(effects) > 1:
                self.v.add("side-effect", "(%s, %d) has %d side effects\n%s"
                           % (job_id, attempt, len(effects), self.explain(job_id, attempt, effects, record)))
            if record is None:
                self.v.add("side-effect", "(%s, %d) has a side effect but no attempt record (job %s, "
                           "attempt %d)\n%s" % (job_id, attempt, job["state"], job["attempt"],
                                                self.explain(job_id, attempt, effects, record)))
            elif record["outcome"] != "succeeded" and record["outcome"] not in UNFINISHED_OUTCOMES:
                self.v.add("side-effect", "(%s, %d) has a side effect but the attempt is recorded %s\n%s"
                           % (job_id, attempt, record["outcome"],
                              self.explain(job_id, attempt, effects, record)))
        for job_id, job in self.jobs.items():
            if job["kind"] != "exec":
                continue
            for a in self.attempts.get(job_id, []):
                if a["outcome"] == "succeeded" and (job_id, a["attempt"]) not in lines:
                    self.v.add("side-effect", "(%s, %d) succeeded without its side effect"
                               % (job_id, a["attempt"]))

    def explain(self, job_id, attempt, effects, record):
        """The side effects of one (job, attempt), its record, and the faults
        around them."""
        rel = self.events.rel
        out = ["    side effect by %s at %s" % (p, rel(ms)) for p, ms in sorted(effects, key=lambda e: e[1])]
        if record:
            out.append("    recorded: %s by %s, started %s, finished %s%s" % (
                record["outcome"], record["worker"], rel(record["started_ms"]),
                record["finished_ms"] and rel(record["finished_ms"]),
                ", error: " + record["error"] if record["error"] else ""))
        times = [ms for _, ms in effects]
        for ms, action, tag, pid in self.events.between(min(times) - 5000, max(times) + 5000):
            out.append("    fault: %s %s %s" % (rel(ms), action, tag))
        if len(effects) > 1:
            out.append("    why: " + self.why_again(sorted(effects, key=lambda e: e[1])))
        return "\n".join(out)

    def why_again(self, effects):
        """What the faults say of an attempt that ran twice: was its first
        runner still up when the broker came back (so its result could be
        sent again), or did it die while the broker was down?"""
        (first, t1), (_, t2) = effects[0], effects[1]
        outage = next(((k, s) for k, s in self.events.broker_outages() if t1 < s <= t2), None)
        died = next((ms for ms, action, tag, _ in self.events.items
                     if tag == first and action in ("kill", "exited") and ms > t1), None)
        if outage is None:
            return "no broker restart between the two runs"
        rel = self.events.rel
        k, s = outage
        if died is not None and died < s:
            return ("%s died at %s, before the broker came back at %s (down since %s): nobody could "
                    "report the attempt, and it ran again under the same number"
                    % (first, rel(died), rel(s), rel(k)))
        return ("%s was up when the broker came back at %s (down since %s)%s: its result was not taken, "
                "and the attempt ran again" % (first, rel(s), rel(k),
                                               "" if died is None else ", and died at %s" % rel(died)))

    def check_landing(self):
        """No partial landing file: every .gz decompresses whole (gzip -t);
        a temp file is left only by a worker SIGKILLed mid-download."""
        kills = [ms for ms, action, tag, _ in self.events.items
                 if action in ("kill", "exited") and not tag.startswith("broker")]
        for folder, _, files in os.walk(self.cluster.landing):
            for name in files:
                path = os.path.join(folder, name)
                if name.startswith(".sluice-tmp-"):
                    mtime_ms = os.stat(path).st_mtime * 1000
                    if not any(mtime_ms - 1000 <= k <= mtime_ms + STALE_TEMP_S * 1000 for k in kills):
                        self.v.add("landing", "temp file %s left, and no worker was killed after its last "
                                   "write" % path)
                elif name.endswith(".gz"):
                    r = subprocess.run(["gzip", "-t", path], capture_output=True, text=True)
                    if r.returncode != 0:
                        self.v.add("landing", "%s is partial: %s" % (path, r.stderr.strip()))

    def check_databases(self):
        """integrity_check of the state DB, the lakehouse and the serving DB;
        no extract left running."""
        if self.state_integrity != "ok":
            self.v.add("database", "state DB integrity_check: %s" % self.state_integrity)
        for path in (self.cluster.lakehouse, self.cluster.serving):
            if not os.path.exists(path):
                if path == self.cluster.serving and any(r["state"] == "succeeded" for r in self.runs):
                    self.v.add("database", "a run succeeded but %s does not exist" % path)
                continue
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
            result = db.execute("PRAGMA integrity_check").fetchall()
            db.close()
            if result != [("ok",)]:
                self.v.add("database", "%s integrity_check: %s" % (path, result[:5]))
        for r in self.extract_running:
            self.v.add("database", "extraction_runs row %d (%s attempt %d, %s) is still running"
                       % (r["run_id"], r["job_id"], r["attempt"], r["source"]))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--repo", "--bin", "--work", "--origin", "--summary"):
        ap.add_argument(name, required=True)
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--faults", choices=("all", "workers", "none"), default="all")
    args = ap.parse_args()

    began = time.monotonic()
    side_file = os.path.join(args.work, "side-effects.txt")
    faults = plan_faults(random.Random("faults-%d" % args.seed), args.duration, args.faults)
    batches = plan_load(random.Random("load-%d" % args.seed), args.duration, args.seed, side_file)
    plan = json.dumps({"faults": faults, "batches": batches}, indent=1)
    with open(os.path.join(args.work, "plan.json"), "w") as f:
        f.write(plan)
    digest = hashlib.sha256(plan.replace(side_file, "SIDE_FILE").encode()).hexdigest()[:12]
    print("chaos: plan %s: %d faults, %d batches, %d jobs" % (
        digest, len(faults), len(batches), sum(len(s) for _, s in batches)))

    registry = os.path.join(args.work, "workflows.toml")
    make_registry(args.repo, args.origin, registry)
    violations = Violations()
    events = Events(os.path.join(args.work, "events.log"))
    cluster = Cluster(args, registry, PidFile(os.path.join(args.work, "pids")), violations, events)
    summary = {"seconds": 0, "broker_kills": 0, "worker_kills": 0, "stops": 0, "jobs": 0, "runs": 0,
               "violations": 0}
    submitter = None
    try:
        cluster.start()
        print("chaos: broker on %s, workers %s" % (cluster.endpoint, ", ".join(WORKERS)))
        rc, out, err = retry_cli(cluster, time.monotonic() + 30, "run", "coffee")
        if rc != 0:
            violations.add("run", "sluice run coffee: exit %d: %s" % (rc, err.strip()))

        # The soak: the load in its thread, the faults here.
        start = time.monotonic()
        submitter = Submitter(cluster, batches, args.seed, start, violations)
        submitter.start()
        max_wal = 0
        pending = list(faults)
        while time.monotonic() - start < args.duration:
            while pending and pending[0][0] <= time.monotonic() - start:
                _, action, name = pending.pop(0)
                cluster.apply(action, name)
            cluster.watch()
            max_wal = max(max_wal, wal_size(cluster.state))
            time.sleep(0.05)

        # The end: everything back, no new cron runs, then wait for all to end.
        print("chaos: faults over; waiting (at most %d s) for every job and run to end" % DRAIN_S)
        cluster.restore()
        deadline = time.monotonic() + DRAIN_S
        submitter.join(max(0, deadline - time.monotonic()))
        if submitter.is_alive():
            submitter.give_up.set()
            violations.add("submit", "the load was not submitted within %d s of the end" % DRAIN_S)
        rc, out, err = retry_cli(cluster, deadline, "pause", "coffee")
        if rc != 0:
            violations.add("run", "sluice pause coffee: exit %d: %s" % (rc, err.strip()))
        while True:
            cluster.watch()
            max_wal = max(max_wal, wal_size(cluster.state))
            left = unfinished(cluster.state)
            if left == (0, 0) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if left != (0, 0):
            violations.add("drain", "%s jobs and %s runs had not ended %d s after the soak" % (
                left[0], left[1], DRAIN_S))
        max_wal = max(max_wal, wal_size(cluster.state))
        if max_wal >= WAL_LIMIT_BYTES:
            violations.add("wal", "state.sqlite-wal reached %d bytes (limit %d)" % (max_wal, WAL_LIMIT_BYTES))
        # The broker's own view of the runs, compared with its tables below.
        rc, out, _ = retry_cli(cluster, time.monotonic() + 20, "runs", "--limit", "10000")
        broker_runs = {r["id"]: r["state"] for r in json.loads(out)["runs"]} if rc == 0 else {}
        cluster.stop()

        checker = Checker(cluster, submitter, events, violations, side_file, broker_runs)
        checker.run_all()
        summary.update(jobs=len(checker.jobs), runs=len(checker.runs))
        if not submitter.ids:
            violations.add("load", "no job was submitted")
        if not checker.runs:
            violations.add("load", "no workflow run started")
        print("chaos: %d jobs (%d submitted, %d batches sent again, %d answered as already created), "
              "%d runs (%s), max WAL %d bytes" % (
                  len(checker.jobs), len(submitter.ids), submitter.resends, submitter.deduplicated,
                  len(checker.runs), dict(collections.Counter(r["state"] for r in checker.runs)), max_wal))
        print("chaos: job states %s" % dict(collections.Counter(j["state"] for j in checker.jobs.values())))
        for line in checker.failed_runs():
            print("chaos: " + line)
    except Exception as e:  # the soak could not run: a violation, with the logs kept
        violations.add("soak", "%s: %s" % (type(e).__name__, e))
    finally:
        if submitter is not None:
            submitter.give_up.set()
        for p in cluster.procs():
            if p.popen is not None and p.popen.poll() is None:
                p.terminate(5)

    summary.update(seconds=round(time.monotonic() - began, 1),
                   broker_kills=events.counts[("kill", True)], worker_kills=events.counts[("kill", False)],
                   stops=events.counts[("stop", False)], violations=len(violations))
    if violations.items:
        kinds = collections.Counter(what for what, _ in violations.items)
        print("chaos: %d violations: %s" % (len(violations), dict(kinds)), file=sys.stderr)
    with open(args.summary, "w") as f:
        f.write(json.dumps(summary, separators=(",", ":")))
    return 1 if violations.items else 0


if __name__ == "__main__":
    sys.exit(main())
