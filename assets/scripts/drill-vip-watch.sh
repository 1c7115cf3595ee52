# shellcheck shell=bash
# Drill step (the other load balancer of a pair): waits until this node holds the virtual
# address, printing `kha-drill vip here MS` (milliseconds waited) when it does.
need KHA_VIP KHA_LIMIT
holds() { ip -o addr show | awk -v vip="$KHA_VIP" '{split($4, a, "/"); if (a[1] == vip) found = 1} END {exit !found}'; }
t0=$(date +%s%3N)
deadline=$((SECONDS + KHA_LIMIT))
until holds; do
  [ "$SECONDS" -lt "$deadline" ] || die "$KHA_VIP did not move to this node within ${KHA_LIMIT}s"
  sleep 0.05
done
log "kha-drill vip here $(($(date +%s%3N) - t0))"
