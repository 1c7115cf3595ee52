# shellcheck shell=bash
# Step (reset, on each load balancer): the operator's admin kubeconfig removed, HAProxy's config
# back to the distro's default (kha-tui's kube-apiserver frontend gone), keepalived's config
# kha-tui wrote removed and the service stopped, ip_nonlocal_bind back, kha-tui's files removed. Each thing removed is
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

# keepalived's config only when kha-tui wrote it: the template's own marker line (exactly,
# at the start of a line), not any mention of kha-tui. An operator's keepalived stays.
kcfg=/etc/keepalived/keepalived.conf
ours=0
if [ -f "$kcfg" ] && grep -q '^# Written by kha-tui\.' "$kcfg"; then
  ours=1
  systemctl disable --now keepalived >/dev/null 2>&1 || true
  rm -f "$kcfg"
  gone "keepalived's config written by kha-tui (keepalived stopped)"
elif [ -f "$kcfg" ]; then
  log "$kcfg was not written by kha-tui: left alone"
elif [ -e /etc/keepalived/kha-notify.sh ]; then
  ours=1 # an earlier reset removed the config, then was interrupted
fi
# The files the pair's step installed under names of kha-tui's own.
for f in /etc/keepalived/kha-check-haproxy.sh /etc/keepalived/kha-notify.sh; do
  if [ -f "$f" ]; then
    rm -f "$f"
    gone "$f"
  fi
done
# --purge: keepalived too, when kha-tui set it up (an operator's own keepalived stays), after
# kha-tui's scripts are gone so that dpkg can take /etc/keepalived with it.
if [ "${KHA_PURGE:-0}" = 1 ] && [ "$ours" = 1 ] &&
  dpkg-query -W -f='${Status}' keepalived 2>/dev/null | grep -q 'ok installed'; then
  apt_get purge -y keepalived >/dev/null
  rmdir /etc/keepalived 2>/dev/null || true
  gone "package keepalived"
fi

dropin=/etc/systemd/system/keepalived.service.d/90-kha-state.conf
if [ -f "$dropin" ]; then
  rm -f "$dropin"
  rmdir "${dropin%/*}" 2>/dev/null || true
  systemctl daemon-reload
  gone "$dropin"
fi

# lb-keepalived.sh let this host bind addresses it does not hold (host-wide): back to what the
# other sysctl files say — read in the order systemd-sysctl applies them, the last one winning —
# else the kernel's default 0. Set before the file goes, so an interrupted reset finds it again.
nonlocal=/etc/sysctl.d/90-kha-lb-pair.conf
if [ -f "$nonlocal" ]; then
  value=$(systemd-analyze cat-config sysctl.d 2>/dev/null | awk -v ours="$nonlocal" '
    /^# \// { skip = ($2 == ours); next }
    !skip && /^[[:space:]]*net\.ipv4\.ip_nonlocal_bind[[:space:]]*=/ {
      v = $0; sub(/^[^=]*=/, "", v); gsub(/[[:space:]]/, "", v)
    }
    END { print v }' || true)
  [[ "$value" =~ ^[01]$ ]] || value=0
  sysctl -q -w net.ipv4.ip_nonlocal_bind="$value"
  rm -f "$nonlocal"
  gone "$nonlocal (net.ipv4.ip_nonlocal_bind is $value again)"
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
