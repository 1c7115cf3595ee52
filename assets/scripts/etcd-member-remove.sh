# shellcheck shell=bash
# Step (on a control plane that stays): remove the etcd member of the node being removed, if it
# is still listed (its node is dead, or its own reset could not reach etcd). Without this it
# stays a ghost that counts against quorum.
need KHA_TARGET KHA_TARGET_PEER
cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
[ -n "$cid" ] || die "no running etcd container on this node (crictl ps --name etcd lists none)"
etcdctl() {
  crictl exec "$cid" etcdctl --endpoints=https://127.0.0.1:2379 --command-timeout=10s \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
# A membership change a moment ago (the node's own reset) may be electing a leader: try again.
list=""
for i in $(seq 1 20); do
  if list=$(etcdctl member list 2>&1); then
    break
  fi
  log "etcdctl member list failed (try $i of 20): $list"
  list=""
  sleep 3
done
[ -n "$list" ] || die "etcdctl member list kept failing"
# ID, STATUS, NAME, PEER ADDRS (comma-separated), CLIENT ADDRS, IS LEARNER — the member named
# KHA_TARGET at KHA_TARGET_PEER, or the one at KHA_TARGET_PEER that never started (it has no name
# yet). A member with the name at another address, or another name at the address, means the
# inventory's name and address are two machines: nothing is removed.
found=$(printf '%s\n' "$list" | awk -F', ' -v n="$KHA_TARGET" -v p="$KHA_TARGET_PEER" '
  { at = 0; k = split($4, urls, ","); for (i = 1; i <= k; i++) if (urls[i] == p) at = 1 }
  $3 == n && at { print "id " $1; next }
  $3 == "" && at { print "id " $1; next }
  $3 == n && !at { print "conflict etcd member " n " (" $1 ") is at " $4 ", not " p; next }
  $3 != n && $3 != "" && at { print "conflict the etcd member at " p " is " $3 " (" $1 "), not " n }')
conflict=$(printf '%s\n' "$found" | sed -n 's/^conflict //p' | head -n 1)
[ -z "$conflict" ] || die "$conflict: the inventory's name and address for $KHA_TARGET are two machines; no member was removed (correct $KHA_TARGET's address in the inventory)"
id=$(printf '%s\n' "$found" | sed -n 's/^id //p' | head -n 1)
if [ -z "$id" ]; then
  log "etcd has no member for $KHA_TARGET ($KHA_TARGET_PEER): nothing to remove"
  exit 0
fi
etcdctl member remove "$id"
log "etcd member $id ($KHA_TARGET) removed"
