# shellcheck shell=bash
# Step (on each control plane, one at a time): `kubeadm certs renew all`, then the static pods
# restarted — kubeadm does not restart them, and a running API server keeps serving its old
# certificate until it does. Each manifest is moved out of /etc/kubernetes/manifests until the
# kubelet has stopped its container, then put back until it runs again: etcd first (healthy
# again before the rest; the other members keep the quorum meanwhile), then the API server
# (until /readyz answers), the controller manager and the scheduler. Re-running it renews again
# and puts back a manifest an interrupted run left aside.
need KHA_NODE_NAME
umask 077
aside=/etc/kubernetes/kha-certs-restart
install -d -m 0700 "$aside"
kubeadm certs renew all
running() { [ -n "$(crictl ps -q --name "^$1\$" 2>/dev/null || true)" ]; }
etcd_healthy() {
  local cid
  cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
  [ -n "$cid" ] && crictl exec "$cid" etcdctl --endpoints=https://127.0.0.1:2379 --command-timeout=5s \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key endpoint health >/dev/null 2>&1
}
api_ready() { curl -fsk --max-time 5 https://127.0.0.1:6443/readyz >/dev/null 2>&1; }
wait_for() { # WHAT SECONDS COMMAND...
  local what=$1 secs=$2
  shift 2
  for _ in $(seq 1 "$secs"); do
    "$@" && return 0
    sleep 1
  done
  die "$what: not within ${secs}s on $KHA_NODE_NAME"
}
not_running() { ! running "$1"; }
for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
  m=/etc/kubernetes/manifests/$c.yaml
  if [ -f "$m" ]; then
    mv -f "$m" "$aside/$c.yaml"
  fi
  [ -f "$aside/$c.yaml" ] || die "no $c manifest in /etc/kubernetes/manifests nor in $aside"
  wait_for "$c stopped after its manifest was moved out" 90 not_running "$c"
  mv -f "$aside/$c.yaml" "$m"
  wait_for "$c running again" 120 running "$c"
  case $c in
    etcd) wait_for "etcd healthy again" 120 etcd_healthy ;;
    kube-apiserver) wait_for "the API server ready (/readyz)" 120 api_ready ;;
  esac
  log "$c restarted with the renewed certificates"
done
# What the API server now serves, for the log.
echo | openssl s_client -connect 127.0.0.1:6443 2>/dev/null | openssl x509 -noout -enddate || true
