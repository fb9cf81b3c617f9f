"""sluice.Worker: custom job kinds (and extractors) in Python.

    import sluice
    worker = sluice.Worker()            # SLUICE_BROKER, SLUICE_QUEUES, LANDING_DIR, keys...

    @worker.kind("ext.weather")
    def weather(job):
        ...                             # job.id, .attempt, .kind, .params, .cancelled(), .cursor
        return {"rows": 12}             # the outputs; or raise sluice.Retryable / sluice.Final

    python3 -m sluice.worker MODULE [--broker E] [--queues Q] [--slots N]

imports MODULE and runs its module attribute `worker`.

What it does, as sluice-worker does (PROTOCOL.md §5):
- one I/O thread (the caller of run()) owns the socket; each slot is a
  thread running handlers;
- READY first on every connection, with the attempts it holds (`running`);
  HEARTBEAT when it has sent nothing for an interval; a broker silent for 3
  intervals is presumed gone: a new connection, then again after 2x, 4x...
  up to 10x the interval, plus 0-25 % jitter;
- every RESULT kept until ACKed and sent again after READY; a JOB whose
  RESULT it still holds gets that RESULT again, never a second run; a
  RESULT refused as bad_request is dropped;
- CANCEL and the job's timeout reach the handler through job.cancelled();
  a handler that then returns is reported `cancelled` / `timed_out`;
- SIGTERM (or stop()): no new jobs (HEARTBEAT slots 0); jobs not started
  are handed back (`returned`); running ones get `grace` seconds, then are
  handed back too; BYE once the broker has ACKed every result (or after a
  few heartbeats).

Extraction runs (PROTOCOL.md §5.9): a job whose params say
`extraction: true` and name a `source` lands files with job.land(); the
worker reports what it wrote, skipped and its new job.cursor in
`outputs.extraction`, so the run shows in `sluice extractions`.
"""

import argparse
import collections
import importlib
import logging
import os
import queue
import random
import select
import signal
import socket
import sys
import threading
import time
import traceback

import zmq

from . import keys, landing, protocol
from .errors import Cancelled, Final, Retryable

__all__ = ["Worker", "Job", "main"]

VERSION = "sluice-python/1"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
MAX_CURSOR_BYTES = 16384
MAX_CURSOR_KEY_BYTES = 16384

log = logging.getLogger("sluice.worker")


def _is_name(s):
    return isinstance(s, str) and 0 < len(s) <= 64 and set(s) <= _NAME_CHARS


def _env(name, default=None):
    v = os.environ.get(name)
    return v if v else default


class _Token:
    """A cancellation token: why the attempt is to stop, or None."""

    def __init__(self):
        self._why = None
        self._event = threading.Event()

    def stop(self, why):
        if self._why is None:
            self._why = why
        self._event.set()

    @property
    def reason(self):
        return self._why

    def wait(self, timeout):
        return self._event.wait(timeout)


