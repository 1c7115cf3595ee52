# shellcheck shell=bash
# Step (read-only, `kha-tui status`): what this control plane knows about the cluster, printed
# as `kha-status KIND ...` lines that kha-tui parses. Changes nothing on the node or in the
# cluster. Each part reports its own failure as a line and the step goes on, so one broken part
# (the API down, etcd stopped) never hides the others.
need KHA_NODE_NAME
export KUBECONFIG=/etc/kubernetes/admin.conf
say() { printf 'kha-status %s\n' "$*"; }
# The last line of a command's output, on one line (errors end with the reason).
last_line() { printf '%s' "$1" | tail -n 1 | tr -d '\r'; }

if [ ! -f "$KUBECONFIG" ]; then
  say error "no $KUBECONFIG on $KHA_NODE_NAME: kubeadm has not set this node up as a control plane"
  exit 0
fi

# Nodes as the API reports them (through the cluster's endpoint): NAME STATUS ROLES AGE VERSION.
if out=$(kubectl get nodes --no-headers 2>&1); then
  printf '%s\n' "$out" | while read -r line; do say node "$line"; done
else
  say nodes-error "$(last_line "$out")"
fi

# Bootstrap tokens: only the token id leaves the node, never its secret half.
if out=$(kubeadm token list 2>&1); then
  printf '%s\n' "$out" | awk 'NR > 1 && NF >= 3 { split($1, t, "."); print "kha-status token", t[1], $2, $3 }'
else
  say tokens-error "$(last_line "$out")"
fi

# Certificates: kubeadm's own table (name, expiry, residual time), one line each.
if out=$(kubeadm certs check-expiration 2>&1); then
  printf '%s\n' "$out" | awk '
    /^CERTIFICATE AUTHORITY/ { ca = 1; next }
    /^CERTIFICATE / { next }
    NF >= 7 && $6 == "UTC" { print "kha-status cert", (ca ? "authority" : "leaf"), $1, $7, $2, $3, $4, $5, $6 }'
else
  say certs-error "$(last_line "$out")"
fi

# etcd, asked inside this node's etcd container (kubeadm's nodes have no etcdctl of their own;
# crictl needs no API server, so this works when the API is down too).
cid=$(crictl ps -q --name '^etcd$' 2>/dev/null | head -n 1 || true)
if [ -z "$cid" ]; then
  say etcd-error "no running etcd container on $KHA_NODE_NAME (crictl ps --name etcd lists none)"
  exit 0
fi
etcdctl() {
  crictl exec "$cid" etcdctl --endpoints=https://127.0.0.1:2379 --command-timeout=5s \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt \
    --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
    --key=/etc/kubernetes/pki/etcd/healthcheck-client.key "$@"
}
if out=$(etcdctl endpoint status -w json 2>&1); then
  say etcd-status "$(printf '%s' "$out" | tr -d '\n')"
else
  say etcd-error "$(last_line "$out")"
fi
if out=$(etcdctl endpoint health -w json 2>&1); then
  say etcd-health "$(printf '%s' "$out" | tr -d '\n')"
else
  say etcd-unhealthy "$(last_line "$out")"
fi
if out=$(etcdctl member list -w json 2>&1); then
  say etcd-members "$(printf '%s' "$out" | tr -d '\n')"
else
  say etcd-members-error "$(last_line "$out")"
fi
