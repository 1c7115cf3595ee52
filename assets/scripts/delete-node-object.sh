# shellcheck shell=bash
# Step (on a control plane that stays): delete the Node object of the node being removed.
# Removing a control plane's etcd member can move etcd's leadership: the API answers with
# "leader changed" for a moment, so a failure is tried again for up to a minute.
need KHA_TARGET
export KUBECONFIG=/etc/kubernetes/admin.conf
for i in $(seq 1 20); do
  if out=$(kubectl delete node "$KHA_TARGET" --ignore-not-found 2>&1); then
    [ -n "$out" ] && log "$out"
    log "node $KHA_TARGET is not in the cluster any more"
    exit 0
  fi
  log "kubectl delete node $KHA_TARGET failed (try $i of 20): $out"
  sleep 3
done
die "could not delete the Node object $KHA_TARGET (see above)"
