#!/usr/bin/env bash
# The chaos soak: a broker, 3 workers and the default pipeline's workflow
# (on a cron every minute, against a local nginx) under a mixed load of
# test.noop, test.sleep, test.fail and exec jobs, while the broker and the
# workers are SIGKILLed and restarted and the workers SIGSTOPped and
# SIGCONTed at random. Then the faults stop, everything is brought back, and
# once every job and run has ended the state is checked (see chaos.py for
# the invariants). Each violation is printed on stderr with its details.
#
# Usage: tests/chaos/run.sh --duration SECONDS --seed N
#   --duration   how long faults are injected and jobs submitted (default 60)
#   --seed       draws the load and the faults (same seed, same choices;
#                the timing is the machine's) (default 1)
#   --faults     all (default), workers (no broker kill) or none: a soak
#                without some faults, to tell which ones a violation needs
# Binaries from $SLUICE_BIN_DIR (default build/bin, relative to the
# repository). The last line of stdout is one JSON object:
#   {"seconds":…,"broker_kills":…,"worker_kills":…,"stops":…,"jobs":…,"runs":…,"violations":N}
# Exit 0 when there is no violation, 1 when there is, 2 on bad usage or
# missing binaries, 77 (skipped) when python3, nginx or gzip is missing.
# Everything lives in a temp folder under $TMPDIR: removed on success, kept
# (and named on stderr) otherwise. Every process started is stopped by PID.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

duration=60
seed=1
faults=all
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?--duration needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --faults) faults=${2:?--faults needs a value}; shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "chaos: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 10 ]] ||
  { echo "chaos: --duration must be a whole number of seconds, at least 10" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "chaos: --seed must be a non-negative integer" >&2; exit 2; }
[[ "$faults" =~ ^(all|workers|none)$ ]] || { echo "chaos: --faults is all, workers or none" >&2; exit 2; }

python=/usr/bin/python3
nginx=/usr/sbin/nginx
for tool in "$python" "$nginx" "$(command -v gzip || echo gzip)"; do
  [ -x "$tool" ] || { echo "skipped: $tool is missing (scripts/install-deps.sh)"; exit 77; }
done
bin=${SLUICE_BIN_DIR:-build/bin}
for b in sluice-broker sluice-worker sluice; do
  [ -x "$bin/$b" ] || { echo "chaos: $bin/$b is missing (bash scripts/build.sh binaries)" >&2; exit 2; }
done
bin=$(cd "$bin" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-chaos-XXXXXX")
# The driver keeps the PIDs of the broker and workers it runs in $work/pids,
# so that they are stopped here too if the driver itself dies.
nginx_pid=""
driver_pid=""
outcome=failed
cleanup() {
  trap - EXIT
  local pid
  if [ -n "$driver_pid" ]; then
    kill -KILL "$driver_pid" 2>/dev/null || true
    wait "$driver_pid" 2>/dev/null || true
  fi
  if [ -s "$work/pids" ]; then
    while read -r pid; do
      kill -CONT "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    done <"$work/pids"
  fi
  if [ -n "$nginx_pid" ]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  if [ "$outcome" = passed ]; then
    rm -rf "$work"
  else
    echo "chaos: kept $work (logs: broker.log, w1.log ..., events.log, side-effects.txt)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "chaos: seed $seed, ${duration}s, faults: $faults, in $work"

# 1. The origin: the default pipeline's generated data, served by nginx on a
# free port (as scripts/pipeline.sh does).
"$python" pipeline/default/generate_data.py "$work/origin" >"$work/generate.log" 2>&1 ||
  { cat "$work/generate.log" >&2; echo "chaos: generate_data.py failed" >&2; exit 2; }
mkdir -p "$work"/nginx-temp/{client_body,proxy,fastcgi,uwsgi,scgi}
free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
for _ in 1 2 3; do  # another process may take the port first
  port=$(free_port)
  sed -e "s|@RUN_DIR@|$work|g" -e "s|@ORIGIN_DIR@|$work/origin|g" -e "s|@PORT@|$port|g" \
    pipeline/default/nginx.conf.in >"$work/nginx.conf"
  "$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" </dev/null >/dev/null 2>&1 &
  nginx_pid=$!
  for _ in $(seq 1 100); do
    "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:$port/cot/cot_softs_history.csv" 2>/dev/null && break 2
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -TERM "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
done
[ -n "$nginx_pid" ] || { tail -5 "$work/nginx-error.log" >&2; echo "chaos: nginx did not start" >&2; exit 2; }
echo "chaos: origin http://127.0.0.1:$port (nginx pid $nginx_pid)"

# 2. The soak itself, in the background so that a signal here stops it
# (bash runs a trap only once the foreground command is done).
"$python" -u tests/chaos/chaos.py --repo "$repo" --bin "$bin" --work "$work" \
  --origin "http://127.0.0.1:$port" --duration "$duration" --seed "$seed" --faults "$faults" \
  --summary "$work/summary.json" &
driver_pid=$!
rc=0
wait "$driver_pid" || rc=$?
driver_pid=""
[ -s "$work/summary.json" ] || { echo "chaos: the driver wrote no summary (exit $rc)" >&2; exit 1; }
[ "$rc" -eq 0 ] && outcome=passed
summary=$(cat "$work/summary.json")
cleanup
echo "$summary"
exit "$rc"
