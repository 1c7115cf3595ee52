# shellcheck shell=bash
# Step: kubelet, kubeadm, kubectl (or a subset) from the per-minor pkgs.k8s.io repository
# (or its mirror), keyring in /etc/apt/keyrings, newest patch of the minor, then held.
need KHA_K8S_MINOR KHA_PACKAGE_BASE KHA_PACKAGES

# The load balancer runs this without the node preparation: curl and gpg are not a given there.
ensure_pkgs ca-certificates curl gnupg

repo=$(k8s_repo)
k8s_apt_source "$repo"

read -r -a pkgs <<<"$KHA_PACKAGES"
# Already installed at this minor? Then nothing to do but make sure they are held.
all_there=1
for p in "${pkgs[@]}"; do
  v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
  case "$v" in
    "$KHA_K8S_MINOR".*) ;;
    "") all_there=0 ;;
    *) die "$p $v is installed, not $KHA_K8S_MINOR.x; kha-tui does not change an installed minor (upgrade with kubeadm upgrade)" ;;
  esac
done
if [ "$all_there" = 0 ]; then
  apt_get update
  version=$(apt-cache madison "${pkgs[0]}" | awk -v m="$KHA_K8S_MINOR." 'index($3, m) == 1 {print $3; exit}')
  [ -n "$version" ] || die "the repository $repo offers no ${pkgs[0]} $KHA_K8S_MINOR.x"
  want=()
  for p in "${pkgs[@]}"; do want+=("$p=$version"); done
  apt_get install -y --allow-change-held-packages "${want[@]}"
  log "installed ${want[*]}"
fi
apt-mark hold "${pkgs[@]}" >/dev/null
for p in "${pkgs[@]}"; do
  log "$p $(dpkg-query -W -f='${Version}' "$p") (held)"
done
