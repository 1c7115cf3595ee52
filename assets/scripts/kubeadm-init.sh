# shellcheck shell=bash
# Step: kubeadm init on the first control plane, from the config kha-tui wrote (0600,
# it holds the bootstrap token and the certificate key), uploading the control-plane
# certificates for the other control planes. Refuses to init a node twice.
need KHA_API_PORT
cfg=/etc/kha/kubeadm-init.yaml
admin=/etc/kubernetes/admin.conf
if [ -f "$admin" ] && kubectl --kubeconfig "$admin" get --raw /readyz >/dev/null 2>&1; then
  log "this node is already initialised and its API answers; kubeadm init is not run again"
  exit 0
fi
if [ -f /etc/kubernetes/manifests/kube-apiserver.yaml ]; then
  die "an earlier kubeadm init left /etc/kubernetes/manifests behind but the API does not answer; look at 'journalctl -u kubelet', then run 'kubeadm reset -f' on this node and apply again"
fi

[ -f "$cfg" ] || die "$cfg is missing"
# kubeadm's own version fills kubernetesVersion, so no release lookup goes to the internet.
version=$(kubeadm version -o short)
run_cfg=$(mktemp /etc/kha/kubeadm-init.XXXXXX.yaml)
trap 'rm -f "$run_cfg"' EXIT
chmod 0600 "$run_cfg"
sed "s/@@kubeadm-version@@/$version/" "$cfg" >"$run_cfg"

log "kubeadm init $version"
kubeadm init --config "$run_cfg" --upload-certs

for _ in $(seq 1 60); do
  if kubectl --kubeconfig "$admin" get --raw /readyz >/dev/null 2>&1; then
    log "the API answers through the control-plane endpoint"
    exit 0
  fi
  sleep 2
done
die "kubeadm init finished but the API does not answer through the endpoint (is HAProxy on port $KHA_API_PORT forwarding?)"
