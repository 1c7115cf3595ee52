# shellcheck shell=bash
# Step: what every Kubernetes node needs before a runtime: cgroup v2 where the minor
# demands it, swap off for good, kernel modules and sysctls persisted.
need KHA_K8S_MINOR KHA_REQUIRE_CGROUP_V2

fs=$(stat -fc %T /sys/fs/cgroup)
if [ "$KHA_REQUIRE_CGROUP_V2" = 1 ] && [ "$fs" != cgroup2fs ]; then
  die "this host runs cgroup v1 ($fs at /sys/fs/cgroup); the kubelet of Kubernetes $KHA_K8S_MINOR refuses cgroup v1. Boot with systemd.unified_cgroup_hierarchy=1 (or use a distro release that defaults to cgroup v2) and run again."
fi
log "cgroup: $fs"

swap_off

# Kernel modules.
printf 'overlay\nbr_netfilter\n' | write_file /etc/modules-load.d/k8s.conf 0644
modprobe overlay
modprobe br_netfilter

# Sysctls.
printf 'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n' |
  write_file /etc/sysctl.d/k8s.conf 0644
sysctl -q -p /etc/sysctl.d/k8s.conf
for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
  [ "$(sysctl -n "$key")" = 1 ] || die "sysctl $key is not 1 after setting it"
done

ensure_pkgs ca-certificates curl gnupg
log "node prepared for Kubernetes $KHA_K8S_MINOR"
