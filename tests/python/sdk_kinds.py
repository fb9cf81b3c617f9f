"""Job kinds for the SDK's conformance tests, served by
`python3 -m sluice.worker sdk_kinds`. Every attempt a handler starts is a
line of $SDK_TEST_LOG: "start JOB ATTEMPT PID", and how it ended."""

import os
import threading
import time

import sluice

worker = sluice.Worker()
_log_lock = threading.Lock()


def note(*words):
    path = os.environ.get("SDK_TEST_LOG")
    if path:
        with _log_lock, open(path, "a") as f:
            f.write(" ".join(str(w) for w in words) + "\n")


@worker.kind("py.echo")
def echo(job):
    note("start", job.id, job.attempt, os.getpid())
    return {"echo": job.params, "attempt": job.attempt, "kind": job.kind}


@worker.kind("py.sleep")
def sleep(job):
    """Sleeps `ms` (attempt 1: `first_ms` when given), waking for a cancel."""
    note("start", job.id, job.attempt, os.getpid())
    ms = job.params.get("first_ms", job.params.get("ms", 0)) if job.attempt == 1 else job.params.get("ms", 0)
    if not job.sleep(int(ms) / 1000.0):
        note("stopped", job.id, job.attempt, job.stop_reason)
        raise sluice.Cancelled(job.stop_reason)
    note("done", job.id, job.attempt)
    return {"slept_ms": ms}


@worker.kind("py.block")
def block(job):
    """Runs until it is told to stop; notes why."""
    note("start", job.id, job.attempt, os.getpid())
    while not job.cancelled():
        time.sleep(0.02)
    note("stopped", job.id, job.attempt, job.stop_reason)
    return {"stopped": job.stop_reason}


@worker.kind("py.fail")
def fail(job):
    note("start", job.id, job.attempt, os.getpid())
    if job.params.get("final"):
        raise sluice.Final("bad input, no retry")
    if job.attempt < int(job.params.get("succeed_on", 1000)):
        raise sluice.Retryable(f"attempt {job.attempt} fails", retry_after=0.05)
    return {"ok": job.attempt}


@worker.kind("py.crash")
def crash(job):
    raise ValueError("a bug in the handler")


@worker.kind("py.land")
def land(job):
    """An extractor: lands `body` as a file of the job's source, and sets the
    cursor to `next_cursor`; outputs the cursor it was given."""
    note("start", job.id, job.attempt, os.getpid())
    given = job.cursor
    landed = job.land(job.params.get("body", ""), ext=job.params.get("ext", "json"))
    job.cursor = job.params.get("next_cursor")
    return {"cursor_in": given, "path": landed.path, "written": landed.written}
