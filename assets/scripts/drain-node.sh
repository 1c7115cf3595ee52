# shellcheck shell=bash
# Step (on a control plane that stays): cordon and drain the node being removed, bounded. A
# PodDisruptionBudget that blocks an eviction is named, with the way out.
need KHA_TARGET KHA_DRAIN_TIMEOUT
export KUBECONFIG=/etc/kubernetes/admin.conf
if ! kubectl get node "$KHA_TARGET" >/dev/null 2>&1; then
  log "$KHA_TARGET is not in the cluster (any more): nothing to drain"
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if kubectl drain "$KHA_TARGET" --ignore-daemonsets --delete-emptydir-data --force \
  --timeout="${KHA_DRAIN_TIMEOUT}s" 2>&1 | tee "$out"; then
  log "$KHA_TARGET drained"
  exit 0
fi
if grep -q "disruption budget" "$out"; then
  # kubectl names the pod; the budget is one of its namespace's.
  ns=$(sed -n 's/.*error when evicting pods\/"[^"]*" -n "\([^"]*\)".*/\1/p' "$out" | head -n 1)
  pods=$(sed -n 's/.*error when evicting pods\/"\([^"]*\)" -n "[^"]*" (will retry.*/\1/p' "$out" | sort -u | paste -sd ' ')
  pdbs=$(kubectl get poddisruptionbudgets -n "${ns:-default}" -o name 2>/dev/null | sed 's|.*/||' | paste -sd ' ' || true)
  die "drain of $KHA_TARGET blocked by a PodDisruptionBudget in namespace ${ns:-default} (${pdbs:-unknown}) protecting pod(s) ${pods:-?}; relax or delete the budget, or move the pods, then run remove-node again (the node stays cordoned: kubectl uncordon $KHA_TARGET to undo)"
fi
die "drain of $KHA_TARGET did not finish in ${KHA_DRAIN_TIMEOUT}s (see above); the node stays cordoned (kubectl uncordon $KHA_TARGET to undo)"
