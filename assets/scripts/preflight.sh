# shellcheck shell=bash
# Preflight: facts about this node, printed as key=value lines; changes nothing.
# kha-tui compares them across nodes and against what kubeadm needs.
need KHA_PORTS
kv() { printf '%s=%s\n' "$1" "$2"; }

# vip_route: how this LB reaches KHA_VIP (local = it holds it, onlink = in an interface's subnet,
# routed, none). vip_ours: keepalived here runs kha-tui's config for this VIP (an earlier run).
# vip_answer: something answers on the VIP (ARP or ping) — yes/no. vrrp_adverts: VRRP adverts
# heard for 3 s ("ROUTER_ID:SOURCE ..."; "unknown" without python3).
lb_pair_facts() {
  local route iface src
  route=$(ip -o route get "$KHA_VIP" 2>/dev/null || true)
  case "$route" in
    local*) kv vip_route local ;;
    *" via "*) kv vip_route routed ;;
    "") kv vip_route none ;;
    *) kv vip_route onlink ;;
  esac
  if grep -qs 'Written by kha-tui' /etc/keepalived/keepalived.conf &&
    grep -qsF "$KHA_VIP/" /etc/keepalived/keepalived.conf; then
    kv vip_ours yes
  else
    kv vip_ours no
  fi
  iface=$(printf '%s\n' "$route" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  src=$(printf '%s\n' "$route" | sed -n 's/.* src \([^ ]*\).*/\1/p')
  local answer=no
  case "$route" in
    local*) answer=yes ;;
    *)
      if command -v ping >/dev/null 2>&1 && ping -n -q -c 1 -W 1 "$KHA_VIP" >/dev/null 2>&1; then
        answer=yes
      else
        # A host that drops pings still answers ARP: after a connection attempt (which makes
        # the kernel ask), a neighbour entry with a MAC address means someone has the address.
        # shellcheck disable=SC2016 # $1 expands in the inner bash, on purpose
        timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/9"' _ "$KHA_VIP" 2>/dev/null || true
        sleep 0.5
        if ip neigh show to "$KHA_VIP" ${iface:+dev "$iface"} | grep -q lladdr; then answer=yes; fi
      fi
      ;;
  esac
  kv vip_answer "$answer"
  if command -v python3 >/dev/null 2>&1 && [ -n "$src" ]; then
    python3 - "$src" <<'PY' || kv vrrp_adverts unknown
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)  # IPPROTO_VRRP
try:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton("224.0.0.18") + socket.inet_aton(sys.argv[1]))
except OSError:
    pass
s.settimeout(0.2)
seen, end = set(), time.time() + 3
while time.time() < end:
    try:
        data, (source, _) = s.recvfrom(2048)
    except socket.timeout:
        continue
    ihl = (data[0] & 15) * 4
    v = data[ihl:ihl + 2]
    if len(v) == 2 and v[0] >> 4 in (2, 3):
        seen.add("%d:%s" % (v[1], source))
print("vrrp_adverts=" + " ".join(sorted(seen)))
PY
  else
    kv vrrp_adverts unknown
  fi
}
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
# A load balancer of a pair: is the virtual address free, in this LB's subnet, and does another
# VRRP group use the router id? (See lb-pair-facts below.)
if [ -n "${KHA_VIP:-}" ]; then
  lb_pair_facts
fi
kv kubelet_conf "$([ -f /etc/kubernetes/kubelet.conf ] && echo yes || echo no)"
kv time "$(date +%s.%N)"
