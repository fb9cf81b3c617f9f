#!/usr/bin/python3
"""README "Two hosts", followed literally, in two network namespaces.

The README's shell blocks marked `<!-- two-hosts: A -->` and `<!-- two-hosts:
B -->` run in order, each with bash in its host's namespace and working
folder, with the build's binaries on PATH and HOST_A set to host A's address
on the veth pair between them. `scp HOST:PATH` is a stand-in that copies
between the two folders; `shared/` on B is A's (the NFS mount of the
guide). The block marked `A check` (`sluice workers`) is run until both
workers show up with their keys' names. Then a job submitted with the admin
key runs on a worker. Every process left in the namespaces is killed by PID.
Exit 77 (skipped) where network namespaces cannot be made.

Usage: two_hosts_test.py REPO BIN_DIR
"""
import os
import re
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import Lab, wait_until  # noqa: E402

SCALE = float(os.environ.get("SLUICE_TIMEOUT_SCALE", "1"))
HOST_A, HOST_B = "10.202.0.1", "10.202.0.2"

SCP = r'''#!/bin/sh
# scp stand-in: host-a:PATH and host-b:PATH are folders of the test.
map() {
  case "$1" in
    host-a:*) echo "$SLUICE_TEST_HOST_A_DIR/${1#host-a:}" ;;
    host-b:*) echo "$SLUICE_TEST_HOST_B_DIR/${1#host-b:}" ;;
    *) echo "$1" ;;
  esac
}
src=$(map "$1"); dst=$(map "$2")
exec cp "$src" "$dst"
'''


def readme_blocks(repo):
    text = open(os.path.join(repo, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## Two hosts\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        raise AssertionError("README.md has no section '## Two hosts'")
    blocks = re.findall(r"<!-- two-hosts: ([A-Za-z ]+?) -->\n```sh\n(.*?)^```", m.group(1), re.S | re.M)
    if not blocks:
        raise AssertionError("the README's 'Two hosts' section has no marked blocks")
    return blocks


def main():
    repo, bin_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    blocks = readme_blocks(repo)
    tmp = tempfile.mkdtemp(prefix="sluice-two-hosts-")
    dirs = {"A": os.path.join(tmp, "host-a"), "B": os.path.join(tmp, "host-b")}
    for d in dirs.values():
        os.makedirs(d)
    shim = os.path.join(tmp, "shim")
    os.makedirs(shim)
    with open(os.path.join(shim, "scp"), "w") as f:
        f.write(SCP)
    os.chmod(os.path.join(shim, "scp"), stat.S_IRWXU)
    env = dict(os.environ, PATH=shim + ":" + bin_dir + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
               HOST_A=HOST_A, SLUICE_TEST_HOST_A_DIR=dirs["A"], SLUICE_TEST_HOST_B_DIR=dirs["B"])
    # B mounts A's shared folder.
    os.symlink(os.path.join(dirs["A"], "shared"), os.path.join(dirs["B"], "shared"))

    with Lab("two-hosts") as lab:
        hosts = {"A": lab.host("a"), "B": lab.host("b")}
        lab.link(hosts["A"], HOST_A, hosts["B"], HOST_B)
        try:
            check = None
            for tag, block in blocks:
                who = tag.split()[0]
                if tag.strip() == "A check":
                    check = block
                    continue
                r = hosts[who].run(["bash", "-e", "-c", block], check=False, cwd=dirs[who], env=env,
                                   timeout=120 * SCALE)
                if r.returncode != 0:
                    raise AssertionError("host %s block failed (exit %d):\n%s\n%s%s" %
                                         (who, r.returncode, block, r.stdout, r.stderr))
            if check is None:
                raise AssertionError("the README has no 'A check' block")
            seen = {}

            def both_in():
                r = hosts["A"].run(["bash", "-e", "-c", check], check=False, cwd=dirs["A"], env=env, timeout=60)
                seen["out"] = r.stdout + r.stderr
                rows = [line.split() for line in r.stdout.splitlines()[1:]]
                keyed = {row[0]: row[2] for row in rows if len(row) > 2}
                return keyed.get("lake-a") == "lake-a" and keyed.get("extract-b") == "extract-b"

            try:
                wait_until(both_in, 90 * SCALE, "both workers in `sluice workers`", interval=0.5)
            except AssertionError:
                raise AssertionError("`sluice workers` shows:\n" + seen.get("out", ""))
            print(seen["out"])
            # Work flows: a job submitted on A with the admin key runs.
            admin = ["sluice", "--curve-key", "keys/ops.key", "--broker-key", "keys/broker.pub"]
            r = hosts["A"].run(admin + ["submit", "test.noop"], cwd=dirs["A"], env=env)
            job = r.stdout.strip()
            r = hosts["A"].run(admin + ["wait", job, "--timeout", str(int(120 * SCALE))], check=False,
                               cwd=dirs["A"], env=env)
            if r.returncode != 0:
                raise AssertionError("job %s did not succeed: %s %s" % (job, r.stdout, r.stderr))
            print("ok: the README's two-host walkthrough ran; job %s succeeded" % job)
        except BaseException:
            for who, d in dirs.items():
                for name in sorted(os.listdir(d)):
                    if name.endswith(".log"):
                        with open(os.path.join(d, name), errors="replace") as f:
                            print("--- host %s: %s\n%s" % (who, name, f.read()[-3000:]), file=sys.stderr)
            print("files kept in " + tmp, file=sys.stderr)
            raise


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        print("FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
