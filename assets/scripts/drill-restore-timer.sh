# shellcheck shell=bash
# The drill's on-node safety net. Before a drill step stops something it arms a transient
# systemd timer (KHA_RESTORE_UNIT.timer) that runs the same restore by itself after
# KHA_RESTORE_AFTER seconds, so the node comes back even when kha-tui is killed or its link is
# lost mid-drill; the drill's own restore cancels the timer first.
arm_restore() {
  need KHA_RESTORE_UNIT KHA_RESTORE_AFTER
  # A timer left by an earlier drill (fired, or its kha-tui killed) would block the name.
  systemctl stop "$KHA_RESTORE_UNIT.timer" 2>/dev/null || true
  systemctl reset-failed "$KHA_RESTORE_UNIT.timer" "$KHA_RESTORE_UNIT.service" 2>/dev/null || true
  systemd-run --quiet --unit="$KHA_RESTORE_UNIT" --on-active="${KHA_RESTORE_AFTER}s" \
    --timer-property=AccuracySec=1s \
    --description="kha-tui drill: restore what the drill stopped" -- "$@"
  log "kha-drill restore timer $KHA_RESTORE_UNIT.timer armed: in $KHA_RESTORE_AFTER s it runs $* unless the drill restores first"
}
cancel_restore() {
  need KHA_RESTORE_UNIT
  if systemctl is-active --quiet "$KHA_RESTORE_UNIT.timer"; then
    systemctl stop "$KHA_RESTORE_UNIT.timer"
    log "kha-drill restore timer $KHA_RESTORE_UNIT.timer cancelled"
  fi
  systemctl reset-failed "$KHA_RESTORE_UNIT.timer" "$KHA_RESTORE_UNIT.service" 2>/dev/null || true
}
