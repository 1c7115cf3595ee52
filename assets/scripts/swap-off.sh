# shellcheck shell=bash
# Swap off now and never again at boot: swapoff, swap lines commented out of /etc/fstab,
# swap.target masked. A function, so the prepare step and the one-key preflight fix share it.
swap_off() {
  if [ -n "$(swapon --show --noheadings)" ]; then
    swapoff -a
    log "swap turned off"
  fi
  if [ -f /etc/fstab ] && awk '$1 !~ /^#/ && $3 == "swap" {found=1} END {exit !found}' /etc/fstab; then
    sed -ri.kha-bak '/^[^#]\S*\s+\S+\s+swap\s/s/^/#kha-tui# /' /etc/fstab
    log "swap lines commented out of /etc/fstab (backup /etc/fstab.kha-bak)"
  fi
  if [ "$(systemctl is-enabled swap.target 2>/dev/null || true)" != masked ]; then
    systemctl mask swap.target >/dev/null 2>&1
    log "swap.target masked"
  fi
  [ -z "$(swapon --show --noheadings)" ] || die "swap is still on: $(swapon --show --noheadings | tr '\n' ' ')"
}
