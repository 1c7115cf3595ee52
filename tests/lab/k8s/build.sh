#!/bin/bash
# Builds the lab's stand-in Kubernetes packages and the apt repositories that serve them, and
# fills a file-server directory with them:
#   build.sh WWW
#     WWW/pkgs.k8s.io/core:/stable:/v1.NN/deb/   pkgs.k8s.io's layout: Release.key + a flat, signed repo
#                                                with kubeadm, kubelet, kubectl, cri-tools (stand-ins)
#     WWW/docker/debian/                         Docker's layout: gpg + dists/CODENAME/stable/binary-amd64,
#                                                containerd.io with Debian unstable's real containerd 2.x
#     WWW/calico/vX.Y.Z/manifests/*.yaml         upstream's paths, manifests the stand-ins understand
# Everything built is cached in $KHA_LAB_CACHE/k8s-<hash of the inputs> (default /var/cache/kha-lab),
# the signing keys in $KHA_LAB_CACHE/k8s-gpg (generated once, never committed), the downloaded
# Debian packages in $KHA_LAB_CACHE/k8s-dl. The Debian mirror is the one this machine's apt names.
set -euo pipefail

WWW=${1:?usage: build.sh WWW}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KHA_LAB_CACHE:-/var/cache/kha-lab}
# minor -> patch versions offered (newest last); cri-tools is 1.NN.0
MINORS=(34 35 36 37)
declare -A PATCHES=([34]="1.34.3" [35]="1.35.2" [36]="1.36.1" [37]="1.37.0 1.37.1")
CALICO=(v3.31.3 v3.32.2 v3.33.0)
declare -A OPERATOR=([v3.31.3]=v1.40.3 [v3.32.2]=v1.41.2 [v3.33.0]=v1.42.0)
CODENAMES=(bookworm trixie sid)

say() { printf 'k8s-www: %s\n' "$*" >&2; }
die() {
	printf 'k8s-www: error: %s\n' "$*" >&2
	exit 1
}
for t in dpkg-deb apt-ftparchive gpg gzip flock sha256sum apt-get; do
	command -v "$t" >/dev/null || die "missing $t (install the packages in tests/lab/k8s/packages.txt)"
done

mkdir -p "$CACHE"
exec 7>"$CACHE/k8s.lock"
flock 7

