#!/usr/bin/env bash
# Losing the host: the default pipeline runs with SLUICE_BACKUP (the broker
# snapshots its state, the workflow's backup stage the lakehouse). A broker
# on that state takes one more snapshot and is SIGKILLed; the data folder is
# deleted. A broker on a new folder with --restore-if-missing knows every
# run and job of the snapshot; `sluice restore --lakehouse` brings back a
# lakehouse whose tables match; and a new run works on the restored host.
# Usage: restore_s3_test.sh REPO. Exit 77 (skipped) where nginx, sqlite3,
# curl, node or s3rver is missing.
set -euo pipefail
repo=$1
bin=${SLUICE_BIN_DIR:?SLUICE_BIN_DIR is not set}
skip() { echo "SKIPPED: $*"; exit 77; }
for tool in /usr/sbin/nginx /usr/bin/python3 "$(command -v sqlite3 || true)" "$(command -v curl || true)"; do
  [ -n "$tool" ] && [ -x "$tool" ] || skip "a tool is missing ($tool)"
done
work=$(mktemp -d /tmp/sluice-restore-s3-XXXXXX)
. "$repo/tests/s3/front.sh"
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && { kill -KILL "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; }
  s3_front_stop
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "---- $f"; tail -20 "$f"; done; exit 1; }
s3_front_start "$work" sluice-backup
export SLUICE_BACKUP=s3://sluice-backup/site
data=$work/host1

counts() {  # DB: "table rows" per table, sorted
  sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name" | while read -r t; do
    echo "$t $(sqlite3 "$1" "SELECT count(*) FROM \"$t\"")"
  done
}
start_broker() {  # STATE LOG [ARGS...]: a broker on a free port; its endpoint in $work/endpoint
  local state=$1 log=$2
  shift 2
  rm -f "$work/endpoint"
  "$bin/sluice-broker" --state "$state" --endpoint 'tcp://127.0.0.1:*' --endpoint-file "$work/endpoint" \
    --http off "$@" 2>"$log" &
  broker_pid=$!
  for _ in $(seq 1 300); do
    [ -s "$work/endpoint" ] && break
    kill -0 "$broker_pid" 2>/dev/null || fail "the broker exited"
    sleep 0.1
  done
  [ -s "$work/endpoint" ] || fail "the broker wrote no endpoint"
  export SLUICE_BROKER=$(cat "$work/endpoint")
}

echo "== 1. the pipeline on host 1, with backups"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" --data "$data" --as-of 2025-06-17 >"$work/run1.log" 2>&1 ||
  fail "the first run failed"
grep -Eq '^backup +j[0-9]+ +succeeded .* lakehouse snapshot [0-9]{8}T[0-9]{6}Z' "$work/run1.log" ||
  fail "the backup stage took no lakehouse snapshot"
counts "$data/lakehouse.sqlite" >"$work/lakehouse.before"
jobs_before=$(sqlite3 "$data/state.sqlite" "SELECT count(*) FROM jobs")
[ "$jobs_before" -ge 7 ] || fail "only $jobs_before jobs"

echo "== 2. a broker on host 1 snapshots its state, then the host is lost"
start_broker "$data/state.sqlite" "$work/broker1.log" --backup-interval 1s
for _ in $(seq 1 600); do
  grep -q "backup: state database snapshot" "$work/broker1.log" && break
  sleep 0.1
done
grep -q "backup: state database snapshot" "$work/broker1.log" || fail "no state snapshot within 60 s"
kill -KILL "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
broker_pid=""
rm -rf "$data"

echo "== 3. a new host restores the state on start"
new=$work/host2
mkdir -p "$new"
start_broker "$new/state.sqlite" "$work/broker2.log" --restore-if-missing
grep -q "restored the state database" "$work/broker2.log" || fail "the broker did not restore"
"$bin/sluice" --json runs --workflow coffee >"$work/runs.json"
/usr/bin/python3 - "$work/runs.json" <<'PY' || fail "the restored broker does not know the run"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert len(runs) == 1 and runs[0]["state"] == "succeeded", runs
PY
jobs_after=$("$bin/sluice" --json list --limit 1000 | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["jobs"]))')
[ "$jobs_after" -eq "$jobs_before" ] || fail "the restored broker knows $jobs_after jobs, not $jobs_before"
kill -TERM "$broker_pid"
wait "$broker_pid" 2>/dev/null || true
broker_pid=""

echo "== 4. the lakehouse comes back with sluice restore"
"$bin/sluice" restore "$SLUICE_BACKUP" --lakehouse "$new/lakehouse.sqlite" | tee "$work/restore.out"
counts "$new/lakehouse.sqlite" >"$work/lakehouse.after"
diff "$work/lakehouse.before" "$work/lakehouse.after" || fail "the restored lakehouse's tables differ"
# Refuses to replace what is there.
if "$bin/sluice" restore "$SLUICE_BACKUP" --lakehouse "$new/lakehouse.sqlite" 2>"$work/again.err"; then
  fail "restore replaced an existing lakehouse without --force"
fi
grep -q -- "--force" "$work/again.err" || fail "the refusal does not say --force: $(cat "$work/again.err")"

echo "== 5. a new run on the restored host"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" --data "$new" --as-of 2025-06-17 >"$work/run2.log" 2>&1 ||
  fail "the run on the restored host failed"
grep -q '"run_id":"r2"' "$work/run2.log" || fail "the new run is not r2 (the restored broker's next run)"
echo "restore after losing the host: ok"
