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
