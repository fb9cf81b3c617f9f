#!/usr/bin/env bash
# A short demo on the built binaries (build/bin): broker + 2 workers + a few
# hundred jobs, then a summary. Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SLUICE_BIN_DIR:-build/bin}
dir=data/demo
rm -rf "$dir" && mkdir -p "$dir"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$bin/sluice-broker" --endpoint 'tcp://127.0.0.1:*' --endpoint-file "$dir/endpoint" \
  --state "$dir/state.sqlite" --backoff 0.2s 2>"$dir/broker.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$dir/endpoint" ] && break; sleep 0.05; done
export SLUICE_BROKER=$(cat "$dir/endpoint")
echo "broker listening on $SLUICE_BROKER (state: $dir/state.sqlite)"

"$bin/sluice-worker" --slots 4 --worker-id demo-worker-1 --allow-exec 2>"$dir/worker1.log" &
pids+=($!)
"$bin/sluice-worker" --slots 4 --worker-id demo-worker-2 2>"$dir/worker2.log" &
pids+=($!)

# 300 no-ops, 40 short sleeps, 20 that fail once then succeed, 5 commands
# (only worker 1 may run them), 3 that never succeed and end dead.
{
  for i in $(seq 1 300); do echo '{"kind": "test.noop"}'; done
  for i in $(seq 1 40); do echo "{\"kind\": \"test.sleep\", \"params\": {\"ms\": $(( (i % 8) * 25 ))}}"; done
  for i in $(seq 1 20); do echo '{"kind": "test.fail", "params": {"succeed_on": 2}}'; done
  for i in $(seq 1 5); do echo "{\"kind\": \"exec\", \"params\": {\"command\": \"sh\", \"args\": [\"-c\", \"echo hello from job $i; uname -s\"]}}"; done
  for i in $(seq 1 3); do echo '{"kind": "test.fail", "params": {"succeed_on": 99}, "max_attempts": 3}'; done
} >"$dir/jobs.ndjson"

start=$(date +%s.%N)
"$bin/sluice" submit-many <"$dir/jobs.ndjson" >"$dir/ids.txt"
echo "submitted $(wc -l <"$dir/ids.txt") jobs"
set +e
"$bin/sluice" wait --timeout 120 $(cat "$dir/ids.txt") >/dev/null
rc=$?
set -e
end=$(date +%s.%N)
case $rc in
  0|1) ;;  # 1: some jobs ended dead, as the demo intends
  *) echo "demo: waiting for the jobs failed (exit $rc); see $dir/*.log" >&2; exit 1 ;;
esac

echo
echo "== jobs by kind and final state"
sqlite3 -column -header "$dir/state.sqlite" \
  "SELECT kind, state, COUNT(*) AS jobs, SUM(attempt) AS attempts FROM jobs GROUP BY kind, state ORDER BY kind, state"
echo
echo "== attempts by outcome"
sqlite3 -column -header "$dir/state.sqlite" \
  "SELECT outcome, COUNT(*) AS attempts FROM attempts GROUP BY outcome ORDER BY outcome"
echo
echo "== a dead job, as 'sluice status' shows it"
dead=$(sqlite3 "$dir/state.sqlite" "SELECT id FROM jobs WHERE state='dead' LIMIT 1")
"$bin/sluice" status "$dead" || true
echo
echo "== an exec job's output"
ex=$(sqlite3 "$dir/state.sqlite" "SELECT id FROM jobs WHERE kind='exec' LIMIT 1")
sqlite3 "$dir/state.sqlite" "SELECT stdout_tail FROM attempts WHERE job_id='$ex'"
echo
echo "== workers"
"$bin/sluice" workers
echo
total=$(wc -l <"$dir/ids.txt")
awk -v s="$start" -v e="$end" -v n="$total" 'BEGIN { printf "%d jobs finished in %.2f s\n", n, e - s }'
succeeded=$(sqlite3 "$dir/state.sqlite" "SELECT COUNT(*) FROM jobs WHERE state='succeeded'")
dead_n=$(sqlite3 "$dir/state.sqlite" "SELECT COUNT(*) FROM jobs WHERE state='dead'")
echo "summary: $succeeded succeeded, $dead_n dead (expected: $((total - 3)) and 3)"
[ "$succeeded" -eq $((total - 3)) ] && [ "$dead_n" -eq 3 ]
