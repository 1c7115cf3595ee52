# shellcheck shell=bash
# Step: kubeadm join through the control-plane endpoint, as a control plane or a worker, from
# the JoinConfiguration kha-tui wrote (0600: token, CA pin, certificate key). A node that has
# joined already is left alone.
need KHA_ROLE
cfg=/etc/kha/kubeadm-join.yaml
if [ -f /etc/kubernetes/kubelet.conf ]; then
  log "this node has joined already (/etc/kubernetes/kubelet.conf exists); kubeadm join is not run again"
  rm -f "$cfg"
  exit 0
fi
[ -f "$cfg" ] || die "$cfg is missing"
log "kubeadm join as $KHA_ROLE"
kubeadm join --config "$cfg"
# The file holds the token and the certificate key: no reason to keep it.
rm -f "$cfg"
log "joined as $KHA_ROLE"
