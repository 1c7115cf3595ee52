# shellcheck shell=bash
# Step: take this node out of Kubernetes: `kubeadm reset -f` (on a control plane its
# remove-etcd-member phase removes the member through a healthy one), then what kubeadm leaves
# to the operator: CNI configuration and state, Calico's links, the rules kube-proxy and Calico
# made, the kubelet's and etcd's data, /etc/kubernetes, and kha-tui's own files. Each thing
# removed is said; a second run finds nothing and says so. Packages stay unless KHA_PURGE=1.
removed=0
gone() { log "removed $*"; removed=$((removed + 1)); }

if command -v kubeadm >/dev/null 2>&1 && { [ -d /etc/kubernetes ] || [ -d /var/lib/kubelet ]; }; then
  kubeadm reset -f 2>&1 || log "kubeadm reset failed (above); cleaning up by hand"
fi
if systemctl is-active --quiet kubelet 2>/dev/null; then
  systemctl stop kubelet
  gone "the running kubelet (stopped)"
fi
for d in /etc/cni/net.d /var/lib/cni /var/lib/calico /var/lib/etcd /var/lib/kubelet /etc/kubernetes /etc/kha; do
  if [ -e "$d" ]; then
    rm -rf "$d"
    gone "$d"
  fi
done
# Something still running could write them again (a kubelet another tool started, a CNI
# agent): look once more, say what runs, and remove what came back.
sleep 3
for d in /etc/cni/net.d /var/lib/cni /var/lib/calico /var/lib/kubelet /etc/kubernetes; do
  if [ -e "$d" ]; then
    log "$d was written again after its removal; running now: $(pgrep -a -f 'kubelet|calico|kube-' | tr '\n' ';' || true)"
    rm -rf "$d"
    gone "$d (again)"
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
