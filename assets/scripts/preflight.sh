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
# The host firewall, if one is active: its rules as "ACTION,TO,FROM" in the order it applies
# them (parsed by src/engine/firewall.rs, which judges them against the cluster's addresses).
# ufw: the kha-tui VRRP lines of before.rules, then `ufw status` (To, Action, From; rules on
# an interface or to an address are left out), then "ALLOW,any,Anywhere" when the default
# incoming policy is allow. firewalld: per zone of the interfaces the cluster is reached
# through (fw_zones, "@ZONE" first), its rich rules (DENY ones first, as firewalld applies
# them), its ports, protocols and services' ports, then "ALLOW,any,Anywhere" for a target ACCEPT.
if command -v ufw >/dev/null 2>&1 && [[ "$(ufw status 2>/dev/null)" == "Status: active"* ]]; then
  kv firewall ufw
  rules=""
  if [ -f "$UFW_BEFORE_RULES" ]; then
    rules=$(sed -n 's/^-A ufw-before-input -p 112 -s \([^ ]*\) -j ACCEPT -m comment --comment kha-tui$/ALLOW,vrrp,\1/p' "$UFW_BEFORE_RULES" | tr '\n' ' ')
  fi
  rules="$rules$(ufw status | awk '
    { v6 = gsub(/ \(v6\)/, ""); $0 = $0
      i = 0; for (k = 1; k <= NF; k++) if ($k ~ /^(ALLOW|DENY|REJECT|LIMIT)$/) { i = k; break }
      if (i != 2) next
      j = i + 1; if ($j == "IN") j++; else if ($j == "OUT" || $j == "FWD") next
      from = $j; if (v6 && from == "Anywhere") from = "::/0"
      printf "%s,%s,%s ", $i, $1, from }')"
  if [[ "$(ufw status verbose)" == *$'\n'"Default: allow (incoming)"* ]]; then rules="$rules ALLOW,any,Anywhere"; fi
  kv firewall_rules "$rules"
elif command -v firewall-cmd >/dev/null 2>&1 && [ "$(firewall-cmd --state 2>/dev/null)" = running ]; then
  kv firewall firewalld
  rules=""
  for zone in $(fw_zones); do
    rich=$(firewall-cmd --zone="$zone" --list-rich-rules | awk '
      / NOT / || /service name=|icmp-|forward-port|masquerade|source-port|destination/ { next }
      { from = "Anywhere"
        if (match($0, /source address="[^"]*"/)) from = substr($0, RSTART + 16, RLENGTH - 17)
        to = "any"
        if (match($0, /port port="[^"]*"/)) {
          p = substr($0, RSTART + 11, RLENGTH - 12)
          if (match($0, /protocol="[^"]*"/)) to = p "/" substr($0, RSTART + 10, RLENGTH - 11)
        } else if (match($0, /protocol value="[^"]*"/)) to = substr($0, RSTART + 16, RLENGTH - 17)
        if ($0 ~ / accept( |$)/) allow = allow "ALLOW," to "," from " "
        else if ($0 ~ / (reject|drop)( |$)/) deny = deny "DENY," to "," from " " }
      END { printf "%s%s", deny, allow }')
    rules="$rules @$zone $rich"
    for p in $(firewall-cmd --zone="$zone" --list-ports) $(firewall-cmd --zone="$zone" --list-protocols); do
      rules="$rules ALLOW,$p,Anywhere"
    done
    for s in $(firewall-cmd --zone="$zone" --list-services); do
      for p in $(firewall-cmd --permanent --service="$s" --get-ports 2>/dev/null || true); do
        rules="$rules ALLOW,$p,Anywhere"
      done
    done
    if [ "$(firewall-cmd --permanent --zone="$zone" --get-target 2>/dev/null)" = ACCEPT ]; then
      rules="$rules ALLOW,any,Anywhere"
    fi
  done
  kv firewall_rules "$rules"
else
  kv firewall none
fi
