"""sluice.Client: every client command of PROTOCOL.md §6.

    import sluice
    c = sluice.Client()                       # SLUICE_BROKER, SLUICE_CURVE_KEY, ...
    job = c.submit("ext.weather", {"source": "weather", "extraction": True})
    print(c.wait(job.id).state)

Results are typed (sluice.replies); errors raise NotFound, BadRequest,
Forbidden, InvalidState, Unreachable (no answer within `timeout` seconds)
or BrokerError. One Client may be shared by threads (one request at a time).
"""

import itertools
import os
import threading
import time

import zmq

from . import keys, protocol
from .errors import BadRequest, Unreachable, from_reply
from .replies import Extraction, Job, Run, Schedule, Stats, Submitted, WorkerInfo, build

_SPEC_FIELDS = ("queue", "priority", "max_attempts", "backoff_ms", "timeout_ms", "delay_ms", "run_at_ms",
                "key", "concurrency_key", "concurrency_limit")


def _env(name, default=None):
    v = os.environ.get(name)
    return v if v else default


class Client:
    def __init__(self, broker=None, *, curve_key=None, broker_key=None, timeout=None, context=None):
        """broker: endpoint (default $SLUICE_BROKER, tcp://127.0.0.1:5555);
        curve_key / broker_key: key files (default $SLUICE_CURVE_KEY /
        $SLUICE_BROKER_KEY); timeout: seconds per request (default
        $SLUICE_RPC_TIMEOUT, 5)."""
        self.endpoint = broker or _env("SLUICE_BROKER", protocol.DEFAULT_ENDPOINT)
        self.timeout = float(timeout if timeout is not None else _env("SLUICE_RPC_TIMEOUT", "5"))
        self._keys = keys.load_pair(curve_key or _env("SLUICE_CURVE_KEY"), broker_key or _env("SLUICE_BROKER_KEY"))
        self._own_ctx = context is None
        self._ctx = context or zmq.Context()
        self._lock = threading.Lock()
        self._req = itertools.count(1)
        self._sock = None
        self._connect()

    def _connect(self):
        if self._sock is not None:
            self._sock.close(linger=0)
        s = self._ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_MESSAGE_BYTES)
        keys.apply(s, self._keys)
        s.connect(self.endpoint)
        self._sock = s

    def close(self):
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        if self._own_ctx:
            self._ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the request/reply core ----------------------------------------------------

    def request(self, command, body=None):
        """The REPLY body of one request (a dict), or the exception of its ERROR."""
        with self._lock:
            req = next(self._req)
            body = dict(body or {}, req=req)
            self._sock.send_multipart(protocol.frames(command, body))
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self._sock.poll(int(left * 1000) + 1):
                    if time.monotonic() >= deadline:
                        # The late answer must not be taken for the next one's.
                        self._connect()
                        raise Unreachable(f"no answer from the broker at {self.endpoint} within "
                                          f"{self.timeout:g} s ({protocol.NAMES.get(command, command)})")
                    continue
                try:
                    cmd, reply = protocol.parse(self._sock.recv_multipart())
                except protocol.ProtocolError:
                    continue
                if cmd not in (protocol.REPLY, protocol.ERROR):
                    continue  # DONE pushes, heartbeats
                got = reply.get("req")
                if cmd == protocol.ERROR and got == 0:
                    raise from_reply(reply)  # malformed beyond its req: ours (one in flight)
                if got != req:
                    continue
                if cmd == protocol.ERROR or reply.get("ok") is False:
                    raise from_reply(reply)
                return reply

    # ---- jobs ----------------------------------------------------------------------

    @staticmethod
    def _spec(kind, params=None, **options):
        spec = {"kind": kind, "params": params if params is not None else {}}
        for k, v in options.items():
            if k not in _SPEC_FIELDS:
                raise TypeError(f"unknown job option '{k}' (one of {', '.join(_SPEC_FIELDS)})")
            if v is not None:
                spec[k] = v
        return spec

    def submit(self, kind, params=None, **options):
        """SUBMIT one job. options: queue, priority, max_attempts, backoff_ms,
        timeout_ms, delay_ms, run_at_ms, key, concurrency_key,
        concurrency_limit. Returns a Submitted {id, created, state}."""
        return self.submit_many([self._spec(kind, params, **options)])[0]

    def submit_many(self, specs, notify=False):
        """SUBMIT 1-10,000 jobs at once (all or nothing): each spec a dict
        with `kind` and the fields of PROTOCOL.md §6.1."""
        specs = [dict(s) for s in specs]
        if not specs or any(not isinstance(s.get("kind"), str) for s in specs):
            raise BadRequest("submit_many: give 1-10,000 job specs, each with a kind")
        body = {"jobs": specs}
        if notify:
            body["notify"] = True
        reply = self.request(protocol.SUBMIT, body)
        return [build(Submitted, j) for j in reply.get("jobs", [])]

    def status(self, id):
        """STATUS of a job id (a Job with params, outputs, attempts) or a run
        id (a Run)."""
        reply = self.request(protocol.STATUS, {"id": id})
        if "run" in reply:
            return Run.from_dict(reply["run"])
        return Job.from_dict(reply.get("job"))

    def list(self, state=None, queue=None, kind=None, limit=None):
        body = {k: v for k, v in (("state", state), ("queue", queue), ("kind", kind), ("limit", limit)) if v is not None}
        return [Job.from_dict(j) for j in self.request(protocol.LIST, body).get("jobs", [])]

    def wait(self, id, timeout=None, poll=0.2):
        """STATUS of a job or run id, again until it has ended; the last one.
        Raises TimeoutError after `timeout` seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            x = self.status(id)
            if x.finished:
                return x
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{id} is still {x.state} after {timeout:g} s")
            time.sleep(poll)

    def retry(self, id):
        return Job.from_dict(self.request(protocol.RETRY, {"id": id}).get("job"))

    def cancel(self, id):
        """CANCEL_JOB of a job id (the Job) or a run id (the Run)."""
        reply = self.request(protocol.CANCEL_JOB, {"id": id})
        if "run" in reply:
            return Run.from_dict(reply["run"])
        return Job.from_dict(reply.get("job"))

    # ---- runs and schedules ----------------------------------------------------------

    def run(self, workflow, params=None, wait=False, timeout=None):
        """RUN a workflow (params: {name: str}); with wait, until it ends."""
        body = {"workflow": workflow}
        if params:
            body["params"] = {k: str(v) for k, v in params.items()}
        run = Run.from_dict(self.request(protocol.RUN, body).get("run"))
        return self.wait(run.id, timeout=timeout) if wait else run

    def runs(self, workflow=None, state=None, limit=None):
        body = {k: v for k, v in (("workflow", workflow), ("state", state), ("limit", limit)) if v is not None}
        return [Run.from_dict(r) for r in self.request(protocol.RUNS, body).get("runs", [])]

    def schedules(self):
        return [build(Schedule, s) for s in self.request(protocol.SCHEDULES).get("schedules", [])]

    def pause(self, workflow):
        return build(Schedule, self.request(protocol.PAUSE, {"workflow": workflow}).get("schedule"))

    def resume(self, workflow):
        return build(Schedule, self.request(protocol.RESUME, {"workflow": workflow}).get("schedule"))

    def reload(self):
        """RELOAD (admins): {workflows, path}."""
        reply = self.request(protocol.RELOAD)
        return {"workflows": reply.get("workflows"), "path": reply.get("path")}

    # ---- the cluster -----------------------------------------------------------------

    def workers(self):
        return [build(WorkerInfo, w) for w in self.request(protocol.WORKERS).get("workers", [])]

    def stats(self):
        return build(Stats, self.request(protocol.STATS).get("stats"))

    def extractions(self, source=None, limit=None):
        """EXTRACTIONS: the newest extraction runs (of `source`), newest first."""
        body = {k: v for k, v in (("source", source), ("limit", limit)) if v is not None}
        return [build(Extraction, x) for x in self.request(protocol.EXTRACTIONS, body).get("extractions", [])]
