# shellcheck shell=bash
# Preflight: facts about this node, printed as key=value lines; changes nothing.
# kha-tui compares them across nodes and against what kubeadm needs.
need KHA_PORTS
kv() { printf '%s=%s\n' "$1" "$2"; }

# shellcheck disable=SC1091
. /etc/os-release
kv hostname "$(hostname)"
kv os_id "${ID:-unknown}"
kv os_version "${VERSION_ID:-unknown}"
kv os_pretty "${PRETTY_NAME:-unknown}"
kv cpus "$(nproc)"
kv mem_mb "$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
kv disk_free_mb "$(df -Pm / | awk 'NR == 2 {print $4}')"
kv swap_bytes "$(swapon --show --noheadings --bytes --raw | awk '{s += $3} END {print s + 0}')"
kv cgroup "$(stat -fc %T /sys/fs/cgroup)"
kv product_uuid "$(cat /sys/class/dmi/id/product_uuid 2>/dev/null || true)"
macs=""
for f in /sys/class/net/*/address; do
  m=$(cat "$f")
  case "$m" in 00:00:00:00:00:00 | "") ;; *) macs="$macs $m" ;; esac
done
kv macs "${macs# }"
kv addresses "$(ip -o addr show scope global | awk '{split($4, a, "/"); printf "%s ", a[1]}')"
for p in $KHA_PORTS; do
  who=$(ss -Hltnp "sport = :$p" | sed -n 's/.*users:(("\([^"]*\)".*/\1/p' | head -n 1)
  if [ -z "$who" ] && [ -n "$(ss -Hltn "sport = :$p")" ]; then who=unknown; fi
  kv "port_$p" "${who:-free}"
done
# Can this node reach the load balancer: its API port (once HAProxy listens), else its SSH port?
# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash, on purpose
reach() { timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }
if [ -n "${KHA_LB_ADDR:-}" ]; then
  if reach "$KHA_LB_ADDR" "$KHA_LB_PORT"; then kv lb_reach api
  elif reach "$KHA_LB_ADDR" "$KHA_LB_SSH_PORT"; then kv lb_reach ssh
  else kv lb_reach none
  fi
fi
kv kubelet_conf "$([ -f /etc/kubernetes/kubelet.conf ] && echo yes || echo no)"
kv time "$(date +%s.%N)"
# The host firewall, if one is active: what it lets in, as its own words (parsed by
# src/engine/firewall.rs). ufw: the "To" column of its ALLOW and LIMIT rules (IPv4; "any" first
# when the default incoming policy is allow). firewalld: the default zone's ports, its services' ports and
# its protocols ("any" first when the zone's target is ACCEPT).
if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q '^Status: active'; then
  kv firewall ufw
  allows=$(ufw status | awk '/\(v6\)/ {next} / (ALLOW|LIMIT) / && !/(ALLOW|LIMIT) (OUT|FWD)/ {printf "%s ", $1}')
  if ufw status verbose | grep -q '^Default: allow (incoming)'; then allows="any $allows"; fi
  kv firewall_allows "$allows"
elif command -v firewall-cmd >/dev/null 2>&1 && [ "$(firewall-cmd --state 2>/dev/null)" = running ]; then
  kv firewall firewalld
  zone=$(firewall-cmd --get-default-zone)
  allows="$(firewall-cmd --zone="$zone" --list-ports) $(firewall-cmd --zone="$zone" --list-protocols)"
  for s in $(firewall-cmd --zone="$zone" --list-services); do
    allows="$allows $(firewall-cmd --permanent --service="$s" --get-ports 2>/dev/null || true)"
  done
  if [ "$(firewall-cmd --permanent --zone="$zone" --get-target 2>/dev/null)" = ACCEPT ]; then allows="any $allows"; fi
  kv firewall_allows "$allows"
else
  kv firewall none
fi
