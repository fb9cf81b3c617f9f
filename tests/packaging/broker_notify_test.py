#!/usr/bin/python3
"""sluice-broker speaks systemd's readiness protocol (Type=notify).

systemd gives a Type=notify service a unix datagram socket in $NOTIFY_SOCKET
and counts the service as started only when "READY=1" arrives on it; units
ordered After= it (the workers) start then. This test stands in for systemd:

1. It binds a unix datagram socket (with SO_PASSCRED, as systemd does) and
   starts sluice-broker with NOTIFY_SOCKET pointing at it, on a free port
   (--endpoint tcp://127.0.0.1:* --endpoint-file) in a temp folder.
2. "READY=1" must arrive, from the broker's main PID (the unit says
   NotifyAccess=main), and by then the broker must listen: the endpoint file
   is written and a TCP connection to its port is accepted.
3. After SIGTERM, "STOPPING=1" must arrive and the broker exit 0.

Every process started is stopped by PID. Exit 77 (skipped) when the broker
is not built.

Usage: broker_notify_test.py BIN_DIR
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Fail(Exception):
    pass


class NotifySocket:
    """The socket systemd would listen on: datagrams with the sender's credentials."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(path)
        self.received = []  # (pid or None, text)

    def wait_for(self, line, timeout, proc):
        """Returns the pid of the datagram holding the line `line` (e.g. READY=1)."""
        deadline = time.time() + timeout
        while True:
            for pid, text in self.received:
                if line in text.split("\n"):
                    return pid
            left = deadline - time.time()
            if left <= 0:
                raise Fail("no %s within %ds; received %r" % (line, timeout, [t for _, t in self.received]))
            if proc.poll() is not None and not self._readable(0):
                raise Fail("the broker exited (%d) before sending %s; received %r"
                           % (proc.returncode, line, [t for _, t in self.received]))
            if self._readable(min(left, 0.2)):
                self._receive()

    def _readable(self, timeout):
        self.sock.settimeout(timeout)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
            return True
        except (socket.timeout, BlockingIOError):
            return False

    def _receive(self):
        ucred = struct.calcsize("3i")
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
        pid = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:ucred])[0]
        text = data.decode("utf-8", "replace")
        print("notify from pid %s: %r" % (pid, text))
        self.received.append((pid, text))

    def close(self):
        self.sock.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    broker = os.path.join(os.path.abspath(sys.argv[1]), "sluice-broker")
    if not os.access(broker, os.X_OK):
        print("skipped: %s is not built" % broker)
        return SKIP

    tmp = tempfile.mkdtemp(prefix="sluice-notify-")
    notify = NotifySocket(os.path.join(tmp, "notify.sock"))
    endpoint_file = os.path.join(tmp, "endpoint")
    log_path = os.path.join(tmp, "broker.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_") and k != "ALERT_WEBHOOK_URL"}
    env["NOTIFY_SOCKET"] = os.path.join(tmp, "notify.sock")
    argv = [broker, "--endpoint", "tcp://127.0.0.1:*", "--endpoint-file", endpoint_file,
            "--state", os.path.join(tmp, "state.sqlite")]
    print("start: " + " ".join(argv))
    proc = None
    ok = False
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)

        print("== READY=1 once the broker listens")
        pid = notify.wait_for("READY=1", 30, proc)
        if pid != proc.pid:
            raise Fail("READY=1 came from pid %s, not the broker's main pid %d (NotifyAccess=main)"
                       % (pid, proc.pid))
        if not os.path.exists(endpoint_file):
            raise Fail("READY=1 came before the endpoint file %s was written" % endpoint_file)
        endpoint = open(endpoint_file, encoding="utf-8").read().strip()
        m = re.fullmatch(r"tcp://127\.0\.0\.1:(\d+)", endpoint)
        if not m:
            raise Fail("the endpoint file says %r, not tcp://127.0.0.1:PORT" % endpoint)
        try:
            socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=5).close()
        except OSError as e:
            raise Fail("READY=1 came, but %s refuses a connection: %s" % (endpoint, e))
        print("READY=1 from the broker (pid %d); %s accepts connections" % (proc.pid, endpoint))
        if any("STOPPING=1" in t for _, t in notify.received):
            raise Fail("STOPPING=1 before any SIGTERM")

        print("== STOPPING=1 after SIGTERM")
        proc.send_signal(signal.SIGTERM)
        pid = notify.wait_for("STOPPING=1", 30, proc)
        if pid != proc.pid:
            raise Fail("STOPPING=1 came from pid %s, not the broker's main pid %d" % (pid, proc.pid))
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Fail("the broker did not exit within 30 s of SIGTERM")
        if rc != 0:
            raise Fail("the broker exited %d after SIGTERM, not 0" % rc)
        ok = True
    except Fail as e:
        print("FAIL: %s" % e)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
        if not ok:
            print("---- broker log")
            print(open(log_path, errors="replace").read()[-3000:] if os.path.exists(log_path) else "(none)")
        shutil.rmtree(tmp, ignore_errors=True)
    if ok:
        print("broker notify: ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
