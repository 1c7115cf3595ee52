# shellcheck shell=bash
# Step: wait until every node of the inventory is registered and Ready.
need KHA_NODE_COUNT KHA_TIMEOUT_SECONDS
export KUBECONFIG=/etc/kubernetes/admin.conf
deadline=$((SECONDS + KHA_TIMEOUT_SECONDS))
while :; do
  n=$(kubectl get nodes --no-headers 2>/dev/null | wc -l)
  [ "$n" -ge "$KHA_NODE_COUNT" ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "only $n of $KHA_NODE_COUNT nodes registered after ${KHA_TIMEOUT_SECONDS}s"
  sleep 3
done
left=$((deadline - SECONDS))
[ "$left" -gt 0 ] || left=1
kubectl wait --for=condition=Ready node --all --timeout="${left}s"
kubectl get nodes -o wide
# What the cluster itself reports, one machine-readable line per node for kha-tui's summary:
# kha-node name=NAME ready=true|false version=VERSION roles=ROLES
kubectl get nodes --no-headers | awk '{
  ready = ($2 ~ /^Ready(,|$)/) ? "true" : "false"
  printf "kha-node name=%s ready=%s version=%s roles=%s\n", $1, ready, $5, $3
}'
log "all $KHA_NODE_COUNT nodes are Ready"
