# shellcheck shell=bash
# Restore, steps 4 and 6 (on every control plane): a component's manifest put back from
# /etc/kubernetes/kha-restore/ID/manifests, then waiting until the kubelet runs its container
# (etcd: running; the API server: also answering /readyz on this node). Idempotent.
need KHA_RESTORE_ID KHA_COMPONENT
case "$KHA_COMPONENT" in etcd | kube-apiserver) ;; *) die "KHA_COMPONENT must be etcd or kube-apiserver" ;; esac
mark=/etc/kubernetes/kha-restore/$KHA_RESTORE_ID
if [ -f "$mark/manifests/$KHA_COMPONENT.yaml" ]; then
  mv -f "$mark/manifests/$KHA_COMPONENT.yaml" "/etc/kubernetes/manifests/$KHA_COMPONENT.yaml"
  log "the $KHA_COMPONENT manifest is back"
fi
[ -f "/etc/kubernetes/manifests/$KHA_COMPONENT.yaml" ] || die "no $KHA_COMPONENT manifest to start"
for _ in $(seq 1 90); do
  if [ -n "$(crictl ps -q --name "^$KHA_COMPONENT\$" 2>/dev/null || true)" ]; then
    if [ "$KHA_COMPONENT" = etcd ]; then
      log "etcd runs"
      exit 0
    fi
    if curl -fsk --max-time 5 https://127.0.0.1:6443/readyz >/dev/null 2>&1; then
      log "the API server is ready"
      exit 0
    fi
  fi
  sleep 2
done
die "$KHA_COMPONENT did not come up within 180 s of its manifest being put back"
