# shellcheck shell=bash
# Step: kubeadm join through the control-plane endpoint, as a control plane or a worker, from
# the JoinConfiguration kha-tui wrote (0600: token, CA pin, certificate key).
# "Joined" is what the cluster says, not a file on this node: kubeadm writes kubelet.conf before
# a control plane's etcd member joins and before the node is marked control plane. A control
# plane counts as joined when its Node object carries the control-plane label and its etcd
# member has started; a half-joined one is cleaned up first (its etcd member removed through a
# healthy member, its Node object deleted, `kubeadm reset -f`), then joined again.
need KHA_ROLE KHA_NODE_NAME
cfg=/etc/kha/kubeadm-join.yaml
admin=/etc/kubernetes/admin.conf
pki=/etc/kubernetes/pki

etcd_curl() {
  curl -fsS --max-time 10 --cacert "$pki/etcd/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \
    --key "$pki/apiserver-etcd-client.key" -X POST "$@"
}

# The first of KHA_ETCD_ENDPOINTS (the other control planes' etcd) that answers, or nothing.
healthy_etcd() {
  local ep
  for ep in $KHA_ETCD_ENDPOINTS; do
    if etcd_curl -d '{}' "$ep/v3/cluster/member/list" >/dev/null 2>&1; then
      printf '%s\n' "$ep"
      return 0
    fi
  done
}

# This node's etcd member (found by its peer URL) as etcd at $1 lists it: one line of JSON, or
# nothing. A member that has started has a name; one added but never started has none.
my_member() {
  local list
  list=$(etcd_curl -d '{}' "$1/v3/cluster/member/list") || die "etcd at $1 stopped answering"
  printf '%s\n' "$list" | tr '{' '\n' | grep -F "\"$KHA_PEER_URL\"" || true
}

# Asks the cluster about this node's Node object: sets node_json, or node_json="" when the
# cluster has no such node. An API that cannot be asked stops the step: resetting a node
# because the load balancer hiccupped would be far worse than failing.
ask_node() {
  local kubeconfig=$1
  if node_json=$(kubectl --kubeconfig "$kubeconfig" get node "$KHA_NODE_NAME" -o json 2>&1); then
    return 0
  fi
  case "$node_json" in
    *NotFound* | *"not found"*) node_json="" ;;
    *) die "cannot ask the cluster whether $KHA_NODE_NAME has joined: $node_json" ;;
  esac
}

leftovers() {
  [ -e /etc/kubernetes/kubelet.conf ] || [ -e "$admin" ] || [ -e "$pki/ca.crt" ] ||
    [ -n "$(ls -A /etc/kubernetes/manifests 2>/dev/null)" ] || [ -e /var/lib/etcd/member ]
}

# Sets joined=1 when the cluster lists this node as a control plane with a started etcd member.
check_cp_joined() {
  joined=0
  [ -f "$admin" ] && [ -f "$pki/apiserver-etcd-client.crt" ] || return 0
  ask_node "$admin"
  grep -q '"node-role.kubernetes.io/control-plane":' <<<"$node_json" || return 0
  etcd_ep=$(healthy_etcd)
  [ -n "$etcd_ep" ] || die "no etcd member answers at $KHA_ETCD_ENDPOINTS; cannot tell whether this control plane has joined"
  member=$(my_member "$etcd_ep")
  if grep -q '"name":"[^"]' <<<"$member"; then joined=1; fi
}

