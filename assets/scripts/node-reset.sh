# shellcheck shell=bash
# Step: take this node out of Kubernetes: `kubeadm reset -f` (on a control plane its
# remove-etcd-member phase removes the member through a healthy one), then what kubeadm leaves
# to the operator: CNI configuration and state, Calico's links, the rules kube-proxy and Calico
# made, the kubelet's and etcd's data, /etc/kubernetes, and kha-tui's own files. Each thing
# removed is said; a second run finds nothing and says so. Packages stay unless KHA_PURGE=1.
need KHA_NODE
removed=0
gone() { log "removed $*"; removed=$((removed + 1)); }

# Which Kubernetes node this host is: the name in its kubelet's client certificate
# (CN system:node:NAME), from the rotated certificate or the one kubelet.conf embeds. Empty
# when there is none (never joined, or already reset).
kubelet_node_name() {
  local pem=/var/lib/kubelet/pki/kubelet-client-current.pem cert=""
  command -v openssl >/dev/null 2>&1 || return 0
  if [ -f "$pem" ]; then
    cert=$(cat "$pem")
  elif [ -f /etc/kubernetes/kubelet.conf ]; then
    cert=$(sed -n 's/^ *client-certificate-data: *//p' /etc/kubernetes/kubelet.conf | head -n 1 | base64 -d 2>/dev/null || true)
  fi
  [ -n "$cert" ] || return 0
  printf '%s\n' "$cert" | openssl x509 -noout -subject 2>/dev/null |
    sed -n 's/.*CN *= *system:node:\([^,/]*\).*/\1/p' | head -n 1
}
# The inventory names this host KHA_NODE; if Kubernetes knows it as another node, its address
# leads to the wrong host (a typo, addresses swapped, an address given to another machine):
# nothing is reset.
me=$(kubelet_node_name)
if [ -n "$me" ] && [ "$me" != "$KHA_NODE" ]; then
  die "this host is Kubernetes node $me, not $KHA_NODE: the inventory's address for $KHA_NODE leads to $me's host. Nothing was reset; correct the address of $KHA_NODE in the inventory"
fi

# Removes the directory $1, one of the literal paths this step owns. Volumes still mounted
# under it (a pod's NFS share, a disk, a host path bound in: kubeadm reset unmounts those only
# when it runs to its end) are unmounted first, deepest first, and rm never crosses into
# another file system; a directory that is itself a mount point (a disk for etcd's data) keeps
# the mount and loses its contents; a symbolic link is removed, never what it points to.
remove_dir() {
  local d=$1 m
  if [ -L "$d" ]; then
    rm -f "$d"
    gone "$d (a symbolic link to $(readlink "$d" 2>/dev/null || echo '?'); what it points to is left alone)"
    return
  fi
  [ -d "$d" ] || { [ -e "$d" ] && rm -f "$d" && gone "$d"; return 0; }
  while read -r m; do
    m=$(printf '%b' "$m")
    umount "$m" 2>/dev/null || umount -l "$m" || die "could not unmount $m (under $d); nothing under it was removed"
    gone "the mount $m"
  done < <(findmnt -rn -o TARGET | awk -v d="$d/" 'index($0, d) == 1' | sort -r)
  if mountpoint -q "$d"; then
    [ -z "$(ls -A "$d")" ] && return 0
    find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
    gone "the contents of $d (a mount point: the mount stays)"
    return
  fi
  rm -rf --one-file-system "$d" || die "could not remove all of $d (a file system still mounted under it? findmnt -R $d)"
  gone "$d"
}

if command -v kubeadm >/dev/null 2>&1 && { [ -d /etc/kubernetes ] || [ -d /var/lib/kubelet ]; }; then
  kubeadm reset -f 2>&1 || log "kubeadm reset failed (above); cleaning up by hand"
fi
if systemctl is-active --quiet kubelet 2>/dev/null; then
  systemctl stop kubelet
  gone "the running kubelet (stopped)"
