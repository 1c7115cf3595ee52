# shellcheck shell=bash
# Drill probe (load balancer of a pair): whether this node holds the virtual address now
# (`ip addr`), keepalived's VRRP state (the word its notify script keeps in
# /run/kha-tui/vrrp-state), and whether HAProxy and keepalived run. One line:
# `kha-drill lb VIP=yes|no STATE=MASTER|BACKUP|FAULT|STOP|unknown KEEPALIVED=active|... HAPROXY=active|...`
need KHA_VIP
if ip -o addr show | awk -v vip="$KHA_VIP" '{split($4, a, "/"); if (a[1] == vip) found = 1} END {exit !found}'; then
  vip=yes
else
  vip=no
fi
state=$(cat /run/kha-tui/vrrp-state 2>/dev/null || true)
ka=$(systemctl is-active keepalived 2>/dev/null || true)
ha=$(systemctl is-active haproxy 2>/dev/null || true)
log "kha-drill lb VIP=$vip STATE=${state:-unknown} KEEPALIVED=${ka:-unknown} HAPROXY=${ha:-unknown}"
