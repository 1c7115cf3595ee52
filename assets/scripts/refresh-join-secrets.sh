# shellcheck shell=bash
# Step: fresh join secrets on the first control plane, used when a join comes later than the
# certificate upload window (2 h) or after a resumed run (kha-tui never stores secrets).
# The new bootstrap token and certificate key are in /etc/kha/kubeadm-refresh.yaml (0600),
# removed again at the end.
cfg=/etc/kha/kubeadm-refresh.yaml
admin=/etc/kubernetes/admin.conf
[ -f "$cfg" ] || die "$cfg is missing"
[ -f "$admin" ] || die "this node has not been initialised (no $admin)"
version=$(kubeadm version -o short)
run_cfg=$(mktemp /etc/kha/kubeadm-init.XXXXXX.yaml)
trap 'rm -f "$run_cfg" "$cfg"' EXIT
chmod 0600 "$run_cfg"
sed "s/@@kubeadm-version@@/$version/" "$cfg" >"$run_cfg"

# A token of its own: kubeadm refuses to create a token whose id exists, and kha-tui makes a new
# one for every refresh (plan::RENEWED_BY_REFRESH), so an engine that reused the run's token
# fails here with kubeadm's words instead of joining with a token it did not mean to keep.
id=$(sed -n 's/^ *- token: "\([a-z0-9]\{6\}\)\..*/\1/p' "$run_cfg")
[ -n "$id" ] || die "$cfg holds no bootstrap token"
kubeadm token create --kubeconfig "$admin" --config "$run_cfg" >/dev/null
log "bootstrap token $id created"
kubeadm init phase upload-certs --upload-certs --config "$run_cfg" >/dev/null
log "control-plane certificates uploaded again under a new key (valid for 2 hours)"
