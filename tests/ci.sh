#!/usr/bin/env bash
# The one test command, for a fresh Debian or Ubuntu machine: installs what the tests need
# with apt-get, then runs every test. `.ci/run` calls exactly this. Under it, CI=true, so a
# missing prerequisite fails a test instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(ca-certificates haproxy shellcheck openssh-server openssh-client containerd tmux iproute2 dpkg-dev openssl procps fonts-dejavu-core)
# The lab (tests/lab) and its stand-in Kubernetes list their own machine packages.
for f in tests/lab/packages.txt tests/lab/k8s/packages.txt; do
  if [ -f "$f" ]; then
    while read -r p; do
      case "$p" in '' | '#'*) ;; *) pkgs+=("$p") ;; esac
    done <"$f"
  fi
done

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "ci: installing ${pkgs[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

export CI=true
cargo --version
rc=0
cargo test --locked --all-targets --no-fail-fast 2>&1 || rc=$?
# Labs whose test process died (a crash, a timeout) are taken down; live ones are left alone.
if [ -x tests/lab/lab ] && [ "$(id -u)" = 0 ]; then tests/lab/lab down --stale || true; fi
exit "$rc"