class Job:
    """What a handler is given. `params` is the job's params (a dict);
    `cursor` the cursor the broker sent (extraction runs; None when none),
    and assigning it sets the cursor this run reports."""

    def __init__(self, worker, body, token):
        self._worker = worker
        self.id = body.get("job")
        self.attempt = body.get("attempt")
        self.kind = body.get("kind")
        self.queue = body.get("queue")
        self.timeout_ms = body.get("timeout_ms") or 0
        params = body.get("params")
        self.params = params if isinstance(params, dict) else {}
        self._token = token
        self._lock = threading.Lock()
        self._cursor_in = self.params.get("cursor")
        self._cursor_out = None
        self._cursor_set = False
        self.files_written = 0
        self.files_skipped = 0
        self.bytes_written = 0
        self.landed = []  # Landed, in order
        self._url = None

    # ---- the contract --------------------------------------------------------------

    def cancelled(self):
        """True once the attempt is to stop: cancelled, timed out, or the
        worker is shutting down. A long handler polls it and returns (or
        raises sluice.Cancelled)."""
        return self._token.reason is not None

    @property
    def stop_reason(self):
        """Why the attempt is to stop: "cancelled", "timed_out", "shutdown",
        or None."""
        return self._token.reason

    def raise_if_cancelled(self):
        if self._token.reason is not None:
            raise Cancelled(self._token.reason)

    def sleep(self, seconds):
        """Sleeps, waking early when the attempt is to stop; True if it
        slept the whole time."""
        return not self._token.wait(seconds)

    @property
    def cursor(self):
        return self._cursor_out if self._cursor_set else self._cursor_in

    @cursor.setter
    def cursor(self, value):
        if value is not None and not isinstance(value, str):
            raise TypeError("job.cursor is a string (json.dumps() a structure) or None")
        if value is not None and len(value.encode("utf-8")) > MAX_CURSOR_BYTES:
            raise ValueError(f"job.cursor is at most {MAX_CURSOR_BYTES} bytes")
        self._cursor_out = value
        self._cursor_set = True

    # ---- extraction runs -----------------------------------------------------------

    @property
    def source(self):
        return self.params.get("source")

    @property
    def cursor_key(self):
        k = self.params.get("cursor_key")
        return k if isinstance(k, str) else ""

    @property
    def is_extraction(self):
        v = self.params.get("extraction")
        return v is True or v == "true"

    def land(self, data, *, ext, url=None, etag=None, source=None):
        """Lands `data` (bytes, str, a file object or chunks) as one file of
        the job's `source` (landing.LandingZone.write); counts it in this
        run's report. Returns a landing.Landed."""
        zone = self._worker.landing_zone()
        landed = zone.write(source or self.source, data, ext=ext, url=url, etag=etag, stop=self.cancelled)
        with self._lock:
            self.landed.append(landed)
            if landed.written:
                self.files_written += 1
                self.bytes_written += landed.bytes_written
            else:
                self.files_skipped += 1
            if url is not None:
                self._url = url
        return landed

    def skipped(self, n=1):
        """Counts `n` files as skipped without landing them (e.g. a 304)."""
        with self._lock:
            self.files_skipped += n

    def _extraction_report(self):
        report = {"source": self.source, "key": self.cursor_key, "files_written": self.files_written,
                  "files_skipped": self.files_skipped, "bytes_written": self.bytes_written}
        if self._cursor_set and self._cursor_out is not None:
            report["cursor"] = self._cursor_out
        if self._url is not None:
            report["url"] = protocol.clamp_text(self._url, 16384)
        return report

    def _reports_extraction(self):
        return self.is_extraction or bool(self.landed) or self._cursor_set or self.files_skipped > 0


class _Attempt:
    __slots__ = ("key", "body", "token", "deadline", "started", "given_back", "job")

    def __init__(self, key, body):
        self.key = key
        self.body = body
        self.token = _Token()
        t = body.get("timeout_ms") or 0
        self.deadline = time.monotonic() + t / 1000.0 if isinstance(t, int) and t > 0 else None
        self.started = False
        self.given_back = False
        self.job = None


