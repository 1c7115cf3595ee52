# shellcheck shell=bash
# Step (on a control plane that stays): delete the Node object of the node being removed.
need KHA_TARGET
export KUBECONFIG=/etc/kubernetes/admin.conf
kubectl delete node "$KHA_TARGET" --ignore-not-found
log "node $KHA_TARGET is not in the cluster any more"
