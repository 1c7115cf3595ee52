# shellcheck shell=bash
# Restore, step 5 (on one control plane, etcd started everywhere): waits until every member of
# the restored cluster is started and healthy (quorum), and prints the member list.
need KHA_MEMBER_COUNT
etcdctl() {
  local cid
  cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
  [ -n "$cid" ] || return 1
  crictl exec "$cid" etcdctl --endpoints=https://127.0.0.1:2379 --command-timeout=10s \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
for _ in $(seq 1 60); do
  list=$(etcdctl member list 2>/dev/null || true)
  started=$(printf '%s\n' "$list" | grep -c ', started, ' || true)
  if [ "$started" -ge "$KHA_MEMBER_COUNT" ] && etcdctl endpoint health --cluster >/dev/null 2>&1; then
    printf '%s\n' "$list"
    log "etcd has its quorum: $started members started and healthy"
    exit 0
  fi
  sleep 3
done
die "etcd did not get $KHA_MEMBER_COUNT started, healthy members within 180 s (last list: ${list:-none})"
