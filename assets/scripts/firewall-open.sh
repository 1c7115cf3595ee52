# shellcheck shell=bash
# The one-key preflight fix "firewall-open": lets in, through the host firewall that is active
# (ufw or firewalld), exactly what preflight found closed, and only from the cluster's own
# addresses: KHA_FW_OPEN (e.g. "10250/tcp 30000:32767/tcp 4789/udp vrrp") from each address of
# KHA_FW_FROM (every node and load balancer of the inventory); KHA_FW_OPEN_ANY (the load
# balancers' API frontend, "6443/tcp") from anywhere. Both are checked by kha-tui before they
# get here. Never disables the firewall, and fails if it is no longer active afterwards.
# ufw's rules carry the comment kha-tui; ufw and firewalld skip a rule they already have, so a
# second run adds nothing.
need KHA_FW_FROM
ufw_active() { [[ "$(ufw status 2>/dev/null)" == "Status: active"* ]]; }
firewalld_running() { [ "$(firewall-cmd --state 2>/dev/null)" = running ]; }

# VRRP through ufw older than 0.36, which has no `proto vrrp`: an ACCEPT of IP protocol 112
# from the address in before.rules (its filter table ends at the first COMMIT).
ufw_vrrp_before_rules() {
  local line
  line=$(ufw_vrrp_line "$1")
  [ -f "$UFW_BEFORE_RULES" ] || die "ufw has no proto vrrp and there is no $UFW_BEFORE_RULES: let IP protocol 112 in from $1 by hand"
  if grep -qxF -- "$line" "$UFW_BEFORE_RULES"; then return 0; fi
  log "ufw has no proto vrrp: $line in $UFW_BEFORE_RULES"
  awk -v l="$line" '!done && $0 == "COMMIT" { print l; done = 1 } { print }' \
    "$UFW_BEFORE_RULES" >"$UFW_BEFORE_RULES.kha-tui"
  cat "$UFW_BEFORE_RULES.kha-tui" >"$UFW_BEFORE_RULES"
  rm -f "$UFW_BEFORE_RULES.kha-tui"
  grep -qxF -- "$line" "$UFW_BEFORE_RULES" || die "could not add the VRRP line to $UFW_BEFORE_RULES"
  UFW_RELOAD=1
}

# One opening ($1, a spec) from one source ($2, an address or "any") through ufw.
ufw_open() {
  local spec=$1 src=$2 out
  case "$spec" in
    */*)
      log "ufw allow proto ${spec#*/} from $src to any port ${spec%/*} comment kha-tui"
      ufw allow proto "${spec#*/}" from "$src" to any port "${spec%/*}" comment kha-tui
      ;;
    *)
      log "ufw allow proto $spec from $src to any comment kha-tui"
      if ! out=$(ufw allow proto "$spec" from "$src" to any comment kha-tui 2>&1); then
        [ "$spec" = vrrp ] || die "ufw refused proto $spec: $out"
        log "ufw refused proto vrrp ($out)"
        ufw_vrrp_before_rules "$src"
      else
        log "$out"
      fi
      ;;
  esac
}

# One opening through firewalld, in zone $1: from address $3, or from anywhere when $3 is "any".
firewalld_open() {
  local zone=$1 spec=$2 src=$3 family=ipv4 rule
  if [ "$src" = any ]; then
    case "$spec" in
      */*) firewall-cmd --permanent --zone="$zone" --add-port="${spec/:/-}" ;;
      *) firewall-cmd --permanent --zone="$zone" --add-protocol="$spec" ;;
    esac
    return
  fi
  case "$src" in *:*) family=ipv6 ;; esac
  case "$spec" in
    */*) rule="rule family=\"$family\" source address=\"$src\" port port=\"${spec%/*}\" protocol=\"${spec#*/}\" accept"
      rule=${rule/:/-} ;;
    *) rule="rule family=\"$family\" source address=\"$src\" protocol value=\"$spec\" accept" ;;
  esac
  firewall-cmd --permanent --zone="$zone" --add-rich-rule="$rule"
}

firewall_open() {
  local r a zone
  if command -v ufw >/dev/null 2>&1 && ufw_active; then
    UFW_RELOAD=0
    for r in ${KHA_FW_OPEN:-}; do
      for a in $KHA_FW_FROM; do ufw_open "$r" "$a"; done
    done
    for r in ${KHA_FW_OPEN_ANY:-}; do ufw_open "$r" any; done
    if [ "$UFW_RELOAD" = 1 ]; then ufw reload; fi
    ufw_active || die "ufw is not active any more"
    log "ufw is still active"
  elif command -v firewall-cmd >/dev/null 2>&1 && firewalld_running; then
    for zone in $(fw_zones); do
      log "firewalld zone $zone (an interface the cluster is reached through is in it)"
      for r in ${KHA_FW_OPEN:-}; do
        for a in $KHA_FW_FROM; do firewalld_open "$zone" "$r" "$a"; done
      done
      for r in ${KHA_FW_OPEN_ANY:-}; do firewalld_open "$zone" "$r" any; done
    done
    firewall-cmd --reload
    firewalld_running || die "firewalld is not running any more"
    log "firewalld is still running"
  else
    log "no active ufw or firewalld here: nothing to open"
  fi
}
