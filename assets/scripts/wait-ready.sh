# shellcheck shell=bash
# Step: wait until every node of the inventory is registered and Ready.
need KHA_NODE_COUNT KHA_TIMEOUT_SECONDS
export KUBECONFIG=/etc/kubernetes/admin.conf
deadline=$((SECONDS + KHA_TIMEOUT_SECONDS))
while :; do
  # Right after the API servers start (a restore, an upgrade) kubectl may not reach one yet.
  n=$(kubectl get nodes --no-headers 2>/dev/null | wc -l || true)
  [ "$n" -ge "$KHA_NODE_COUNT" ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "only $n of $KHA_NODE_COUNT nodes registered after ${KHA_TIMEOUT_SECONDS}s"
  sleep 3
done
# kubectl wait gives up at the first error reaching the API, so it is asked again until the
# deadline.
left() { local l=$((deadline - SECONDS)); echo $((l > 0 ? l : 1)); }
until kubectl wait --for=condition=Ready node --all --timeout="$(left)s"; do
  [ "$SECONDS" -lt "$deadline" ] || die "not every node is Ready after ${KHA_TIMEOUT_SECONDS}s (kubectl get nodes shows which)"
  sleep 3
done
kubectl get nodes -o wide
# What the cluster itself reports, one machine-readable line per node for kha-tui's summary:
# kha-node name=NAME ready=true|false version=VERSION roles=ROLES
kubectl get nodes --no-headers | awk '{
  ready = ($2 ~ /^Ready(,|$)/) ? "true" : "false"
  printf "kha-node name=%s ready=%s version=%s roles=%s\n", $1, ready, $5, $3
}'
log "all $KHA_NODE_COUNT nodes are Ready"
