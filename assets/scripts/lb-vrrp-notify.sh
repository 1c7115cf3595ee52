#!/usr/bin/env bash
# keepalived's notify script on a load balancer of the pair (installed as
# /etc/keepalived/kha-notify.sh by lb-keepalived.sh). keepalived calls it with
# TYPE NAME STATE PRIORITY on every state change; the state (MASTER, BACKUP, FAULT, STOP)
# goes to /run/kha-tui/vrrp-state, one word, written atomically, for kha-tui to read.
set -u
state=${3:-UNKNOWN}
case "$state" in MASTER | BACKUP | FAULT | STOP) ;; *) state=UNKNOWN ;; esac
dir=/run/kha-tui
mkdir -p "$dir"
tmp=$(mktemp "$dir/vrrp-state.XXXXXX") || exit 1
printf '%s\n' "$state" >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$dir/vrrp-state"
