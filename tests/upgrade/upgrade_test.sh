#!/usr/bin/env bash
# The new broker and workers on a data/ folder made by the previous release
# (tests/upgrade/fixtures/data-3ec8259.tar.gz, see make_fixture.sh): state,
# lakehouse and serving database, none of them stamped with sluice's
# application_id yet.
#   1. the new broker (with the default workflows) and a worker start on it;
#      the old run r1 and jobs j1-j10 are there, as they were, through the
#      CLI (`sluice --json status`, `runs`); a new job runs;
#   2. the coffee workflow runs again through scripts/pipeline.sh (nginx
#      serving freshly generated origin data, the new broker, 2 workers) and
#      succeeds; the export's version goes from 1 to 2;
#   3. all three databases now carry sluice's application_id and pass
#      integrity_check.
# Usage: upgrade_test.sh REPO. Binaries from $SLUICE_BIN_DIR. Exit 77
# (skipped) without nginx, python3, sqlite3 or curl.
set -euo pipefail
repo=$1
bin=${SLUICE_BIN_DIR:?SLUICE_BIN_DIR is not set}
python=/usr/bin/python3
for tool in /usr/sbin/nginx "$python" "$(command -v sqlite3 || true)" "$(command -v curl || true)"; do
  [ -n "$tool" ] && [ -x "$tool" ] || { echo "skipped: a tool is missing ($tool)"; exit 77; }
done
fixture=$repo/tests/upgrade/fixtures/data-3ec8259.tar.gz
sluice_id=1397506885  # 0x534C4345 'SLCE', schemas/database_owner.h

data=$(mktemp -d /tmp/sluice-upgrade-XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for log in broker.log worker.log; do
      [ -s "$data/$log" ] && { echo "---- $log"; tail -n 20 "$data/$log"; }
    done
  fi
  rm -rf "$data"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
field() {  # field JSON-FILE PYTHON-EXPRESSION-ON-d
  "$python" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

tar -xzf "$fixture" -C "$data"
for f in state lakehouse analytics; do
  [ "$(sqlite3 "$data/$f.sqlite" 'PRAGMA application_id')" = 0 ] || fail "the fixture's $f.sqlite is stamped already"
done

echo "== 1. the new broker and a worker on the old data"
"$bin/sluice-broker" --endpoint 'tcp://127.0.0.1:*' --endpoint-file "$data/endpoint" --state "$data/state.sqlite" \
  --workflows "$repo/pipeline/default/workflows.toml" 2>"$data/broker.log" &
pids+=($!)
for _ in $(seq 1 200); do
  [ -s "$data/endpoint" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || fail "the broker exited: $(cat "$data/broker.log")"
  sleep 0.05
done
[ -s "$data/endpoint" ] || fail "the broker wrote no endpoint"
export SLUICE_BROKER=$(cat "$data/endpoint")
"$bin/sluice-worker" --slots 2 --worker-id upgrade-worker --landing "$data/landing" \
  --lakehouse "$data/lakehouse.sqlite" --serving "$data/analytics.sqlite" 2>"$data/worker.log" &
pids+=($!)

"$bin/sluice" --json runs --workflow coffee >"$data/runs.json"
[ "$(field "$data/runs.json" 'len(d["runs"])')" = 1 ] || fail "runs: $(cat "$data/runs.json")"
[ "$(field "$data/runs.json" 'd["runs"][0]["id"] + " " + d["runs"][0]["state"]')" = "r1 succeeded" ] ||
  fail "runs: $(cat "$data/runs.json")"
"$bin/sluice" --json status r1 >"$data/r1.json"
[ "$(field "$data/r1.json" '" ".join(s["name"] + "=" + s["state"] + ":" + (s.get("job") or "") for s in d["stages"])')" = \
  "extract_psd=succeeded:j1 extract_cot=succeeded:j2 extract_prices=succeeded:j3 extract_weather=succeeded:j4 transform=succeeded:j5 export=succeeded:j6" ] ||
  fail "r1: $(cat "$data/r1.json")"
"$bin/sluice" --json status j6 >"$data/j6.json"
[ "$(field "$data/j6.json" 'd["kind"] + " " + d["state"] + " " + str(d["outputs"]["version"])')" = \
  "export.serving succeeded 1" ] || fail "j6: $(cat "$data/j6.json")"
for j in j7 j8 j9; do
  "$bin/sluice" --json status "$j" >"$data/$j.json"
  [ "$(field "$data/$j.json" 'd["kind"] + " " + d["state"] + " " + str(len(d["attempts"]))')" = "test.noop succeeded 1" ] ||
    fail "$j: $(cat "$data/$j.json")"
done
"$bin/sluice" --json status j10 >"$data/j10.json"
[ "$(field "$data/j10.json" 'd["state"] + " " + str(len(d["attempts"]))')" = "dead 2" ] || fail "j10: $(cat "$data/j10.json")"
# New work gets the next id and runs on the new worker.
id=$("$bin/sluice" submit test.noop)
[ "$id" = j11 ] || fail "the new job is $id, not j11"
"$bin/sluice" wait "$id" --timeout 60 || fail "$id did not succeed"
[ "$(sqlite3 "$data/state.sqlite" 'PRAGMA application_id')" = "$sluice_id" ] || fail "state.sqlite is not stamped"
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}"; wait "${pids[$i]}" || fail "a process exited $?"; done
pids=()

echo "== 2. the coffee workflow again (scripts/pipeline.sh)"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" --data "$data" --as-of 2025-06-17 >"$data/run.out" 2>&1 ||
  { cat "$data/run.out"; fail "the coffee run failed"; }
grep -q 'analytics DB version 2' "$data/run.out" || { cat "$data/run.out"; fail "the export is not version 2"; }
grep -q '13/13 models built' "$data/run.out" || { cat "$data/run.out"; fail "not all models built"; }
[ "$(sqlite3 "$data/analytics.sqlite" 'SELECT version FROM _sluice_export')" = 2 ] || fail "analytics.sqlite version"
[ "$(sqlite3 "$data/analytics.sqlite" 'SELECT count(*) FROM serving_coffee_balance')" -gt 50 ] || fail "serving rows"
[ "$(sqlite3 "$data/state.sqlite" "SELECT group_concat(id || '=' || state, ' ') FROM (SELECT * FROM runs ORDER BY seq)")" = \
  "r1=succeeded r2=succeeded" ] || fail "runs in the state DB"

echo "== 3. every database is stamped and sound"
for f in state lakehouse analytics; do
  [ "$(sqlite3 "$data/$f.sqlite" 'PRAGMA application_id')" = "$sluice_id" ] || fail "$f.sqlite is not stamped"
  [ "$(sqlite3 "$data/$f.sqlite" 'PRAGMA integrity_check')" = ok ] || fail "$f.sqlite fails integrity_check"
done
echo "upgrade from 3ec8259: ok"
