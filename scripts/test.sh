#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite twice:
# on the release build and under AddressSanitizer + UBSan; then the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
bash scripts/build.sh asan
jobs=$(nproc 2>/dev/null || echo 2)
echo "== tests (release)"
ctest --test-dir build --output-on-failure -j "$jobs"
echo "== tests (asan+ubsan)"
# The chaos soak (label chaos) runs on the release build above: it is about
# recovery under faults, and its 60 s of load belongs once in CI.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE chaos
# Fuzzing (tests/fuzz): replay every seed, then fuzz each target for 10 s.
echo "== fuzz"
bash tests/fuzz/run.sh --replay
bash tests/fuzz/run.sh --seconds 10
echo "== all tests passed"
