# shellcheck shell=bash
# Restore, step 3 (on every control plane, etcd stopped): the old data put aside
# (/var/lib/etcd-before-restore-ID, kept for the operator) and the restored one put in its
# place, so the unchanged etcd manifest starts the restored member. Idempotent, also when
# interrupted between the two moves.
need KHA_RESTORE_ID
umask 077
mark=/etc/kubernetes/kha-restore/$KHA_RESTORE_ID
work=/var/lib/etcd/kha-restore
aside=/var/lib/etcd-before-restore-${KHA_RESTORE_ID:0:12}
if [ -f "$mark/swapped" ]; then
  log "the restored data is in place already"
  exit 0
fi
[ -f "$mark/prepared" ] || die "the snapshot was not restored on this node (step restore-etcd-data)"
[ -z "$(crictl ps -q --name '^etcd$' 2>/dev/null || true)" ] || die "etcd still runs: its manifest must be aside first"
if [ -d "$work/data/member" ]; then
  if [ -d /var/lib/etcd/member ]; then
    [ ! -e "$aside/member" ] || die "$aside/member exists already: move it away, then run restore again"
    install -d -m 0700 "$aside"
    mv /var/lib/etcd/member "$aside/member"
    log "old etcd data moved aside to $aside"
  fi
  mv "$work/data/member" /var/lib/etcd/member
fi
[ -d /var/lib/etcd/member ] || die "no /var/lib/etcd/member after the swap"
rm -rf "$work"
touch "$mark/swapped"
log "the restored etcd data is in /var/lib/etcd"
