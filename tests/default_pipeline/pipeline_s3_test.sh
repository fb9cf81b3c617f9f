#!/usr/bin/env bash
# The default pipeline with its landing zone in an S3-compatible store and
# no folder shared between the workers (scripts/pipeline.sh --landing
# s3://...): worker 2 extracts into the bucket, worker 1 loads from it,
# builds and exports, each with its own spool folder. The store is s3rver
# behind the signature-checking front (tests/s3/s3_front.py). Then Debian's
# awscli lists the landed objects and reads each back: it must gunzip to
# one of the origin's files, byte for byte.
# Usage: pipeline_s3_test.sh REPO. Exit 77 (skipped, with the reason) where
# nginx, sqlite3, curl, awscli, node or s3rver is missing.
set -euo pipefail
repo=$1
bin=${SLUICE_BIN_DIR:?SLUICE_BIN_DIR is not set}
skip() { echo "SKIPPED: $*"; exit 77; }
for tool in /usr/sbin/nginx /usr/bin/python3 /usr/bin/aws "$(command -v sqlite3 || true)" "$(command -v curl || true)"; do
  [ -n "$tool" ] && [ -x "$tool" ] || skip "a tool is missing ($tool)"
done
data=$(mktemp -d /tmp/sluice-pipeline-s3-XXXXXX)
. "$repo/tests/s3/front.sh"
cleanup() {
  s3_front_stop
  rm -rf "$data"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
s3_front_start "$data" sluice-landing
aws() { aws_cli "$@"; }

echo "== the pipeline, landing in s3://sluice-landing/zone"
SLUICE_BIN_DIR=$bin bash "$repo/scripts/pipeline.sh" --data "$data/pipeline" --as-of 2025-06-17 \
  --landing s3://sluice-landing/zone >"$data/run.out" 2>&1 || { cat "$data/run.out"; fail "the run failed"; }
cat "$data/run.out"
[ "$(grep -c 'files_written=1 files_skipped=0' "$data/run.out")" -eq 4 ] || fail "not 4 downloads"
grep -q 'loaded 4 files' "$data/run.out" || fail "the 4 landed objects were not loaded"
grep -q '13/13 models built' "$data/run.out" || fail "not 13 models built"
# Extracts on worker 2 only; load, transform and export on worker 1 only.
[ "$(grep -Ec '^extract_[a-z]+ +j[0-9]+ +succeeded .* pipeline-worker-2 +HTTP 200' "$data/run.out")" -eq 4 ] ||
  fail "the 4 extracts did not all run on pipeline-worker-2"
for stage in transform export; do
  grep -Eq "^$stage +[^ ]+ +succeeded .* pipeline-worker-1 " "$data/run.out" ||
    fail "the $stage stage did not run on pipeline-worker-1"
done
n=$(sqlite3 "$data/pipeline/analytics.sqlite" "SELECT count(*) FROM serving_coffee_balance")
[ "$n" -gt 50 ] || fail "serving_coffee_balance has $n rows"
[ ! -e "$data/pipeline/landing" ] || fail "a local landing folder was made"
for h in 1 2; do
  left=$(find "$data/pipeline/host$h" -type f 2>/dev/null | wc -l)
  [ "$left" -eq 0 ] || fail "host $h's spool folder kept $left files"
done

echo "== awscli reads the landed objects"
aws s3 ls --recursive s3://sluice-landing/zone/ | tee "$data/ls.out"
[ "$(grep -c '\.gz$' "$data/ls.out")" -eq 4 ] || fail "awscli does not list 4 objects"
grep -Evq ' zone/[a-z0-9_]+/[0-9]{4}/[0-9]{2}/[^/]+\.gz$' "$data/ls.out" &&
  fail "an object is not named {source}/{YYYY}/{MM}/{name}.gz"
(cd "$data/pipeline/origin" && find . -type f -exec sha256sum {} + | cut -d' ' -f1 | sort -u) >"$data/origin.sums"
mkdir -p "$data/back"
i=0
for key in $(awk '{print $4}' "$data/ls.out"); do
  i=$((i + 1))
  aws s3 cp --quiet "s3://sluice-landing/$key" "$data/back/$i.gz"
  sum=$(gunzip -c "$data/back/$i.gz" | sha256sum | cut -d' ' -f1)
  grep -qx "$sum" "$data/origin.sums" || fail "$key does not gunzip to an origin file"
done
echo "pipeline with an s3:// landing zone: ok"
