#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a short demo of
# sluice end to end — a broker, two workers and a few hundred jobs (some
# that fail and are retried, some that die) — then prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh binaries
bash scripts/demo.sh
