#!/usr/bin/env bash
# The main job: installs what is missing, builds the binaries, and runs the
# default pipeline end to end (scripts/pipeline.sh: generated coffee-market
# data served by nginx, a broker with the workflow registry, two workers,
# `sluice run coffee --wait`, then the serving tables and the stage timings).
# data/ is kept between runs: a second run fetches nothing unchanged (304s).
# The short job demo (broker + workers + a few hundred test jobs) is
# scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh binaries
bash scripts/pipeline.sh "$@"
