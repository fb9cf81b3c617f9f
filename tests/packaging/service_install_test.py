#!/usr/bin/python3
"""README "Running it as a service", followed literally, in a temporary root.

1. The first sh block of that README section runs line by line, with
   /usr/local, /etc and /var/lib moved under a temp root (which starts with
   only /etc/systemd/system, /var/lib and /usr/local) and `cmake --install
   build` taking the build folder under test. `systemctl` is not run (its
   `enable` line says which units and instances to start); `useradd` becomes a
   `mkdir -p` of its --home, and `chown` is left out (no such user in the temp
   root). Every other line runs as written: one that fails fails the test.
2. The broker and the workers then start the way systemd would start the
   installed units: their ExecStart= (specifiers %i %H, $VAR and ${VAR}
   expanded), Environment= and EnvironmentFile=, in their WorkingDirectory=
   (StateDirectory= and ConfigurationDirectory= created first, as systemd
   does, and their $STATE_DIRECTORY / $CONFIGURATION_DIRECTORY set), with
   their UMask=, the same path mapping and each tcp://127.0.0.1:PORT on a free
   port. A Type=notify unit gets a $NOTIFY_SOCKET, and the workers start once
   READY=1 arrives on it (the worker unit is After= the broker's).
   The sandbox itself (ProtectSystem=, SystemCallFilter=, ...) is not
   applied; instead, with ProtectSystem=strict, the files the units' variables
   name and every file the processes write in the temp root must be under a
   StateDirectory= or ReadWritePaths= folder (the only writable ones there).
3. A test.noop job and a run of the default workflow (`coffee`, against the
   generated origin data served on a free port) must succeed, and the run's
   files must be where the units say.

Every process started is stopped by PID. Exit 77 (skipped) when a tool the
test needs is missing.

Usage: service_install_test.py REPO BUILD_DIR
"""
import json
import os
import re
import select
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
WORKFLOW = "coffee"
AS_OF = "2025-06-17"


class Fail(Exception):
    pass


