# shellcheck shell=bash
# Step: once every node has joined, no join secret is left valid or on disk: the bootstrap
# tokens kha-tui made (by their description) and the short-lived token kubeadm made to own the
# uploaded certificates (deleting it deletes the kubeadm-certs Secret with it) are deleted, and
# the kubeadm config that holds the token and certificate key is removed from this node.
admin=/etc/kubernetes/admin.conf
rm -f /etc/kha/kubeadm-init.yaml
log "removed /etc/kha/kubeadm-init.yaml"
# The engine also runs this after a run whose init failed early: with no cluster there is no
# token to delete.
if [ ! -f "$admin" ]; then
  log "this node has not been initialised (no $admin): no bootstrap token to delete"
  exit 0
fi
tokens=$(kubeadm token list --kubeconfig "$admin")
# Only the token ids (the part before the dot) leave awk; the secrets are never printed.
ids=$(awk 'NR > 1 && (index($0, "kha-tui join token") || index($0, "for the kubeadm-certs secret")) {
  split($1, t, "."); print t[1] }' <<<"$tokens")
for id in $ids; do
  kubeadm token delete --kubeconfig "$admin" "$id" >/dev/null
  log "deleted bootstrap token $id"
done
