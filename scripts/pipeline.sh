#!/usr/bin/env bash
# Runs the default pipeline (pipeline/default: coffee-market analytics) end to
# end on the built binaries: generates the origin data, serves it with nginx,
# starts a broker with the workflow registry and two workers, runs the
# `coffee` workflow (`sluice run coffee --wait`), then prints the serving
# tables and the stage timings. Every process it starts is stopped by PID.
# Worker 1 serves queues lakehouse,default (the host holding the lakehouse:
# it runs the transform and export stages, and extracts), worker 2 default
# (extracts only), as two hosts would.
#
# Usage: scripts/pipeline.sh [--data DIR] [--as-of YYYY-MM-DD] [--landing s3://BUCKET/PREFIX]
#   --data DIR     where everything lives (default: data, or $SLUICE_DATA_DIR):
#                  DIR/origin (generated files), DIR/landing, DIR/lakehouse.sqlite,
#                  DIR/analytics.sqlite, DIR/state.sqlite persist between runs,
#                  so a second run fetches nothing unchanged (304s); DIR/run
#                  (logs, nginx temp, the endpoint file) is per run.
#   --as-of DATE   the generator's "today" and the run's logical date
#                  (default: today, UTC)
#   --landing s3://BUCKET/PREFIX
#                  land in an S3-compatible store instead of DIR/landing
#                  (credentials and endpoint: the AWS_* variables). The two
#                  workers then share no folder, as two hosts would: worker 1
#                  (queue lakehouse) loads from the bucket, builds and
#                  exports; worker 2 (queue default) extracts; each has its
#                  own DIR/hostN folder for spool files.
# With $SLUICE_BACKUP (s3://BUCKET/PREFIX) the broker snapshots its state
# there (hourly and when it stops; with no state file it restores the
# newest snapshot first) and worker 1 gets --backup: the workflow's backup
# stage snapshots the lakehouse there. Without it that stage succeeds doing
# nothing.
# Binaries from $SLUICE_BIN_DIR (default build/bin). Exit 0 when the run
# succeeded; otherwise non-zero, after the logs' tails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bin=${SLUICE_BIN_DIR:-build/bin}
data=${SLUICE_DATA_DIR:-data}
as_of=""
landing=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --as-of) as_of=$2; shift 2 ;;
    --landing) landing=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "pipeline.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
nginx=/usr/sbin/nginx
for tool in "$python" "$nginx" "$(command -v sqlite3 || echo sqlite3)" "$bin/sluice-broker" "$bin/sluice-worker" "$bin/sluice"; do
  [ -x "$tool" ] || { echo "pipeline.sh: $tool is missing (scripts/install-deps.sh, scripts/build.sh binaries)" >&2; exit 2; }
done
bin=$(cd "$bin" && pwd)
mkdir -p "$data"
data=$(cd "$data" && pwd)
run_dir=$data/run
[ -n "$landing" ] || landing=$data/landing
models=pipeline/default/models   # relative to the workers' first --models-root (the repository)

# Per-run scratch only; origin, landing, lakehouse, serving DB and broker
# state persist.
rm -rf "$run_dir"
mkdir -p "$run_dir"/nginx-temp/{client_body,proxy,fastcgi,uwsgi,scgi}

pids=()
names=()
failed=1
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$failed" -ne 0 ]; then
    echo >&2
    echo "pipeline.sh: FAILED; the logs' tails (all in $run_dir):" >&2
    for log in broker.log worker1.log worker2.log nginx-error.log; do
      [ -s "$run_dir/$log" ] || continue
      echo "---- $log" >&2
      tail -n 25 "$run_dir/$log" >&2
    done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
