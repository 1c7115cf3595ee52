# shellcheck shell=bash
# What preflight.sh and firewall-open.sh agree on about the host firewall.
# fw_zones: the firewalld zones of the interfaces this node reaches the cluster's addresses
# (KHA_FW_FROM, "10.77.3.11 10.77.3.12 ...") through — where their traffic comes in — one a
# line; the default zone when an interface is in none (firewalld's own rule) or no address
# is reached through an interface other than lo.
fw_zones() {
  local a dev z
  {
    for a in ${KHA_FW_FROM:-}; do
      dev=$(ip -o route get "$a" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' || true)
      case "$dev" in "" | lo) continue ;; esac
      z=$(firewall-cmd --get-zone-of-interface="$dev" 2>/dev/null) || z=$(firewall-cmd --get-default-zone)
      printf '%s\n' "$z"
    done
  } | sort -u | grep . || firewall-cmd --get-default-zone
}
# The lines ufw applies to VRRP before its own rules when it has no `proto vrrp` (ufw < 0.36):
# firewall-open.sh writes one per address into before.rules, marked kha-tui.
# shellcheck disable=SC2034 # used by preflight.sh and firewall-open.sh
UFW_BEFORE_RULES=/etc/ufw/before.rules
ufw_vrrp_line() { printf -- '-A ufw-before-input -p 112 -s %s -j ACCEPT -m comment --comment kha-tui\n' "$1"; }
