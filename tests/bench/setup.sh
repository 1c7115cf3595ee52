#!/usr/bin/env bash
# Installs what the benchmarks in tests/bench need besides the lab (tests/lab/packages.txt):
#   - /usr/bin/time                         (Debian package time): CPU and max RSS of each tool
#   - parallel-ssh                          (Debian package pssh)
#   - clush                                 (Debian package clustershell)
#   - ansible (ansible-core from PyPI) in a venv under /var/cache/kha-bench, never in the repo
# Run as root on Debian/Ubuntu:  bash tests/bench/setup.sh
set -euo pipefail

VENV=${KHA_BENCH_VENV:-/var/cache/kha-bench/ansible-venv}

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq time pssh clustershell python3-venv >/dev/null

if [ ! -x "$VENV/bin/ansible" ]; then
	mkdir -p "$(dirname "$VENV")"
	/usr/bin/python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q ansible-core
fi

echo "parallel-ssh: $(command -v parallel-ssh)"
echo "clush:        $(command -v clush) ($(clush --version 2>&1 | head -1))"
echo "ansible:      $VENV/bin/ansible ($("$VENV/bin/ansible" --version | head -1))"
