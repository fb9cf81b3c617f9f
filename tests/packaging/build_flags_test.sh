#!/usr/bin/env bash
# What a packager types, `cmake -S . -B b -DCMAKE_BUILD_TYPE=Release`, must
# not turn warnings into errors (a new compiler's new or false warning would
# fail the build); -DSLUICE_WERROR=ON does, and scripts/build.sh sets it for
# the builds CI makes (release, asan). And the Release build of
# schemas/job_id.cc is warning-free (GCC 12 -O3 once warned -Wrestrict there).
# Configures only (no build) in a temp folder, then compiles that one file
# with its Release command plus -Werror.
# Usage: build_flags_test.sh REPO CXX_COMPILER
set -euo pipefail
repo=$1
cxx=$2
fail() { echo "FAIL: $*"; exit 1; }
[ -x /usr/bin/python3 ] || { echo "skipped: /usr/bin/python3 is missing"; exit 77; }
tmp=$(mktemp -d /tmp/sluice-build-flags-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

flags_of() {  # the compile command lines of sluice's own sources, one a line
  /usr/bin/python3 - "$1" "$repo" <<'PY'
import json, sys
for entry in json.load(open(sys.argv[1])):
    if entry["file"].startswith(sys.argv[2] + "/"):
        print(entry["file"], entry.get("command") or " ".join(entry["arguments"]))
PY
}

echo "== default options, Release"
cmake -S "$repo" -B "$tmp/b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log"; fail "the default configure failed"; }
flags_of "$tmp/b/compile_commands.json" >"$tmp/default.txt"
[ -s "$tmp/default.txt" ] || fail "compile_commands.json lists none of sluice's sources"
grep -q -- ' -Wall' "$tmp/default.txt" || fail "the default build has no -Wall (the warning flags moved?)"
if grep -q -- '-Werror' "$tmp/default.txt"; then
  grep -- '-Werror' "$tmp/default.txt" | head -3
  fail "the default build treats warnings as errors"
fi
echo "no -Werror in $(wc -l <"$tmp/default.txt") compile commands"

echo "== schemas/job_id.cc at Release, with -Werror"
cmd=$(grep "^$repo/schemas/job_id.cc " "$tmp/default.txt" | cut -d' ' -f2-) || true
[ -n "$cmd" ] || fail "no compile command for schemas/job_id.cc"
cmd=$(echo "$cmd" | sed -e 's| -o [^ ]*| -o '"$tmp"'/job_id.o|')
(cd "$tmp/b/schemas" && eval "$cmd -Werror") || fail "schemas/job_id.cc warns at Release"

echo "== -DSLUICE_WERROR=ON"
cmake -S "$repo" -B "$tmp/b" -DSLUICE_WERROR=ON >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log"; fail "the -DSLUICE_WERROR=ON configure failed"; }
flags_of "$tmp/b/compile_commands.json" >"$tmp/werror.txt"
grep -q "^$repo/schemas/job_id.cc .*-Werror" "$tmp/werror.txt" || fail "-DSLUICE_WERROR=ON adds no -Werror"

echo "== scripts/build.sh: CI's builds (release, asan) set SLUICE_WERROR=ON"
for flavour in release asan; do
  grep -Eq "^ *$flavour\) .*-DSLUICE_WERROR=ON" "$repo/scripts/build.sh" ||
    fail "scripts/build.sh $flavour does not set -DSLUICE_WERROR=ON"
done
echo "build flags: ok"
