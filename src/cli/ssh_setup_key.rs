//! The key `kha-tui ssh-setup` installs: the one kha-tui will log in with, generated (ed25519)
//! when it does not exist yet.
//!
//! Which key: `--key PATH` when given, else each host's own (`[ssh] identity_file` of the
//! inventory, or the ssh config's `IdentityFile`). A host that logs in with the ssh-agent only
//! has no key file to install: that is refused with the fix (`--key PATH` or `identity_file`),
//! before anything connects.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey};
use zeroize::Zeroizing;

/// A key ready to be installed and logged in with.
pub struct ReadyKey {
    pub path: PathBuf,
    /// The OpenSSH public key line ("ssh-ed25519 AAAA… comment"), what goes to authorized_keys.
    pub public_line: String,
    /// "SHA256:…", for the operator.
    pub fingerprint: String,
    /// The passphrase it is encrypted with, when it is.
    pub passphrase: Option<Zeroizing<String>>,
    /// Made by this run.
    pub generated: bool,
}

impl std::fmt::Debug for ReadyKey {
    // The passphrase never, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyKey")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// The key file each host logs in with: `over` for all, else the host's own identity file.
/// Hosts without one are listed in the error with the fix.
pub fn key_paths(
    cluster: &crate::inventory::Cluster,
    over: Option<&Path>,
) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let mut agent_only = Vec::new();
    for n in cluster.all_hosts() {
        match over.map(Path::to_path_buf).or(n.ssh.identity_file.clone()) {
            Some(p) => out.push((n.name.clone(), p)),
            None => agent_only.push(n.name.clone()),
        }
    }
    if agent_only.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "{}: log in with the ssh-agent only (use_agent = true, no identity_file), so there is \
             no key file for ssh-setup to install; give one with --key PATH (created if missing), \
             or set identity_file = \"~/.ssh/id_ed25519\" in the inventory's [ssh]",
            agent_only.join(", ")
        ))
    }
}

/// Reads the key at `path` (with `passphrase` when it is encrypted); when the file does not
/// exist, generates an ed25519 key there, encrypted with `new_passphrase()` (asked only then;
/// `None` or empty = no passphrase). The private key is written 0600 (its directory created
/// 0700), the public key next to it as `PATH.pub`.
pub fn ensure_key(
    path: &Path,
    passphrase: Option<Zeroizing<String>>,
    new_passphrase: impl FnOnce() -> anyhow::Result<Option<Zeroizing<String>>>,
) -> anyhow::Result<ReadyKey> {
    if path.exists() {
        let key = match russh::keys::load_secret_key(
            path,
            passphrase.as_deref().map(|s| s.as_str()),
        ) {
            Ok(k) => k,
            Err(russh::keys::Error::KeyIsEncrypted) => anyhow::bail!(
                "the key {} is encrypted: add --ask-key-passphrase to be asked for its passphrase",
                path.display()
            ),
            Err(e) => anyhow::bail!("cannot read the key {}: {e}", path.display()),
        };
        return Ok(ReadyKey {
            path: path.to_path_buf(),
            public_line: key.public_key().to_openssh()?,
            fingerprint: key.public_key().fingerprint(HashAlg::Sha256).to_string(),
            passphrase,
            generated: false,
        });
    }
    let pub_path = public_path(path);
    anyhow::ensure!(
        !pub_path.exists(),
        "{} exists but its private key {} does not: kha-tui will not overwrite it; give another \
         --key PATH, or move the .pub file away",
        pub_path.display(),
        path.display()
    );
    let passphrase = new_passphrase()?.filter(|p| !p.is_empty());
    let mut key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
        .map_err(|e| anyhow::anyhow!("generating an ed25519 key failed: {e}"))?;
    key.set_comment(comment());
    let public_line = key.public_key().to_openssh()?;
    let fingerprint = key.public_key().fingerprint(HashAlg::Sha256).to_string();
    let stored = match &passphrase {
        Some(p) => key
            .encrypt(&mut rand::rng(), p.as_bytes())
            .map_err(|e| anyhow::anyhow!("encrypting the new key failed: {e}"))?,
        None => key,
    };
    let text = stored
        .to_openssh(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the new key failed: {e}"))?;
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    write_new(path, text.as_bytes(), 0o600)?;
    write_new(&pub_path, format!("{public_line}\n").as_bytes(), 0o644)?;
    Ok(ReadyKey {
        path: path.to_path_buf(),
        public_line,
        fingerprint,
        passphrase,
        generated: true,
    })
}

/// `PATH.pub`, as ssh-keygen names it.
pub fn public_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".pub");
    PathBuf::from(s)
}

/// "kha-tui@HOSTNAME": tells an operator reading authorized_keys where the line came from.
fn comment() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if host.is_empty() {
        "kha-tui".into()
    } else {
        format!("kha-tui@{host}")
    }
}

/// Creates `path` with `mode` from the start (never a moment readable by others); refuses an
/// existing file.
fn write_new(path: &Path, content: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(content)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_key_is_generated_0600_with_its_pub_next_to_it_and_read_back_the_same() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/id_ed25519");
        let k = ensure_key(&path, None, || Ok(None)).unwrap();
        assert!(k.generated);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert!(
            k.public_line.starts_with("ssh-ed25519 AAAA"),
            "{}",
            k.public_line
        );
        let pub_text = std::fs::read_to_string(public_path(&path)).unwrap();
        assert_eq!(pub_text, format!("{}\n", k.public_line));
        // OpenSSH's own loader agrees (the file is a real OpenSSH key).
        let again = ensure_key(&path, None, || panic!("not asked for an existing key")).unwrap();
        assert!(!again.generated);
        assert_eq!(again.fingerprint, k.fingerprint);
        assert_eq!(again.public_line, k.public_line);
    }

    #[test]
    fn a_passphrase_encrypts_the_new_key_and_is_needed_to_read_it() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("k");
        let k = ensure_key(&path, None, || {
            Ok(Some(Zeroizing::new("s3cret pass".into())))
        })
        .unwrap();
        assert!(k.passphrase.is_some());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        let e = ensure_key(&path, None, || Ok(None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is encrypted") && e.contains("--ask-key-passphrase"),
            "{e}"
        );
        let ok = ensure_key(&path, Some(Zeroizing::new("s3cret pass".into())), || {
            Ok(None)
        })
        .unwrap();
        assert_eq!(ok.fingerprint, k.fingerprint);
    }

    #[test]
    fn a_lone_pub_file_is_never_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("k");
        std::fs::write(public_path(&path), "ssh-ed25519 AAAA old\n").unwrap();
        let e = ensure_key(&path, None, || Ok(None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("will not overwrite"), "{e}");
        assert!(!path.exists());
    }
}
