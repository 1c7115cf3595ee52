# shellcheck shell=bash
# Step (on a control plane): the upgraded node uncordoned, then waited for until it is Ready and
# its kubelet reports the target minor.
need KHA_TARGET KHA_K8S_MINOR
export KUBECONFIG=/etc/kubernetes/admin.conf
kubectl uncordon "$KHA_TARGET"
log "$KHA_TARGET uncordoned"
for _ in $(seq 1 120); do
  ready=$(kubectl get node "$KHA_TARGET" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  ver=$(kubectl get node "$KHA_TARGET" -o 'jsonpath={.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)
  case "$ver" in
    "v$KHA_K8S_MINOR".*)
      if [ "$ready" = True ]; then
        log "$KHA_TARGET Ready at $ver"
        exit 0
      fi ;;
  esac
  sleep 2
done
die "$KHA_TARGET is not Ready at v$KHA_K8S_MINOR.x after 240 s (Ready=${ready:-?}, kubelet ${ver:-?})"
