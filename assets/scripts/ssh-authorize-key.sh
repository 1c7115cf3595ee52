# shellcheck shell=bash
# kha-tui ssh-setup: puts kha-tui's public key (one line, on stdin — never in argv) into the
# login user's ~/.ssh/authorized_keys, once. Run as that user, over a password login.
#   - ~/.ssh is made 0700 and authorized_keys 0600 (sshd's StrictModes refuses looser ones);
#   - the line is appended only when no line already holds the same key (type and base64, the
#     comment may differ): a second run writes nothing, so the file keeps its bytes and mtime;
#   - the SELinux context is restored where restorecon exists (a file created by hand has the
#     wrong one, and sshd then refuses it on enforcing hosts).
# Prints "installed" or "present" last; anything else on failure.
set -euo pipefail

IFS= read -r line || [ -n "$line" ]
read -r type blob _ <<<"$line"
case $type in
ssh-ed25519 | ssh-rsa | ecdsa-sha2-nistp256 | ecdsa-sha2-nistp384 | ecdsa-sha2-nistp521) ;;
*)
  echo "ssh-authorize-key: stdin is not an OpenSSH public key line" >&2
  exit 2
  ;;
esac
[[ $blob =~ ^[A-Za-z0-9+/]+=*$ ]] || {
  echo "ssh-authorize-key: the key's base64 is malformed" >&2
  exit 2
}

umask 077
dir=$HOME/.ssh
file=$dir/authorized_keys
[ -d "$dir" ] || mkdir "$dir"
[ "$(stat -c %a "$dir")" = 700 ] || chmod 0700 "$dir"
[ -e "$file" ] || : >"$file"
[ "$(stat -c %a "$file")" = 600 ] || chmod 0600 "$file"

# Options may precede the key type on a line (from="…",no-pty ssh-ed25519 AAAA…): any field
# equal to the blob right after the type counts.
if awk -v t="$type" -v b="$blob" '{ for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) found = 1 }
    END { exit !found }' "$file"; then
  result=present
else
  # A file whose last line lacks its newline gets one first, so the key starts a line.
  if [ -s "$file" ] && [ -n "$(tail -c1 "$file")" ]; then
    echo >>"$file"
  fi
  printf '%s\n' "$line" >>"$file"
  result=installed
fi

if command -v restorecon >/dev/null 2>&1; then
  restorecon -R "$dir" || echo "ssh-authorize-key: restorecon -R $dir failed (continuing)" >&2
fi
echo "$result"