class Worker:
    """A worker process's kinds, and the loop that serves them.

    Every argument has a default from the environment, like sluice-worker's
    flags: broker ($SLUICE_BROKER, tcp://127.0.0.1:5555), queues
    ($SLUICE_QUEUES, comma-separated; default), slots (4), prefetch (0: no
    jobs beyond the slots), heartbeat_ms (1000), grace (30 s), worker_id
    (host-pid-random), landing ($LANDING_DIR, data/landing), curve_key /
    broker_key ($SLUICE_CURVE_KEY / $SLUICE_BROKER_KEY)."""

    def __init__(self, broker=None, *, queues=None, slots=None, prefetch=None, heartbeat_ms=None, grace=None,
                 worker_id=None, landing=None, curve_key=None, broker_key=None):
        self.broker = broker or _env("SLUICE_BROKER", protocol.DEFAULT_ENDPOINT)
        q = queues if queues is not None else _env("SLUICE_QUEUES", "default")
        self.queues = [x.strip() for x in q.split(",") if x.strip()] if isinstance(q, str) else list(q)
        self.slots = int(slots if slots is not None else _env("SLUICE_SLOTS", "4"))
        self.prefetch = int(prefetch if prefetch is not None else 0)
        self.heartbeat_ms = int(heartbeat_ms if heartbeat_ms is not None else 1000)
        self.grace = float(grace if grace is not None else 30)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-py{random.randrange(1 << 32):08x}"
        self.landing = landing or _env("LANDING_DIR", "data/landing")
        self._curve_key = curve_key or _env("SLUICE_CURVE_KEY")
        self._broker_key = broker_key or _env("SLUICE_BROKER_KEY")
        self._handlers = {}
        self._zone = None
        self._stop = threading.Event()
        self._check_config()

    def _check_config(self):
        for q in self.queues:
            if not _is_name(q):
                raise ValueError(f"queue {q!r} must be 1-64 characters of [A-Za-z0-9._-]")
        if not self.queues:
            self.queues = ["default"]
        if not 1 <= self.slots <= 4096:
            raise ValueError(f"slots must be 1-4096, not {self.slots}")
        if not 0 <= self.prefetch <= 4096:
            raise ValueError(f"prefetch must be 0-4096, not {self.prefetch}")
        if self.heartbeat_ms < 10:
            raise ValueError("heartbeat_ms must be at least 10")
        if not self.worker_id or len(self.worker_id.encode()) > 64 or not self.worker_id.isprintable():
            raise ValueError("worker_id must be 1-64 printable bytes")
        self._keys = keys.load_pair(self._curve_key, self._broker_key)
        # An s3:// landing zone is checked now, as sluice-worker checks
        # --landing at start: the location, and the AWS_* variables.
        self._zone = None
        if isinstance(self.landing, str) and self.landing.startswith("s3://"):
            try:
                self._zone = landing.LandingZone(self.landing)
            except landing.LandingError as e:
                raise ValueError(str(e)) from None

    # ---- kinds ---------------------------------------------------------------------

    def kind(self, name):
        """A decorator: the function handles jobs of kind `name`."""
        if not _is_name(name):
            raise ValueError(f"kind {name!r} must be 1-64 characters of [A-Za-z0-9._-]")

        def register(fn):
            self._handlers[name] = fn
            return fn

        return register

    def add_kind(self, name, fn):
        self.kind(name)(fn)

    @property
    def kinds(self):
        return sorted(self._handlers)

    def landing_zone(self):
        if self._zone is None:
            self._zone = landing.LandingZone(self.landing)
        return self._zone

    # ---- running -------------------------------------------------------------------

    def stop(self):
        """Asks run() to drain and return (what SIGTERM does)."""
        self._stop.set()
        w = getattr(self, "_wake_w", None)
        if w is not None:
            try:
                os.write(w, b"s")
            except OSError:
                pass

    def run(self, install_signals=True):
        """Serves until SIGTERM / SIGINT (or stop()); returns 0 after a
        clean drain."""
        if not self._handlers:
            raise ValueError("the worker has no kinds: register one with @worker.kind(NAME)")
        if install_signals and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self.stop())
            signal.signal(signal.SIGINT, lambda *_: self.stop())
        return _Loop(self).run()


