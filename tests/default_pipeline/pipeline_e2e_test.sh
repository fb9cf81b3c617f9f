#!/usr/bin/env bash
# The default pipeline end to end, twice, in a temp data folder, through
# scripts/pipeline.sh on the binaries in $SLUICE_BIN_DIR:
#   run 1: every source is fetched, loaded and built; the serving tables
#          are published with rows;
#   run 2: nothing changed at the origin, so every extraction is a 304
#          (files_skipped = 1), no file is loaded, no model is built and no
#          export is published (the analytics file stays version 1);
#   run 3: one origin file published again (the prices): one file is landed and
#          loaded, and only the models that read it, directly or through
#          another, are built; a new export is published.
# Usage: pipeline_e2e_test.sh REPO. Exit 77 (skipped) without nginx,
# python3, sqlite3 or curl.
set -euo pipefail
repo=$1
bin=${SLUICE_BIN_DIR:?SLUICE_BIN_DIR is not set}
for tool in /usr/sbin/nginx /usr/bin/python3 "$(command -v sqlite3 || true)" "$(command -v curl || true)"; do
  [ -n "$tool" ] && [ -x "$tool" ] || { echo "skipped: a tool is missing ($tool)"; exit 77; }
done
data=$(mktemp -d /tmp/sluice-default-pipeline-XXXXXX)
trap 'rm -rf "$data"' EXIT
as_of=2025-06-17

args=(--data "$data" --as-of "$as_of")

fail() { echo "FAIL: $*"; exit 1; }
serving() { sqlite3 "$data/analytics.sqlite" "$1"; }

echo "== run 1"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" "${args[@]}" >"$data/run1.out" 2>&1 ||
  { cat "$data/run1.out"; fail "the first run failed"; }
cat "$data/run1.out"
grep -q 'files_written=1 files_skipped=0' "$data/run1.out" || fail "run 1 fetched nothing"
[ "$(grep -c 'files_written=1 files_skipped=0' "$data/run1.out")" -eq 4 ] || fail "run 1: not 4 downloads"
grep -q 'loaded 4 files' "$data/run1.out" || fail "run 1 did not load the 4 landed files"
grep -q '13/13 models built' "$data/run1.out" || fail "run 1 did not build the 13 models"
# No --backup on the workers: the backup stage succeeds and says why it did nothing.
grep -Eq '^backup +j[0-9]+ +succeeded .*skipped: this worker has no --backup' "$data/run1.out" ||
  fail "run 1: the backup stage did not succeed as a no-op"
# The stages that write the lakehouse and the serving DB are on queue
# lakehouse: only pipeline-worker-1 serves it (scripts/pipeline.sh).
for stage in transform export; do
  grep -Eq "^$stage +[^ ]+ +succeeded .* pipeline-worker-1 " "$data/run1.out" ||
    fail "run 1: the $stage stage did not run on pipeline-worker-1 (queue lakehouse)"
done
for t in serving_coffee_balance serving_price_monthly serving_positioning_weekly serving_weather_anomaly; do
  n=$(serving "SELECT count(*) FROM $t")
  echo "$t: $n rows"
  [ "$n" -gt 50 ] || fail "$t has $n rows"
done
# The generated data as of 2025-06-17: the June PSD report, 20 countries plus
# WORLD, market years 2013-2026; prices through 2025-06-16.
[ "$(serving "SELECT count(DISTINCT country_code) FROM serving_coffee_balance")" -eq 21 ] || fail "balance countries"
[ "$(serving "SELECT max(report_month) FROM serving_coffee_balance")" = 2025-06 ] || fail "PSD report month"
[ "$(serving "SELECT min(market_year) || '-' || max(market_year) FROM serving_coffee_balance")" = 2013-2026 ] ||
  fail "market years"
[ "$(serving "SELECT max(month) FROM serving_price_monthly WHERE commodity_key = 'coffee'")" = 2025-06 ] ||
  fail "last price month"
