# shellcheck shell=bash
# Drill step and restore (load balancer): stops or starts HAProxy (KHA_ACTION=stop|start) and
# waits until systemd reports it so. The stop first arms the on-node restore
# (drill-restore-timer.sh: `systemctl start haproxy` after KHA_RESTORE_AFTER seconds unless the
# drill starts it first); the start cancels it.
need KHA_ACTION
case "$KHA_ACTION" in
  stop)
    arm_restore systemctl start haproxy
    systemctl stop haproxy
    log "kha-drill haproxy-service stopped"
    ;;
  start)
    cancel_restore
    systemctl start haproxy
    for _ in $(seq 1 100); do
      systemctl is-active --quiet haproxy && { log "kha-drill haproxy-service active"; exit 0; }
      sleep 0.1
    done
    die "HAProxy did not become active within 10 s: journalctl -u haproxy"
    ;;
  *) die "KHA_ACTION must be stop or start, not $KHA_ACTION" ;;
esac
