# shellcheck shell=bash
# Step (read-only, `kha-tui status`): HAProxy's view of the API servers on this load balancer,
# and whether this LB holds the cluster's virtual address, as `kha-status KIND ...` lines.
# Changes nothing.
say() { printf 'kha-status %s\n' "$*"; }
sock=/run/haproxy/admin.sock

if ! systemctl is-active --quiet haproxy; then
  say haproxy-error "haproxy is not running ($(systemctl is-active haproxy 2>/dev/null || true))"
elif [ ! -S "$sock" ]; then
  say haproxy-error "no stats socket $sock (the config kha-tui writes declares it)"
else
  # `show stat` prints CSV; kha-tui keeps the header and the kube-apiserver backend's rows.
  if command -v socat >/dev/null 2>&1; then
    stat=$(printf 'show stat\n' | socat -t 5 stdio "unix-connect:$sock" 2>&1) || true
  elif command -v python3 >/dev/null 2>&1; then
    stat=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"show stat\n"); data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
sys.stdout.write(data.decode())' "$sock" 2>&1) || true
  else
    stat=""
    say haproxy-error "neither socat nor python3 on this host to read $sock: apt-get install socat"
  fi
  printf '%s\n' "$stat" | awk -F, '/^# pxname/ || $1 == "kube-apiserver" { print "kha-status haproxy " $0 }'
fi

if [ -n "${KHA_VIP:-}" ]; then
  if ip -o addr show | awk '{ split($4, a, "/"); print a[1] }' | grep -qxF "$KHA_VIP"; then
    say vip held "$KHA_VIP"
  else
    say vip not-held "$KHA_VIP"
  fi
fi
