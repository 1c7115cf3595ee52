# shellcheck shell=bash
# Step: Calico at the pinned version through the Tigera operator, from upstream or the
# manifest mirror, with its IP pool equal to the cluster's pod subnet.
need KHA_CALICO_VERSION KHA_MANIFEST_BASE
export KUBECONFIG=/etc/kubernetes/admin.conf
dir="/etc/kha/calico/$KHA_CALICO_VERSION"
mkdir -p "$dir"
base="$KHA_MANIFEST_BASE/$KHA_CALICO_VERSION/manifests"
# Each manifest is checked against its sha256 (the versions table's, or the inventory's pins)
# before anything is applied; a copy kept from an earlier run that no longer matches (another
# mirror, other pins) is downloaded again first.
for f in operator-crds.yaml tigera-operator.yaml; do
  case $f in
    operator-crds.yaml) want=${KHA_CALICO_CRDS_SHA256:-} ;;
    *) want=${KHA_CALICO_OPERATOR_SHA256:-} ;;
  esac
  if [ -s "$dir/$f" ] && [ -n "$want" ]; then
    got=$(sha256sum <"$dir/$f")
    [ "${got%% *}" = "$want" ] || rm -f "$dir/$f"
  fi
  if [ ! -s "$dir/$f" ]; then
    fetch "$base/$f" "$dir/$f"
    log "downloaded $base/$f"
  fi
  pinned_sum "$dir/$f" "$want" "$base/$f"
done
# Server-side apply: the CRDs are too large for the last-applied annotation.
kubectl apply --server-side --force-conflicts -f "$dir/operator-crds.yaml"
kubectl apply --server-side --force-conflicts -f "$dir/tigera-operator.yaml"
kubectl wait --for=condition=Established --timeout=120s crd/installations.operator.tigera.io
kubectl apply -f /etc/kha/calico-installation.yaml
log "Calico $KHA_CALICO_VERSION applied"
