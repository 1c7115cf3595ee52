#!/bin/bash
# Development harness: run the stand-ins on this machine, on loopback only, with a node's
# files under $KHA_STANDIN_ROOT. Not used by the lab or the tests: for working on the stand-ins.
#   local-env.sh start DIR ETCD_BIN_DIR   -> fake CRI socket + kubelet loop; prints nothing
#   local-env.sh stop DIR
set -euo pipefail
cmd=$1 dir=$2
here=$(cd "$(dirname "$0")/.." && pwd)
case $cmd in
start)
    etcd_dir=$3
    mkdir -p "$dir/root/var/run/containerd" "$dir/images/etcd" "$dir/root/etc/kubernetes/manifests" "$dir/log"
    cp "$etcd_dir/etcd" "$dir/images/etcd/"
    [ -x "$etcd_dir/etcdctl" ] && cp "$etcd_dir/etcdctl" "$dir/images/etcd/"
    for c in kube-apiserver kube-controller-manager kube-scheduler; do
        mkdir -p "$dir/images/$c"
        printf '#!/bin/sh\nexec /usr/bin/python3 %s/standin/k8s_standin.py %s "$@"\n' "$here" "$c" >"$dir/images/$c/$c"
        chmod +x "$dir/images/$c/$c"
    done
    # a listening socket where containerd's would be (the kubelet only dials it)
    setsid /usr/bin/python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(16)
while True:
    c,_=s.accept(); c.close()' "$dir/root/var/run/containerd/containerd.sock" </dev/null >"$dir/log/cri.log" 2>&1 &
    echo $! >"$dir/cri.pid"
    # the kubelet, restarted like systemd's Restart=always does
    setsid bash -c 'while true; do /usr/bin/python3 "$0"/standin/k8s_standin.py kubelet --config=/var/lib/kubelet/config.yaml --kubeconfig=/etc/kubernetes/kubelet.conf --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf; sleep 1; done' "$here" </dev/null >"$dir/log/kubelet.log" 2>&1 &
    echo $! >"$dir/kubelet.pid"
    ;;
stop)
    for f in kubelet cri; do
        if [ -f "$dir/$f.pid" ]; then kill -- -"$(cat "$dir/$f.pid")" 2>/dev/null || true; rm -f "$dir/$f.pid"; fi
    done
    ;;
esac
