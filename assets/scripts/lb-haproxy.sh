# shellcheck shell=bash
# Step: HAProxy on the load balancer, TCP on the API port in front of every control plane.
# The config kha-tui rendered is at /etc/kha/haproxy.cfg; it is validated before it goes live.
need KHA_API_PORT
ensure_pkgs haproxy

staged=/etc/kha/haproxy.cfg
live=/etc/haproxy/haproxy.cfg
[ -f "$staged" ] || die "$staged is missing"
haproxy -c -q -f "$staged" || die "haproxy -c rejected $staged; the live config was left alone"

changed=0
if write_if_changed "$live" 0644 <"$staged"; then changed=1; fi

systemctl enable haproxy >/dev/null 2>&1 || true
if [ "$changed" = 1 ] || ! systemctl is-active --quiet haproxy; then
  systemctl restart haproxy
fi

for _ in $(seq 1 20); do
  if ss -Hltn "sport = :$KHA_API_PORT" | grep -q LISTEN; then
    log "haproxy listens on port $KHA_API_PORT"
    exit 0
  fi
  sleep 0.5
done
die "haproxy is running but nothing listens on port $KHA_API_PORT (journalctl -u haproxy tells why)"
