#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, ASan + UBSan) and runs
# each one for a while, or replays its seed corpus.
#
#   tests/fuzz/run.sh [--seconds N] [--replay] [--max-len BYTES] [TARGET...]
#
#   --seconds N      fuzz each target N seconds (default 60)
#   --replay         only run every seed of tests/fuzz/corpus/<target> once
#   --max-len BYTES  the largest input libFuzzer makes up (default 4096)
#   TARGET           wire registry cron model csv json_records sources
#                    stage_template (default: all)
#
# New inputs go to build-fuzz/corpus/<target> (the seeds stay as they are),
# logs to build-fuzz/logs/<target>.log, and a crashing input to
# build-fuzz/artifacts/<target>-crash-<sha1>. Prints one line per target
# (executions, result) and exits 1 if any target crashed, 2 on bad usage.
# Environment: FUZZ_JOBS (build parallelism, default nproc), FUZZ_RSS_MB
# (libFuzzer's -rss_limit_mb, default 2048), FUZZ_FLAGS (more libFuzzer
# flags for every target), ASAN_OPTIONS (default abort_on_error=1:
# detect_leaks=1), UBSAN_OPTIONS (default print_stacktrace=1:halt_on_error=1).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

all=(wire registry cron model csv json_records sources stage_template)
seconds=60
replay=0
max_len=4096
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --replay) replay=1; shift ;;
    --max-len) max_len=${2:?--max-len needs a value}; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  case " ${all[*]} " in
    *" $t "*) ;;
    *) echo "run.sh: unknown target '$t' (known: ${all[*]})" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "run.sh: --seconds takes a whole number" >&2; exit 2 ;; esac

build=$root/build-fuzz
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
echo "== fuzz: building ${targets[*]} in build-fuzz"
mkdir -p "$build"
# Unity builds: the libraries compile a batch of sources at a time (faster).
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DSLUICE_FUZZ=ON -DSLUICE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >"$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  exit 1
}
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}"
mkdir -p "$build/corpus" "$build/logs" "$build/artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for t in "${targets[@]}"; do
  seeds=$root/tests/fuzz/corpus/$t
  log=$build/logs/$t.log
  common=(-rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout=20 -print_final_stats=1
          -artifact_prefix="$build/artifacts/$t-")
  # shellcheck disable=SC2206  # FUZZ_FLAGS is a list of flags
  [ -n "${FUZZ_FLAGS:-}" ] && common+=(${FUZZ_FLAGS})
  if [ "$replay" = 1 ]; then
    mode="replay"
    args=(-runs=0 "$seeds")
  else
    mode="${seconds}s"
    mkdir -p "$build/corpus/$t"
    args=(-max_total_time="$seconds" -max_len="$max_len" "$build/corpus/$t" "$seeds")
  fi
  rc=0
  "$build/bin/fuzz_$t" "${common[@]}" "${args[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    result=ok
  else
    result="CRASH (exit $rc)"
    failed=1
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    [ -n "$crash" ] && result="$result, input: ${crash#"$root"/}"
  fi
  printf '%-15s %-7s execs %-10s %s\n' "$t" "$mode" "${execs:-?}" "$result"
  if [ "$rc" != 0 ]; then
    grep -E "ERROR: |FUZZ_CHECK|SUMMARY:|runtime error" "$log" | head -5 | sed 's/^/    /' || true
    echo "    log: ${log#"$root"/}"
  fi
done
if [ "$failed" != 0 ]; then
  echo "== fuzz: a target crashed" >&2
  exit 1
fi
echo "== fuzz: no crash"
