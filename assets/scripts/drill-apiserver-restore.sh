# shellcheck shell=bash
# Drill restore (control plane): puts the kube-apiserver manifest back into
# /etc/kubernetes/manifests (the kubelet starts the pod again) and waits until the apiserver
# listens again. Idempotent: with the manifest in place it only waits.
need KHA_MANIFEST KHA_PARKED KHA_API_PORT
if [ -f "$KHA_PARKED" ]; then
  mv -f "$KHA_PARKED" "$KHA_MANIFEST"
  rmdir "$(dirname "$KHA_PARKED")" 2>/dev/null || true
  log "kha-drill apiserver manifest back in $(dirname "$KHA_MANIFEST")"
fi
[ -f "$KHA_MANIFEST" ] || die "$KHA_MANIFEST is missing and no parked copy exists at $KHA_PARKED"
listening() { [ -n "$(ss -Hltn "sport = :$KHA_API_PORT")" ]; }
for _ in $(seq 1 600); do
  listening && { log "kha-drill apiserver listening"; exit 0; }
  sleep 0.2
done
die "kube-apiserver does not listen on port $KHA_API_PORT 120 s after its manifest came back"
