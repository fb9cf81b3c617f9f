#!/usr/bin/env bash
# bench/peers.sh: sluice and redis on the same workload, in one invocation.
#
# --runs (3) alternating pairs of
#   sluice-bench-throughput            (broker + worker, 4 slots; its flags)
#   sluice-bench-redis --fsync everysec (redis-server, appendonly yes,
#                                        LPUSH x 1,000 pipelined, 4 workers
#                                        BLMOVE + LREM)
# and, with --fsync-pair, as many pairs of
#   sluice-bench-throughput --sync full  vs  sluice-bench-redis --fsync always
# (both durable at every acknowledged write). The order inside a pair
# alternates from one run to the next. Each bench starts and stops its own
# servers by PID, on 127.0.0.1.
#
# Prints each run's figures, the medians (min-max) and the ratios
# sluice/redis of the medians: end-to-end jobs/s (above 1: sluice faster) and
# p99 latency at --rate jobs/s (below 1: sluice lower); the last line of
# stdout is one JSON object. Binaries from $SLUICE_BIN_DIR, else build/bin.
# Exit status 0 on success, 1 when a bench failed, 2 on bad usage.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: bench/peers.sh [--runs N] [--fsync-pair]
         [--jobs N] [--latency-jobs N] [--rate JOBS_PER_S] [--tick-ms MS] [--tick-us US] [--batch B] [--deadline-s S]
         [--slots N]                                  (sluice --slots and redis --workers; 4)
         [--sync normal|full] [--window W] [--prefetch P] [--curve]   (sluice only)
         [--payload-bytes N]                          (redis only)
  --runs N       pairs per comparison (3); figures are medians of N
  --fsync-pair   also compare sluice --sync full with redis --fsync always
  binaries from $SLUICE_BIN_DIR, else build/bin of this checkout
EOF
}

runs=3
fsync_pair=0
both=()         # flags both benches take
sluice_args=()  # sluice-bench-throughput only
redis_args=()   # sluice-bench-redis only
sync_mode=""

need_value() {
  if [ "$2" -lt 2 ]; then
    echo "peers.sh: $1 needs a value" >&2
    usage
    exit 2
  fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) need_value "$1" $#; runs="$2"; shift 2 ;;
    --fsync-pair) fsync_pair=1; shift ;;
    --jobs|--latency-jobs|--rate|--tick-ms|--tick-us|--batch|--deadline-s)
      need_value "$1" $#; both+=("$1" "$2"); shift 2 ;;
    --slots|--workers)
      need_value "$1" $#; sluice_args+=(--slots "$2"); redis_args+=(--workers "$2"); shift 2 ;;
    --sync) need_value "$1" $#; sync_mode="$2"; shift 2 ;;
    --window|--prefetch) need_value "$1" $#; sluice_args+=("$1" "$2"); shift 2 ;;
    --curve) sluice_args+=("$1"); shift ;;
    --payload-bytes) need_value "$1" $#; redis_args+=("$1" "$2"); shift 2 ;;
    -h|--help) usage; exit 2 ;;
    *) echo "peers.sh: unknown argument: $1" >&2; usage; exit 2 ;;
  esac
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "peers.sh: --runs wants a positive integer" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir="${SLUICE_BIN_DIR:-$here/../build/bin}"
python=/usr/bin/python3
for b in "$bin_dir/sluice-bench-throughput" "$bin_dir/sluice-bench-redis"; do
  if [ ! -x "$b" ]; then
    echo "peers.sh: $b not found (build it: cmake --build build --target $(basename "$b"))" >&2
    exit 1
  fi
done
if [ ! -x "$python" ]; then
  echo "peers.sh: $python not found (it reads the benches' JSON lines)" >&2
  exit 1
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/sluice-peers-XXXXXX")"
trap 'rm -rf "$out"' EXIT

# Reads one bench's JSON line (file $1) and prints "e2e p50_us p99_us",
# taking sluice's *_us fields when present, else *_ms x 1000.
figures() {
  "$python" - "$1" <<'EOF'
import json, sys
j = json.loads(open(sys.argv[1]).read())
def us(name):
    if j.get(name + "_us") is not None:
        return float(j[name + "_us"])
    if j.get(name + "_ms") is not None:
        return float(j[name + "_ms"]) * 1000.0
    return float("nan")
print("%.1f %.0f %.0f" % (float(j.get("e2e_jobs_per_s") or float("nan")), us("p50"), us("p99")))
EOF
}

# run_one LABEL RUN BINARY ARGS...: runs a bench, keeps the last stdout line
# as $out/LABEL.RUN.json, prints a summary line.
run_one() {
  local label="$1" run="$2" binary="$3"
  shift 3
  local base="$out/$label.$run"
  echo "run $run/$runs $label: $(basename "$binary") $*" >&2
  if ! "$bin_dir/$binary" "$@" >"$base.out" 2>"$base.err"; then
    echo "peers.sh: $binary failed (run $run, $label):" >&2
    tail -n 30 "$base.err" >&2
    exit 1
  fi
  tail -n 1 "$base.out" >"$base.json"
  read -r e2e p50 p99 < <(figures "$base.json")
  printf '  run %d %-22s e2e %10.0f jobs/s   p50 %8.0f us   p99 %8.0f us\n' "$run" "$label" "$e2e" "$p50" "$p99"
}

