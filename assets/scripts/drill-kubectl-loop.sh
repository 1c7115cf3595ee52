# shellcheck shell=bash
# Drill load (load balancer): `kubectl get nodes` once a second through the cluster endpoint with
# the operator's admin kubeconfig, which stays on this node. Prints one line per request:
# `kha-drill kubectl ok|failed MS [first error line]`. Runs until kha-tui ends it (or KHA_LIMIT).
need KHA_USER KHA_LIMIT
home=$(getent passwd "$KHA_USER" | cut -d: -f6)
cfg="$home/.kube/config"
[ -f "$cfg" ] || die "$cfg does not exist: run kha-tui apply first"
command -v kubectl >/dev/null || die "kubectl is not installed on this node"
err=$(mktemp)
trap 'rm -f "$err"' EXIT
end=$((SECONDS + KHA_LIMIT))
while [ "$SECONDS" -lt "$end" ]; do
  t0=$(date +%s%3N)
  if kubectl --kubeconfig "$cfg" --request-timeout=5s get nodes >/dev/null 2>"$err"; then
    log "kha-drill kubectl ok $(($(date +%s%3N) - t0))"
  else
    log "kha-drill kubectl failed $(($(date +%s%3N) - t0)) $(head -n 1 "$err")"
  fi
  left=$((1000 - ($(date +%s%3N) - t0)))
  [ "$left" -le 0 ] || sleep "$(printf '0.%03d' "$left")"
done
