#!/usr/bin/env bash
# kha-tui node library: kha-tui puts this in front of every step script it runs,
# so each step is one self-contained bash program. Runs as root.
# Not every step calls every function here:
# shellcheck disable=SC2317
set -euo pipefail
# A command that ends the step through errexit names itself, so a step never fails with only
# "exit status 1" (an assignment from a failing pipeline, `n=$(kubectl … | wc -l)`, exits
# silently otherwise). Top level only: the trap is not inherited by functions or $(…). A
# function that returns a failure (`return "$rc"`, as apt_get does) has said why itself.
kha_failed() {
  case "$2" in
    return | "return "*) ;;
    *) printf 'kha-tui: this command failed (exit %s): %s\n' "$1" "$2" >&2 ;;
  esac
}
trap 'kha_failed "$?" "$BASH_COMMAND"' ERR
export DEBIAN_FRONTEND=noninteractive
# Ubuntu's needrestart would restart services (containerd, the kubelet, HAProxy) in the middle of
# a run after a package upgrade; "l" only lists them.
export NEEDRESTART_MODE=l
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

# Every apt call gives up on a stalled mirror or proxy: an attempt with no byte for 10 s fails
# (apt waits up to twice that, connect then response) and is tried twice more, so a dead mirror
# fails the step in about a minute (measured: 66 s) with apt naming the URL
# (instead of hanging until the step's idle limit). An index that cannot be fetched is an error,
# not a warning that leaves old lists in use.
APT_OPTS=(-o Acquire::http::Timeout=10 -o Acquire::https::Timeout=10 -o Acquire::Retries=2
  -o APT::Update::Error-Mode=any -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)

