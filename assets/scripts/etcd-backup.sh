# shellcheck shell=bash
# Step (on one control plane whose etcd member is healthy): an etcd snapshot taken inside the
# etcd container (crictl exec, kubeadm's healthcheck-client certificate), checked with
# `etcdutl snapshot status` (or, where the image has no etcdutl, etcd 3.4's `etcdctl snapshot
# status`), and packed with /etc/kubernetes/pki (the CAs and the service-account keys) into one
# archive for kha-tui to copy to the load balancer over this SSH connection. The directory is
# /var/lib/etcd (the only host path the etcd container sees) and private: 0700, files 0600.
# Every run starts from an empty directory, so a copy left by an interrupted backup goes away.
need KHA_BACKUP_DIR
case "$KHA_BACKUP_DIR" in
  /var/lib/etcd/kha-backup) ;;
  *) die "KHA_BACKUP_DIR must be /var/lib/etcd/kha-backup (the etcd container's data mount)" ;;
esac
umask 077
cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
[ -n "$cid" ] || die "no running etcd container on this node (crictl ps --name etcd lists none)"
in_etcd() { crictl exec "$cid" "$@"; }
etcdctl() {
  in_etcd etcdctl --endpoints=https://127.0.0.1:2379 --command-timeout=60s \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
rm -rf "$KHA_BACKUP_DIR"
install -d -m 0700 "$KHA_BACKUP_DIR"
snap="$KHA_BACKUP_DIR/snapshot.db"
ETCDCTL_API=3 etcdctl snapshot save "$snap"
chmod 0600 "$snap"
# The check: etcdutl where the image has it (etcd ≥ 3.5), else etcdctl 3.4's own.
if status=$(in_etcd etcdutl snapshot status "$snap" -w json 2>/dev/null); then
  tool=etcdutl
else
  status=$(etcdctl snapshot status "$snap" -w json)
  tool="etcdctl (this etcd image has no etcdutl)"
fi
log "snapshot checked with $tool: $status"
printf 'kha-backup status %s\n' "$status"
# The certificates a restore on new machines needs: the cluster, etcd and front-proxy CAs and
# the service-account key pair (the leaf certificates kubeadm makes again from these).
pki=(pki/ca.crt pki/ca.key pki/sa.key pki/sa.pub pki/front-proxy-ca.crt pki/front-proxy-ca.key
  pki/etcd/ca.crt pki/etcd/ca.key)
for f in "${pki[@]}"; do
  [ -f "/etc/kubernetes/$f" ] || die "/etc/kubernetes/$f is missing: is this a kubeadm control plane?"
done
tar -C "$KHA_BACKUP_DIR" -cf "$KHA_BACKUP_DIR/backup.tar" snapshot.db
tar -C /etc/kubernetes -rf "$KHA_BACKUP_DIR/backup.tar" "${pki[@]}"
chmod 0600 "$KHA_BACKUP_DIR/backup.tar"
rm -f "$snap"
printf 'kha-backup archive %s %s\n' "$(sha256sum "$KHA_BACKUP_DIR/backup.tar" | cut -d' ' -f1)" \
  "$(stat -c %s "$KHA_BACKUP_DIR/backup.tar")"
