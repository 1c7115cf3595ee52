# shellcheck shell=bash
# Step: keepalived on a load balancer of the pair: unicast VRRP with the other LB, the virtual
# address KHA_VIP on the interface that holds this LB's address KHA_ADDRESS. kha-tui staged
# the config (0600: it holds the VRRP password), the check script and the notify script in
# /etc/kha; the config is tested (keepalived --config-test) before it goes live.
need KHA_ADDRESS KHA_VIP KHA_API_PORT
ensure_pkgs keepalived

# The interface and prefix that hold this LB's address; the VIP must be in that subnet, or
# no host on it would find the address by ARP.
read -r iface cidr < <(ip -o -4 addr show to "$KHA_ADDRESS" | awk '{print $2, $4}' | head -n 1) ||
  die "no interface holds this load balancer's address $KHA_ADDRESS (ip -o addr)"
[[ "$iface" =~ ^[A-Za-z0-9_.@-]+$ ]] || die "unexpected interface name $iface"
iface=${iface%@*}
prefix=${cidr#*/}
[[ "$prefix" =~ ^[0-9]+$ ]] || die "unexpected prefix in $cidr"
route=$(ip -o route get "$KHA_VIP" 2>/dev/null || true)
case "$route" in
  local*) ;; # this LB holds the VIP already (an earlier run)
  *" via "*) die "the virtual address $KHA_VIP is not in $iface's subnet $cidr (it is routed: $route); give load_balancer.vip an address of that subnet" ;;
  *"dev $iface "*) ;;
  *) die "the virtual address $KHA_VIP is not reached through $iface ($cidr): $route" ;;
esac

install -d -m 0755 /etc/keepalived
write_file /etc/keepalived/kha-check-haproxy.sh 0755 </etc/kha/kha-check-haproxy.sh
write_file /etc/keepalived/kha-notify.sh 0755 </etc/kha/kha-notify.sh

staged=/etc/kha/keepalived.conf
[ -f "$staged" ] || die "$staged is missing"
rendered=$(mktemp /etc/keepalived/keepalived.conf.kha-XXXXXX)
# Both copies hold the VRRP password: whatever ends this step, neither stays behind (kha-tui
# stages the config again on the next run).
trap 'rm -f "$rendered" "$staged"' EXIT
chmod 0600 "$rendered"
sed -e "s/__INTERFACE__/$iface/g" -e "s/__PREFIX__/$prefix/g" "$staged" >"$rendered"
# --config-test came with keepalived 2.0.?; an older one has no way to test a file without
# running it: say so, and let the state check below catch a config it cannot run.
if [[ "$(keepalived --help 2>&1)" == *--config-test* ]]; then
  if ! out=$(keepalived --config-test -f "$rendered" 2>&1); then
    printf '%s\n' "$out" >&2
    die "keepalived --config-test rejected the config; the live one was left alone"
  fi
else
  log "this keepalived ($(keepalived --version 2>&1 | head -n 1)) has no --config-test: the config is not tested before it goes live; the check below still waits for a VRRP state"
fi
changed=0
if install_staged "$rendered" /etc/keepalived/keepalived.conf; then changed=1; fi
rm -f "$staged"

# The BACKUP binds nothing on the VIP (HAProxy listens on *:port), but other services an
# operator adds may: allow binding an address this host does not hold (yet).
printf 'net.ipv4.ip_nonlocal_bind = 1\n' | write_file /etc/sysctl.d/90-kha-lb-pair.conf 0644
sysctl -q -w net.ipv4.ip_nonlocal_bind=1

# keepalived's own notify_stop runs in a child that its shutdown can cut short (the lab saw
# the file still saying BACKUP after a stop), and a crash runs none: systemd writes STOP once
# the service has stopped, however it stopped. "-": a missing script never fails the unit.
dropin=/etc/systemd/system/keepalived.service.d/90-kha-state.conf
install -d -m 0755 "${dropin%/*}"
if write_if_changed "$dropin" 0644 <<'UNIT'; then
[Service]
ExecStopPost=-/etc/keepalived/kha-notify.sh INSTANCE kha STOP 0
UNIT
  systemctl daemon-reload
fi

systemctl enable keepalived >/dev/null 2>&1 || true
if [ "$changed" = 1 ] || ! systemctl is-active --quiet keepalived; then
  systemctl restart keepalived ||
    die "keepalived did not start on this load balancer: $(systemctl status keepalived --no-pager -n 5 2>&1 | tail -n 5)"
fi

# keepalived is up when it reports a state; the endpoint is up when the VIP answers on the API
# port (here if this LB holds it, else on the peer).
state=""
for _ in $(seq 1 40); do
  systemctl is-active --quiet keepalived ||
    die "keepalived is not running on this load balancer: $(journalctl -u keepalived --no-pager -n 5 2>&1 | tail -n 5)"
  state=$(cat /run/kha-tui/vrrp-state 2>/dev/null || true)
  # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash, on purpose
  if [ "$state" = MASTER ] || [ "$state" = BACKUP ] &&
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$KHA_VIP" "$KHA_API_PORT" 2>/dev/null; then
    log "keepalived runs: this load balancer is $state; the virtual address $KHA_VIP answers on port $KHA_API_PORT"
    exit 0
  fi
  sleep 0.5
done
case "$state" in
  FAULT) die "keepalived is in FAULT: its HAProxy check (/etc/keepalived/kha-check-haproxy.sh $KHA_API_PORT) fails on this load balancer" ;;
  "") die "keepalived runs but reported no VRRP state in 20 s (journalctl -u keepalived tells why)" ;;
  *) die "keepalived is $state but the virtual address $KHA_VIP does not answer on port $KHA_API_PORT after 20 s" ;;
esac
