#!/usr/bin/python3
"""A sluice protocol peer in Python, written from schemas/PROTOCOL.md alone.

It proves the spec is enough for another language: with only Debian's
python3-zmq and python3-msgpack it
  1. starts the broker binary given on the command line (free port, temp
     state dir, endpoint read back from --endpoint-file),
  2. as a client (DEALER): SUBMITs a job of a custom kind `py.echo`,
  3. as a worker (a second DEALER): sends READY announcing that kind,
     receives the JOB, sends a RESULT, gets the ACK,
  4. as a client: STATUS says `succeeded`, with our outputs and our worker.

With --curve (PROTOCOL.md §1.1) the broker runs with --curve-key and
--authorized: the client's key pair comes from `sluice keygen` (read with
pyzmq's zmq.auth.load_certificate), the worker's from pyzmq's own
zmq.auth.create_certificates (authorized as workers/py-worker.pub), so the
key files work both ways with other ZeroMQ tools; WORKERS names the key.

Run it with /usr/bin/python3 (Debian's modules), not a python3 from PATH.
Exit codes: 0 pass, 1 fail, 77 skipped (modules missing).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import msgpack
    import zmq
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: {e} (apt-get install python3-zmq python3-msgpack; run with /usr/bin/python3)",
          file=sys.stderr)
    sys.exit(77)

PROTOCOL = b"SLUICE1"
READY, HEARTBEAT, RESULT, BYE, JOB, CANCEL, ACK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
SUBMIT, STATUS, WORKERS = 0x10, 0x12, 0x16
REPLY, ERROR = 0x20, 0x21
NAMES = {READY: "READY", HEARTBEAT: "HEARTBEAT", RESULT: "RESULT", BYE: "BYE", JOB: "JOB",
         CANCEL: "CANCEL", ACK: "ACK", SUBMIT: "SUBMIT", STATUS: "STATUS", REPLY: "REPLY",
         ERROR: "ERROR"}

SCALE = float(os.environ.get("SLUICE_TIMEOUT_SCALE", "1") or "1")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def send(sock, command, body=None):
    frames = [PROTOCOL, bytes([command])]
    if body is not None:
        frames.append(msgpack.packb(body, use_bin_type=True))
    sock.send_multipart(frames)


def receive(sock, timeout_s, want):
    """The next message whose command is in `want`, as (command, body).

    HEARTBEATs and anything else not wanted are skipped (and noted)."""
    deadline = time.monotonic() + timeout_s * SCALE
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure(f"no {'/'.join(NAMES.get(w, hex(w)) for w in want)} within {timeout_s * SCALE:.0f} s")
        if not sock.poll(int(left * 1000)):
            continue
        frames = sock.recv_multipart()
        check(len(frames) in (2, 3), f"a message of {len(frames)} frames: {frames!r}")
        check(frames[0] == PROTOCOL, f"frame 0 is {frames[0]!r}, not SLUICE1")
        check(len(frames[1]) == 1, f"command frame of {len(frames[1])} bytes")
        command = frames[1][0]
        body = msgpack.unpackb(frames[2], raw=False) if len(frames) == 3 and frames[2] else {}
        check(isinstance(body, dict), f"{NAMES.get(command, hex(command))} body is not a map: {body!r}")
        if command in want:
            return command, body
        print(f"  (skipped {NAMES.get(command, hex(command))} {body})")


def request(sock, command, body, req, timeout_s=30):
    body = dict(body, req=req)
    send(sock, command, body)
    while True:
        cmd, answer = receive(sock, timeout_s, (REPLY, ERROR))
        if answer.get("req") == req:
            return cmd, answer


def start_broker(binary, tmp, extra=()):
    endpoint_file = os.path.join(tmp, "broker.endpoint")
    log = open(os.path.join(tmp, "broker.stderr"), "wb")
    proc = subprocess.Popen(
        [binary, "--endpoint", "tcp://127.0.0.1:*", "--endpoint-file", endpoint_file,
         "--state", os.path.join(tmp, "state.sqlite"), "--heartbeat-ms", "1000"] + list(extra),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60 * SCALE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure(f"the broker exited at start-up with {proc.returncode}")
        try:
            with open(endpoint_file) as f:
                endpoint = f.read().strip()
            if endpoint.startswith("tcp://") and endpoint.rsplit(":", 1)[-1].isdigit():
                return proc, endpoint
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise Failure("the broker wrote no endpoint file in time")


def make_keys(broker_bin, tmp):
    """Keys for --curve: {name: (public, secret)} and the broker's flags."""
    import zmq.auth
    keys = os.path.join(tmp, "keys")
    sluice = os.path.join(os.path.dirname(broker_bin), "sluice")
    for name in ("broker", "py-client"):
        subprocess.run([sluice, "keygen", name, "--out", keys], check=True, stdout=subprocess.DEVNULL)
    # pyzmq writes CZMQ certificates too: NAME.key (public) and NAME.key_secret.
    zmq.auth.create_certificates(keys, "py-worker")
    auth = os.path.join(tmp, "authorized")
    for role, src, name in (("clients", "py-client.pub", "py-client.pub"), ("workers", "py-worker.key", "py-worker.pub")):
        os.makedirs(os.path.join(auth, role), exist_ok=True)
        shutil.copy(os.path.join(keys, src), os.path.join(auth, role, name))
    pairs = {
        "broker": zmq.auth.load_certificate(os.path.join(keys, "broker.pub")),
        "client": zmq.auth.load_certificate(os.path.join(keys, "py-client.key")),
        "worker": zmq.auth.load_certificate(os.path.join(keys, "py-worker.key_secret")),
    }
    check(pairs["client"][1] is not None, "pyzmq found no secret key in sluice's .key file")
    return pairs, ["--curve-key", os.path.join(keys, "broker.key"), "--authorized", auth]


