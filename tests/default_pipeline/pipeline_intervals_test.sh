#!/usr/bin/env bash
# The default pipeline over three logical dates in one data folder, through
# scripts/pipeline.sh on the binaries in $SLUICE_BIN_DIR. The transform's end
# day is the day before the run's date (the last complete day):
#   run 1 (2025-06-18): the incremental models process their history;
#   run 2 (2025-06-19), run 3 (2025-06-20): the prices and weather models
#          process exactly the new day, 2025-06-18 then 2025-06-19 (the
#          intervals table gains that day; the rows inserted are that day's);
#          the positioning model also takes its 7 lookback days again, and
#          so picks up the Tuesday 2025-06-17 report published on Friday
#          2025-06-20.
# Then a SQL change (in a copy of the models folder) marks the prices model's
# days stale: `sluice models plan` says so and a backfill processes the whole
# history again.
# Usage: pipeline_intervals_test.sh REPO. Exit 77 (skipped) without nginx,
# python3, sqlite3 or curl.
set -euo pipefail
repo=$1
bin=${SLUICE_BIN_DIR:?SLUICE_BIN_DIR is not set}
for tool in /usr/sbin/nginx /usr/bin/python3 "$(command -v sqlite3 || true)" "$(command -v curl || true)"; do
  [ -n "$tool" ] && [ -x "$tool" ] || { echo "skipped: a tool is missing ($tool)"; exit 77; }
done
data=$(mktemp -d /tmp/sluice-intervals-XXXXXX)
trap 'rm -rf "$data"' EXIT
lake=$data/lakehouse.sqlite

fail() { echo "FAIL: $*"; exit 1; }
lakeq() { sqlite3 "$lake" "$1"; }
# The transform job's outputs for model $2 of run output file $1: "status intervals rows".
model_out() {
  /usr/bin/python3 - "$data/run/job-transform.json" "$1" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
for m in job["outputs"]["models"]:
    if m["name"] == sys.argv[2]:
        days = ",".join(d["start"] if d["start"] == d["end"] else d["start"] + ".." + d["end"] for d in m["intervals"])
        print(m["status"], days or "-", m["rows"])
PY
}
run() {
  SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" --data "$data" --as-of "$1" >"$data/run-$1.out" 2>&1 ||
    { cat "$data/run-$1.out"; fail "the run of $1 failed"; }
}

echo "== run 1: 2025-06-18"
run 2025-06-18
[ "$(model_out foundation_fct_prices_daily)" = "built 2020-01-01..2025-06-17 $(lakeq "SELECT count(*) FROM foundation_fct_prices_daily")" ] ||
  fail "run 1: prices: $(model_out foundation_fct_prices_daily)"
[ "$(lakeq "SELECT min(day) || ' ' || max(day) || ' ' || count(*) FROM _sluice_model_intervals
            WHERE model = 'foundation_fct_prices_daily'")" = "2020-01-01 2025-06-17 $(( ($(date -d 2025-06-17 +%s) - $(date -d 2020-01-01 +%s)) / 86400 + 1 ))" ] ||
  fail "run 1: the prices model's intervals"

for day in 2025-06-19 2025-06-20; do
  echo "== run: $day"
  end=$(date -d "$day - 1 day" +%F)
  prices_before=$(lakeq "SELECT count(*) FROM _sluice_model_intervals WHERE model = 'foundation_fct_prices_daily'")
  run "$day"
  for m in foundation_fct_prices_daily:trade_date foundation_fct_weather_daily:obs_date; do
    model=${m%%:*}
    column=${m##*:}
    rows=$(lakeq "SELECT count(*) FROM $model WHERE $column = '$end'")
    [ "$rows" -gt 0 ] || fail "$day: $model has no rows for $end"
    out=$(model_out "$model")
    echo "$model: $out (rows of $end: $rows)"
    [ "$out" = "built $end $rows" ] || fail "$day: $model processed '$out', not exactly $end ($rows rows)"
    [ "$(lakeq "SELECT max(day) FROM _sluice_model_intervals WHERE model = '$model'")" = "$end" ] ||
      fail "$day: $model's last interval is not $end"
  done
  [ "$(lakeq "SELECT count(*) FROM _sluice_model_intervals WHERE model = 'foundation_fct_prices_daily'")" -eq $((prices_before + 1)) ] ||
    fail "$day: the prices model's intervals did not grow by one day"
  out=$(model_out foundation_fct_positioning)
  echo "foundation_fct_positioning: $out"
  [ "${out% *}" = "built $(date -d "$end - 7 days" +%F)..$end" ] || fail "$day: positioning processed '$out'"
done
# The Tuesday report came out on Friday the 20th (run 3): the lookback took it in.
[ "$(lakeq "SELECT count(*) FROM foundation_fct_positioning WHERE report_date = '2025-06-17'")" -gt 0 ] ||
  fail "the report of 2025-06-17 is not in foundation_fct_positioning"

echo "== a SQL change marks the history stale"
cp -r "$repo/pipeline/default/models" "$data/models"
sed -i 's/  p.settle,$/  p.settle, p.settle * 100 AS settle_cents,/' "$data/models/foundation/foundation_fct_prices_daily.sql"
grep -q settle_cents "$data/models/foundation/foundation_fct_prices_daily.sql" || fail "the SQL edit did not apply"
"$bin/sluice" --json models plan "$data/models" --lakehouse "$lake" --end-ds 2025-06-19 >"$data/plan.json"
/usr/bin/python3 - "$data/plan.json" <<'PY' || fail "the plan does not say the prices model's SQL changed"
import json, sys
plan = {m["name"]: m for m in json.load(open(sys.argv[1]))["models"]}
p = plan["foundation_fct_prices_daily"]
assert p["action"] == "backfill", p
assert p["reason"] == "sql changed: 2020-01-01..2025-06-19", p
assert p["intervals"] == [{"start": "2020-01-01", "end": "2025-06-19"}], p
assert plan["staging_futures_prices"]["action"] == "skip", plan["staging_futures_prices"]
assert plan["serving_price_monthly"]["reason"] == "upstream foundation_fct_prices_daily builds in this run"
PY
"$bin/sluice" models backfill "$data/models" --lakehouse "$lake" --from 2025-06-19 --to 2025-06-19 \
  --model foundation_fct_prices_daily >"$data/backfill.out" || { cat "$data/backfill.out"; fail "the backfill failed"; }
cat "$data/backfill.out"
[ "$(lakeq "SELECT count(DISTINCT fingerprint) || ' ' || count(*) FROM _sluice_model_intervals
            WHERE model = 'foundation_fct_prices_daily'")" = "1 $(( ($(date -d 2025-06-19 +%s) - $(date -d 2020-01-01 +%s)) / 86400 + 1 ))" ] ||
  fail "the history was not processed again with the new SQL"
[ "$(lakeq "SELECT count(*) FROM foundation_fct_prices_daily WHERE settle_cents IS NULL")" -eq 0 ] ||
  fail "rows without the new column"
echo "default pipeline intervals: ok"
