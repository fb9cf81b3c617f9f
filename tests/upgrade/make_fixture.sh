#!/usr/bin/env bash
# Regenerates tests/upgrade/fixtures/data-<commit>.tar.gz: a data/ folder as
# a previous release left it, for upgrade_test.sh.
#
#   1. builds the release (git archive of COMMIT, default 3ec8259: the last
#      release before databases carried sluice's application_id) in a temp
#      folder, or takes its binaries from $SLUICE_PREV_BIN_DIR;
#   2. runs that release's scripts/pipeline.sh --as-of 2025-06-17 (nginx,
#      broker, 2 workers, the coffee workflow: run r1, jobs j1-j6);
#   3. starts its broker and a worker again and runs a few plain jobs:
#      j7-j9 test.noop (succeeded), j10 test.fail (dead after 2 attempts);
#   4. keeps state.sqlite, lakehouse.sqlite and analytics.sqlite. To keep
#      the archive small, the landing zone and the origin are left out (the
#      next run fetches again), and the rows of the raw_* and staging_*
#      tables are deleted (FULL models, rebuilt from the next load); every
#      table, the load ledger, the export counter and the foundation and
#      serving rows stay as the release left them.
#
# Usage: tests/upgrade/make_fixture.sh [COMMIT]   (from anywhere in the repository)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
commit=${1:-3ec8259}
as_of=2025-06-17
for tool in /usr/bin/python3 /usr/sbin/nginx sqlite3 curl cmake; do
  command -v "$tool" >/dev/null || { echo "make_fixture.sh: $tool is missing" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/sluice-upgrade-fixture-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== 1. the release $commit"
mkdir -p "$tmp/src"
git -C "$repo" archive "$commit" | tar -x -C "$tmp/src"
if [ -n "${SLUICE_PREV_BIN_DIR:-}" ]; then
  bin=$(cd "$SLUICE_PREV_BIN_DIR" && pwd)
else
  cmake -S "$tmp/src" -B "$tmp/src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF \
    -DSLUICE_BENCH=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
  cmake --build "$tmp/src/build" -j2 --target sluice-broker sluice-worker sluice >/dev/null
  bin=$tmp/src/build/bin
fi

echo "== 2. its default pipeline"
data=$tmp/data
SLUICE_BIN_DIR=$bin bash "$tmp/src/scripts/pipeline.sh" --data "$data" --as-of "$as_of" >"$tmp/pipeline.out" 2>&1 ||
  { tail -n 40 "$tmp/pipeline.out"; echo "make_fixture.sh: the pipeline failed" >&2; exit 1; }
grep -q 'analytics DB version 1' "$tmp/pipeline.out" || { echo "make_fixture.sh: no export" >&2; exit 1; }

echo "== 3. a few plain jobs"
"$bin/sluice-broker" --endpoint 'tcp://127.0.0.1:*' --endpoint-file "$tmp/endpoint" --state "$data/state.sqlite" \
  --workflows "$tmp/src/pipeline/default/workflows.toml" 2>"$tmp/broker.log" &
pids+=($!)
for _ in $(seq 1 200); do [ -s "$tmp/endpoint" ] && break; sleep 0.05; done
export SLUICE_BROKER=$(cat "$tmp/endpoint")
"$bin/sluice-worker" --slots 2 --landing "$data/landing" --lakehouse "$data/lakehouse.sqlite" \
  --serving "$data/analytics.sqlite" 2>"$tmp/worker.log" &
pids+=($!)
for _ in 1 2 3; do "$bin/sluice" submit test.noop >>"$tmp/ids"; done
"$bin/sluice" submit test.fail --param-json succeed_on=5 --max-attempts 2 --backoff 0.01 >>"$tmp/ids"
[ "$(tr '\n' ' ' <"$tmp/ids")" = "j7 j8 j9 j10 " ] || { echo "make_fixture.sh: unexpected ids: $(cat "$tmp/ids")" >&2; exit 1; }
"$bin/sluice" wait j7 j8 j9 --timeout 60
"$bin/sluice" wait j10 --timeout 60 && { echo "make_fixture.sh: j10 did not fail" >&2; exit 1; }
[ "$("$bin/sluice" --json status j10 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = dead ]
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}"; wait "${pids[$i]}" || true; done
pids=()

echo "== 4. the archive"
sqlite3 "$data/lakehouse.sqlite" "
  DELETE FROM raw_usda_psd; DELETE FROM raw_cftc_cot; DELETE FROM raw_futures_prices; DELETE FROM raw_weather_regions;
  DELETE FROM staging_usda_psd; DELETE FROM staging_cftc_cot; DELETE FROM staging_futures_prices;
  DELETE FROM staging_weather_daily; VACUUM;" >/dev/null
for f in state.sqlite lakehouse.sqlite analytics.sqlite; do
  [ ! -s "$data/$f-wal" ] || { echo "make_fixture.sh: $f has a non-empty WAL" >&2; exit 1; }
  [ "$(sqlite3 "$data/$f" 'PRAGMA application_id')" = 0 ] || { echo "make_fixture.sh: $f is stamped" >&2; exit 1; }
  [ "$(sqlite3 "$data/$f" 'PRAGMA integrity_check')" = ok ] || { echo "make_fixture.sh: $f is damaged" >&2; exit 1; }
done
out=$repo/tests/upgrade/fixtures/data-$commit.tar.gz
mkdir -p "$(dirname "$out")"
tar -C "$data" --owner=0 --group=0 --numeric-owner -cf - state.sqlite lakehouse.sqlite analytics.sqlite |
  gzip -9n >"$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
