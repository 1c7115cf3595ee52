# shellcheck shell=bash
# Functions that edit containerd's TOML config. `containerd config default` output differs
# between 1.x (config version 2) and 2.x (version 3), and some 2.x defaults have no
# SystemdCgroup line at all (containerd issue 12101), so keys are set whether or not the line
# exists, inside the right table, and verified afterwards.

# toml_set TABLE KEY VALUE: stdin → stdout with KEY = VALUE inside [TABLE]; the table is
# added when missing. Table names are compared with quotes removed ('a' and "a" are equal).
toml_set() {
  awk -v table="$1" -v key="$2" -v value="$3" '
    function name(line,   t) { t = line; sub(/^[ \t]*\[/, "", t); sub(/\][ \t]*(#.*)?$/, "", t); gsub(/["'"'"']/, "", t); return t }
    function is_header(line) { return line ~ /^[ \t]*\[/ }
    BEGIN { want = table; gsub(/["'"'"']/, "", want); inside = 0; done = 0; found = 0 }
    {
      if (is_header($0)) {
        if (inside && !done) { print indent key " = " value; done = 1 }
        inside = (name($0) == want)
        if (inside) { found = 1; match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH) "  " }
        print
        next
      }
      if (inside && !done && $0 ~ ("^[ \t]*" key "[ \t]*=")) {
        match($0, /^[ \t]*/)
        print substr($0, 1, RLENGTH) key " = " value
        done = 1
        next
      }
      print
    }
    END {
      if (inside && !done) { print indent key " = " value; done = 1 }
      if (!found) { print ""; print "[" table "]"; print "  " key " = " value }
    }'
}

# toml_get TABLE KEY: prints the value of KEY in [TABLE] from stdin (empty when absent).
toml_get() {
  awk -v table="$1" -v key="$2" '
    function name(line,   t) { t = line; sub(/^[ \t]*\[/, "", t); sub(/\][ \t]*(#.*)?$/, "", t); gsub(/["'"'"']/, "", t); return t }
    BEGIN { want = table; gsub(/["'"'"']/, "", want) }
    /^[ \t]*\[/ { inside = (name($0) == want); next }
    inside && $0 ~ ("^[ \t]*" key "[ \t]*=") { v = $0; sub(/^[^=]*=[ \t]*/, "", v); print v; exit }'
}

# The tables that hold the runc cgroup driver and the sandbox image, per containerd major.
containerd_tables() {
  case "$1" in
    1) RUNC_TABLE='plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options'
       SANDBOX_TABLE='plugins."io.containerd.grpc.v1.cri"'
       SANDBOX_KEY=sandbox_image ;;
    2) RUNC_TABLE="plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options"
       SANDBOX_TABLE="plugins.'io.containerd.cri.v1.images'.pinned_images"
       SANDBOX_KEY=sandbox ;;
    *) die "containerd $1.x is not known to kha-tui" ;;
  esac
}

# containerd_config MAJOR PAUSE_IMAGE: stdin (`containerd config default`) → stdout, with the
# systemd cgroup driver and the sandbox image kubeadm expects.
containerd_config() {
  containerd_tables "$1"
  toml_set "$RUNC_TABLE" SystemdCgroup true | toml_set "$SANDBOX_TABLE" "$SANDBOX_KEY" "\"$2\""
}

# containerd_verify MAJOR PAUSE_IMAGE: checks `containerd config dump` output on stdin.
containerd_verify() {
  local dump cg sb
  containerd_tables "$1"
  dump=$(cat)
  # Here-strings, not `printf | awk`: awk (and grep -q) stop reading at the first match, and
  # under pipefail a printf still writing a large dump then dies of SIGPIPE (exit 141) and
  # takes the step with it, or turns a matching `if` false.
  cg=$(toml_get "$RUNC_TABLE" SystemdCgroup <<<"$dump")
  [ "$cg" = true ] || die "containerd config dump shows SystemdCgroup = '${cg:-absent}' for runc, not true"
  # 1.x dumps "double" quotes, 2.x 'single' ones.
  sb=$(toml_get "$SANDBOX_TABLE" "$SANDBOX_KEY" <<<"$dump" | tr -d "\"'")
  [ "$sb" = "$2" ] || die "containerd config dump shows $SANDBOX_KEY = ${sb:-absent}, not \"$2\""
  if grep -Eq "^[[:space:]]*disabled_plugins[[:space:]]*=.*[\"'](io\.containerd\.grpc\.v1\.)?cri[\"']" <<<"$dump"; then
    die "containerd config disables the CRI plugin"
  fi
}