# Undoes a control-plane join that did not finish: the kubelet stopped first (so nothing
# posts this node as Ready again), its Node object deleted (kubeadm refuses to join over a
# Ready one), its etcd member removed through a healthy member (or it would count against
# quorum, and the next member add would make four), then kubeadm reset. After each step that
# takes this node's API server out, the endpoint must be steady again before the next
# request: the load balancer keeps sending some connections here until its health checks
# mark this server down.
clean_cp() {
  local id
  # Also when it is not active: one waiting to be restarted would register the Node again.
  systemctl stop kubelet
  log "stopped the kubelet"
  # This node's API server may go with it (where the kubelet's pods share its fate).
  wait_endpoint_steady
  if [ -f "$admin" ]; then
    ask_node "$admin"
    if [ -n "$node_json" ]; then
      delete_node
      log "deleted the Node object $KHA_NODE_NAME"
    fi
  fi
  if [ -f "$pki/apiserver-etcd-client.crt" ]; then
    etcd_ep=$(healthy_etcd)
    [ -n "$etcd_ep" ] || die "no etcd member answers at $KHA_ETCD_ENDPOINTS; cannot clean up this half-joined control plane safely"
    member=$(my_member "$etcd_ep")
    if [ -n "$member" ]; then
      id=$(printf '%s\n' "$member" | sed -n 's/.*"ID":"\([0-9]*\)".*/\1/p')
      [ -n "$id" ] || die "cannot read the etcd member id of $KHA_PEER_URL from: $member"
      etcd_curl -d "{\"ID\":\"$id\"}" "$etcd_ep/v3/cluster/member/remove" >/dev/null ||
        die "could not remove etcd member $id ($KHA_PEER_URL) through $etcd_ep"
      [ -z "$(my_member "$etcd_ep")" ] || die "etcd member $id ($KHA_PEER_URL) is still listed after its removal"
      log "removed this node's etcd member $id ($KHA_PEER_URL) through $etcd_ep"
      wait_endpoint_steady
    fi
  fi
  kubeadm reset -f
  wait_endpoint_steady
}

# Deletes this node's Node object, asking again a few times: a request the load balancer
# sends to an API server on its way out fails, the next one does not.
delete_node() {
  local out
  for _ in 1 2 3 4 5; do
    if out=$(kubectl --kubeconfig "$admin" delete node "$KHA_NODE_NAME" --ignore-not-found 2>&1); then
      return 0
    fi
    sleep 2
  done
  die "could not delete the Node object $KHA_NODE_NAME: $out"
}

# Waits until the API answers through the endpoint ten times in a row. The load balancer
# takes turns among the API servers it thinks up, so a server that fails (this node's, once
# its etcd member is gone or it is reset) breaks every run of successes until the health
# checks mark it down.
wait_endpoint_steady() {
  local ok=0
  for _ in $(seq 1 180); do
    if curl -fsk --max-time 3 -o /dev/null "https://$KHA_ENDPOINT/readyz"; then
      ok=$((ok + 1))
      [ "$ok" -lt 10 ] || return 0
    else
      ok=0
    fi
    sleep 0.5
  done
  die "the API at https://$KHA_ENDPOINT does not answer steadily"
}

if [ "$KHA_ROLE" = control-plane ]; then
  need KHA_PEER_URL KHA_ETCD_ENDPOINTS KHA_ENDPOINT
  # A half-joined API server behind the load balancer can fail the questions below.
  if leftovers; then wait_endpoint_steady; fi
  check_cp_joined
  if [ "$joined" = 1 ]; then
    log "this node has joined already (the cluster lists it as a control plane and its etcd member as started); kubeadm join is not run again"
    rm -f "$cfg"
    exit 0
  fi
  if leftovers; then
    log "an earlier join of this control plane did not finish; cleaning it up before joining again"
    clean_cp
  fi
else
  if [ -f /etc/kubernetes/kubelet.conf ]; then
    ask_node /etc/kubernetes/kubelet.conf
    if [ -n "$node_json" ]; then
      log "this node has joined already (the cluster knows it); kubeadm join is not run again"
      rm -f "$cfg"
      exit 0
    fi
  fi
  if leftovers; then
    log "an earlier join of this worker did not finish; kubeadm reset -f before joining again"
    kubeadm reset -f
  fi
fi

[ -f "$cfg" ] || die "$cfg is missing"
log "kubeadm join as $KHA_ROLE"
kubeadm join --config "$cfg"
# The file holds the token and the certificate key: no reason to keep it.
rm -f "$cfg"
log "joined as $KHA_ROLE"