started() { pids+=("$1"); names+=("$2"); }
alive() {  # every process started so far still runs
  local i
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "pipeline.sh: ${names[$i]} exited early" >&2; return 1; }
  done
}
port_free() {
  "$python" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
# As nginx binds: a port whose last connections wait in TIME_WAIT (the
# origin closed the workers' kept-alive connections) is free for it.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "== 1. origin data ($data/origin)"
"$python" pipeline/default/generate_data.py "$data/origin" ${as_of:+--as-of "$as_of"}

echo
echo "== 2. nginx origin"
# The port is part of every URL, and the landing names and the conditional
# GETs are per URL: keep the one of the last run when it is still free.
port=$(cat "$data/origin.port" 2>/dev/null || echo 8089)
if ! port_free "$port"; then
  old=$port
  port=$(free_port)
  echo "port $old is taken; using $port (new URLs: this run downloads everything again)"
fi
echo "$port" >"$data/origin.port"
origin=http://127.0.0.1:$port
sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@ORIGIN_DIR@|$data/origin|g" -e "s|@PORT@|$port|g" \
  pipeline/default/nginx.conf.in >"$run_dir/nginx.conf"
"$nginx" -p "$run_dir" -c "$run_dir/nginx.conf" -e "$run_dir/nginx-error.log" </dev/null >/dev/null 2>&1 &
started $! nginx
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$origin/cot/cot_softs_history.csv" 2>/dev/null && break
  alive || exit 1
  sleep 0.05
done
curl -fsS -o /dev/null "$origin/cot/cot_softs_history.csv" || { echo "pipeline.sh: nginx does not answer on $origin" >&2; exit 1; }
echo "serving $data/origin on $origin (pid ${pids[-1]})"

echo
echo "== 3. broker and workers"
broker_args=(--endpoint 'tcp://127.0.0.1:*' --endpoint-file "$run_dir/endpoint" --state "$data/state.sqlite")
broker_args+=(--workflows pipeline/default/workflows.toml)
# $SLUICE_BACKUP: the broker snapshots its state there too (it reads the
# variable), and a new host starts from the newest snapshot.
[ -n "${SLUICE_BACKUP:-}" ] && broker_args+=(--backup "$SLUICE_BACKUP" --restore-if-missing)
"$bin/sluice-broker" "${broker_args[@]}" 2>"$run_dir/broker.log" &
started $! broker
for _ in $(seq 1 200); do
  [ -s "$run_dir/endpoint" ] && break
  alive || exit 1
  sleep 0.05
done
[ -s "$run_dir/endpoint" ] || { echo "pipeline.sh: the broker wrote no endpoint" >&2; exit 1; }
export SLUICE_BROKER=$(cat "$run_dir/endpoint")
for i in 1 2; do
  queues=default
  [ "$i" = 1 ] && queues=lakehouse,default
  host_args=()
  case "$landing" in
    s3://*)
      # No shared folder: worker 1 only loads, builds and exports.
      [ "$i" = 1 ] && queues=lakehouse
      mkdir -p "$data/host$i"
      host_args=(--spool-dir "$data/host$i/spool")
      ;;
  esac
  [ "$i" = 1 ] && [ -n "${SLUICE_BACKUP:-}" ] && host_args+=(--backup "$SLUICE_BACKUP")
  "$bin/sluice-worker" --slots 4 --worker-id "pipeline-worker-$i" --queues "$queues" --landing "$landing" \
    --lakehouse "$data/lakehouse.sqlite" --serving "$data/analytics.sqlite" "${host_args[@]}" \
    --models-root "$repo" 2>"$run_dir/worker$i.log" &
  started $! "worker $i"
done
case "$landing" in
  s3://*) echo "broker on $SLUICE_BROKER (state: $data/state.sqlite), 2 workers (queues lakehouse and default), landing in $landing" ;;
  *) echo "broker on $SLUICE_BROKER (state: $data/state.sqlite), 2 workers (queues lakehouse,default and default)" ;;
esac

# The run's logical date: today (UTC), or --as-of (then also a run parameter,
# so the extracts ask for that period and the models build up to it).
run_params=(--param "origin=$origin")
[ -n "$as_of" ] && run_params+=(--param "date=$as_of")
start_s=$(date +%s.%N)
echo
echo "== 4. sluice run coffee ${run_params[*]} --wait"
set +e
"$bin/sluice" run coffee "${run_params[@]}" --wait --timeout 1800 | tee "$run_dir/run.out"
rc=${PIPESTATUS[0]}
set -e
# The run just started is the newest of the workflow.
run_id=$("$bin/sluice" --json runs --workflow coffee --limit 1 2>/dev/null |
  "$python" -c 'import json, sys; r = json.load(sys.stdin)["runs"]; print(r[0]["id"] if r else "")' || true)
: >"$run_dir/stage_jobs.txt"
if [ -n "$run_id" ] && "$bin/sluice" --json status "$run_id" >"$run_dir/run.json"; then
  "$python" -c '
import json, sys
run = json.load(open(sys.argv[1]))
for s in run.get("stages", []):
  print(s["name"], s.get("job") or "")' "$run_dir/run.json" >"$run_dir/stage_jobs.txt"
fi
[ "$rc" -eq 0 ] && [ -z "$run_id" ] && { echo "pipeline.sh: the run is not listed by 'sluice runs'" >&2; rc=1; }
end_s=$(date +%s.%N)

# Each stage's job with its outputs, for the summary below.
while read -r name job; do
  [ -n "$job" ] || continue
  "$bin/sluice" --json status "$job" >"$run_dir/job-$name.json" || true
done <"$run_dir/stage_jobs.txt"

