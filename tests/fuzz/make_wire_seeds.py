#!/usr/bin/python3
"""Writes the wire fuzzer's seed corpus: one file per command, a command
byte then a msgpack body (tests/fuzz/fuzz_wire.cc). Run it again after a
protocol change: python3 tests/fuzz/make_wire_seeds.py"""
import os

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "wire")

SEEDS = {
    "ready": (0x01, {"worker": "host-1-ab12", "host": "host", "pid": 4242,
                     "queues": ["default", "etl"], "kinds": ["test.noop", "exec"],
                     "slots": 4, "prefetch": 2, "heartbeat_ms": 1000,
                     "version": "0.1.0", "running": [["j7", 1], ["j9", 2]]}),
    "heartbeat": (0x02, {"slots": 0}),
    "heartbeat_empty": (0x02, None),
    "result": (0x03, {"job": "j7", "attempt": 1, "outcome": "failed", "error": "boom",
                      "retryable": False, "retry_after_ms": 5000, "exit_code": 3,
                      "stdout": "out\n", "stderr": "err\n", "outputs": {"rows": 12}}),
    "result_ok": (0x03, {"job": "j8", "attempt": 2, "outcome": "succeeded"}),
    "bye": (0x04, {"reason": "draining"}),
    "job": (0x05, {"job": "j7", "attempt": 1, "kind": "extract.http", "queue": "extract",
                   "params": {"source": "prices", "url": "http://h/p/{year}.csv",
                              "headers": {"A": "b"}, "n": [1, 2.5, None, True]},
                   "timeout_ms": 60000}),
    "cancel": (0x06, {"job": "j7", "attempt": 1}),
    "ack": (0x07, {"acks": [["j7", 1], ["j8", 2]]}),
    "submit": (0x10, {"req": 1, "jobs": [
        {"kind": "test.sleep", "params": {"ms": 10}, "queue": "etl", "priority": -3,
         "max_attempts": 2, "backoff_ms": 100, "timeout_ms": 1000, "delay_ms": 5,
         "key": "k1", "concurrency_key": "c", "concurrency_limit": 2},
        {"kind": "test.noop", "run_at_ms": 1700000000000}]}),
    "run": (0x11, {"req": 2, "workflow": "coffee", "params": {"date": "2024-03-01"}}),
    "status": (0x12, {"req": 3, "id": "j12"}),
    "status_run": (0x12, {"req": 3, "id": "r4"}),
    "list": (0x13, {"req": 4, "state": "queued", "queue": "default", "kind": "exec", "limit": 10}),
    "retry": (0x14, {"req": 5, "id": "j12"}),
    "cancel_job": (0x15, {"req": 6, "id": "r4"}),
    "workers": (0x16, {"req": 7}),
    "stats": (0x17, {"req": 8}),
    "extractions": (0x18, {"req": 9, "source": "prices", "limit": 5}),
    "runs": (0x19, {"req": 10, "workflow": "coffee", "state": "running", "limit": 3}),
    "schedules": (0x1A, {"req": 11}),
    "pause": (0x1B, {"req": 12, "workflow": "coffee"}),
    "resume": (0x1C, {"req": 13, "workflow": "coffee"}),
    "reload": (0x1D, {"req": 14}),
    "reply_submit": (0x20, {"req": 1, "ok": True, "jobs": [{"id": "j1", "created": True, "state": "queued"}]}),
    # The typed replies (schemas/replies.h), in the shapes the broker sends.
    "reply_job": (0x20, {"req": 3, "ok": True, "job": {
        "id": "j12", "state": "dead", "kind": "exec", "queue": "default", "priority": -1,
        "attempt": 2, "failures": 2, "max_attempts": 2, "backoff_ms": 5000, "timeout_ms": 0,
        "run_at_ms": 1700000000000, "created_ms": 1700000000000, "updated_ms": 1700000001000,
        "finished_ms": 1700000001000, "key": None, "error": "boom", "concurrency_key": "c",
        "concurrency_limit": 2, "params": {"a": [1, "b"]}, "outputs": None,
        "attempts": [{"attempt": 1, "worker": "w1", "host": None, "started_ms": 1,
                      "finished_ms": 2, "outcome": "failed", "error": "boom", "exit_code": -1,
                      "stdout": "out", "stderr": None}]}}),
    "reply_list": (0x20, {"req": 4, "ok": True, "jobs": [{"id": "j1", "state": "queued",
                                                         "waiting": "no worker", "finished_ms": None}]}),
    "reply_run": (0x20, {"req": 2, "ok": True, "run": {
        "id": "r4", "state": "running", "workflow": "coffee", "trigger": "cron",
        "logical_date": "2024-03-01", "slot": "2024-03-01T06:00:00Z", "params": {"date": "2024-03-01"},
        "created_ms": 1, "started_ms": 2, "finished_ms": None,
        "stages": [{"name": "a", "kind": "exec", "state": "pending", "job": None, "attempt": 0,
                    "started_ms": None, "finished_ms": None, "error": None, "depends_on": ["b"],
                    "queue": "default", "kind_served": False}]}}),
    "reply_workers": (0x20, {"req": 7, "ok": True, "workers": [{
        "worker": "w1", "host": "h", "pid": 1, "queues": ["default"], "kinds": ["exec"], "slots": 2,
        "prefetch": 0, "busy": 1, "version": "0.1.0", "connected_ms": 1, "last_seen_ms": 2,
        "running": [["j1", 1]]}]}),
    "reply_schedules": (0x20, {"req": 11, "ok": True, "schedules": [{
        "workflow": "coffee", "schedule": "0 6 * * *", "paused": False, "catch_up": "latest",
        "max_active_runs": 1, "next_fire": None, "last_fire": None, "active_runs": 0,
        "unserved_stages": [{"stage": "a", "kind": "exec", "queue": "default"}]}]}),
    "reply_reload": (0x20, {"req": 14, "ok": True, "workflows": 2, "path": "/w.toml"}),
    "reply_extractions": (0x20, {"req": 9, "ok": True, "extractions": [{
        "run_id": 1, "extractor": "prices", "started_at": "2024-03-01 06:00:00", "finished_at": None,
        "status": "running", "files_written": 0, "files_skipped": 0, "bytes_written": 0,
        "cursor_value": None, "error_message": None, "job_id": "j1", "attempt": 1,
        "source": "prices", "url": None}]}),
    "reply_stats": (0x20, {"req": 8, "ok": True, "stats": {"jobs": {"queued": 1}, "uptime_ms": 5}}),
    "error": (0x21, {"req": 1, "ok": False, "code": "bad_request", "message": "no"}),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (code, body) in SEEDS.items():
        data = bytes([code]) + (b"" if body is None else msgpack.packb(body, use_bin_type=True))
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    # Frames cut by length bytes (the fuzzer's second reading of an input).
    with open(os.path.join(OUT, "frames_cut"), "wb") as f:
        f.write(bytes([4]) + b"peer" + bytes([7]) + b"SLUICE1" + bytes([1, 0x17]) + bytes([0]))
    with open(os.path.join(OUT, "frames_version"), "wb") as f:
        f.write(bytes([4]) + b"peer" + bytes([7]) + b"SLUICE2" + bytes([1, 0x02]))


if __name__ == "__main__":
    main()
