#!/usr/bin/env bash
# The one test command, for a fresh Debian or Ubuntu machine: installs what the tests need
# with apt-get, then runs every test. `.ci/run` calls exactly this. Under it, CI=true, so a
# missing prerequisite fails a test instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(ca-certificates haproxy shellcheck openssh-server openssh-client containerd tmux iproute2 dpkg-dev openssl procps fonts-dejavu-core)
# The lab (tests/lab) and its stand-in Kubernetes list their own machine packages.
for f in tests/lab/packages.txt tests/lab/k8s/packages.txt; do
  if [ -f "$f" ]; then
    while read -r p; do
      case "$p" in '' | '#'*) ;; *) pkgs+=("$p") ;; esac
    done <"$f"
  fi
done

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "ci: installing ${pkgs[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

export CI=true
cargo --version

# Everything is built first; then the tests that need no lab run through cargo, and the lab tests
# (each brings up hosts of its own on a bridge and subnet of its own, so they can share the
# machine) run side by side in KHA_CI_LANES lanes (default 3), each test binary's output printed
# whole when it ends. A lab test is a tests/*.rs that calls Lab::up.
cargo test --locked --all-targets --no-run 2>&1
mapfile -t lab_tests < <(grep -l 'Lab::up(' tests/*.rs | xargs -n1 basename | sed 's/\.rs$//' | sort)
others=()
for f in tests/*.rs; do
  n=$(basename "$f" .rs)
  case " ${lab_tests[*]} " in *" $n "*) ;; *) others+=(--test "$n") ;; esac
done

rc=0
cargo test --locked --lib --bins --benches "${others[@]}" --no-fail-fast 2>&1 || rc=$?

# The lab test binaries, from cargo's own list of what it built.
declare -A exe
while IFS=' ' read -r name path; do exe[$name]=$path; done < <(
  cargo test --locked --all-targets --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])
')

# Longest first (measured on a 2-core machine), so the lanes end together; tests not named here
# (new ones) go first, since a new lab test is usually a long one.
known=(day2 day2_upgrade lb_pair journeys lab_k8s day2_backup e2e_lab lab_hosts e2e_lab_joins ssh_reach e2e_lab_stall lab_engine)
order=()
for n in "${lab_tests[@]}"; do
  case " ${known[*]} " in *" $n "*) ;; *) order+=("$n") ;; esac
done
for n in "${known[@]}"; do
  case " ${lab_tests[*]} " in *" $n "*) order+=("$n") ;; esac
done

logs=$(mktemp -d)
lab_one() { # NAME: run one lab test binary, then print its whole output under one lock
  local n=$1 t0=$SECONDS r=0
  if [ -z "${exe[$n]:-}" ]; then
    echo "ci: no executable for lab test $n" >"$logs/$n.log"
    r=1
  else
    # A lab test that hangs fails here after KHA_CI_LAB_TIMEOUT seconds (default 40 min)
    # instead of eating the whole CI budget; its lab is taken down by `lab down --stale` below.
    timeout --kill-after=30 "${KHA_CI_LAB_TIMEOUT:-2400}" "${exe[$n]}" >"$logs/$n.log" 2>&1 || r=$?
  fi
  echo "$r" >"$logs/$n.rc"
  {
    flock 9
    echo "======== lab test $n: $([ "$r" = 0 ] && echo ok || echo "FAILED (exit $r)") in $((SECONDS - t0)) s"
    cat "$logs/$n.log"
  } 9>"$logs/print.lock"
}
lanes=${KHA_CI_LANES:-3}
echo "ci: lab tests in $lanes lanes: ${order[*]}"
t_lab=$SECONDS
for n in "${order[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$lanes" ]; do wait -n || true; done
  lab_one "$n" &
done
wait
for n in "${order[@]}"; do
  r=$(cat "$logs/$n.rc" 2>/dev/null || echo 1)
  echo "ci: lab test $n: $([ "$r" = 0 ] && echo ok || echo FAILED)"
  [ "$r" = 0 ] || rc=1
done
echo "ci: lab tests took $((SECONDS - t_lab)) s"
# A failed binary's output is long and printed mid-run; its panics and its last lines again here,
# at the end, where a reader of a cut log still sees why it failed.
for n in "${order[@]}"; do
  r=$(cat "$logs/$n.rc" 2>/dev/null || echo 1)
  [ "$r" = 0 ] && continue
  echo "======== why lab test $n failed: its panics, then its last 60 lines"
  grep -n -A3 "panicked at" "$logs/$n.log" 2>/dev/null | cut -c1-300 || true
  echo "--------"
  tail -n 60 "$logs/$n.log" 2>/dev/null | cut -c1-300 || true
done
rm -rf "$logs"

# Labs whose test process died (a crash, a timeout) are taken down; live ones are left alone.
if [ -x tests/lab/lab ] && [ "$(id -u)" = 0 ]; then tests/lab/lab down --stale || true; fi
exit "$rc"
