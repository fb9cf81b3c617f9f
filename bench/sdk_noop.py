#!/usr/bin/python3
"""No-op jobs per second through a worker of the Python SDK
(producers/python), beside sluice-worker, on one broker.

For each worker type and round: a fresh broker (temp state), one worker
with --slots 4, then N no-op jobs submitted in batches of 1,000 by
sluice.Client; the time from the first SUBMIT to the last job's end (STATS
`jobs.succeeded` reaching N). Prints one JSON line per round and the
median per type.

    /usr/bin/python3 bench/sdk_noop.py --bin-dir build/bin [--jobs 5000] [--rounds 3]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SDK = os.path.join(ROOT, "producers", "python")
sys.path.insert(0, SDK)
import sluice  # noqa: E402

NOOP_MODULE = '''import sluice
worker = sluice.Worker()

@worker.kind("py.noop")
def noop(job):
    return None
'''


def start_broker(bin_dir, tmp):
    ep_file = os.path.join(tmp, "ep")
    p = subprocess.Popen([os.path.join(bin_dir, "sluice-broker"), "--endpoint", "tcp://127.0.0.1:*",
                          "--endpoint-file", ep_file, "--http", "off", "--state", os.path.join(tmp, "s.sqlite")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(3000):
        if os.path.exists(ep_file):
            ep = open(ep_file).read().strip()
            if ep.rsplit(":", 1)[-1].isdigit():
                return p, ep
        time.sleep(0.01)
    raise RuntimeError("no broker endpoint")


def one_round(kind_label, bin_dir, jobs, prefetch):
    tmp = tempfile.mkdtemp(prefix="sluice-bench-sdk-")
    broker, ep = start_broker(bin_dir, tmp)
    if kind_label == "cpp":
        worker = subprocess.Popen([os.path.join(bin_dir, "sluice-worker"), "--broker", ep, "--slots", "4"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        kind = "test.noop"
    else:
        with open(os.path.join(tmp, "noop_kinds.py"), "w") as f:
            f.write(NOOP_MODULE)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([SDK, tmp]))
        worker = subprocess.Popen([sys.executable, "-m", "sluice.worker", "noop_kinds", "--broker", ep,
                                   "--slots", "4", "--prefetch", str(prefetch), "--log-level", "WARNING"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        kind = "py.noop"
    c = sluice.Client(ep, timeout=60)
    try:
        while not c.workers():
            time.sleep(0.02)
        t0 = time.monotonic()
        for i in range(0, jobs, 1000):
            c.submit_many([{"kind": kind} for _ in range(min(1000, jobs - i))])
        while c.stats().jobs.get("succeeded", 0) < jobs:
            time.sleep(0.01)
        return jobs / (time.monotonic() - t0)
    finally:
        c.close()
        for p in (worker, broker):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        subprocess.run(["rm", "-rf", tmp])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    setups = [("cpp", 0), ("sdk", 0), ("sdk", 64)]
    results = {}
    for r in range(args.rounds):
        for label, prefetch in setups:
            name = label if label == "cpp" else f"sdk-prefetch{prefetch}"
            rate = one_round(label, args.bin_dir, args.jobs, prefetch)
            results.setdefault(name, []).append(rate)
            print(json.dumps({"round": r, "worker": name, "jobs": args.jobs, "jobs_per_s": round(rate)}), flush=True)
    for name, rates in results.items():
        print(json.dumps({"worker": name, "median_jobs_per_s": round(statistics.median(rates)),
                          "min": round(min(rates)), "max": round(max(rates))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