sluice_main=("${sluice_args[@]}")
sluice_label="sluice"
if [ -n "$sync_mode" ]; then
  sluice_main+=(--sync "$sync_mode")
  sluice_label="sluice-sync-$sync_mode"
else
  sluice_label="sluice-sync-default"
fi

echo "peers.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$runs runs, flags: ${both[*]:-(defaults)}"

pairs=("$sluice_label|redis-everysec")
for ((i = 1; i <= runs; i++)); do
  if ((i % 2 == 1)); then
    run_one "$sluice_label" "$i" sluice-bench-throughput "${both[@]}" "${sluice_main[@]}"
    run_one redis-everysec "$i" sluice-bench-redis "${both[@]}" "${redis_args[@]}" --fsync everysec
  else
    run_one redis-everysec "$i" sluice-bench-redis "${both[@]}" "${redis_args[@]}" --fsync everysec
    run_one "$sluice_label" "$i" sluice-bench-throughput "${both[@]}" "${sluice_main[@]}"
  fi
done
if ((fsync_pair)); then
  pairs+=("sluice-sync-full|redis-always")
  for ((i = 1; i <= runs; i++)); do
    if ((i % 2 == 1)); then
      run_one sluice-sync-full "$i" sluice-bench-throughput "${both[@]}" "${sluice_args[@]}" --sync full
      run_one redis-always "$i" sluice-bench-redis "${both[@]}" "${redis_args[@]}" --fsync always
    else
      run_one redis-always "$i" sluice-bench-redis "${both[@]}" "${redis_args[@]}" --fsync always
      run_one sluice-sync-full "$i" sluice-bench-throughput "${both[@]}" "${sluice_args[@]}" --sync full
    fi
  done
fi

"$python" - "$out" "$runs" "${pairs[@]}" <<'EOF'
import json, math, os, statistics, sys

out, runs, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def load(label):
    rows = []
    for i in range(1, runs + 1):
        with open(os.path.join(out, "%s.%d.json" % (label, i))) as f:
            rows.append(json.loads(f.read()))
    return rows

def us(j, name):
    if j.get(name + "_us") is not None:
        return float(j[name + "_us"])
    if j.get(name + "_ms") is not None:
        return float(j[name + "_ms"]) * 1000.0
    return math.nan

def stats(values):
    v = [x for x in values if not math.isnan(x)]
    each = [None if math.isnan(x) else x for x in values]
    if not v:
        return {"median": None, "min": None, "max": None, "runs": each}
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": each}

def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)

def fmt(s, unit):
    if s["median"] is None:
        return "n/a"
    return "%s (%s-%s) %s" % ("{:,.0f}".format(s["median"]), "{:,.0f}".format(s["min"]),
                              "{:,.0f}".format(s["max"]), unit)

result = {"bench": "peers", "runs": runs, "pairs": []}
redis_version = None
for pair in pairs:
    s_label, r_label = pair.split("|")
    s_rows, r_rows = load(s_label), load(r_label)
    redis_version = r_rows[0].get("redis_version", redis_version)
    entry = {"name": pair.replace("|", "/")}
    for side, label, rows in (("sluice", s_label, s_rows), ("redis", r_label, r_rows)):
        entry[side] = {
            "label": label,
            "e2e_jobs_per_s": stats([float(r.get("e2e_jobs_per_s") or math.nan) for r in rows]),
            "p50_us": stats([us(r, "p50") for r in rows]),
            "p99_us": stats([us(r, "p99") for r in rows]),
        }
    entry["sluice"]["sync"] = s_rows[0].get("sync")
    entry["redis"]["fsync"] = r_rows[0].get("fsync")
    entry["ratio_e2e"] = ratio(entry["sluice"]["e2e_jobs_per_s"]["median"], entry["redis"]["e2e_jobs_per_s"]["median"])
    entry["ratio_p99"] = ratio(entry["sluice"]["p99_us"]["median"], entry["redis"]["p99_us"]["median"])
    result["pairs"].append(entry)
    print()
    print("%s vs %s: medians of %d (min-max)" % (s_label, r_label, runs))
    for side in ("sluice", "redis"):
        e = entry[side]
        print("  %-22s e2e %s   p50 %s   p99 %s" % (e["label"], fmt(e["e2e_jobs_per_s"], "jobs/s"),
                                                  fmt(e["p50_us"], "us"), fmt(e["p99_us"], "us")))
    print("  ratio sluice/redis: e2e throughput %s (above 1: sluice faster), p99 %s (below 1: sluice lower)"
          % (entry["ratio_e2e"], entry["ratio_p99"]))

result["redis_version"] = redis_version
result["ratio_e2e"] = result["pairs"][0]["ratio_e2e"]
result["ratio_p99"] = result["pairs"][0]["ratio_p99"]
if len(result["pairs"]) > 1:
    result["fsync_pair_ratio_e2e"] = result["pairs"][1]["ratio_e2e"]
    result["fsync_pair_ratio_p99"] = result["pairs"][1]["ratio_p99"]
print(json.dumps(result, separators=(",", ":"), allow_nan=False, default=str))
EOF