echo
echo "== 5. stages (job, state, time of the last attempt, worker, outputs)"
"$python" - "$run_dir" <<'EOF'
import json, os, sys
run_dir = sys.argv[1]
for line in open(os.path.join(run_dir, "stage_jobs.txt")):
    parts = line.split()
    if len(parts) < 2:
        print("%-16s (no job)" % parts[0])
        continue
    name, job_id = parts
    try:
        job = json.load(open(os.path.join(run_dir, "job-%s.json" % name)))
    except (OSError, ValueError):
        print("%-16s %-6s (status unavailable)" % (name, job_id))
        continue
    out = job.get("outputs") or {}
    if job.get("kind") == "extract.http":
        what = "HTTP %s, period %s, files_written=%s files_skipped=%s bytes=%s" % (
            out.get("status_code"), out.get("period"), out.get("files_written"), out.get("files_skipped"),
            out.get("bytes_written"))
    elif job.get("kind") == "transform.sql":
        load = out.get("load") or {}
        built = [m for m in out.get("models", []) if m.get("status") == "built"]
        unchanged = [m for m in out.get("models", []) if m.get("action") == "skip"]
        what = "loaded %s files (%s rows, %s already loaded); %d/%d models built, %d unchanged" % (
            load.get("files_loaded"), load.get("rows_loaded"), load.get("files_skipped"), len(built),
            len(out.get("models", [])), len(unchanged))
    elif job.get("kind") == "backup":
        lake = out.get("lakehouse") or {}
        if out.get("skipped"):
            what = "skipped: %s" % out.get("reason")
        elif lake.get("key"):
            what = "lakehouse snapshot %s (%s bytes gzipped) in %s" % (lake.get("stamp"), lake.get("gz_bytes"),
                                                                     out.get("location"))
        else:
            what = "lakehouse: %s" % (lake.get("skipped") or "?")
    elif job.get("kind") == "export.serving":
        if out.get("published") is False:
            what = "analytics DB version %s kept: %s" % (out.get("version"), out.get("reason"))
        else:
            what = "analytics DB version %s: %s tables, %s rows, %s bytes" % (
                out.get("version"), len(out.get("tables") or {}), out.get("rows"), out.get("bytes"))
    else:
        what = ""
    attempts = job.get("attempts") or [{}]
    last = attempts[-1]
    secs = ""
    if last.get("started_ms") and last.get("finished_ms"):
        secs = "%.2f s" % ((last["finished_ms"] - last["started_ms"]) / 1000.0)
    print("%-16s %-6s %-10s %8s  %-18s %s" % (name, job_id, job.get("state"), secs, last.get("worker") or "", what))
    if job.get("kind") == "transform.sql":
        for m in out.get("models", []):
            days = ", ".join(d["start"] if d["start"] == d["end"] else d["start"] + ".." + d["end"]
                             for d in m.get("intervals") or [])
            print("    %-30s %-26s %-8s %8s rows %6s ms  %s%s" % (
                m.get("name"), m.get("kind"), m.get("status"), m.get("rows"), m.get("ms"), m.get("reason") or "",
                " [%s]" % days if days else ""))
EOF

if [ "$rc" -ne 0 ]; then
  [ -n "${run_id:-}" ] && "$bin/sluice" status "$run_id" >&2 || true
  echo "pipeline.sh: the run failed (exit $rc)" >&2
  exit 1
fi

echo
echo "== 6. the serving tables ($data/analytics.sqlite)"
tables=$(sqlite3 "$data/analytics.sqlite" \
  "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name LIKE 'serving\_%' ESCAPE '\\' ORDER BY name")
for t in $tables; do
  echo "-- $t: $(sqlite3 "$data/analytics.sqlite" "SELECT count(*) FROM \"$t\"") rows"
done
sample() {
  echo
  echo "-- $1"
  sqlite3 -column -header "$data/analytics.sqlite" "$2"
}
sample "serving_coffee_balance: the world and the top producers, last 3 market years" \
  "SELECT country_name, market_year, production, exports, domestic_consumption AS consumption, ending_stocks,
          stocks_to_use, production_yoy_pct AS prod_yoy_pct, report_month
   FROM serving_coffee_balance
   WHERE market_year >= (SELECT max(market_year) - 2 FROM serving_coffee_balance)
     AND country_code IN ('WORLD', 'BR', 'VM', 'CO')
   ORDER BY country_code = 'WORLD' DESC, country_name, market_year LIMIT 12"
sample "serving_price_monthly: coffee, last 6 months" \
  "SELECT commodity_key, month, price_unit, trading_days, first_settle, last_settle, avg_settle, return_pct,
          front_contract, contract_rolled AS rolled, volume
   FROM serving_price_monthly WHERE commodity_key = 'coffee' ORDER BY month DESC LIMIT 6"
sample "serving_positioning_weekly: coffee, last 6 reports" \
  "SELECT commodity_key, report_date, open_interest, noncomm_net, noncomm_net_pct_oi, noncomm_net_change, comm_net,
          front_settle
   FROM serving_positioning_weekly WHERE commodity_key = 'coffee' ORDER BY report_date DESC LIMIT 6"
sample "serving_weather_anomaly: the last full month per region" \
  "SELECT region_name, month, days, tavg_c, clim_tavg_c, tavg_anomaly_c, precip_mm, clim_precip_mm,
          precip_anomaly_pct, dry_days
   FROM serving_weather_anomaly w
   WHERE month = (SELECT max(month) FROM serving_weather_anomaly w2 WHERE w2.region_id = w.region_id AND w2.is_partial_month = 0)
   ORDER BY region_name"

echo
if [ -n "${run_id:-}" ]; then
  echo "== 7. the run's stage timings (sluice status $run_id)"
  "$bin/sluice" status "$run_id"
fi
echo
echo "== 8. extractions (newest first; files_skipped = 1: unchanged at the origin, nothing fetched)"
"$bin/sluice" extractions --limit 8
awk -v s="$start_s" -v e="$end_s" 'BEGIN { printf "\npipeline: the coffee run took %.1f s\n", e - s }'
failed=0
