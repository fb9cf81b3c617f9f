"""Processes for the Python SDK's tests: a broker, SDK workers, C++ workers,
each started on 127.0.0.1 with a free port and stopped by PID.

Run with Debian's /usr/bin/python3 (python3-zmq, python3-msgpack); a test
without them exits 77 (skipped)."""

import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SDK = os.path.join(ROOT, "producers", "python")
SCALE = float(os.environ.get("SLUICE_TIMEOUT_SCALE", "1") or "1")

try:
    import msgpack  # noqa: F401
    import zmq  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: {e} (apt-get install python3-zmq python3-msgpack; run with /usr/bin/python3)", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, SDK)
import sluice  # noqa: E402


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_until(pred, timeout_s, what, poll=0.05):
    """pred()'s first true value within timeout_s (scaled), else Failure."""
    deadline = time.monotonic() + timeout_s * SCALE
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
        except (sluice.Unreachable, sluice.NotFound) as e:
            v, last = None, e
        if v:
            return v
        time.sleep(poll)
    raise Failure(f"{what}: not within {timeout_s * SCALE:.0f} s" + (f" (last: {last})" if last else ""))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Procs:
    """Every process a test starts; stop_all() ends each by its PID."""

    def __init__(self, tmp, bin_dir):
        self.tmp = tmp
        self.bin_dir = bin_dir
        self.procs = []
        self.logs = {}

    def spawn(self, name, argv, env=None):
        log = open(os.path.join(self.tmp, f"{name}.log"), "ab")
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=full_env,
                             start_new_session=True, cwd=self.tmp)
        log.close()
        self.procs.append(p)
        self.logs[p.pid] = os.path.join(self.tmp, f"{name}.log")
        return p

    def broker(self, name="broker", port=None, extra=(), state=None, heartbeat_ms=300):
        """(process, endpoint): a broker on 127.0.0.1 (port: free, or this one)."""
        endpoint_file = os.path.join(self.tmp, f"{name}.endpoint")
        if os.path.exists(endpoint_file):
            os.unlink(endpoint_file)
        ep = f"tcp://127.0.0.1:{port}" if port else "tcp://127.0.0.1:*"
        p = self.spawn(name, [os.path.join(self.bin_dir, "sluice-broker"), "--endpoint", ep,
                              "--endpoint-file", endpoint_file, "--http", "off",
                              "--state", state or os.path.join(self.tmp, "state.sqlite"),
                              "--heartbeat-ms", str(heartbeat_ms)] + list(extra))
        deadline = time.monotonic() + 60 * SCALE
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise Failure(f"the broker exited at start with {p.returncode}: {self.tail(p)}")
            try:
                with open(endpoint_file) as f:
                    endpoint = f.read().strip()
                if endpoint.startswith("tcp://") and endpoint.rsplit(":", 1)[-1].isdigit():
                    return p, endpoint
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise Failure("the broker wrote no endpoint file in time")

    def sdk_worker(self, name, module, endpoint, extra=(), env=None):
        """`python3 -m sluice.worker MODULE` with the SDK and tests/python on PYTHONPATH."""
        e = {"PYTHONPATH": os.pathsep.join([SDK, HERE]), "SLUICE_BROKER": endpoint}
        e.update(env or {})
        return self.spawn(name, [sys.executable, "-m", "sluice.worker", module] + list(extra), env=e)

    def cpp_worker(self, name, endpoint, extra=()):
        return self.spawn(name, [os.path.join(self.bin_dir, "sluice-worker"), "--broker", endpoint] + list(extra))

    def sluice(self, *args, env=None, check_rc=True):
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run([os.path.join(self.bin_dir, "sluice")] + list(args), capture_output=True, text=True,
                           env=e, timeout=120 * SCALE)
        if check_rc and r.returncode != 0:
            raise Failure(f"sluice {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
        return r

    @staticmethod
    def kill(p, sig=signal.SIGKILL):
        if p.poll() is None:
            os.killpg(p.pid, sig) if sig == signal.SIGKILL else p.send_signal(sig)
        if sig == signal.SIGKILL:
            p.wait()

    def tail(self, p, n=3000):
        try:
            with open(self.logs[p.pid], "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except (KeyError, OSError):
            return ""

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20 * SCALE
        for p in self.procs:
            left = max(0.1, deadline - time.monotonic())
            try:
                p.wait(timeout=left)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def dump(self):
        for p in self.procs:
            sys.stderr.write(f"--- {self.logs.get(p.pid)} (pid {p.pid}, rc {p.poll()}):\n{self.tail(p)}\n")


def run_main(name, body):
    """Runs body(procs) in a temp folder; prints 'N passed'; exit code."""
    import argparse
    import shutil
    import tempfile
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True, help="where sluice-broker, sluice-worker and sluice are")
    args = ap.parse_args()
    for b in ("sluice-broker", "sluice-worker", "sluice"):
        if not os.access(os.path.join(args.bin_dir, b), os.X_OK):
            print(f"FAIL: no {b} in {args.bin_dir}", file=sys.stderr)
            return 1
    tmp = tempfile.mkdtemp(prefix=f"sluice-{name}-")
    procs = Procs(tmp, args.bin_dir)
    try:
        passed = body(procs)
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        procs.stop_all()
        procs.dump()
        print(f"(kept {tmp})", file=sys.stderr)
        return 1
    except BaseException:
        procs.stop_all()
        procs.dump()
        print(f"(kept {tmp})", file=sys.stderr)
        raise
    procs.stop_all()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, 0 failed")
    return 0
