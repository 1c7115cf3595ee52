# shellcheck shell=bash
# Step: containerd from the source the versions table and containerd_source choose. The
# candidate version apt offers decides (never the distro's name): below what this Kubernetes
# minor needs, containerd.io comes from Docker's repository (or its mirror).
need KHA_CONTAINERD_MIN KHA_CONTAINERD_SOURCE KHA_DOCKER_BASE KHA_PAUSE_IMAGE

installed_version() { containerd --version 2>/dev/null | awk '{print $3}' | sed 's/^v//'; }
version_ok() { dpkg --compare-versions "$1" ge "$KHA_CONTAINERD_MIN"; }

cur=""
if command -v containerd >/dev/null 2>&1; then cur=$(installed_version); fi
if [ -n "$cur" ] && version_ok "$cur"; then
  log "containerd $cur is installed (>= $KHA_CONTAINERD_MIN needed)"
else
  apt_get update
  cand=$(apt-cache policy containerd | awk '/Candidate:/ {print $2}')
  if [ "$cand" = "(none)" ]; then cand=""; fi
  log "apt offers containerd ${cand:-(none)}; this Kubernetes minor needs >= $KHA_CONTAINERD_MIN"
  case "$KHA_CONTAINERD_SOURCE" in
    distro)
      if [ -z "$cand" ] || ! version_ok "$cand"; then
        die "containerd_source = distro, but apt offers containerd ${cand:-(none)} and >= $KHA_CONTAINERD_MIN is needed; set containerd_source = \"auto\" or \"docker\""
      fi
      use=distro ;;
    docker) use=docker ;;
    auto)
      if [ -n "$cand" ] && version_ok "$cand"; then use=distro; else use=docker; fi ;;
    *) die "unknown containerd source $KHA_CONTAINERD_SOURCE" ;;
  esac
  if [ "$use" = distro ]; then
    apt_get install -y containerd
  else
    # shellcheck disable=SC1091
    . /etc/os-release
    install -d -m 0755 /etc/apt/keyrings
    key_tmp=$(mktemp)
    fetch "$KHA_DOCKER_BASE/$ID/gpg" "$key_tmp"
    pinned_key "$key_tmp" "${KHA_DOCKER_KEY:-}" containerd_mirror_key "$KHA_DOCKER_BASE/$ID/gpg"
    write_file /etc/apt/keyrings/docker.asc 0644 <"$key_tmp"
    rm -f "$key_tmp"
    printf 'deb [arch=%s signed-by=/etc/apt/keyrings/docker.asc] %s %s stable\n' \
      "$(dpkg --print-architecture)" "$KHA_DOCKER_BASE/$ID" "$VERSION_CODENAME" |
      write_file /etc/apt/sources.list.d/docker.list 0644
    apt_get update
    # Over a host that ran the distribution's containerd (an upgrade to a minor that needs 2.x),
    # /etc/containerd/config.toml is a changed conffile: dpkg would ask. Keep it; it is
    # rewritten from `containerd config default` below.
    apt_get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold containerd.io
  fi
  cur=$(installed_version)
  version_ok "$cur" || die "installed containerd $cur, still below $KHA_CONTAINERD_MIN"
  log "containerd $cur installed from $use"
fi

major=${cur%%.*}
mkdir -p /etc/containerd
if [ -f /etc/containerd/config.toml ] && [ ! -f /etc/containerd/config.toml.kha-orig ]; then
  cp -p /etc/containerd/config.toml /etc/containerd/config.toml.kha-orig
fi
# Edited into a file first: a failing edit then ends the step here, and write_if_changed
# reads a file rather than the right of a pipe (where a failure would read as "unchanged").
edited=$(mktemp)
trap 'rm -f "$edited"' EXIT
containerd config default | containerd_config "$major" "$KHA_PAUSE_IMAGE" >"$edited"
changed=0
if write_if_changed /etc/containerd/config.toml 0644 <"$edited"; then changed=1; fi
systemctl enable containerd >/dev/null 2>&1 || true
if [ "$changed" = 1 ] || ! systemctl is-active --quiet containerd; then
  systemctl restart containerd
fi
containerd config dump | containerd_verify "$major" "$KHA_PAUSE_IMAGE"
log "containerd $cur: SystemdCgroup = true, sandbox $KHA_PAUSE_IMAGE (config version $((major + 1)))"

for _ in $(seq 1 30); do
  [ -S /run/containerd/containerd.sock ] && break
  sleep 0.5
done
[ -S /run/containerd/containerd.sock ] || die "containerd is not listening on /run/containerd/containerd.sock"
printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10\n' |
  write_file /etc/crictl.yaml 0644
