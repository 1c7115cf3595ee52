#!/usr/bin/env bash
# keepalived's vrrp_script on a load balancer of the pair (installed as
# /etc/keepalived/kha-check-haproxy.sh by lb-keepalived.sh): exit 0 while this LB can serve
# the API endpoint, else non-zero, and keepalived gives up the virtual address.
#
# Two things are checked, both about HAProxy itself:
#  1. an haproxy process runs;
#  2. HAProxy's own frontend accepts a TCP connection on 127.0.0.1:PORT. HAProxy runs the
#     frontend in TCP mode, so it completes the handshake itself before it picks a backend:
#     this proves the listener of *this* LB works, whatever the apiservers do.
# The apiservers' health is deliberately not checked here: HAProxy already routes around a
# down apiserver, and if every apiserver were down both LBs would fail the check and moving
# the address would help nobody.
set -u
port=${1:?usage: kha-check-haproxy.sh PORT}
pgrep -x haproxy >/dev/null || exit 1
# shellcheck disable=SC2016 # $1 expands in the inner bash, on purpose
timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null || exit 2
exit 0
