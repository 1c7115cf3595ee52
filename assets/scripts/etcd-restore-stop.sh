# shellcheck shell=bash
# Restore, step 2 (on every control plane): the API server and etcd stopped, by moving their
# static pod manifests aside (into /etc/kubernetes/kha-restore/ID/manifests; the kubelet stops
# a pod whose manifest is gone), then waiting until neither container runs. Idempotent: a
# manifest already aside stays there.
need KHA_RESTORE_ID
umask 077
mark=/etc/kubernetes/kha-restore/$KHA_RESTORE_ID
install -d -m 0700 "$mark/manifests"
for c in kube-apiserver etcd; do
  if [ -f "/etc/kubernetes/manifests/$c.yaml" ]; then
    mv -f "/etc/kubernetes/manifests/$c.yaml" "$mark/manifests/$c.yaml"
    log "moved the $c manifest aside"
  fi
  [ -f "$mark/manifests/$c.yaml" ] || die "no $c manifest in /etc/kubernetes/manifests nor in $mark/manifests"
done
for _ in $(seq 1 60); do
  running=$(crictl ps -q --name '^(etcd|kube-apiserver)$' 2>/dev/null || true)
  if [ -z "$running" ]; then
    log "etcd and the API server are stopped"
    exit 0
  fi
  sleep 2
done
die "etcd or the API server still runs 120 s after its manifest was moved aside"