# apt-get that waits for another apt (unattended-upgrades on a fresh VM, or an apt left
# running by a dropped connection) instead of failing. DPkg::Lock::Timeout covers dpkg's lock;
# the lists lock of `apt-get update` has no timeout option, so that one is retried here.
#
# `apt-get update` also runs under a hard cap. apt's own timeouts end a stalled transfer, but an
# update was seen to hang silently after an ignored index behind a caching proxy (nothing printed
# for ten minutes, the lists lock held). `timeout --foreground` keeps apt in the step's process
# group, so stopping the step still ends it; a capped update is tried twice more.
APT_UPDATE_CAP=240
apt_get() {
  local err rc i capped=0 cap=()
  [ "${1:-}" = update ] && cap=(timeout --foreground -k 10 "$APT_UPDATE_CAP")
  err=$(mktemp)
  for i in $(seq 1 60); do
    rc=0
    "${cap[@]}" apt-get "${APT_OPTS[@]}" -q "$@" 2>"$err" || rc=$?
    if [ "${#cap[@]}" -gt 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
      capped=$((capped + 1))
      if [ "$capped" -le 2 ]; then
        log "apt-get update did not finish within ${APT_UPDATE_CAP}s; trying again"
        continue
      fi
      cat "$err" >&2
      rm -f "$err"
      die "apt-get update did not finish within ${APT_UPDATE_CAP}s, three times"
    fi
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

# Writes stdin to a new file next to PATH with MODE; prints its name. Every failure ends the
# step through `die` (explicitly: errexit is off inside a function called from `if`, `||` or
# `&&`, so a failed `mv` would otherwise carry on and report success).
stage_file() {
  local path=$1 mode=$2 tmp
  mkdir -p "$(dirname "$path")" || die "cannot create the directory of $path"
  tmp=$(mktemp "${path}.kha-XXXXXX") || die "cannot create a temporary file next to $path"
  if ! cat >"$tmp" || ! chmod "$mode" "$tmp"; then
    rm -f "$tmp"
    die "cannot write $path"
  fi
  printf '%s\n' "$tmp"
}

# Moves a staged file into place unless PATH already holds exactly that. Status 0 when it
# wrote PATH, 1 when PATH was already identical; any failure ends the step.
install_staged() {
  local tmp=$1 path=$2
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    return 1
  fi
  if ! mv -f "$tmp" "$path"; then
    rm -f "$tmp"
    die "cannot move the new $path into place"
  fi
  log "wrote $path"
  return 0
}

# Writes stdin to PATH with MODE, atomically, when the content differs; any failure ends the
# step. For files whose change matters to nothing else; may sit at the end of a pipe.
write_file() {
  local tmp
  tmp=$(stage_file "$1" "$2") || die "cannot write $1"
  install_staged "$tmp" "$1" || return 0
}

# As write_file, but tells the caller whether the file changed (status 0) or was already
# identical (status 1), so a service is restarted only on change: `if write_if_changed P M <F`.
# Never put it on the right of a pipe: there it runs in a subshell, where a failure's exit would
# read as "unchanged". It refuses to run there.
write_if_changed() {
  local tmp
  [ "$BASHPID" = "$$" ] || die "write_if_changed $1 runs in a subshell (the right of a pipe); use write_file there, or redirect its input from a file"
  tmp=$(stage_file "$1" "$2") || die "cannot write $1"
  install_staged "$tmp" "$1"
}

# Downloads URL to PATH (atomically), retrying transient failures.
fetch() {
  local url=$1 path=$2 tmp
  tmp=$(mktemp "${path}.kha-XXXXXX")
  # A transfer that moves no byte for 20 s counts as failed (curl retries it twice), so a stalled
  # server fails the step in about a minute, naming the URL.
  if ! curl -fsSL --retry 2 --retry-delay 2 --connect-timeout 15 --speed-limit 1 --speed-time 20 \
    -o "$tmp" "$url"; then
    rm -f "$tmp"
    die "cannot download $url"
  fi
  mv -f "$tmp" "$path"
}

# Fails unless FILE (downloaded from URL) has the sha256 WANT, naming the URL, the expected and
# the actual sum; the file is removed then, so that nothing uses it and a retry downloads it
# again. An empty WANT (no sum known) checks nothing and says so on stderr.
pinned_sum() {
  local file=$1 want=$2 url=$3 got
  if [ -z "$want" ]; then
    printf 'kha-tui: warning: no sha256 is known for %s: it is used unchecked (pin it in the inventory: manifest_crds_sha256, manifest_operator_sha256)\n' "$url" >&2
    return 0
  fi
  got=$(sha256sum <"$file") || die "cannot read $file"
  got=${got%% *}
  if [ "$got" != "$want" ]; then
    rm -f "$file"
    die "$url has sha256 $got, but $want is expected: nothing was applied (the source serves another file than the release pinned, or the download was altered)"
  fi
  log "sha256 of $url checked"
}

# Fails unless every primary key in the OpenPGP key file FILE (armored or binary) has the
# fingerprint WANT, which the inventory pins as NAME; an empty WANT pins nothing (https only,
# which kha-tui's check enforces). A key fetched over plain http could have been swapped.
pinned_key() {
  local file=$1 want=$2 name=$3 from=$4 home got
  [ -n "$want" ] || return 0
  home=$(mktemp -d)
  got=$(gpg --homedir "$home" --batch --with-colons --show-keys "$file" 2>/dev/null |
    awk -F: '$1 == "pub" {p = 1; next} $1 == "fpr" && p {print $10; p = 0}') || got=""
  rm -rf "$home"
  got=$(printf '%s' "$got" | tr '\n' ' ')
  [ -n "$got" ] || die "$from holds no OpenPGP key"
  [ "$got" = "$want " ] || [ "$got" = "$want" ] ||
    die "the signing key from $from has fingerprint $got, but $name pins $want; check the mirror (or the pin) before trusting it"
  log "the signing key from $from has the pinned fingerprint $want"
}

# The URL of pkgs.k8s.io's repository (or its mirror) for KHA_K8S_MINOR.
k8s_repo() { printf '%s\n' "$KHA_PACKAGE_BASE/core:/stable:/v$KHA_K8S_MINOR/deb/"; }

# The repository REPO (k8s_repo) as apt's source: its signing key fetched, checked against the
# inventory's pin (package_mirror_key) and kept in /etc/apt/keyrings, then the list file.
k8s_apt_source() {
  local repo=$1 keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg key_tmp
  install -d -m 0755 /etc/apt/keyrings
  key_tmp=$(mktemp)
  fetch "${repo}Release.key" "$key_tmp"
  pinned_key "$key_tmp" "${KHA_PACKAGE_KEY:-}" package_mirror_key "${repo}Release.key"
  gpg --batch --yes --dearmor -o "$key_tmp.gpg" "$key_tmp"
  write_file "$keyring" 0644 <"$key_tmp.gpg"
  rm -f "$key_tmp" "$key_tmp.gpg"
  printf 'deb [signed-by=%s] %s /\n' "$keyring" "$repo" |
    write_file /etc/apt/sources.list.d/kubernetes.list 0644
}

# For an upgrade: the packages PKG... not yet at KHA_K8S_MINOR unheld, installed at the newest
# patch of the minor the source offers for the first of them, and every PKG held again. NONE_OFFERED
# is the error when the source offers none.
k8s_packages_to_minor() {
  local none_offered=$1 version p
  shift
  local todo=() to_install=()
  for p in "$@"; do
    case "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)" in
      "$KHA_K8S_MINOR".*) ;;
      *) todo+=("$p") ;;
    esac
  done
  if [ "${#todo[@]}" -gt 0 ]; then
    apt_get update
    version=$(apt-cache madison "$1" | awk -v m="$KHA_K8S_MINOR." 'index($3, m) == 1 {print $3; exit}')
    [ -n "$version" ] || die "$none_offered"
    apt-mark unhold "${todo[@]}" >/dev/null
    for p in "${todo[@]}"; do to_install+=("$p=$version"); done
    apt_get install -y --allow-change-held-packages "${to_install[@]}"
    log "installed ${to_install[*]}"
  fi
  apt-mark hold "$@" >/dev/null
}
