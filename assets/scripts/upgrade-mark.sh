# shellcheck shell=bash
# Step (first control plane): the "upgrade in progress" mark, a ConfigMap kube-system/kha-tui-upgrade
# with from, to, started and by. `set` refuses when another upgrade (another target) is marked;
# the same target again is a resume and keeps the first start. `clear` removes it at the end.
need KHA_UPGRADE_ACTION KHA_UPGRADE_TO
export KUBECONFIG=/etc/kubernetes/admin.conf
cm=kha-tui-upgrade
current_to() { kubectl -n kube-system get configmap "$cm" -o 'jsonpath={.data.to}' 2>/dev/null || true; }
field() { kubectl -n kube-system get configmap "$cm" -o "jsonpath={.data.$1}" 2>/dev/null || true; }
case "$KHA_UPGRADE_ACTION" in
  set)
    need KHA_UPGRADE_FROM KHA_UPGRADE_BY
    was=$(current_to)
    if [ -n "$was" ] && [ "$was" != "$KHA_UPGRADE_TO" ]; then
      die "an upgrade to $was is in progress (from $(field from), started $(field started) by $(field by)); finish it with kha-tui upgrade --to $was first"
    fi
    if [ -n "$was" ]; then
      log "upgrade to $KHA_UPGRADE_TO marked in progress since $(field started) by $(field by): resuming"
      exit 0
    fi
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    # Values are versions and a user@host name; quoted as YAML strings all the same.
    q() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }
    kubectl apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: $cm
  namespace: kube-system
data:
  from: $(q "$KHA_UPGRADE_FROM")
  to: $(q "$KHA_UPGRADE_TO")
  started: $(q "$started")
  by: $(q "$KHA_UPGRADE_BY")
YAML
    log "upgrade $KHA_UPGRADE_FROM -> $KHA_UPGRADE_TO marked in progress (kube-system/$cm)"
    ;;
  clear)
    kubectl -n kube-system delete configmap "$cm" --ignore-not-found >/dev/null
    log "upgrade to $KHA_UPGRADE_TO finished: kube-system/$cm removed"
    ;;
  *) die "unknown KHA_UPGRADE_ACTION $KHA_UPGRADE_ACTION (set or clear)" ;;
esac
