# shellcheck shell=bash
# Drill restore (control plane): cancels the on-node restore timer, puts the kube-apiserver
# manifest back into /etc/kubernetes/manifests (the kubelet starts the pod again) and waits
# until the apiserver answers /readyz with ok (it listens before it is ready). Idempotent: with
# the manifest in place it only waits.
need KHA_MANIFEST KHA_PARKED KHA_API_PORT
cancel_restore
if [ -f "$KHA_PARKED" ]; then
  mv -f "$KHA_PARKED" "$KHA_MANIFEST"
  rmdir "$(dirname "$KHA_PARKED")" 2>/dev/null || true
  log "kha-drill apiserver manifest back in $(dirname "$KHA_MANIFEST")"
fi
[ -f "$KHA_MANIFEST" ] || die "$KHA_MANIFEST is missing and no parked copy exists at $KHA_PARKED"
# /readyz is open to anyone in a kubeadm cluster (system:public-info-viewer); -k: this asks the
# local apiserver only whether it is ready, the drill's own client checks the certificate.
ready() { [ "$(curl -ksS --max-time 2 "https://127.0.0.1:$KHA_API_PORT/readyz" 2>/dev/null)" = ok ]; }
listening() { [ -n "$(ss -Hltn "sport = :$KHA_API_PORT")" ]; }
command -v curl >/dev/null || log "kha-drill no curl here: waiting for the port only, not /readyz"
for _ in $(seq 1 600); do
  if command -v curl >/dev/null; then
    ready && { log "kha-drill apiserver ready (/readyz ok)"; exit 0; }
  else
    listening && { log "kha-drill apiserver listening"; exit 0; }
  fi
  sleep 0.2
done
die "kube-apiserver is not ready (/readyz on port $KHA_API_PORT) 120 s after its manifest came back"
