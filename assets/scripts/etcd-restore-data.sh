# shellcheck shell=bash
# Restore, step 1 (on every control plane, etcd still running): the backup archive kha-tui sent
# (base64, 0600) checked against its SHA-256, and its snapshot restored into a NEW data directory
# (/var/lib/etcd/kha-restore/data) with this member's name and peer URL and the whole control
# plane's initial cluster, by etcdctl inside the etcd container (the data mount is the one host
# path it sees). Nothing of the running etcd changes yet. Done once per restore (a mark under
# /etc/kubernetes/kha-restore/ID): a resumed restore goes on from here.
need KHA_RESTORE_ID KHA_NODE_NAME KHA_INITIAL_CLUSTER KHA_PEER_URL KHA_ARCHIVE_B64 KHA_CLUSTER_TOKEN
umask 077
work=/var/lib/etcd/kha-restore
mark=/etc/kubernetes/kha-restore/$KHA_RESTORE_ID
install -d -m 0700 /etc/kubernetes/kha-restore "$mark"
if [ -f "$mark/prepared" ]; then
  rm -f "$KHA_ARCHIVE_B64"
  log "$KHA_NODE_NAME: the snapshot is restored into $work/data already"
  exit 0
fi
[ -f "$KHA_ARCHIVE_B64" ] || die "the backup archive did not arrive at $KHA_ARCHIVE_B64"
install -d -m 0700 "$work"
chmod 0700 "$work"
base64 -d "$KHA_ARCHIVE_B64" >"$work/backup.tar"
rm -f "$KHA_ARCHIVE_B64"
sum=$(sha256sum "$work/backup.tar" | cut -d' ' -f1)
[ "$sum" = "$KHA_RESTORE_ID" ] || die "the backup archive arrived changed (sha256 $sum, expected $KHA_RESTORE_ID)"
tar -C "$work" -xf "$work/backup.tar" snapshot.db
rm -f "$work/backup.tar"
rm -rf "$work/data"
restore_args=(snapshot restore "$work/snapshot.db" --name "$KHA_NODE_NAME"
  --initial-cluster "$KHA_INITIAL_CLUSTER" --initial-cluster-token "$KHA_CLUSTER_TOKEN"
  --initial-advertise-peer-urls "$KHA_PEER_URL" --data-dir "$work/data")
cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
if [ -n "$cid" ]; then
  # etcdutl (etcd ≥ 3.5) where the image has it, else etcd 3.4's etcdctl, which restores too.
  if crictl exec "$cid" etcdutl version >/dev/null 2>&1; then
    crictl exec "$cid" etcdutl "${restore_args[@]}"
  else
    crictl exec "$cid" etcdctl "${restore_args[@]}"
  fi
elif command -v etcdutl >/dev/null 2>&1; then
  etcdutl "${restore_args[@]}"
else
  die "no running etcd container on $KHA_NODE_NAME to restore with, and no etcdutl on the host: install etcdutl (etcd-client) here, then run restore again"
fi
[ -d "$work/data/member" ] || die "the restore wrote no $work/data/member"
rm -f "$work/snapshot.db"
touch "$mark/prepared"
log "$KHA_NODE_NAME: snapshot restored into $work/data (member $KHA_NODE_NAME, $KHA_PEER_URL)"
