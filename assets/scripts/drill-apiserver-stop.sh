# shellcheck shell=bash
# Drill step (control plane): stops this node's kube-apiserver the way an operator does, by
# moving its static-pod manifest out of /etc/kubernetes/manifests (the kubelet then stops the
# pod), and waits until nothing listens on the apiserver port. First it arms the on-node restore
# (drill-restore-timer.sh): the manifest goes back by itself after KHA_RESTORE_AFTER seconds if
# the drill does not restore it. Run again, it finds the manifest already parked and only waits.
need KHA_MANIFEST KHA_PARKED KHA_API_PORT
if [ -f "$KHA_MANIFEST" ] || [ -f "$KHA_PARKED" ]; then
  # shellcheck disable=SC2016 # $1 and $2 expand in the timer's shell, on purpose
  arm_restore /bin/sh -c 'if [ -f "$1" ]; then mv -f "$1" "$2"; rmdir "$(dirname "$1")" 2>/dev/null; fi; true' \
    kha-drill-restore "$KHA_PARKED" "$KHA_MANIFEST"
fi
if [ -f "$KHA_MANIFEST" ]; then
  install -d -m 0700 "$(dirname "$KHA_PARKED")"
  mv -f "$KHA_MANIFEST" "$KHA_PARKED"
  log "kha-drill apiserver manifest moved to $KHA_PARKED (by hand: mv $KHA_PARKED $KHA_MANIFEST)"
elif [ ! -f "$KHA_PARKED" ]; then
  die "neither $KHA_MANIFEST nor $KHA_PARKED exists: is this a control plane?"
fi
listening() { [ -n "$(ss -Hltn "sport = :$KHA_API_PORT")" ]; }
for _ in $(seq 1 300); do
  listening || { log "kha-drill apiserver stopped"; exit 0; }
  sleep 0.2
done
die "the kubelet did not stop kube-apiserver within 60 s (port $KHA_API_PORT still listening)"
