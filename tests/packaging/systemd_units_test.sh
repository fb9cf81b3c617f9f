#!/usr/bin/env bash
# The units in systemd/ load without a complaint and are hardened:
#
# 1. `systemd-analyze verify` passes, and prints nothing about them (it exits
#    0 on an unknown key or a value it cannot parse, only warning "ignoring").
#    verify also checks that ExecStart=/ExecReload= name executables, so the
#    units are copied to a temp folder with /usr/local/bin/ rewritten to the
#    build's bin folder. A template is verified through an instance
#    (sluice-worker@x.service).
# 2. `systemd-analyze security --offline=true` rates each unit below 4.0
#    ("OK"), from its "Overall exposure level".
# 3. The same with the drop-ins of systemd/examples/*.service.d/ applied
#    (they loosen the worker for `exec` jobs, or add a shared landing zone).
# 4. The env files of systemd/examples/ are NAME=VALUE lines, as
#    EnvironmentFile= reads them.
#
# Exit 77 (skipped) when systemd-analyze is missing, or cannot verify even a
# trivial unit here (e.g. a chroot where it does not work), or the binaries
# are not built. Needs no running systemd.
# Usage: systemd_units_test.sh REPO BUILD_DIR
set -euo pipefail
repo=$1
bin=$(cd "$2" && pwd)/bin
max_exposure=4.0
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
for b in sluice-broker sluice-worker; do
  [ -x "$bin/$b" ] || skip "$bin/$b is not built"
done
export SYSTEMD_PAGER= SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0
tmp=$(mktemp -d /tmp/sluice-systemd-units-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "== systemd-analyze works here: $(systemd-analyze --version | head -1)"
mkdir "$tmp/probe"
printf '[Service]\nExecStart=%s --version\n' "$bin/sluice-broker" >"$tmp/probe/sluice-probe.service"
if ! out=$(systemd-analyze verify "$tmp/probe/sluice-probe.service" 2>&1) || [ -n "$out" ]; then
  skip "systemd-analyze cannot verify even a trivial unit here: ${out:-(no output, non-zero exit)}"
fi

# verify UNIT_DIR UNIT...: passes, and says nothing about our units.
verify() {
  local dir=$1 out rc=0
  shift
  out=$(cd "$dir" && systemd-analyze verify "$@" 2>&1) || rc=$?
  [ -n "$out" ] && echo "$out"
  [ $rc -eq 0 ] || fail "systemd-analyze verify $* (in $dir) exited $rc"
  if grep -E "sluice|$dir" <<<"$out" >/dev/null; then
    fail "systemd-analyze verify $* complains (above)"
  fi
  echo "verify $*: ok"
}

# exposure UNIT_PATH: prints the overall exposure level, checks it is below max.
exposure() {
  local path=$1 out level
  out=$(systemd-analyze security --offline=true "$path" 2>&1) ||
    { echo "$out"; fail "systemd-analyze security --offline=true $path failed"; }
  level=$(sed -n 's/.*Overall exposure level for [^:]*: *\([0-9][0-9.]*\).*/\1/p' <<<"$out" | tail -1)
  [ -n "$level" ] || { echo "$out"; fail "no 'Overall exposure level' for $path"; }
  if ! awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l < m) }'; then
    grep '✗\|^  *[xX] ' <<<"$out" || echo "$out"
    fail "$(basename "$path") is rated $level, not below $max_exposure"
  fi
  echo "security $(basename "$path"): $level"
}

# The units as installed, with the build's binaries.
units=()
for f in "$repo"/systemd/*.service; do
  units+=("$(basename "$f")")
done
[ ${#units[@]} -ge 2 ] || fail "systemd/ holds ${#units[@]} units, not the broker's and the worker's"
mkdir "$tmp/plain"
for u in "${units[@]}"; do
  sed "s#/usr/local/bin/#$bin/#g" "$repo/systemd/$u" >"$tmp/plain/$u"
done
# The unit names to check: a template through an instance.
names=()
for u in "${units[@]}"; do
  case "$u" in
    *@.service) names+=("${u%@.service}@x.service") ;;
    *) names+=("$u") ;;
  esac
done

echo "== what the units must say"
broker=$repo/systemd/sluice-broker.service
worker=$repo/systemd/sluice-worker@.service
for f in "$broker" "$worker"; do
  [ -f "$f" ] || fail "$f is missing"
  for line in User=sluice Group=sluice StateDirectory=sluice ConfigurationDirectory=sluice \
              ProtectSystem=strict ReadWritePaths=/var/lib/sluice NoNewPrivileges=yes \
              CapabilityBoundingSet= SystemCallFilter=@system-service MemoryDenyWriteExecute=yes; do
    grep -qx "$line" "$f" || fail "$(basename "$f") has no line $line"
  done
  if grep -q '^DynamicUser=yes' "$f"; then
    fail "$(basename "$f"): DynamicUser=yes (the data must keep a fixed owner, sluice)"
  fi
done
grep -qx 'Type=notify' "$broker" || fail "sluice-broker.service is not Type=notify"
grep -qx 'NotifyAccess=main' "$broker" || fail "sluice-broker.service has no NotifyAccess=main"
# CURVE keys are opt-in: the README's service test starts the units without any.
if grep -E '^Environment=.*SLUICE_(CURVE_KEY|AUTHORIZED|BROKER_KEY)' "$broker" "$worker"; then
  fail "a unit sets a CURVE key variable (above): only /etc/sluice/*.env may"
fi
echo "ok"

echo "== systemd-analyze verify"
verify "$tmp/plain" "${names[@]}"

echo "== systemd-analyze security (below $max_exposure)"
for n in "${names[@]}"; do
  exposure "$tmp/plain/$n"
done

echo "== with the drop-ins of systemd/examples/"
dropins=0
for d in "$repo"/systemd/examples/*.service.d; do
  [ -d "$d" ] || continue
  unit=$(basename "$d" .d)
  [ -f "$tmp/plain/$unit" ] || fail "$d is a drop-in folder for $unit, which systemd/ does not have"
  for conf in "$d"/*.conf; do
    one="$tmp/dropin-$(basename "$conf" .conf)"
    mkdir -p "$one/$unit.d"
    cp "$tmp/plain/"*.service "$one/"
    cp "$conf" "$one/$unit.d/"
    n=$unit
    [[ $unit == *@.service ]] && n=${unit%@.service}@x.service
    echo "-- $unit.d/$(basename "$conf")"
    verify "$one" "$n"
    exposure "$one/$n"
    dropins=$((dropins + 1))
  done
done
echo "$dropins drop-ins"

echo "== the env files of systemd/examples/"
envs=0
for f in "$repo"/systemd/examples/*.env; do
  [ -f "$f" ] || continue
  # EnvironmentFile=: comments (# or ;), blank lines, NAME=VALUE; a value in
  # double quotes is one value.
  if bad=$(grep -nvE '^[[:space:]]*([#;].*)?$|^[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|[^"[:space:]]*)$' "$f"); then
    fail "$f: not NAME=VALUE: $bad"
  fi
  grep -qE '^SLUICE_BROKER=' "$f" || fail "$f sets no SLUICE_BROKER"
  echo "$(basename "$f"): $(grep -cE '^[A-Za-z_]' "$f") variables"
  envs=$((envs + 1))
done
[ $envs -gt 0 ] || fail "systemd/examples/ has no env files"

echo "systemd units: ok"
