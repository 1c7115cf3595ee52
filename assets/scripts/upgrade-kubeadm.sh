# shellcheck shell=bash
# Step (each Kubernetes node): pkgs.k8s.io's source switched to the target minor, kubeadm
# unheld, installed at the minor's newest patch and held again; then `kubeadm upgrade apply`
# (the first control plane, KHA_UPGRADE_APPLY=1) or `kubeadm upgrade node` (every other node).
# Already at the target (kubeadm-config says so, this node's manifests carry it): nothing to do.
need KHA_K8S_MINOR KHA_PACKAGE_BASE KHA_UPGRADE_APPLY
export KHA_PACKAGES=kubeadm
repo=$(k8s_repo)
k8s_apt_source "$repo"
read -r -a pkgs <<<"$KHA_PACKAGES"
k8s_packages_to_minor "the repository $repo offers no ${pkgs[0]} $KHA_K8S_MINOR.x" "${pkgs[@]}"
for p in "${pkgs[@]}"; do log "$p $(dpkg-query -W -f='${Version}' "$p") (held)"; done
target="v$(dpkg-query -W -f='${Version}' kubeadm | sed 's/-.*//')"
if [ "$KHA_UPGRADE_APPLY" = 1 ]; then
  export KUBECONFIG=/etc/kubernetes/admin.conf
  have=$(kubectl -n kube-system get configmap kubeadm-config -o 'jsonpath={.data.ClusterConfiguration}' |
    awk '/^kubernetesVersion:/ {print $2}')
  if [ "$have" = "$target" ]; then
    log "the cluster is at $target already (kubeadm-config): kubeadm upgrade apply has run"
  else
    kubeadm upgrade apply "$target" -y
  fi
else
  kubeadm upgrade node
fi
