# shellcheck shell=bash
# Step: the admin kubeconfig (never super-admin.conf) for the operator on the load balancer,
# as ~/.kube/config with mode 0600, checked against the control-plane endpoint.
need KHA_USER KHA_ENDPOINT
src=/etc/kha/admin.conf
[ -f "$src" ] || die "$src is missing"
home=$(getent passwd "$KHA_USER" | cut -d: -f6)
[ -n "$home" ] || die "user $KHA_USER does not exist on this node"
group=$(id -gn "$KHA_USER")
install -d -m 0700 -o "$KHA_USER" -g "$group" "$home/.kube"
write_file "$home/.kube/config" 0600 <"$src"
chown "$KHA_USER:$group" "$home/.kube/config"
rm -f "$src"
# Compared as text, not as a grep pattern: the dots of an address (or the brackets of an IPv6
# one) would be pattern characters there.
awk -v want="https://$KHA_ENDPOINT" '$1 == "server:" && $2 == want {found = 1} END {exit !found}' \
  "$home/.kube/config" ||
  die "$home/.kube/config does not point at https://$KHA_ENDPOINT"
if command -v kubectl >/dev/null 2>&1; then
  kubectl --kubeconfig "$home/.kube/config" get --raw /readyz >/dev/null ||
    die "the API does not answer at https://$KHA_ENDPOINT with the admin kubeconfig"
  log "kubectl on this node reaches https://$KHA_ENDPOINT"
fi
log "$home/.kube/config written (0600, owner $KHA_USER)"
