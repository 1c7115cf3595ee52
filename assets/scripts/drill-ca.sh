# shellcheck shell=bash
# Drill probe (load balancer): prints the cluster CA the operator's admin kubeconfig trusts
# (`kha-drill ca BASE64-PEM`), so that kha-tui's own requests verify the apiservers against it.
# The CA certificate is public; the kubeconfig's client key never leaves this node.
need KHA_USER
home=$(getent passwd "$KHA_USER" | cut -d: -f6)
cfg="$home/.kube/config"
[ -f "$cfg" ] || die "$cfg does not exist: run kha-tui apply first"
ca=$(awk '$1 == "certificate-authority-data:" {print $2; exit}' "$cfg")
[ -n "$ca" ] || die "$cfg has no certificate-authority-data"
log "kha-drill ca $ca"