class _Loop:
    def __init__(self, w):
        self.w = w
        self.ctx = zmq.Context()
        self.sock = None
        self.hb = w.heartbeat_ms / 1000.0
        self.unacked = collections.OrderedDict()  # (job, attempt) -> encoded RESULT
        self.held = {}                            # (job, attempt) -> _Attempt: leased to us, not reported
        self.work = queue.Queue()
        self.done = queue.Queue()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        w._wake_w = self.wake_w
        self.last_sent = 0.0
        self.give_up_at = 0.0     # the broker is presumed gone when silent until then
        self.misses = 0           # connections in a row that got no answer
        self.forbidden = False
        self.reconnect_at = None  # after forbidden: when to try again
        self.draining = False
        self.drain_deadline = None
        self.bye_deadline = None
        self.threads = []

    # ---- sending -------------------------------------------------------------------

    def send(self, command, body=None):
        if self.sock is None:
            return
        try:
            self.sock.send_multipart(protocol.frames(command, body), flags=zmq.NOBLOCK)
        except zmq.Again:
            return  # the broker is not there; the heartbeat check reconnects
        self.last_sent = time.monotonic()

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_MESSAGE_BYTES)
        s.setsockopt(zmq.SNDHWM, 100000)
        keys.apply(s, self.w._keys)
        s.connect(self.w.broker)
        self.sock = s
        self.forbidden = False
        self.introduce()
        self.give_up_at = time.monotonic() + (3 * self.hb if self.misses == 0 else self.backoff())

    def introduce(self):
        slots = 0 if self.draining else self.w.slots
        self.send(protocol.READY, {
            "worker": self.w.worker_id, "host": socket.gethostname(), "pid": os.getpid(),
            "queues": self.w.queues, "kinds": self.w.kinds, "slots": self.w.slots,
            "prefetch": self.w.prefetch, "heartbeat_ms": self.w.heartbeat_ms, "version": VERSION,
            "running": [[j, a] for (j, a) in self.held]})
        if self.draining:
            self.send(protocol.HEARTBEAT, {"slots": slots})
        for body in list(self.unacked.values()):
            self.send(protocol.RESULT, body)

    def result(self, key, outcome, error=None, retryable=None, outputs=None, retry_after_ms=None, stderr=None):
        body = {"job": key[0], "attempt": key[1], "outcome": outcome}
        if error:
            body["error"] = protocol.clamp_text(error, protocol.MAX_ERROR_BYTES)
        if retryable is not None:
            body["retryable"] = retryable
        if retry_after_ms:
            body["retry_after_ms"] = int(retry_after_ms)
        if outputs:
            body["outputs"] = outputs
        if stderr:
            body["stderr"] = protocol.clamp_text(stderr, protocol.MAX_TAIL_BYTES, keep="tail")
        encoded = protocol.pack(body)
        self.held.pop(key, None)
        self.unacked[key] = encoded
        self.send(protocol.RESULT, encoded)

    # ---- receiving -----------------------------------------------------------------

    def on_message(self, msg):
        try:
            command, body = protocol.parse(msg)
        except protocol.ProtocolError as e:
            log.warning("dropped a message: %s", e)
            return
        self.misses = 0
        self.give_up_at = time.monotonic() + 3 * self.hb
        if command == protocol.JOB:
            self.on_job(body)
        elif command == protocol.ACK:
            for pair in body.get("acks") or []:
                if isinstance(pair, (list, tuple)) and len(pair) == 2:
                    self.unacked.pop((pair[0], pair[1]), None)
        elif command == protocol.CANCEL:
            a = self.held.get((body.get("job"), body.get("attempt")))
            if a is not None:
                a.token.stop("cancelled")
        elif command == protocol.RECALL:
            for pair in body.get("jobs") or []:
                if isinstance(pair, (list, tuple)) and len(pair) == 2:
                    a = self.held.get((pair[0], pair[1]))
                    if a is not None and not a.started:
                        a.given_back = True
                        self.result(a.key, "returned", error="recalled before it started")
        elif command == protocol.BYE:
            log.info("the broker said BYE (%s); reconnecting", body.get("reason", ""))
            self.connect()
        elif command == protocol.ERROR:
            self.on_error(body)

    def on_error(self, body):
        code = body.get("code")
        if code == "unknown_worker":
            self.introduce()
        elif code == "bad_request" and "job" in body and "attempt" in body:
            log.error("the broker refused RESULT %s attempt %s: %s", body["job"], body["attempt"], body.get("message"))
            self.unacked.pop((body["job"], body["attempt"]), None)
        elif code == "forbidden":
            if not self.forbidden:
                log.error("the broker refuses this worker's key (forbidden): %s; trying again later",
                          body.get("message"))
            self.forbidden = True
            self.sock.close(linger=0)
            self.sock = None
            self.misses += 1
            self.reconnect_at = time.monotonic() + self.backoff()
        else:
            log.warning("broker error %s: %s", code, body.get("message"))

    def on_job(self, body):
        job_id, attempt = body.get("job"), body.get("attempt")
        if not isinstance(job_id, str) or not isinstance(attempt, int):
            log.warning("dropped a JOB without job/attempt")
            return
        key = (job_id, attempt)
        if key in self.unacked:  # its RESULT is on its way: again, never a second run
            self.send(protocol.RESULT, self.unacked[key])
            return
        if key in self.held:
            return
        kind = body.get("kind")
        a = _Attempt(key, body)
        self.held[key] = a
        if kind not in self.w._handlers:
            self.result(key, "failed", error=f"unknown kind '{kind}': this worker runs {', '.join(self.w.kinds)}",
                        retryable=False)
        elif self.draining:
            self.result(key, "returned", error="the worker is shutting down")
        elif not isinstance(body.get("params", {}), dict):
            self.result(key, "failed", error="params must be a map", retryable=False)
        else:
            self.work.put(a)

    # ---- slots ---------------------------------------------------------------------

    def slot(self):
        while True:
            a = self.work.get()
            if a is None:
                return
            if a.given_back:
                continue
            a.started = True
            outcome = self.execute(a)
            self.done.put((a, outcome))
            try:
                os.write(self.wake_w, b"d")
            except OSError:
                pass

    def execute(self, a):
        """(outcome, fields) of running one attempt."""
        job = Job(self.w, a.body, a.token)
        a.job = job
        if a.token.reason is not None:
            return self.stopped(a, job, "before it started")
        if job.is_extraction:
            problem = self.check_extraction(job)
            if problem:
                return "failed", {"error": problem, "retryable": False}
        try:
            out = self.w._handlers[job.kind](job)
        except Cancelled:
            return self.stopped(a, job, "")
        except Final as e:
            return "failed", self.with_report(job, {"error": str(e) or "failed", "retryable": False})
        except Retryable as e:
            ra = int(e.retry_after * 1000) if e.retry_after else None
            return "failed", self.with_report(job, {"error": str(e) or "failed", "retryable": True,
                                                    "retry_after_ms": ra})
        except landing.LandingError as e:
            if a.token.reason is not None:
                return self.stopped(a, job, "")  # an S3 transfer stopped by the cancel or the timeout
            return "failed", self.with_report(job, {"error": f"sluice.landing: {e}", "retryable": e.retryable})
        except Exception as e:
            tb = traceback.format_exc()
            return "failed", self.with_report(job, {"error": f"{type(e).__name__}: {e}", "retryable": True,
                                                    "stderr": tb})
        if a.token.reason is not None:
            return self.stopped(a, job, "")
        if out is None:
            out = {}
        if not isinstance(out, dict):
            return "failed", {"error": f"the handler of {job.kind} returned {type(out).__name__}, not a dict",
                              "retryable": False}
        fields = self.with_report(job, {"outputs": dict(out)})
        try:
            size = len(protocol.pack(fields["outputs"]))
        except Exception as e:
            return "failed", {"error": f"the outputs cannot be sent as msgpack: {e}", "retryable": False}
        if size > protocol.MAX_OUTPUTS_BYTES:
            return "failed", {"error": f"the outputs are {size} bytes encoded, over 1 MiB", "retryable": False}
        return "succeeded", fields

    @staticmethod
    def check_extraction(job):
        try:
            landing.validate_source(job.source)
        except landing.LandingError as e:
            return f"an extraction job needs a valid param 'source': {e}"
        k = job.params.get("cursor_key")
        if k is not None and (not isinstance(k, str) or len(k.encode()) > MAX_CURSOR_KEY_BYTES):
            return f"param 'cursor_key' must be a string of at most {MAX_CURSOR_KEY_BYTES} bytes"
        return None

    @staticmethod
    def with_report(job, fields):
        if job._reports_extraction():
            outputs = dict(fields.get("outputs") or {})
            outputs["extraction"] = job._extraction_report()
            fields["outputs"] = outputs
        return fields

    def stopped(self, a, job, when):
        why = a.token.reason or "cancelled"
        text = {"cancelled": "cancelled", "timed_out": "timed out", "shutdown": "the worker is shutting down"}[why]
        outcome = {"cancelled": "cancelled", "timed_out": "timed_out", "shutdown": "returned"}[why]
        error = f"{job.kind}: {text}" + (f" {when}" if when else "")
        return outcome, self.with_report(job, {"error": error})

    def finish(self, a, outcome_fields):
        outcome, fields = outcome_fields
        if a.given_back or a.key not in self.held:
            return  # handed back at the end of the grace period, or recalled
        self.result(a.key, outcome, **fields)

    # ---- the loop ------------------------------------------------------------------

    def backoff(self):
        """How long a new connection waits for an answer: 3 intervals, twice
        that after each connection in a row that got none, at most 10x, plus
        0-25 % jitter (a pool cut off together does not return in lockstep)."""
        base = 3 * self.hb * 2 ** min(max(self.misses - 1, 0), 4)
        return min(base, 30 * self.hb) * (1 + random.random() * 0.25)

    def start_drain(self):
        self.draining = True
        self.drain_deadline = time.monotonic() + self.w.grace
        log.info("stopping: no new jobs; %d running get %g s", self.running_count(), self.w.grace)
        self.send(protocol.HEARTBEAT, {"slots": 0})
        for a in list(self.held.values()):
            if not a.started:
                a.given_back = True
                self.result(a.key, "returned", error="the worker is shutting down")

    def running_count(self):
        return sum(1 for a in self.held.values() if a.started)

    def run(self):
        self.threads = [threading.Thread(target=self.slot, name=f"sluice-slot-{i}", daemon=True)
                        for i in range(self.w.slots)]
        for t in self.threads:
            t.start()
        log.info("%s serving %s on %s at %s (%d slots)", self.w.worker_id, ", ".join(self.w.kinds),
                 ",".join(self.w.queues), self.w.broker, self.w.slots)
        self.connect()
        poller = zmq.Poller()
        registered = None
        poller.register(self.wake_r, zmq.POLLIN)
        try:
            while True:
                now = time.monotonic()
                if self.w._stop.is_set() and not self.draining:
                    self.start_drain()
                # Finished attempts.
                while True:
                    try:
                        a, res = self.done.get_nowait()
                    except queue.Empty:
                        break
                    self.finish(a, res)
                # Timeouts reach the handler.
                for a in self.held.values():
                    if a.deadline is not None and now >= a.deadline and a.token.reason is None:
                        a.token.stop("timed_out")
                if self.draining:
                    if self.drain_deadline is not None and now >= self.drain_deadline:
                        for a in list(self.held.values()):
                            a.given_back = True
                            a.token.stop("shutdown")
                            self.result(a.key, "returned", error=f"unfinished after the {self.w.grace:g} s grace; "
                                                                 "the worker is shutting down")
                        self.drain_deadline = None
                    if not self.held and self.bye_deadline is None:
                        self.bye_deadline = now + 5 * self.hb
                    if self.bye_deadline is not None and (not self.unacked or now >= self.bye_deadline):
                        break
                # Liveness.
                if self.sock is None:
                    if self.reconnect_at is not None and now >= self.reconnect_at:
                        self.reconnect_at = None
                        self.connect()
                else:
                    if now >= self.give_up_at:
                        self.misses += 1
                        log.warning("the broker is silent; connecting again")
                        self.connect()
                    elif now - self.last_sent >= self.hb:
                        self.send(protocol.HEARTBEAT)
                if registered is not self.sock:
                    if registered is not None:
                        try:
                            poller.unregister(registered)
                        except KeyError:
                            pass
                    if self.sock is not None:
                        poller.register(self.sock, zmq.POLLIN)
                    registered = self.sock
                timeout_ms = max(1, int(min(self.hb, 0.1) * 1000))
                for s, _ in poller.poll(timeout_ms):
                    if s is self.wake_r:
                        try:
                            os.read(self.wake_r, 65536)
                        except BlockingIOError:
                            pass
                    elif s is self.sock:
                        for _ in range(1000):
                            try:
                                msg = self.sock.recv_multipart(flags=zmq.NOBLOCK)
                            except zmq.Again:
                                break
                            self.on_message(msg)
                            if self.sock is None or s is not self.sock:
                                break
            if self.sock is not None:
                self.send(protocol.BYE, {"reason": "stopping"})
            return 0
        finally:
            for _ in self.threads:
                self.work.put(None)
            if self.sock is not None:
                self.sock.close(linger=500)
            self.ctx.term()
            os.close(self.wake_r)
            os.close(self.wake_w)
            self.w._wake_w = None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m sluice.worker",
                                 description="Runs the sluice.Worker `worker` of a Python module.")
    ap.add_argument("module", help="the module to import (its attribute `worker` is a sluice.Worker)")
    ap.add_argument("--broker", help="the broker's endpoint (default $SLUICE_BROKER, tcp://127.0.0.1:5555)")
    ap.add_argument("--queues", help="queues served, comma-separated (default $SLUICE_QUEUES, default)")
    ap.add_argument("--slots", type=int, help="jobs at once (default 4)")
    ap.add_argument("--prefetch", type=int, help="jobs held beyond the slots (default 0)")
    ap.add_argument("--heartbeat-ms", type=int)
    ap.add_argument("--grace", type=float, help="seconds running jobs get at SIGTERM (default 30)")
    ap.add_argument("--worker-id")
    ap.add_argument("--landing", help="the landing folder or s3://BUCKET/PREFIX (default $LANDING_DIR, data/landing)")
    ap.add_argument("--curve-key", help="this worker's NAME.key (default $SLUICE_CURVE_KEY)")
    ap.add_argument("--broker-key", help="the broker's NAME.pub (default $SLUICE_BROKER_KEY)")
    ap.add_argument("--log-level", default=_env("SLUICE_LOG_LEVEL", "INFO"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO), stream=sys.stderr,
                        format="time=%(asctime)s level=%(levelname)s component=py-worker msg=%(message)r")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(args.module)
    except ImportError as e:
        print(f"sluice.worker: cannot import {args.module}: {e}", file=sys.stderr)
        return 2
    w = getattr(module, "worker", None)
    if not isinstance(w, Worker):
        print(f"sluice.worker: {args.module} has no attribute 'worker' that is a sluice.Worker", file=sys.stderr)
        return 2
    overrides = {"broker": args.broker, "slots": args.slots, "prefetch": args.prefetch,
                 "heartbeat_ms": args.heartbeat_ms, "grace": args.grace, "worker_id": args.worker_id,
                 "landing": args.landing}
    for k, v in overrides.items():
        if v is not None:
            setattr(w, k, v)
    if args.queues is not None:
        w.queues = [x.strip() for x in args.queues.split(",") if x.strip()]
    if args.curve_key is not None:
        w._curve_key = args.curve_key
    if args.broker_key is not None:
        w._broker_key = args.broker_key
    try:
        w._check_config()
    except ValueError as e:
        print(f"sluice.worker: {e}", file=sys.stderr)
        return 2
    return w.run()


if __name__ == "__main__":
    # Run as `python3 -m sluice.worker`: this file is __main__, a second copy
    # of the module; the user's module made its Worker from sluice.worker.
    from sluice.worker import main as _main

    sys.exit(_main())
