#!/bin/bash
# The manual install's load balancer: HAProxy in TCP mode on 6443 with a TLS /readyz check of every
# control plane, long timeouts; kubectl from the per-minor repository.
#   lb.sh MINOR PKG_MIRROR MASTER_IP...
set -euo pipefail
minor=$1 pkg=$2
shift 2
export DEBIAN_FRONTEND=noninteractive
apt_update
apt-get -q -o Dpkg::Use-Pty=0 install -y haproxy
{
	cat <<-'CFG'
		global
		    log /dev/log local0
		    stats socket /run/haproxy/admin.sock mode 660 level admin
		    daemon
		defaults
		    log global
		    mode tcp
		    option tcplog
		    timeout connect 5s
		    timeout client 4h
		    timeout server 4h
		frontend kube-apiserver
		    bind *:6443
		    default_backend kube-apiserver
		backend kube-apiserver
		    option httpchk GET /readyz
		    http-check expect status 200
		    balance roundrobin
		    default-server inter 2s fall 2 rise 2 check-ssl verify none
	CFG
	i=1
	for ip in "$@"; do
		echo "    server master$i $ip:6443 check"
		i=$((i + 1))
	done
} >/etc/haproxy/haproxy.cfg
haproxy -c -f /etc/haproxy/haproxy.cfg >/dev/null
systemctl enable haproxy >/dev/null 2>&1
systemctl restart haproxy
install -d -m 0755 /etc/apt/keyrings
curl -fsSL "$pkg/core:/stable:/v1.$minor/deb/Release.key" | gpg --batch --yes --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] $pkg/core:/stable:/v1.$minor/deb/ /" \
	>/etc/apt/sources.list.d/kubernetes.list
apt_update
apt-get -q -o Dpkg::Use-Pty=0 install -y kubectl
apt-mark hold kubectl >/dev/null
echo "lb ready: $(haproxy -v | head -1)"
