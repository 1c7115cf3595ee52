# shellcheck shell=bash
# Drill step (load balancer): watches HAProxy's own view of one apiserver backend through its
# stats socket until that server is KHA_WANT (UP or DOWN), printing every change as
# `kha-drill haproxy SERVER STATUS`. The socket is read with perl's IO::Socket::UNIX: perl-base
# is Essential on Debian and Ubuntu, so it is on every stock LB, where socat and nc often are not.
need KHA_SERVER KHA_WANT KHA_LIMIT
sock=/run/haproxy/admin.sock
[ -S "$sock" ] || die "$sock does not exist: is HAProxy running with its stats socket (haproxy.cfg, global)?"
status() {
  # `show stat` is CSV; the header names the columns, so the status column is found by name.
  perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "cannot connect to $ARGV[0]: $!\n";
    print $s "show stat\n";
    print while <$s>;' "$sock" |
    awk -F, -v srv="$KHA_SERVER" '
      NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") col = i; next }
      $1 == "kube-apiserver" && $2 == srv { print $col; found = 1 }
      END { if (!found) print "MISSING" }'
}
last=
deadline=$((SECONDS + KHA_LIMIT))
while :; do
  now=$(status)
  if [ "$now" != "$last" ]; then
    log "kha-drill haproxy $KHA_SERVER $now"
    last=$now
  fi
  case "$now" in
    "$KHA_WANT"*) exit 0 ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] ||
    die "HAProxy still shows $KHA_SERVER as $now after ${KHA_LIMIT}s (waited for $KHA_WANT)"
  sleep 0.2
done
