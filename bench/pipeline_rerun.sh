#!/usr/bin/env bash
# The default pipeline's first run beside its second (nothing new at the
# origin: every extract answers 304, no file loads, no model builds, no
# export is published), through scripts/pipeline.sh on the built binaries.
# Each round uses a fresh data folder. Prints, per round and as medians, the
# run's wall time (`sluice run --wait`) and the transform and export stages'
# durations (their jobs' last attempts).
#
# Usage: bench/pipeline_rerun.sh [--rounds N] [--as-of YYYY-MM-DD]
# Binaries from $SLUICE_BIN_DIR (default build/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
as_of=2025-06-17
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --as-of) as_of=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "pipeline_rerun.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# "run_s transform_s export_s built" of the run whose output is in $1/run.
measure() {
  /usr/bin/python3 - "$1" <<'PY'
import json, re, sys
d = sys.argv[1]
out = open(d + "/out").read()
run_s = float(re.search(r"the coffee run took ([0-9.]+) s", out).group(1))
def stage(name):
    job = json.load(open("%s/run/job-%s.json" % (d, name)))
    a = job["attempts"][-1]
    return (a["finished_ms"] - a["started_ms"]) / 1000.0, job.get("outputs") or {}
t, tout = stage("transform")
e, _ = stage("export")
built = sum(1 for m in tout.get("models", []) if m.get("status") == "built")
print("%.2f %.3f %.3f %d" % (run_s, t, e, built))
PY
}

for r in $(seq 1 "$rounds"); do
  data=$(mktemp -d /tmp/sluice-bench-rerun-XXXXXX)
  for n in 1 2; do
    bash scripts/pipeline.sh --data "$data" --as-of "$as_of" >"$data/out" 2>&1 ||
      { tail -30 "$data/out"; rm -rf "$data"; exit 1; }
    line="$n $(measure "$data")"
    echo "round $r run $n: $line" >&2
    echo "$line" >>"$results"
  done
  rm -rf "$data"
done

/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def med(run, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == run)
print("| run | wall s (sluice run --wait) | transform s | export s | models built |")
print("|---|---|---|---|---|")
for run, name in (("1", "first (everything new)"), ("2", "second (nothing new)")):
    print("| %s | %.2f | %.3f | %.3f | %d |" % (name, med(run, 1), med(run, 2), med(run, 3), med(run, 4)))
print("second / first: wall %.2f, transform %.2f" % (med("2", 1) / med("1", 1), med("2", 2) / med("1", 2)))
PY
