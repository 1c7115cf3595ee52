# shellcheck shell=bash
# Preflight of a load balancer of the pair, run after preflight.sh as a command of its own (it
# listens for 3 s, which would skew preflight.sh's clock measurement): is the virtual address
# free and in this LB's subnet, and does another VRRP group use the pair's router id? Prints
# key=value lines; changes nothing.
need KHA_VIP
kv() { printf '%s=%s\n' "$1" "$2"; }

# vip_route: how this LB reaches KHA_VIP (local = it holds it, onlink = in an interface's subnet,
# routed, none). vip_ours: keepalived here runs kha-tui's config for this VIP (an earlier run).
# vip_answer: something answers on the VIP: a ping, or an ARP reply (asked by python3 on the
# wire, not read from the neighbour cache, which may remember a host that left) — yes/no.
# vrrp_adverts: VRRP adverts heard for 3 s ("ROUTER_ID:SOURCE ..."; "unknown" without python3).
lb_pair_facts() {
  local route iface src answer=no
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
  case "$route" in
    local*) answer=yes ;;
    *) if command -v ping >/dev/null 2>&1 && ping -n -q -c 1 -W 1 "$KHA_VIP" >/dev/null 2>&1; then answer=yes; fi ;;
  esac
  if ! command -v python3 >/dev/null 2>&1 || [ -z "$src" ] || [ -z "$iface" ]; then
    kv vip_answer "$answer"
    kv vrrp_adverts unknown
    return 0
  fi
  [ "$answer" = no ] || kv vip_answer yes
  local err out
  err=$(mktemp)
  # python3 prints vip_answer (when the ping did not already answer) and vrrp_adverts. When it
  # fails (no raw sockets here, say), both are still said: the answer unknown, with its reason.
  if ! out=$(python3 - "$iface" "$src" "$KHA_VIP" "$answer" 2>"$err" <<'PY'
import select, socket, struct, sys, time
iface, src, vip, answered = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "yes"
# VRRP (IP protocol 112): every advert that reaches this host, multicast group joined.
vrrp = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
try:
    vrrp.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton("224.0.0.18") + socket.inet_aton(src))
except OSError:
    pass
# ARP: "who has VIP?" broadcast on the interface, twice; any reply from VIP means it is taken.
arp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
arp.bind((iface, 0))
mac = arp.getsockname()[4]
ask = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
       + mac + socket.inet_aton(src) + b"\x00" * 6 + socket.inet_aton(vip))
seen, end, sent = set(), time.time() + 3, 0
while time.time() < end:
    if sent < 2 and time.time() > end - 3 + sent:
        arp.send(ask)
        sent += 1
    ready, _, _ = select.select([vrrp, arp], [], [], 0.2)
    for s in ready:
        data = s.recv(2048)
        if s is arp:
            if len(data) >= 42 and data[20:22] == b"\x00\x02" and data[28:32] == socket.inet_aton(vip):
                answered = True
        else:
            ihl = (data[0] & 15) * 4
            v = data[ihl:ihl + 2]
            if len(v) == 2 and v[0] >> 4 in (2, 3):
                seen.add("%d:%s" % (v[1], socket.inet_ntoa(data[12:16])))
if not sys.argv[4] == "yes":
    print("vip_answer=" + ("yes" if answered else "no"))
print("vrrp_adverts=" + " ".join(sorted(seen)))
PY
  ); then
    [ "$answer" = yes ] || kv vip_answer unknown
    kv vip_probe_error "python3 failed: $(tail -n 1 "$err" | tr -d '\r')"
    kv vrrp_adverts unknown
  else
    printf '%s\n' "$out"
  fi
  rm -f "$err"
}
lb_pair_facts