fi
# /etc/cni/net.d is the directory containerd's CRI plugin watches: containerd 2.x exits when it
# is removed (containerd/containerd#10646: its CNI watcher reports the removal as an error, and
# the CRI service ends containerd with it), and systemd starts it again 5 s later, creating the
# directory again, empty. So while containerd runs, the directory keeps and loses every file
# in it (Calico's conflist and kubeconfig: no CNI configuration is left); without containerd it
# goes like the others.
cni=/etc/cni/net.d
if [ -d "$cni" ] && [ ! -L "$cni" ] && systemctl is-active --quiet containerd 2>/dev/null; then
  if [ -n "$(ls -A "$cni")" ]; then
    find "$cni" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
    gone "the CNI configuration in $cni (the directory stays: containerd watches it)"
  fi
else
  remove_dir "$cni"
fi
for d in /var/lib/cni /var/lib/calico /var/lib/etcd /var/lib/kubelet /etc/kubernetes /etc/kha; do
  remove_dir "$d"
done
# Something still running could write them again (a kubelet another tool started, a CNI
# agent): look once more, say what runs, and remove what came back.
sleep 3
if [ -n "$(ls -A "$cni" 2>/dev/null)" ]; then
  log "$cni has files again after their removal; running now: $(pgrep -a -f 'kubelet|calico|kube-' | tr '\n' ';' || true)"
  find "$cni" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
  gone "the CNI configuration in $cni (again)"
fi
for d in /var/lib/cni /var/lib/calico /var/lib/kubelet /etc/kubernetes; do
  if [ -e "$d" ] || [ -L "$d" ]; then
    log "$d was written again after its removal; running now: $(pgrep -a -f 'kubelet|calico|kube-' | tr '\n' ';' || true)"
    remove_dir "$d"
  fi
done
# Links Calico makes: cali* (one per pod), tunl0 (IP-in-IP), vxlan.calico.
for l in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^(cali|tunl0$|vxlan\.calico$)' || true); do
  ip link show "$l" >/dev/null 2>&1 || continue # gone with its veth peer
  if ip link delete "$l" 2>/dev/null; then
    gone "link $l"
  else
    # tunl0 is the ipip module's fallback device: it cannot be deleted, only brought down.
    ip link set "$l" down 2>/dev/null || true
    log "link $l cannot be deleted (a fallback device): brought down"
  fi
done
# iptables rules and chains of kube-proxy (KUBE-*) and Calico (cali-*); every other rule stays.
for save in iptables-save ip6tables-save; do
  command -v "$save" >/dev/null 2>&1 || continue
  restore=${save/-save/-restore}
  rules=$("$save" 2>/dev/null || true)
  if printf '%s\n' "$rules" | grep -qE 'KUBE-|cali-'; then
    printf '%s\n' "$rules" | grep -vE 'KUBE-|cali-' | "$restore"
    gone "the KUBE-* and cali-* rules of ${save%-save}"
  fi
done
# nftables tables of kube-proxy's nftables mode and Calico's.
if command -v nft >/dev/null 2>&1; then
  while read -r _ family name; do
    case "$name" in
      kube-proxy | calico*) nft delete table "$family" "$name" && gone "nftables table $family $name" ;;
    esac
  done < <(nft list tables 2>/dev/null || true)
fi
# IPVS services of kube-proxy's ipvs mode.
if command -v ipvsadm >/dev/null 2>&1 && [ -n "$(ipvsadm -Ln 2>/dev/null | sed -n '4p')" ]; then
  ipvsadm --clear
  gone "the IPVS services"
fi
if [ "${KHA_PURGE:-0}" = 1 ]; then
  for p in kubelet kubeadm kubectl cri-tools; do
    # "hold ok installed" too: kha-tui holds them, so have_pkg's exact match would miss them.
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
      apt-mark unhold "$p" >/dev/null 2>&1 || true
      apt_get purge -y "$p" >/dev/null
      gone "package $p"
    fi
  done
fi
if [ "$removed" = 0 ]; then
  log "nothing left to remove: this node is clean"
else
  log "$removed thing(s) removed"
fi