[ "$(serving "SELECT count(DISTINCT commodity_key) FROM serving_positioning_weekly")" -eq 3 ] || fail "COT markets"
[ "$(serving "SELECT count(DISTINCT region_id) FROM serving_weather_anomaly")" -eq 5 ] || fail "weather regions"
before=$(serving "SELECT group_concat(n) FROM (SELECT count(*) AS n FROM serving_coffee_balance
                  UNION ALL SELECT count(*) FROM serving_price_monthly
                  UNION ALL SELECT count(*) FROM serving_positioning_weekly
                  UNION ALL SELECT count(*) FROM serving_weather_anomaly)")
landed=$(find "$data/landing" -type f | wc -l)
[ "$landed" -eq 4 ] || fail "run 1 landed $landed files"

echo "== run 2"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" "${args[@]}" >"$data/run2.out" 2>&1 ||
  { cat "$data/run2.out"; fail "the second run failed"; }
cat "$data/run2.out"
grep -q '9 files (0 written, 9 unchanged)' "$data/run2.out" || fail "run 2: the generator rewrote files"
[ "$(grep -c 'HTTP 304, .* files_written=0 files_skipped=1' "$data/run2.out")" -eq 4 ] ||
  fail "run 2: not 4 extractions skipped by 304"
grep -q 'loaded 0 files (0 rows, 4 already loaded)' "$data/run2.out" || fail "run 2 loaded files"
grep -q '0/13 models built, 13 unchanged' "$data/run2.out" || fail "run 2 built models"
grep -q 'analytics DB version 1 kept: no serving table changed since export 1' "$data/run2.out" ||
  fail "run 2 published an export"
[ "$(serving "SELECT version FROM _sluice_export")" = 1 ] || fail "run 2 replaced the analytics file"
[ "$(find "$data/landing" -type f | wc -l)" -eq 4 ] || fail "run 2 landed files"
after=$(serving "SELECT group_concat(n) FROM (SELECT count(*) AS n FROM serving_coffee_balance
                 UNION ALL SELECT count(*) FROM serving_price_monthly
                 UNION ALL SELECT count(*) FROM serving_positioning_weekly
                 UNION ALL SELECT count(*) FROM serving_weather_anomaly)")
[ "$before" = "$after" ] || fail "serving rows changed: $before -> $after"
[ "$(sqlite3 "$data/state.sqlite" "SELECT count(*) FROM extraction_runs WHERE files_skipped = 1")" -eq 4 ] ||
  fail "extraction_runs: not 4 skipped"
echo "== run 3: one origin file published again"
# The origin publishes the prices file again (a new modification time, so
# a new ETag; the generator keeps files it would write unchanged): one new
# landing file, nothing else changes.
touch -d "@$(($(date +%s) + 10))" "$data/origin/prices/softs_futures_daily.csv"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" "${args[@]}" >"$data/run3.out" 2>&1 ||
  { cat "$data/run3.out"; fail "the third run failed"; }
cat "$data/run3.out"
grep -q 'loaded 1 files' "$data/run3.out" || fail "run 3 did not load the changed file"
# What reads raw_futures_prices, directly or not, and nothing else.
for m in staging_futures_prices foundation_fct_prices_daily serving_price_monthly serving_positioning_weekly; do
  grep -Eq "^ +$m +[A-Z_]+ +built " "$data/run3.out" || fail "run 3 did not build $m"
done
for m in staging_usda_psd staging_cftc_cot staging_weather_daily foundation_dim_commodity \
         foundation_fct_supply_demand foundation_fct_positioning foundation_fct_weather_daily \
         serving_coffee_balance serving_weather_anomaly; do
  grep -Eq "^ +$m +[A-Z_]+ +skipped " "$data/run3.out" || fail "run 3 built $m, which does not read the prices"
done
grep -Eq '^ +staging_futures_prices .* upstream raw_futures_prices loaded 1 file' "$data/run3.out" ||
  fail "run 3: staging_futures_prices does not say why it was built"
grep -q 'analytics DB version 2:' "$data/run3.out" || fail "run 3 did not publish version 2"
[ "$(serving "SELECT version FROM _sluice_export")" = 2 ] || fail "run 3: the analytics file is not version 2"

# Nothing the script started is left running.
if [ -s "$data/run/nginx.pid" ] && kill -0 "$(cat "$data/run/nginx.pid")" 2>/dev/null; then
  fail "nginx still runs"
fi
echo "default pipeline e2e: ok"
