# shellcheck shell=bash
# Step (each Kubernetes node, after its kubeadm upgrade): kubelet and kubectl unheld, installed at
# the target minor's newest patch, held again; the kubelet restarted and healthy on the new version.
need KHA_K8S_MINOR KHA_PACKAGE_BASE
k8s_packages_to_minor "the configured repository offers no kubelet $KHA_K8S_MINOR.x (did the kubeadm step switch the source?)" kubelet kubectl
systemctl daemon-reload
systemctl restart kubelet
for _ in $(seq 1 60); do
  if curl -fsS --max-time 2 http://127.0.0.1:10248/healthz >/dev/null 2>&1; then
    log "kubelet $(dpkg-query -W -f='${Version}' kubelet) (held) restarted and healthy; kubectl $(dpkg-query -W -f='${Version}' kubectl) (held)"
    exit 0
  fi
  sleep 1
done
die "the kubelet did not answer http://127.0.0.1:10248/healthz within 60 s after its restart (journalctl -u kubelet)"
