#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice:
# on the release build and under AddressSanitizer + UBSan; then the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase says when it starts (seconds since this script did), so a slow
# CI run shows where its time went.
phase() { echo "== $* [at ${SECONDS} s]"; }
bash scripts/install-deps.sh --browser --s3 --postgres
# From npm, at the versions package-lock.json pins: the browser test's
# driver (Chromium is Debian's, never downloaded) and the test S3 store.
# Node trusts the system's CA bundle too (a host behind a TLS-inspecting
# proxy has its CA there). If the registry cannot be reached, say so
# loudly: those tests then skip, naming what is missing.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
npm_install() {  # FOLDER PACKAGE WHAT-SKIPS
  [ -d "$1/node_modules/$2" ] && return 0
  if ! npm ci --prefix "$1" --no-audit --no-fund --loglevel=error; then
    echo "test.sh: WARNING: npm could not install $2; $3 will be skipped" >&2
  fi
}
npm_install tests/browser playwright-core "browser_status_page_test"
npm_install tests/s3 s3rver "the S3 tests"
phase "release build"
bash scripts/build.sh release
jobs=$(nproc 2>/dev/null || echo 2)

# The integration tests mostly wait on the processes they start, so the
# next build runs beside each test pass at the lowest CPU priority (nice
# 19: the tests get the CPU whenever they want it) and soaks up the idle
# time: the ASan build beside the release tests, the fuzzers' build beside
# the ASan tests. Its output goes to a log, shown when it fails.
background=""
# It runs in a session of its own, so that a failure here stops all of it.
trap '[ -n "$background" ] && { kill -- "-$background" 2>/dev/null; kill "$background" 2>/dev/null; } || true' EXIT
in_background() {  # LOG COMMAND...: starts COMMAND niced in the background
  local log=$1
  shift
  setsid nice -n 19 "$@" >"$log" 2>&1 &
  background=$!
}
wait_background() {  # LOG WHAT: waits for it; on failure shows its log and stops
  if ! wait "$background"; then
    background=""
    echo "== $2 failed:" >&2
    cat "$1" >&2
    exit 1
  fi
  background=""
}

phase "release build done"
mkdir -p build/ci-logs
phase "tests (release), building asan+ubsan beside them"
in_background build/ci-logs/build-asan.log bash scripts/build.sh asan
ctest --test-dir build --output-on-failure -j "$jobs"
wait_background build/ci-logs/build-asan.log "the asan+ubsan build"
tail -1 build/ci-logs/build-asan.log

phase "tests (asan+ubsan), building the fuzzers beside them"
# Fuzzing (tests/fuzz): this build also replays every seed once.
in_background build/ci-logs/fuzz-replay.log bash tests/fuzz/run.sh --replay
# The chaos soak (label chaos), the browser test and the network-namespace
# tests run on the release build above only: the soak is about recovery
# under faults, and its 45 s of load belongs once in CI; the browser test is
# about the page's JS; the namespace tests about partitions between hosts,
# through the same code the other integration tests run under ASan; the
# test S3 store's own check (label s3front) about the store, not sluice; the
# default pipeline over S3 (label s3pipeline) runs the code that
# integ_s3_*_test run under ASan, in whole runs of the pipeline; and the
# tests about timing under load (label timing), whose code the broker's
# unit tests run under ASan.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE "chaos|browser|netns|s3front|s3pipeline|timing"
wait_background build/ci-logs/fuzz-replay.log "the fuzzers' build or a seed's replay"
phase "fuzz"
grep -E "replay|no crash" build/ci-logs/fuzz-replay.log || true
# Then each target for 3 s (longer runs: tests/fuzz/README.md).
bash tests/fuzz/run.sh --seconds 3
phase "all tests passed"