def dealer(ctx, endpoint, keys, who):
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if keys:
        sock.curve_serverkey = keys["broker"][0]
        sock.curve_publickey, sock.curve_secretkey = keys[who]
    sock.connect(endpoint)
    return sock


def run(broker_bin, tmp, curve=False):
    keys, extra = make_keys(broker_bin, tmp) if curve else (None, [])
    broker, endpoint = start_broker(broker_bin, tmp, extra)
    print(f"broker pid {broker.pid} at {endpoint}{' (CURVE)' if curve else ''}")
    ctx = zmq.Context()
    try:
        client = dealer(ctx, endpoint, keys, "client")

        # 1. SUBMIT a job of our own kind, on our own queue.
        cmd, reply = request(client, SUBMIT, {"jobs": [
            {"kind": "py.echo", "queue": "py", "params": {"text": "hello from python", "n": 3},
             "max_attempts": 2}]}, req=1)
        check(cmd == REPLY and reply.get("ok") is True, f"SUBMIT answered {reply}")
        jobs = reply.get("jobs")
        check(isinstance(jobs, list) and len(jobs) == 1, f"SUBMIT reply jobs: {reply}")
        job_id = jobs[0].get("id")
        check(isinstance(job_id, str) and job_id.startswith("j") and job_id[1:].isdigit(),
              f"job id {job_id!r}")
        check(jobs[0].get("created") is True, f"created: {jobs[0]}")
        print(f"submitted {job_id}")

        # Nobody runs py.echo yet: it waits, and STATUS says it is queued.
        cmd, reply = request(client, STATUS, {"id": job_id}, req=2)
        check(cmd == REPLY, f"STATUS answered {reply}")
        check(reply["job"]["state"] == "queued", f"state before a worker: {reply['job']}")

        # 2. A worker for py.echo.
        worker = dealer(ctx, endpoint, keys, "worker")
        worker_id = f"py-peer-{socket.gethostname()}-{os.getpid()}"
        send(worker, READY, {"worker": worker_id, "host": socket.gethostname(), "pid": os.getpid(),
                             "queues": ["py"], "kinds": ["py.echo"], "slots": 1,
                             "heartbeat_ms": 1000, "version": "py-peer/1", "running": []})
        cmd, job = receive(worker, 30, (JOB,))
        print(f"got JOB {job}")
        check(job.get("job") == job_id, f"JOB for {job.get('job')!r}, expected {job_id}")
        check(job.get("attempt") == 1, f"attempt {job.get('attempt')!r}")
        check(job.get("kind") == "py.echo", f"kind {job.get('kind')!r}")
        check(job.get("queue") in (None, "py"), f"queue {job.get('queue')!r}")
        params = job.get("params")
        check(params == {"text": "hello from python", "n": 3}, f"params {params!r}")
        check(isinstance(job.get("timeout_ms", 0), int), "timeout_ms")

        # While leased, STATUS says running, on us.
        cmd, reply = request(client, STATUS, {"id": job_id}, req=3)
        check(reply["job"]["state"] == "running", f"state while leased: {reply['job']}")

        # 3. RESULT, then the ACK for exactly that (job, attempt).
        send(worker, RESULT, {"job": job_id, "attempt": 1, "outcome": "succeeded",
                              "outputs": {"echo": params["text"].upper()},
                              "stdout": "echoed\n"})
        cmd, ack = receive(worker, 30, (ACK, ERROR))
        check(cmd == ACK, f"RESULT answered {ack}")
        check([job_id, 1] in [list(p) for p in ack.get("acks", [])], f"ACK {ack}")
        print(f"got ACK {ack}")

        # A duplicate RESULT is ACKed again and ignored (recorded once).
        send(worker, RESULT, {"job": job_id, "attempt": 1, "outcome": "failed", "error": "dup"})
        cmd, ack = receive(worker, 30, (ACK, ERROR))
        check(cmd == ACK and [job_id, 1] in [list(p) for p in ack.get("acks", [])],
              f"duplicate RESULT answered {ack}")

        # 4. STATUS: succeeded, with our outputs, on our worker.
        cmd, reply = request(client, STATUS, {"id": job_id}, req=4)
        check(cmd == REPLY and reply.get("ok") is True, f"STATUS answered {reply}")
        j = reply["job"]
        print(f"final STATUS {j}")
        check(j["id"] == job_id, "id")
        check(j["state"] == "succeeded", f"state {j['state']!r}")
        check(j.get("outputs") == {"echo": "HELLO FROM PYTHON"}, f"outputs {j.get('outputs')!r}")
        attempts = j.get("attempts")
        check(isinstance(attempts, list) and len(attempts) == 1, f"attempts {attempts!r}")
        check(attempts[0].get("worker") == worker_id, f"attempt worker {attempts[0].get('worker')!r}")
        check(attempts[0].get("outcome") == "succeeded", f"attempt outcome {attempts[0].get('outcome')!r}")
        check(isinstance(j.get("finished_ms"), int), f"finished_ms {j.get('finished_ms')!r}")

        # WORKERS names the worker's key (nil without CURVE).
        cmd, reply = request(client, WORKERS, {}, req=5)
        check(cmd == REPLY and len(reply.get("workers", [])) == 1, f"WORKERS answered {reply}")
        want = "py-worker" if curve else None
        check(reply["workers"][0].get("key") == want, f"worker key {reply['workers'][0].get('key')!r}")
        if curve:
            # The client's key may not act as a worker.
            send(client, READY, {"worker": "impostor", "host": "h", "pid": 1, "queues": ["py"],
                                 "kinds": ["py.echo"], "slots": 1, "version": "x", "running": []})
            cmd, err = receive(client, 30, (ERROR,))
            check(err.get("code") == "forbidden", f"READY from a client key answered {err}")

        send(worker, BYE, {"reason": "test over"})
        worker.close()
        client.close()
    finally:
        ctx.destroy(linger=0)
        if broker.poll() is None:
            broker.send_signal(signal.SIGTERM)
            try:
                code = broker.wait(timeout=30 * SCALE)
            except subprocess.TimeoutExpired:
                os.killpg(broker.pid, signal.SIGKILL)
                broker.wait()
                raise Failure("the broker did not exit within 30 s of SIGTERM")
            check(code == 0, f"the broker exited {code} on SIGTERM")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--broker-bin", required=True)
    ap.add_argument("--curve", action="store_true", help="CURVE keys and roles (sluice keygen and pyzmq's)")
    args = ap.parse_args()
    if not os.access(args.broker_bin, os.X_OK):
        print(f"FAIL: no broker binary at {args.broker_bin}", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="sluice-pypeer-")
    try:
        run(args.broker_bin, tmp, args.curve)
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        log = os.path.join(tmp, "broker.stderr")
        if os.path.exists(log):
            with open(log, "rb") as f:
                sys.stderr.write("broker stderr tail:\n" + f.read()[-4000:].decode(errors="replace"))
        print(f"(kept {tmp})", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