# ------------------------------------------------------------------ the Debian mirror of this machine
mirror() {
	local m=""
	if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
		m=$(awk 'tolower($1)=="uris:" {print $2; exit}' /etc/apt/sources.list.d/*.sources)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
	fi
	[ -n "$m" ] || die "cannot find the Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
	echo "${m%/}"
}

# apt-get download PKG... from SUITE into DIR, with a private apt state (nothing of the machine's changes)
fetch_debs() { # SUITE DIR PKG...
	local suite=$1 dir=$2
	shift 2
	local st="$CACHE/k8s-dl/apt-$suite"
	mkdir -p "$st/lists/partial" "$st/archives/partial" "$dir"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"
	echo "deb [signed-by=$keyring] $(mirror) $suite main" >"$st/sources.list"
	local o=(-o "Dir::Etc::sourcelist=$st/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$st/lists"
		-o "Dir::Cache=$st" -o Dir::State::status=/dev/null -o Acquire::Check-Valid-Until=false
		-o APT::Sandbox::User=root -o Debug::NoLocking=1 -q)
	apt-get "${o[@]}" update >&2
	(cd "$dir" && apt-get "${o[@]}" download "$@" >&2)
}

DL="$CACHE/k8s-dl"
if [ ! -e "$DL/done" ]; then
	say "downloading etcd (bookworm), runc (bookworm, sid) and containerd 2.x (sid) from Debian"
	rm -rf "$DL/bookworm" "$DL/sid"
	fetch_debs bookworm "$DL/bookworm" etcd-server etcd-client runc
	fetch_debs sid "$DL/sid" containerd runc
	touch "$DL/done"
fi

# ------------------------------------------------------------------ signing keys
GPGH="$CACHE/k8s-gpg"
key_for() { # NAME UID -> fingerprint
	local name=$1 uid=$2
	mkdir -p "$GPGH" && chmod 700 "$GPGH"
	if ! gpg --homedir "$GPGH" --batch --list-secret-keys "$uid" >/dev/null 2>&1; then
		gpg --homedir "$GPGH" --batch --pinentry-mode loopback --passphrase '' \
			--quick-gen-key "$uid" rsa3072 sign never >&2 2>/dev/null
	fi
	gpg --homedir "$GPGH" --batch --with-colons --list-secret-keys "$uid" | awk -F: '$1=="fpr" {print $10; exit}'
}
K8S_FPR=$(key_for k8s "kha-lab stand-in for pkgs.k8s.io <pkgs-k8s-io@lab.invalid>")
DOCKER_FPR=$(key_for docker "kha-lab stand-in for Docker Release (CE deb) <docker@lab.invalid>")

# ------------------------------------------------------------------ the inputs' hash
HASH=$({
	cd "$HERE"
	find standin calico build.sh -type f ! -name '*.pyc' | sort | xargs sha256sum
	echo "$K8S_FPR $DOCKER_FPR"
	ls -l "$DL"/bookworm "$DL"/sid
} | sha256sum | cut -c1-16)
OUT="$CACHE/k8s-$HASH"

sign_release() { # DIR FPR: Release -> InRelease + Release.gpg
	local d=$1 fpr=$2
	gpg --homedir "$GPGH" --batch --yes --local-user "$fpr" --clearsign -o "$d/InRelease" "$d/Release"
	gpg --homedir "$GPGH" --batch --yes --local-user "$fpr" --armor --detach-sign -o "$d/Release.gpg" "$d/Release"
}

deb_extract() { # DEB DIR
	mkdir -p "$2"
	dpkg-deb -x "$1" "$2"
}

build_k8s_debs() { # VERSION DIR
	local v=$1 dir=$2 minor
	minor=$(echo "$v" | cut -d. -f2)
	local rev="$v-1.1" cri="1.$minor.0-1.1" w="$OUT/work/$v"
	rm -rf "$w"
	mkdir -p "$w"
	local std="$HERE/standin/k8s_standin.py"
	local etcdx="$OUT/work/etcd"
	if [ ! -d "$etcdx" ]; then
		deb_extract "$(ls "$DL"/bookworm/etcd-server_*.deb)" "$etcdx"
		deb_extract "$(ls "$DL"/bookworm/etcd-client_*.deb)" "$etcdx"
	fi
	lib() { # PKG ROOT
		install -d "$2/usr/lib/kha-standin/$1"
		install -m 0755 "$std" "$2/usr/lib/kha-standin/$1/k8s_standin.py"
		echo "$v" >"$2/usr/lib/kha-standin/$1/VERSION"
	}
	wrapper() { # ROOT PROG PKG
		install -d "$1/usr/bin"
		printf '#!/bin/sh\n# kha-lab stand-in (tests/lab/k8s): not the real %s\nexec /usr/bin/python3 /usr/lib/kha-standin/%s/k8s_standin.py %s "$@"\n' \
			"$2" "$3" "$2" >"$1/usr/bin/$2"
		chmod 0755 "$1/usr/bin/$2"
	}
	control() { # ROOT PKG VERSION DEPENDS DESCRIPTION
		install -d "$1/DEBIAN"
		cat >"$1/DEBIAN/control" <<-EOF
			Package: $2
			Version: $3
			Architecture: amd64
			Maintainer: kha-tui lab <lab@lab.invalid>
			Installed-Size: $(du -sk "$1" | cut -f1)
			Depends: $4
			Section: admin
			Priority: optional
			Homepage: https://kubernetes.io
			Description: $5
			 Stand-in built by kha-tui's lab (tests/lab/k8s): behaves like the real program
			 for what kha-tui's install does, with the real one's words where it fails.
		EOF
	}
	# kubeadm: the CLI, the kubelet drop-in, and the control-plane "images" (etcd is Debian's binary)
	local r="$w/kubeadm"
	lib kubeadm "$r"
	wrapper "$r" kubeadm kubeadm
	install -d "$r/usr/lib/systemd/system/kubelet.service.d"
	cat >"$r/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" <<-'EOF'
		# Note: This dropin only works with kubeadm and kubelet v1.11+
		[Service]
		Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
		Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
		# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
		EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
		# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
		# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
		EnvironmentFile=-/etc/default/kubelet
		ExecStart=
		ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
	EOF
	install -d "$r/usr/lib/kha-standin/images/etcd"
	install -m 0755 "$etcdx/usr/bin/etcd" "$etcdx/usr/bin/etcdctl" "$r/usr/lib/kha-standin/images/etcd/"
	local c
	for c in kube-apiserver kube-controller-manager kube-scheduler; do
		install -d "$r/usr/lib/kha-standin/images/$c"
		printf '#!/bin/sh\nexec /usr/bin/python3 /usr/lib/kha-standin/kubeadm/k8s_standin.py %s "$@"\n' "$c" \
			>"$r/usr/lib/kha-standin/images/$c/$c"
		chmod 0755 "$r/usr/lib/kha-standin/images/$c/$c"
	done
	control "$r" kubeadm "$rev" "cri-tools (>= 1.$minor.0), python3, python3-yaml, python3-cryptography, openssl, iproute2" \
		"Command-line utility for administering a Kubernetes cluster"
	printf '#!/bin/sh\nset -e\nif [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi\n' >"$r/DEBIAN/postinst"
	chmod 0755 "$r/DEBIAN/postinst"
	# kubelet: the agent and its systemd unit (enabled and started on install; it crash-loops until
	# kubeadm has written its configuration, as the real one does)
	r="$w/kubelet"
	lib kubelet "$r"
	wrapper "$r" kubelet kubelet
	install -d "$r/usr/lib/systemd/system"
	cat >"$r/usr/lib/systemd/system/kubelet.service" <<-'EOF'
		[Unit]
		Description=kubelet: The Kubernetes Node Agent
		Documentation=https://kubernetes.io/docs/
		Wants=network-online.target
		After=network-online.target

		[Service]
		ExecStart=/usr/bin/kubelet
		Restart=always
		StartLimitInterval=0
		RestartSec=10

		[Install]
		WantedBy=multi-user.target
	EOF
	control "$r" kubelet "$rev" "iptables (>= 1.4.21), iproute2, mount, util-linux, python3, python3-yaml, openssl" \
		"Node agent for Kubernetes clusters"
	cat >"$r/DEBIAN/postinst" <<-'EOF'
		#!/bin/sh
		set -e
		if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
			systemctl daemon-reload || true
			systemctl enable kubelet.service >/dev/null 2>&1 || true
			systemctl restart kubelet.service || true
		fi
	EOF
	cat >"$r/DEBIAN/prerm" <<-'EOF'
		#!/bin/sh
		set -e
		if [ "$1" = remove ] && [ -d /run/systemd/system ]; then systemctl stop kubelet.service || true; fi
	EOF
	chmod 0755 "$r/DEBIAN/postinst" "$r/DEBIAN/prerm"
	# kubectl
	r="$w/kubectl"
	lib kubectl "$r"
	wrapper "$r" kubectl kubectl
	control "$r" kubectl "$rev" "python3, python3-yaml" "Command-line utility for interacting with a Kubernetes cluster"
	# cri-tools
	r="$w/cri-tools"
	lib cri-tools "$r"
	wrapper "$r" crictl cri-tools
	control "$r" cri-tools "$cri" "python3, python3-yaml" "Command-line utility for interacting with a container runtime"
	local p
	for p in kubeadm kubelet kubectl cri-tools; do
		local ver=$rev
		[ $p = cri-tools ] && ver=$cri
		[ -e "$dir/${p}_${ver}_amd64.deb" ] && continue
		dpkg-deb --root-owner-group -Zgzip -z6 --build "$w/$p" "$dir/${p}_${ver}_amd64.deb" >/dev/null
	done
	rm -rf "$w"
}

build_pkgs_repo() {
	local m v
	for m in "${MINORS[@]}"; do
		local repo="$OUT/www/pkgs.k8s.io/core:/stable:/v1.$m/deb"
		mkdir -p "$repo/amd64"
		for v in ${PATCHES[$m]}; do build_k8s_debs "$v" "$repo/amd64"; done
		(cd "$repo" && apt-ftparchive packages amd64 >Packages && gzip -9kf Packages)
		(cd "$repo" && apt-ftparchive \
			-o "APT::FTPArchive::Release::Origin=obs://build.opensuse.org/isv:kubernetes:core:stable:v1.$m/deb" \
			-o "APT::FTPArchive::Release::Label=isv:kubernetes:core:stable:v1.$m" \
			-o APT::FTPArchive::Release::Architectures="amd64" \
			release . >Release.new && mv Release.new Release)
		sign_release "$repo" "$K8S_FPR"
		gpg --homedir "$GPGH" --batch --armor --export "$K8S_FPR" >"$repo/Release.key"
	done
}

build_containerd_io() { # CODENAME DEB
	local code=$1 deb=$2 w="$OUT/work/containerd-$code"
	rm -rf "$w" "$w.x"
	deb_extract "$(ls "$DL"/sid/containerd_*.deb)" "$w.x"
	# runc from the distribution itself where sid's needs a newer glibc (bookworm has 2.36)
	if [ "$code" = bookworm ]; then
		deb_extract "$(ls "$DL"/bookworm/runc_*.deb)" "$w.x"
	else
		deb_extract "$(ls "$DL"/sid/runc_*.deb)" "$w.x"
	fi
	install -d "$w/usr/bin" "$w/lib/systemd/system" "$w/etc/containerd" "$w/DEBIAN"
	install -m 0755 "$w.x/usr/bin/containerd" "$w.x/usr/bin/containerd-shim-runc-v2" "$w.x/usr/bin/ctr" "$w/usr/bin/"
	install -m 0755 "$w.x/usr/sbin/runc" "$w/usr/bin/runc"
	cat >"$w/lib/systemd/system/containerd.service" <<-'EOF'
		# Copyright The containerd Authors.
		#
		# Licensed under the Apache License, Version 2.0 (the "License");
		# you may not use this file except in compliance with the License.
		# You may obtain a copy of the License at
		#
		#     http://www.apache.org/licenses/LICENSE-2.0
		#
		# Unless required by applicable law or agreed to in writing, software
		# distributed under the License is distributed on an "AS IS" BASIS,
		# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
		# See the License for the specific language governing permissions and
		# limitations under the License.

		[Unit]
		Description=containerd container runtime
		Documentation=https://containerd.io
		After=network.target dbus.service

		[Service]
		ExecStartPre=-/sbin/modprobe overlay
		ExecStart=/usr/bin/containerd

		Type=notify
		Delegate=yes
		KillMode=process
		Restart=always
		RestartSec=5

		# Having non-zero Limit*s causes performance problems due to accounting overhead
		# in the kernel. We recommend using cgroups to do container-local accounting.
		LimitNPROC=infinity
		LimitCORE=infinity

		# Comment TasksMax if your systemd version does not supports it.
		# Only systemd 226 and above support this version.
		TasksMax=infinity
		OOMScoreAdjust=-999

		[Install]
		WantedBy=multi-user.target
	EOF
	cat >"$w/etc/containerd/config.toml" <<-'EOF'
		#   Copyright 2018-2022 Docker Inc.

		#   Licensed under the Apache License, Version 2.0 (the "License");
		#   you may not use this file except in compliance with the License.
		#   You may obtain a copy of the License at

		#       http://www.apache.org/licenses/LICENSE-2.0

		#   Unless required by applicable law or agreed to in writing, software
		#   distributed under the License is distributed on an "AS IS" BASIS,
		#   WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
		#   See the License for the specific language governing permissions and
		#   limitations under the License.

		disabled_plugins = ["cri"]

		#root = "/var/lib/containerd"
		#state = "/run/containerd"
		#subreaper = true
		#oom_score = 0

		#[grpc]
		#  address = "/run/containerd/containerd.sock"
		#  uid = 0
		#  gid = 0

		#[debug]
		#  address = "/run/containerd/debug.sock"
		#  uid = 0
		#  gid = 0
		#  level = "info"
	EOF
	echo /etc/containerd/config.toml >"$w/DEBIAN/conffiles"
	local up
	up=$(dpkg-deb -f "$(ls "$DL"/sid/containerd_*.deb)" Version | sed 's/[+~].*//')
	cat >"$w/DEBIAN/control" <<-EOF
		Package: containerd.io
		Version: $up-1
		Architecture: amd64
		Maintainer: Containerd team <help@containerd.io>
		Installed-Size: $(du -sk "$w" | cut -f1)
		Depends: libc6 (>= 2.34), libseccomp2 (>= 2.5.0)
		Conflicts: containerd, runc
		Replaces: containerd, runc
		Provides: containerd, runc
		Section: devel
		Priority: optional
		Homepage: https://containerd.io
		Description: An open and reliable container runtime
		 Lab stand-in for Docker's containerd.io (tests/lab/k8s): the real containerd $up
		 binaries from Debian unstable, with runc, packaged the way Docker packages them.
	EOF
	cat >"$w/DEBIAN/postinst" <<-'EOF'
		#!/bin/sh
		set -e
		if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
			systemctl daemon-reload || true
			systemctl enable containerd.service >/dev/null 2>&1 || true
			systemctl restart containerd.service || true
		fi
	EOF
	cat >"$w/DEBIAN/prerm" <<-'EOF'
		#!/bin/sh
		set -e
		if [ "$1" = remove ] && [ -d /run/systemd/system ]; then systemctl stop containerd.service || true; fi
	EOF
	chmod 0755 "$w/DEBIAN/postinst" "$w/DEBIAN/prerm"
	mkdir -p "$(dirname "$deb")"
	dpkg-deb --root-owner-group -Zgzip -z6 --build "$w" "$deb" >/dev/null
	rm -rf "$w" "$w.x"
}

build_docker_repo() {
	local root="$OUT/www/docker/debian" code up
	up=$(dpkg-deb -f "$(ls "$DL"/sid/containerd_*.deb)" Version | sed 's/[+~].*//')
	mkdir -p "$root"
	gpg --homedir "$GPGH" --batch --armor --export "$DOCKER_FPR" >"$root/gpg"
	for code in "${CODENAMES[@]}"; do
		local pool="dists/$code/pool/stable/amd64"
		build_containerd_io "$code" "$root/$pool/containerd.io_${up}-1_amd64.deb"
		local bin="dists/$code/stable/binary-amd64"
		mkdir -p "$root/$bin"
		(cd "$root" && apt-ftparchive packages "dists/$code/pool/stable" >"$bin/Packages" && gzip -9kf "$bin/Packages")
		printf 'Archive: %s\nComponent: stable\nOrigin: Docker\nLabel: Docker CE\nArchitecture: amd64\n' "$code" \
			>"$root/$bin/Release"
		(cd "$root/dists/$code" && apt-ftparchive \
			-o APT::FTPArchive::Release::Origin=Docker -o "APT::FTPArchive::Release::Label=Docker CE" \
			-o "APT::FTPArchive::Release::Suite=$code" -o "APT::FTPArchive::Release::Codename=$code" \
			-o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=stable \
			release . >../Release.new && mv ../Release.new Release)
		sign_release "$root/dists/$code" "$DOCKER_FPR"
	done
}

build_calico() {
	local v f
	for v in "${CALICO[@]}"; do
		mkdir -p "$OUT/www/calico/$v/manifests"
		for f in operator-crds tigera-operator custom-resources; do
			sed -e "s/@VERSION@/$v/g" -e "s/@OPERATOR@/${OPERATOR[$v]}/g" "$HERE/calico/$f.yaml.in" \
				>"$OUT/www/calico/$v/manifests/$f.yaml"
		done
	done
}

if [ ! -e "$OUT/done" ]; then
	say "building into $OUT"
	rm -rf "$OUT"
	mkdir -p "$OUT/www" "$OUT/work"
	build_pkgs_repo
	build_docker_repo
	build_calico
	rm -rf "$OUT/work"
	touch "$OUT/done"
	# keep the newest three builds
	ls -dt "$CACHE"/k8s-[0-9a-f]* 2>/dev/null | tail -n +4 | xargs -r rm -rf
fi

mkdir -p "$WWW"
for d in pkgs.k8s.io docker calico; do
	rm -rf "${WWW:?}/$d"
	cp -al "$OUT/www/$d" "$WWW/$d" 2>/dev/null || cp -a "$OUT/www/$d" "$WWW/$d"
done
# The signing keys' fingerprints, for the inventory's package_mirror_key and
# containerd_mirror_key (the lab's mirrors are plain http, so kha-tui wants them pinned).
echo "$K8S_FPR" >"$WWW/pkgs.k8s.io/key-fingerprint"
echo "$DOCKER_FPR" >"$WWW/docker/key-fingerprint"
say "pkgs.k8s.io (v1.${MINORS[*]}), docker (${CODENAMES[*]}), calico (${CALICO[*]}) in $WWW"
