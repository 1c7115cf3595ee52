# shellcheck shell=bash
# Appended to containerd.sh in the upgrade (after containerd was replaced and restarted): the
# kubelet still healthy against the new containerd.
for _ in $(seq 1 60); do
  if curl -fsS --max-time 2 http://127.0.0.1:10248/healthz >/dev/null 2>&1; then
    log "kubelet healthy after the containerd change"
    exit 0
  fi
  sleep 1
done
die "the kubelet does not answer http://127.0.0.1:10248/healthz within 60 s of the containerd change (journalctl -u kubelet -u containerd)"
