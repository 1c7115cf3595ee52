#!/usr/bin/env bash
# kha-tui node library: kha-tui puts this in front of every step script it runs,
# so each step is one self-contained bash program. Runs as root.
# Not every step calls every function here:
# shellcheck disable=SC2317
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
umask 022

log() { printf '%s\n' "$*"; }
die() { printf 'kha-tui: %s\n' "$*" >&2; exit 1; }

# Fails unless every named variable is set and not empty.
need() {
  local v
  for v in "$@"; do
    [ -n "${!v:-}" ] || die "variable $v is not set (kha-tui passes it; run this step through kha-tui)"
  done
}

# apt-get that waits for another apt (unattended-upgrades on a fresh VM, or an apt left
# running by a dropped connection) instead of failing. DPkg::Lock::Timeout covers dpkg's lock;
# the lists lock of `apt-get update` has no timeout option, so that one is retried here.
apt_get() {
  local err rc i
  err=$(mktemp)
  for i in $(seq 1 60); do
    rc=0
    apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 -q "$@" 2>"$err" || rc=$?
    if [ "$rc" != 0 ] && grep -q 'Could not get lock' "$err"; then
      [ "$i" = 1 ] && log "another apt holds its lock; waiting for it"
      sleep 5
      continue
    fi
    cat "$err" >&2
    rm -f "$err"
    return "$rc"
  done
  cat "$err" >&2
  rm -f "$err"
  return "$rc"
}

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Installs the named packages that are missing; changes nothing when all are there.
ensure_pkgs() {
  local p missing=()
  for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_get update
    apt_get install -y --no-install-recommends "${missing[@]}"
  fi
}

# Writes stdin to PATH with MODE, atomically; returns 0 when the file changed, 1 when it was
# already identical (so callers restart services only on change).
write_if_changed() {
  local path=$1 mode=$2 tmp
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "${path}.kha-XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$path"
  log "wrote $path"
  return 0
}

# Downloads URL to PATH (atomically), retrying transient failures.
fetch() {
  local url=$1 path=$2 tmp
  tmp=$(mktemp "${path}.kha-XXXXXX")
  if ! curl -fsSL --retry 5 --retry-delay 2 --connect-timeout 15 -o "$tmp" "$url"; then
    rm -f "$tmp"
    die "cannot download $url"
  fi
  mv -f "$tmp" "$path"
}
