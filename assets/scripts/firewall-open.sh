# shellcheck shell=bash
# The one-key preflight fix "firewall-open": lets in, through the host firewall that is active
# (ufw or firewalld), exactly what preflight found closed — KHA_FW_OPEN, e.g.
# "10250/tcp 30000:32767/tcp 4789/udp vrrp", checked by kha-tui before it gets here.
# Never disables the firewall, and fails if it is no longer active afterwards. ufw's rules carry
# the comment kha-tui; a rule already there is left as it is, so a second run changes nothing.
need KHA_FW_OPEN
ufw_active() { ufw status 2>/dev/null | grep -q '^Status: active'; }
firewalld_running() { [ "$(firewall-cmd --state 2>/dev/null)" = running ]; }
firewall_open() {
  local r
  if command -v ufw >/dev/null 2>&1 && ufw_active; then
    for r in $KHA_FW_OPEN; do
      case "$r" in
        */*) log "ufw allow $r comment kha-tui"; ufw allow "$r" comment kha-tui ;;
        *) log "ufw allow proto $r from any to any comment kha-tui"
          ufw allow proto "$r" from any to any comment kha-tui ;;
      esac
    done
    ufw_active || die "ufw is not active any more"
    log "ufw is still active"
  elif command -v firewall-cmd >/dev/null 2>&1 && firewalld_running; then
    for r in $KHA_FW_OPEN; do
      case "$r" in
        */*) log "firewall-cmd --permanent --add-port=${r/:/-}"
          firewall-cmd --permanent --add-port="${r/:/-}" ;;
        *) log "firewall-cmd --permanent --add-protocol=$r"
          firewall-cmd --permanent --add-protocol="$r" ;;
      esac
    done
    firewall-cmd --reload
    firewalld_running || die "firewalld is not running any more"
    log "firewalld is still running"
  else
    log "no active ufw or firewalld here: nothing to open"
  fi
}
