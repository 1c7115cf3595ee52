# shellcheck shell=bash
# Step: remove the kubeadm config that holds the bootstrap token and certificate key from the
# first control plane once every node has joined.
rm -f /etc/kha/kubeadm-init.yaml
log "removed /etc/kha/kubeadm-init.yaml"
