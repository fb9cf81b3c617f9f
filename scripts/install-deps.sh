#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs to build, test and run, if any
# are missing. Needs root (or sudo). Safe to run again.
#   --browser  also what the status page's browser test needs (scripts/test.sh):
#              Debian's chromium, nodejs and npm
#   --s3       also what the object-store tests need (scripts/test.sh): nodejs
#              and npm (s3rver), python3-botocore (the test store checks
#              every signature with botocore's signer) and awscli (the
#              independent client)
#   --postgres also what the PostgreSQL engine's tests and benchmark need
#              (scripts/test.sh): Debian's postgresql-15 (initdb, postgres,
#              psql); the tests start their own server and skip without it
set -euo pipefail

packages=(
  g++ make cmake pkg-config git ca-certificates
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libcurl4-openssl-dev libsqlite3-dev sqlite3 libpq-dev zlib1g-dev libssl-dev libgtest-dev libgmock-dev
  nginx-light curl python3 python3-zmq python3-msgpack procps iproute2
  python3-setuptools python3-wheel python3-venv  # producers/python: the pip install test (no index: --no-build-isolation)
  clang libclang-rt-14-dev
  libsystemd-dev  # sd_notify: the broker's readiness for Type=notify
  systemd  # systemd-analyze (tests/packaging/systemd_units_test.sh); does not make it the init
  redis-server libhiredis-dev  # bench/redis_peer.cc: the redis peer benchmark (sluice-bench-redis)
  libcpp-httplib-dev  # the broker's HTTP endpoint (/metrics)
)
need_node=0
for flag in "$@"; do
  case "$flag" in
    --browser)
      packages+=(chromium)  # tests/browser: headless /usr/bin/chromium
      need_node=1           # playwright-core
      ;;
    --s3)
      packages+=(python3-botocore awscli)  # tests/s3: the signature check, the independent client
      need_node=1                          # s3rver
      ;;
    --postgres)
      packages+=(postgresql-15)  # tests/postgres: a real server (pg_server.h), psql for bench/pg_load.cc
      ;;
    *) echo "install-deps: unknown flag '$flag' (--browser, --s3, --postgres)" >&2; exit 2 ;;
  esac
done
# node with npm: Debian's, unless a node with its own npm is already there
# (NodeSource's nodejs conflicts with Debian's npm).
if [ "$need_node" = 1 ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
