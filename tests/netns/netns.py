"""Network namespaces for tests: hosts with their own network stack, joined
by veth pairs, on one machine; and the processes started in them.

    with Lab("part") as lab:               # skips (exit 77) where namespaces cannot be made
        b = lab.host("b")
        w = lab.host("w1")
        lab.link(b, "10.201.1.1", w, "10.201.1.2")
        p = lab.start(w, ["sluice-worker", ...], "worker-1")
        lab.cut(b, w); lab.restore(b, w)

Every process started is killed by PID and every namespace deleted on exit
(also on a failure). Needs root and iproute2's `ip`.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77


def skip(why):
    print("skipped: " + why, flush=True)
    sys.exit(SKIP)


def run(argv, check=True, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r


class Host:
    def __init__(self, lab, name):
        self.lab = lab
        self.name = name
        self.ns = "sl%d-%s" % (os.getpid(), name)
        self.links = {}  # peer host name -> (own interface, peer interface)

    def exec_prefix(self):
        return ["ip", "netns", "exec", self.ns]

    def run(self, argv, check=True, **kw):
        return run(self.exec_prefix() + list(argv), check=check, **kw)


class Lab:
    def __init__(self, tag):
        self.tag = tag
        self.hosts = []
        self.procs = []  # (name, Popen, log path)
        self.ip = shutil.which("ip") or ("/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else None)

    def __enter__(self):
        if os.geteuid() != 0:
            skip("network namespaces need root")
        if self.ip is None:
            skip("iproute2's `ip` is not installed")
        probe = "sl%d-probe" % os.getpid()
        r = run([self.ip, "netns", "add", probe], check=False)
        if r.returncode != 0:
            skip("cannot create a network namespace here: " + r.stderr.strip())
        # `ip netns exec` also needs to remount / and /sys (not in a chroot).
        r = run([self.ip, "netns", "exec", probe, self.ip, "link", "set", "lo", "up"], check=False)
        run([self.ip, "netns", "del", probe], check=False)
        if r.returncode != 0:
            skip("cannot run a program in a network namespace here: " + r.stderr.strip())
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def host(self, name):
        h = Host(self, name)
        run([self.ip, "netns", "add", h.ns])
        self.hosts.append(h)
        h.run(["ip", "link", "set", "lo", "up"])
        return h

    def link(self, a, addr_a, b, addr_b, prefix=24):
        """A veth pair between hosts a and b, with an address at each end."""
        ia = ("v%d%s" % (len(a.links), b.name))[:15]
        ib = ("v%d%s" % (len(b.links), a.name))[:15]
        run([self.ip, "link", "add", ia, "netns", a.ns, "type", "veth", "peer", "name", ib, "netns", b.ns])
        a.run(["ip", "addr", "add", "%s/%d" % (addr_a, prefix), "dev", ia])
        b.run(["ip", "addr", "add", "%s/%d" % (addr_b, prefix), "dev", ib])
        a.run(["ip", "link", "set", ia, "up"])
        b.run(["ip", "link", "set", ib, "up"])
        a.links[b.name] = (ia, ib)
        b.links[a.name] = (ib, ia)

    def cut(self, a, b):
        """Takes the link down at a's end (b's end loses its carrier)."""
        a.run(["ip", "link", "set", a.links[b.name][0], "down"])

    def restore(self, a, b):
        a.run(["ip", "link", "set", a.links[b.name][0], "up"])

    def start(self, host, argv, name, cwd=None, env=None):
        log = open(os.path.join(cwd or os.getcwd(), name + ".log"), "wb")
        p = subprocess.Popen(host.exec_prefix() + list(argv), stdout=log, stderr=subprocess.STDOUT,
                             cwd=cwd, env=env, start_new_session=True)
        self.procs.append((name, p, log.name))
        return p

    def log(self, name):
        for n, _, path in self.procs:
            if n == name:
                with open(path, "rb") as f:
                    return f.read().decode("utf-8", "replace")
        return ""

    def describe(self):
        out = []
        for n, p, path in self.procs:
            with open(path, "rb") as f:
                tail = f.read()[-3000:].decode("utf-8", "replace")
            out.append("--- %s (pid %d, exit %s)\n%s" % (n, p.pid, p.poll(), tail))
        return "\n".join(out)

    def stop(self, proc, sig=signal.SIGTERM, timeout=30):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return proc.returncode

    def close(self):
        for _, p, _ in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for h in self.hosts:
            self.kill_namespace(h)
            run([self.ip, "netns", "del", h.ns], check=False)
        self.hosts = []

    def pids(self, host):
        """Every process in the host's namespace (ones a shell put in the background too)."""
        r = run([self.ip, "netns", "pids", host.ns], check=False)
        return [int(p) for p in r.stdout.split()]

    def kill_namespace(self, host, sig=signal.SIGKILL):
        for pid in self.pids(host):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while self.pids(host) and time.monotonic() < deadline:
            time.sleep(0.05)


def wait_until(cond, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))
