#!/bin/bash
# The manual install's node preparation (the seed's steps, corrected for today), run as root on a
# lab host: swap off, modules and sysctls, containerd (Docker's containerd.io where the distro's is
# too old for the minor), its config regenerated with SystemdCgroup = true, then kubelet kubeadm
# kubectl from the per-minor repository, held.
#   node.sh MINOR PKG_MIRROR DOCKER_MIRROR [containerd-source: auto|distro|docker] [systemd-cgroup: true|false]
set -euo pipefail
minor=$1 pkg=$2 docker=$3 source=${4:-auto} sdcg=${5:-true}
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -q -o Dpkg::Use-Pty=0 "$@"; }

swapoff -a
sed -ri '/\sswap\s/s/^#?/#/' /etc/fstab
systemctl mask swap.target >/dev/null 2>&1 || true
printf 'overlay\nbr_netfilter\n' >/etc/modules-load.d/k8s.conf
modprobe overlay
modprobe br_netfilter
printf 'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n' \
	>/etc/sysctl.d/k8s.conf
sysctl -q -p /etc/sysctl.d/k8s.conf

apt_update
need=1.7
[ "$minor" -ge 36 ] && need=2.0
cand=$(apt-cache policy containerd | awk '/Candidate:/ {print $2}')
use=$source
if [ "$use" = auto ]; then
	if [ "$cand" != "(none)" ] && dpkg --compare-versions "$cand" ge "$need"; then use=distro; else use=docker; fi
fi
if [ "$use" = distro ]; then
	apt_get install -y containerd
else
	. /etc/os-release
	install -d -m 0755 /etc/apt/keyrings
	curl -fsSL "$docker/$ID/gpg" -o /etc/apt/keyrings/docker.asc
	echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] $docker/$ID $VERSION_CODENAME stable" \
		>/etc/apt/sources.list.d/docker.list
	apt_update
	apt_get install -y containerd.io
fi
mkdir -p /etc/containerd
containerd config default >/etc/containerd/config.toml
sed -ri "s/^(\s*)SystemdCgroup = .*/\1SystemdCgroup = $sdcg/" /etc/containerd/config.toml
grep -q "SystemdCgroup = $sdcg" /etc/containerd/config.toml || {
	echo "no SystemdCgroup line to set" >&2
	exit 1
}
systemctl enable containerd >/dev/null 2>&1
systemctl restart containerd
for _ in $(seq 50); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.2; done

install -d -m 0755 /etc/apt/keyrings
curl -fsSL "$pkg/core:/stable:/v1.$minor/deb/Release.key" | gpg --batch --yes --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] $pkg/core:/stable:/v1.$minor/deb/ /" \
	>/etc/apt/sources.list.d/kubernetes.list
apt_update
apt_get install -y kubelet kubeadm kubectl
apt-mark hold kubelet kubeadm kubectl >/dev/null
printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\n' >/etc/crictl.yaml
echo "node ready: containerd $(containerd --version | awk '{print $3}'), kubeadm $(kubeadm version -o short)"
