# shellcheck shell=bash
# Drill load (load balancer): `kubectl get nodes` once a second through the cluster endpoint with
# the operator's admin kubeconfig, which stays on this node. Prints one line per request:
# `kha-drill kubectl ok|failed MS [first error line]`. Runs until kha-tui ends it (or KHA_LIMIT).
# Milliseconds as sleep's seconds: 1000 is "1.000", 5 is "0.005" (not "0.1000", "0.5").
ms_as_seconds() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
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
  [ "$left" -le 0 ] || sleep "$(ms_as_seconds "$left")"
done
