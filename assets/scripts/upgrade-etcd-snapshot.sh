# shellcheck shell=bash
# Step (first control plane): an etcd snapshot before anything changes, taken inside the etcd
# container with kubeadm's certificates and kept on the node (0600) under /var/lib/etcd, which
# the etcd container mounts. `kha-tui upgrade` has already made a full backup (snapshot and
# pki) on the LB; this copy stays on the node, for a rollback when the LB cannot be reached.
need KHA_UPGRADE_TO
cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
[ -n "$cid" ] || die "no running etcd container on this node (crictl ps --name etcd lists none)"
snap="/var/lib/etcd/kha-pre-upgrade-v$KHA_UPGRADE_TO-$(date -u +%Y%m%dT%H%M%SZ).db"
crictl exec "$cid" etcdctl --endpoints=https://127.0.0.1:2379 --command-timeout=60s \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
  --key=/etc/kubernetes/pki/etcd/healthcheck-client.key snapshot save "$snap"
[ -s "$snap" ] || die "etcdctl reported a snapshot, but $snap is missing or empty"
chmod 0600 "$snap"
log "etcd snapshot kept on this node: $snap ($(stat -c %s "$snap") bytes)"
