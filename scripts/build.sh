#!/usr/bin/env bash
# Configures and builds sluice. Usage: scripts/build.sh [release|asan|binaries]
#   release  -> build/       (RelWithDebInfo: the binaries, tests and benchmarks)
#   binaries -> build/       (the same, without tests and benchmarks: faster)
#   asan     -> build-asan/  (AddressSanitizer + UndefinedBehaviorSanitizer)
# release and asan (what CI builds) treat warnings as errors (-DSLUICE_WERROR=ON);
# a plain cmake build, and `binaries`, do not.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc 2>/dev/null || echo 2)
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=ON -DSLUICE_BENCH=ON -DSLUICE_WERROR=ON) ;;
  binaries) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF -DSLUICE_WERROR=OFF) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_BENCH=OFF -DSLUICE_WERROR=ON) ;;
  *) echo "usage: $0 [release|asan|binaries]" >&2; exit 2 ;;
esac
# Unity builds (sources of a target compiled a batch at a time) cut the
# build time: most of it is parsing the same heavy headers again and again.
# Debug info is line tables only (-g1): backtraces and sanitizer reports keep
# file:line, objects are 4x smaller, and compiling and linking take 10-20%
# less time than with full -g.
cmake -S . -B "$dir" "${flags[@]}" -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" >/dev/null
cmake --build "$dir" -j "$jobs"