def skip(why):
    print("skipped: " + why)
    sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def readme_install_block(repo):
    """The first ```sh block of the section "## Running it as a service"."""
    text = open(os.path.join(repo, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## Running it as a service\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise Fail("README.md has no section '## Running it as a service'")
    block = re.search(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M)
    if not block:
        raise Fail("the README's service section has no ```sh block")
    return [line for line in block.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]


class Root:
    """A temp folder standing for /: /usr/local, /etc and /var/lib move under it."""

    def __init__(self, path):
        self.path = path

    def map(self, text):
        return re.sub(r"(?<![\w./-])(/usr/local|/etc|/var/lib)(?=[/\s\"':]|$)",
                      lambda m: self.path + m.group(1), text)


def run_install_steps(repo, build, root, lines):
    """Runs the README's lines; returns the units and instances its `systemctl enable` names."""
    enabled = []
    for line in lines:
        for segment in [s.strip() for s in line.split("&&")]:
            words = shlex.split(segment, comments=True)
            if not words:
                continue
            if words[0] == "systemctl":
                print("(not run) " + segment)
                if len(words) > 1 and words[1] == "enable":
                    enabled += [w for w in words[2:] if not w.startswith("-")]
                continue
            if words[0] == "useradd":
                home = None
                for i, w in enumerate(words):
                    if w in ("--home", "--home-dir", "-d") and i + 1 < len(words):
                        home = words[i + 1]
                if home is None:
                    raise Fail("useradd without --home: " + segment)
                command = "mkdir -p " + shlex.quote(root.map(home))
                print("(useradd replaced) " + command)
            elif words[0] == "chown":
                print("(not run: no such user here) " + segment)
                continue
            else:
                command = root.map(segment)
                command = re.sub(r"^cmake --install build(?=\s)", "cmake --install " + shlex.quote(build), command)
                print("$ " + command)
            done = subprocess.run(["bash", "-c", "set -e; " + command], cwd=repo,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if done.returncode != 0:
                raise Fail("README step failed (exit %d): %s\n%s" % (done.returncode, segment, done.stdout))
    return enabled


def parse_unit(path):
    """The [Service] entries of a unit file: {key: [values]} (Environment= may repeat)."""
    entries = {}
    section = None
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]":
            continue
        key, _, value = line.partition("=")
        entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def unit_environment(entries):
    env = {}
    for value in entries.get("Environment", []):
        for assignment in shlex.split(value):
            k, _, v = assignment.partition("=")
            env[k] = v
    for value in entries.get("EnvironmentFile", []):
        optional = value.startswith("-")
        path = value[1:] if optional else value
        if not os.path.exists(path):
            if optional:
                continue
            raise Fail("EnvironmentFile %s is missing" % path)
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, _, v = line.partition("=")
                env[k.strip()] = " ".join(shlex.split(v))
    return env


def exec_start(entries, env, instance):
    """ExecStart= as argv, the way systemd expands it."""
    values = entries.get("ExecStart", [])
    if len(values) != 1:
        raise Fail("not one ExecStart=: %r" % values)
    value = values[0].lstrip("-@:+!")
    specifiers = {"i": instance or "", "I": instance or "", "H": socket.gethostname(), "%": "%"}

    def specifier(m):
        if m.group(1) not in specifiers:
            raise Fail("ExecStart: specifier %%%s is not handled by this test" % m.group(1))
        return specifiers[m.group(1)]

    value = re.sub(r"%(.)", specifier, value)
    argv = []
    for word in shlex.split(value):
        whole = re.fullmatch(r"\$(\w+)", word)
        if whole:  # $VAR alone: split into words; unset or empty: no word
            argv += env.get(whole.group(1), "").split()
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return argv


def unit_directories(entries, root):
    """StateDirectory= and ConfigurationDirectory=: [(env var, [mapped folders])]."""
    found = []
    for key, base, var in (("StateDirectory", "/var/lib", "STATE_DIRECTORY"),
                           ("ConfigurationDirectory", "/etc", "CONFIGURATION_DIRECTORY")):
        folders = [root.map(base + "/" + name) for value in entries.get(key, []) for name in value.split()]
        if folders:
            found.append((var, folders))
    return found


def writable_folders(entries, root):
    """With ProtectSystem=strict, the folders a unit may write (mapped): its
    StateDirectory= and ReadWritePaths= (its private /tmp is outside the root).
    None when the unit does not make the rest read-only."""
    if entries.get("ProtectSystem", [""])[-1] != "strict":
        return None
    folders = [root.map("/var/lib/" + name) for value in entries.get("StateDirectory", []) for name in value.split()]
    for value in entries.get("ReadWritePaths", []):
        folders += [path.lstrip("-+") for path in value.split()]
    return folders


def under(path, folders):
    path = os.path.abspath(path)
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


class NotifySocket:
    """What systemd gives a Type=notify service: a datagram socket in $NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def wait_ready(self, timeout, procs):
        deadline = time.time() + timeout
        while time.time() < deadline:
            procs.check_alive()
            if select.select([self.sock], [], [], 0.2)[0]:
                text = self.sock.recv(4096).decode("utf-8", "replace")
                print("notify: %r" % text)
                if "READY=1" in text.split("\n"):
                    return
        raise Fail("no READY=1 on $NOTIFY_SOCKET within %ds" % timeout)


class Processes:
    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.started = []  # (name, Popen, log path)

    def start(self, name, argv, cwd, env, umask=None):
        log = os.path.join(self.log_dir, name + ".log")
        print("start %s: %s (in %s%s)" % (name, " ".join(shlex.quote(a) for a in argv), cwd,
                                          "" if umask is None else ", umask %04o" % umask))
        with open(log, "wb") as out:
            p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT,
                                 preexec_fn=None if umask is None else (lambda: os.umask(umask)))
        self.started.append((name, p, log))
        return p

    def check_alive(self):
        for name, p, log in self.started:
            if p.poll() is not None:
                raise Fail("%s exited (%d):\n%s" % (name, p.returncode, open(log, errors="replace").read()[-3000:]))

    def tails(self):
        for name, _, log in self.started:
            print("---- %s (%s)" % (name, log))
            print(open(log, errors="replace").read()[-2000:])

    def stop(self):
        for _, p, _ in reversed(self.started):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 40
        for _, p, _ in self.started:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    repo, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for tool in ("cmake", "bash"):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            skip(tool + " is missing")
    for binary in ("sluice-broker", "sluice-worker", "sluice"):
        if not os.access(os.path.join(build, "bin", binary), os.X_OK):
            skip("%s/bin/%s is not built" % (build, binary))

    tmp = tempfile.mkdtemp(prefix="sluice-service-install-")
    root = Root(tmp)
    logs = os.path.join(tmp, "test-logs")
    os.makedirs(logs)
    procs = Processes(logs)
    # What any Debian system has; the rest (/etc/sluice, /var/lib/sluice, what
    # is under /usr/local) is the README's to make.
    for folder in ("/etc/systemd/system", "/var/lib", "/usr/local"):
        os.makedirs(root.map(folder))
    ok = False
    try:
        print("== the README's install steps, in %s" % tmp)
        enabled = run_install_steps(repo, build, root, readme_install_block(repo))
        broker_units = [u for u in enabled if u.split(".service")[0] == "sluice-broker"]
        workers = [u.split(".service")[0].split("@", 1)[1] for u in enabled if u.startswith("sluice-worker@")]
        if not broker_units or not workers:
            raise Fail("the README's `systemctl enable` starts no broker or no worker: %r" % enabled)

        print("== the installed units")
        unit_dir = root.map("/etc/systemd/system")
        ports = {}

        def load(name):
            path = os.path.join(unit_dir, name)
            if not os.path.exists(path):
                raise Fail("the README's steps did not install %s" % path)
            mapped = os.path.join(logs, name)
            text = root.map(open(path, encoding="utf-8").read())
            text = re.sub(r"tcp://127\.0\.0\.1:(\d+)",
                          lambda m: "tcp://127.0.0.1:%d" % ports.setdefault(m.group(1), free_port()), text)
            open(mapped, "w", encoding="utf-8").write(text)
            return parse_unit(mapped)

        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("SLUICE_") and k not in
                    ("LANDING_DIR", "LAKEHOUSE_PATH", "SERVING_DB_PATH", "ALERT_WEBHOOK_URL")}

        written_to = []  # (unit, folders it may write, or None)

        def start(name, entries, instance, extra_env=None):
            env = unit_environment(entries)
            argv = exec_start(entries, env, instance)
            if not os.access(argv[0], os.X_OK):
                raise Fail("%s: ExecStart's %s is not installed" % (name, argv[0]))
            # systemd creates these (owned by User=) before it starts the unit.
            for var, folders in unit_directories(entries, root):
                for folder in folders:
                    os.makedirs(folder, exist_ok=True)
                env.setdefault(var, ":".join(folders))
            cwd = entries.get("WorkingDirectory", ["/"])[-1]
            if not os.path.isdir(cwd):
                raise Fail("%s: WorkingDirectory %s does not exist (systemd would not start it)" % (name, cwd))
            writable = writable_folders(entries, root)
            if writable is not None:
                for var in ("SLUICE_STATE", "LANDING_DIR", "LAKEHOUSE_PATH", "SERVING_DB_PATH"):
                    if var in env and not under(os.path.join(cwd, env[var]), writable):
                        raise Fail("%s: %s=%s is outside what ProtectSystem=strict leaves writable (%s)"
                                   % (name, var, env[var], " ".join(sorted(set(writable)))))
            written_to.append((name, writable))
            umask = entries.get("UMask", [None])[-1]
            procs.start(name, argv, cwd, dict(base_env, **env, **(extra_env or {})),
                        None if umask is None else int(umask, 8))
            return env

        started_at = time.time()
        broker_entries = load("sluice-broker.service")
        if broker_entries.get("Type", ["simple"])[-1] == "notify":
            notify = NotifySocket(os.path.join(logs, "notify.sock"))
            broker_env = start("broker", broker_entries, None, {"NOTIFY_SOCKET": notify.path})
            notify.wait_ready(60, procs)
            notify.sock.close()  # later messages (STOPPING=1) go nowhere, as sd_notify allows
        else:
            broker_env = start("broker", broker_entries, None)
        endpoint = broker_env.get("SLUICE_BROKER")
        if not endpoint:
            raise Fail("sluice-broker.service sets no SLUICE_BROKER")
        sluice = root.map("/usr/local/bin/sluice")

        def cli(*args, timeout=60):
            return subprocess.run([sluice, "--broker", endpoint, *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout)

        deadline = time.time() + 30
        while True:
            procs.check_alive()
            if cli("--rpc-timeout", "1", "stats").returncode == 0:
                break
            if time.time() > deadline:
                raise Fail("the broker does not answer on " + endpoint)
            time.sleep(0.2)
        worker_unit = load("sluice-worker@.service")
        for instance in workers:
            worker_env = start("worker-" + instance, worker_unit, instance)
            if worker_env.get("SLUICE_BROKER") != endpoint:
                raise Fail("the worker unit's SLUICE_BROKER %s is not the broker's %s"
                           % (worker_env.get("SLUICE_BROKER"), endpoint))
        # Every worker unit's process has connected: the broker lists them.
        deadline = time.time() + 60
        while True:
            procs.check_alive()
            r = cli("--json", "--rpc-timeout", "5", "workers")
            try:
                connected = len(json.loads(r.stdout)["workers"]) if r.returncode == 0 else 0
            except (ValueError, KeyError, TypeError):
                connected = 0
            if connected >= len(workers):
                break
            if time.time() > deadline:
                raise Fail("%d of %d workers connected: %s" % (connected, len(workers), r.stdout))
            time.sleep(0.1)

        print("== a test.noop job")
        r = cli("submit", "test.noop")
        if r.returncode != 0:
            raise Fail("submit: " + r.stdout)
        job = r.stdout.strip()
        r = cli("wait", job, "--timeout", "60", timeout=90)
        if r.returncode != 0:
            raise Fail("the job did not succeed: " + r.stdout + cli("status", job).stdout)

        print("== a run of the default workflow (%s)" % WORKFLOW)
        origin_dir = os.path.join(tmp, "origin")
        gen = subprocess.run(["/usr/bin/python3", os.path.join(repo, "pipeline/default/generate_data.py"),
                              origin_dir, "--as-of", AS_OF], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        if gen.returncode != 0:
            raise Fail("generate_data.py: " + gen.stdout)
        port = free_port()
        procs.start("origin", ["/usr/bin/python3", "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", origin_dir], tmp, base_env)
        origin = "http://127.0.0.1:%d" % port
        deadline = time.time() + 20
        while True:
            procs.check_alive()
            try:
                urllib.request.urlopen(origin + "/cot/cot_softs_history.csv", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise Fail("the origin does not answer on " + origin)
                time.sleep(0.1)
        r = cli("run", WORKFLOW, "--param", "origin=" + origin, "--param", "date=" + AS_OF, "--wait",
                "--timeout", "600", timeout=660)
        print(r.stdout)
        if r.returncode != 0:
            raise Fail("`sluice run %s --wait` exited %d" % (WORKFLOW, r.returncode))
        procs.check_alive()

        print("== what the processes wrote, where the units let them")
        allowed = [f for _, folders in written_to if folders is not None for f in folders]
        if all(folders is not None for _, folders in written_to):
            outside = []
            for folder, dirs, files in os.walk(tmp):
                if under(folder, [logs, origin_dir]):
                    dirs[:] = []
                    continue
                for f in files:
                    path = os.path.join(folder, f)
                    if os.lstat(path).st_mtime >= started_at and not under(path, allowed):
                        outside.append(path)
            if outside:
                raise Fail("written outside the units' writable folders (%s): %s"
                           % (" ".join(sorted(set(allowed))), " ".join(outside)))
            print("all under %s" % " ".join(sorted(set(allowed))))

        print("== the run's files, where the units say")
        worker_env = unit_environment(worker_unit)
        serving = worker_env["SERVING_DB_PATH"]
        if not serving.startswith(tmp + "/"):
            raise Fail("the serving DB %s is outside the temp root" % serving)
        db = sqlite3.connect("file:%s?mode=ro" % serving, uri=True)
        rows = db.execute("SELECT count(*) FROM serving_coffee_balance").fetchone()[0]
        db.close()
        if rows <= 0:
            raise Fail("serving_coffee_balance is empty")
        landed = sum(len(files) for _, _, files in os.walk(worker_env["LANDING_DIR"]))
        if landed != 4:
            raise Fail("%d files landed in %s, not 4" % (landed, worker_env["LANDING_DIR"]))
        print("serving_coffee_balance: %d rows; %d landing files" % (rows, landed))
        ok = True
    except Fail as e:
        print("FAIL: %s" % e)
    finally:
        procs.stop()
        if not ok:
            procs.tails()
        if ok or not os.environ.get("SLUICE_KEEP_TEMP"):
            subprocess.run(["rm", "-rf", tmp])
    if ok:
        print("service install: ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
