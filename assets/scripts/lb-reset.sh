# shellcheck shell=bash
# Step (reset, on each load balancer): the operator's admin kubeconfig removed, HAProxy's config
# back to the distro's default (kha-tui's kube-apiserver frontend gone), keepalived's config
# kha-tui wrote removed and the service stopped, kha-tui's files removed. Each thing removed is
# said; a second run finds nothing. Packages stay unless KHA_PURGE=1.
need KHA_USER
removed=0
gone() { log "removed $*"; removed=$((removed + 1)); }

home=$(getent passwd "$KHA_USER" | cut -d: -f6 || true)
if [ -n "$home" ] && [ -f "$home/.kube/config" ]; then
  rm -f "$home/.kube/config"
  rmdir "$home/.kube" 2>/dev/null || true
  gone "$home/.kube/config (the admin kubeconfig)"
fi

cfg=/etc/haproxy/haproxy.cfg
# kha-tui's config, or none at all (a reset interrupted between removing it and dpkg restoring
# the default): either way the distro's default comes back.
if have_pkg haproxy && { [ ! -f "$cfg" ] || grep -q 'kube-apiserver' "$cfg"; }; then
  if [ "${KHA_PURGE:-0}" = 1 ]; then
    systemctl stop haproxy 2>/dev/null || true
    apt_get purge -y haproxy >/dev/null
    rm -f "$cfg"
    gone "package haproxy and its kube-apiserver config"
  else
    # The package's own default comes back with its conffile: removed, then restored by dpkg.
    # A reset interrupted inside dpkg left it half done: finish that first.
    dpkg --configure -a >/dev/null 2>&1 || true
    rm -f "$cfg"
    apt_get install --reinstall -y -o Dpkg::Options::=--force-confmiss haproxy >/dev/null
    [ -f "$cfg" ] || die "dpkg did not restore $cfg"
    haproxy -c -q -f "$cfg" || die "the restored $cfg does not pass haproxy -c"
    systemctl restart haproxy
    gone "HAProxy's kube-apiserver config ($cfg is the distro's default again)"
  fi
fi

kcfg=/etc/keepalived/keepalived.conf
if [ -f "$kcfg" ] && grep -qi 'kha-tui' "$kcfg"; then
  systemctl disable --now keepalived >/dev/null 2>&1 || true
  rm -f "$kcfg"
  gone "keepalived's config written by kha-tui (keepalived stopped)"
fi

if [ -e /etc/kha ]; then
  rm -rf /etc/kha
  gone /etc/kha
fi
if [ "$removed" = 0 ]; then
  log "nothing left to remove: this load balancer is clean"
else
  log "$removed thing(s) removed"
fi
