#!/usr/bin/python3
"""A sluice worker in Python, written from schemas/PROTOCOL.md alone.

It serves one custom job kind, `py.square` by default: params {x: number}
-> outputs {square: x*x}. Anything else it is given fails without retry.
It follows §5: READY first; HEARTBEAT when it has sent nothing for its
interval; every RESULT kept until ACKed and re-sent after READY again
(on ERROR unknown_worker, or a BYE from the broker); a RESULT refused as
bad_request (the ERROR names its job and attempt) is not sent again.

    /usr/bin/python3 square_worker.py --broker tcp://127.0.0.1:5555 [--kind py.square]

Needs Debian's python3-zmq and python3-msgpack (exit 77 without them).
Stops on SIGTERM / SIGINT (BYE, then exit 0).
"""

import argparse
import os
import signal
import socket
import sys
import time

try:
    import msgpack
    import zmq
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: {e} (apt-get install python3-zmq python3-msgpack)", file=sys.stderr)
    sys.exit(77)

PROTOCOL = b"SLUICE1"
READY, HEARTBEAT, RESULT, BYE, JOB, CANCEL, ACK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
ERROR = 0x21
HEARTBEAT_MS = 1000

stopping = False


def on_signal(_signo, _frame):
    global stopping
    stopping = True


def log(text):
    print(f"square_worker: {text}", file=sys.stderr, flush=True)


class Worker:
    def __init__(self, endpoint, kind, worker_id):
        self.endpoint = endpoint
        self.kind = kind
        self.worker_id = worker_id
        self.ctx = zmq.Context()
        self.sock = None
        self.unacked = {}  # (job, attempt) -> encoded RESULT body, oldest first
        self.last_sent = 0.0
        self.last_heard = 0.0

    def send(self, command, body=None):
        frames = [PROTOCOL, bytes([command])]
        if body is not None:
            frames.append(body if isinstance(body, bytes) else msgpack.packb(body, use_bin_type=True))
        self.sock.send_multipart(frames)
        self.last_sent = time.monotonic()

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)
        self.introduce()

    def introduce(self):
        self.send(READY, {"worker": self.worker_id, "host": socket.gethostname(), "pid": os.getpid(),
                          "queues": ["default"], "kinds": [self.kind], "slots": 1,
                          "heartbeat_ms": HEARTBEAT_MS, "version": "square-worker/1", "running": []})
        for body in list(self.unacked.values()):
            self.send(RESULT, body)
        self.last_heard = time.monotonic()

    def run_job(self, job):
        result = {"job": job["job"], "attempt": job["attempt"], "retryable": False}
        x = job.get("params", {}).get("x")
        if job.get("kind") != self.kind:
            result.update(outcome="failed", error=f"unknown kind '{job.get('kind')}'")
        elif isinstance(x, bool) or not isinstance(x, (int, float)):
            result.update(outcome="failed", error=f"param 'x' must be a number, not {x!r}")
        else:
            result.update(outcome="succeeded", outputs={"square": x * x})
        log(f"{job['job']} attempt {job['attempt']}: {result['outcome']}")
        body = msgpack.packb(result, use_bin_type=True)
        self.unacked[(job["job"], job["attempt"])] = body
        self.send(RESULT, body)

    def handle(self, frames):
        if len(frames) not in (2, 3) or frames[0] != PROTOCOL or len(frames[1]) != 1:
            return log(f"dropped a message that is not SLUICE1 framing ({len(frames)} frames)")
        command = frames[1][0]
        try:
            body = msgpack.unpackb(frames[2], raw=False) if len(frames) == 3 and frames[2] else {}
        except Exception as e:  # a body we cannot read: say so, carry on
            return log(f"dropped command {command:#x}: {e}")
        if not isinstance(body, dict):
            return log(f"dropped command {command:#x}: the body is not a map")
        if command == JOB:
            key = (body.get("job"), body.get("attempt"))
            if key in self.unacked:  # its RESULT is on its way: send it again, do not run it twice
                return self.send(RESULT, self.unacked[key])
            return self.run_job(body)
        if command == ACK:
            for job, attempt in body.get("acks", []):
                self.unacked.pop((job, attempt), None)
            return
        if command == CANCEL:
            return  # jobs finish at once here: nothing runs long enough to stop
        if command == BYE:
            log(f"the broker said BYE ({body.get('reason', '')}); reconnecting")
            return self.connect()
        if command == ERROR:
            code = body.get("code")
            if code == "unknown_worker":
                return self.introduce()
            if code == "bad_request" and "job" in body and "attempt" in body:
                log(f"the broker refused RESULT {body['job']} attempt {body['attempt']}: {body.get('message')}")
                self.unacked.pop((body["job"], body["attempt"]), None)
                return
            return log(f"broker error {code}: {body.get('message')}")

    def loop(self):
        self.connect()
        while not stopping:
            now = time.monotonic()
            if now - self.last_sent >= HEARTBEAT_MS / 1000:
                self.send(HEARTBEAT)
            if now - self.last_heard > 3 * HEARTBEAT_MS / 1000:
                log("the broker is silent; reconnecting")
                self.connect()
            if self.sock.poll(100):
                self.last_heard = time.monotonic()
                self.handle(self.sock.recv_multipart())
        self.send(BYE, {"reason": "stopping"})
        self.sock.close(linger=500)
        self.ctx.term()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True, help="the broker's endpoint, tcp://host:port")
    parser.add_argument("--kind", default="py.square", help="the job kind to serve")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker_id = f"py-square-{socket.gethostname()}-{os.getpid()}"
    log(f"{worker_id} serving {args.kind} at {args.broker}")
    Worker(args.broker, args.kind, worker_id).loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
