# shellcheck shell=bash
# Drill probe (load balancer of a pair): whether this node holds the virtual address now, what
# keepalived last said about its VRRP state, and whether HAProxy runs. One line:
# `kha-drill lb VIP=yes|no KEEPALIVED=active|... STATE=MASTER|BACKUP|FAULT|unknown HAPROXY=active|...`
need KHA_VIP
if ip -o addr show | awk -v vip="$KHA_VIP" '{split($4, a, "/"); if (a[1] == vip) found = 1} END {exit !found}'; then
  vip=yes
else
  vip=no
fi
ka=$(systemctl is-active keepalived 2>/dev/null || true)
state=$(journalctl -u keepalived -n 200 --no-pager -o cat 2>/dev/null |
  grep -o 'Entering [A-Z]* STATE' | tail -n 1 | awk '{print $2}')
ha=$(systemctl is-active haproxy 2>/dev/null || true)
log "kha-drill lb VIP=$vip KEEPALIVED=${ka:-unknown} STATE=${state:-unknown} HAPROXY=${ha:-unknown}"
