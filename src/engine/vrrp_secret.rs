//! The load-balancer pair's VRRP password: made once per cluster and kept for every later run
//! (both LBs must agree, and a re-run must not change it under a running pair) in a 0600 file
//! of kha-tui's own, `<state dir>/<cluster>.vrrp-auth`. Never in the state file, argv or logs:
//! the engine fills it only into the 0600 keepalived.conf it uploads and redacts it elsewhere.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// keepalived's PASS authentication uses at most 8 characters.
const LEN: usize = 8;
const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

pub fn path(dir: &Path, cluster: &str) -> PathBuf {
    dir.join(format!("{cluster}.vrrp-auth"))
}

fn valid(s: &str) -> bool {
    s.len() == LEN && s.bytes().all(|b| CHARS.contains(&b))
}

/// The cluster's password: read from its file, or made and written there (0600) first.
pub fn load_or_create(dir: &Path, cluster: &str) -> Result<String, String> {
    let p = path(dir, cluster);
    match std::fs::read_to_string(&p) {
        Ok(text) => {
            let pw = text.trim().to_string();
            if !valid(&pw) {
                return Err(format!(
                    "{} does not hold a VRRP password kha-tui made; remove it to make a new one (both LBs get it on the next run)",
                    p.display()
                ));
            }
            let mode = std::fs::metadata(&p).map(|m| m.permissions().mode() & 0o777);
            if mode.is_ok_and(|m| m & 0o077 != 0) {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| format!("cannot make {} private: {e}", p.display()))?;
            }
            Ok(pw)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let pw: String = (0..LEN)
                .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
                .collect();
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)
                .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
            writeln!(f, "{pw}").map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            Ok(pw)
        }
        Err(e) => Err(format!("cannot read {}: {e}", p.display())),
    }
}

/// After a reset no keepalived uses the password: it goes with the cluster (a new install
/// makes a new one). Returns whether there was one.
pub fn forget(dir: &Path, cluster: &str) -> std::io::Result<bool> {
    match std::fs::remove_file(path(dir, cluster)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_kept_private_and_read_back() {
        let d = tempfile::tempdir().unwrap();
        let a = load_or_create(d.path(), "prod").unwrap();
        assert!(valid(&a), "{a}");
        let mode = std::fs::metadata(path(d.path(), "prod"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(d.path(), "prod").unwrap(), a);
        assert_ne!(load_or_create(d.path(), "other").unwrap(), a);
        std::fs::write(path(d.path(), "bad"), "x y\n").unwrap();
        let e = load_or_create(d.path(), "bad").unwrap_err();
        assert!(e.contains("remove it"), "{e}");
    }

    #[test]
    fn forgotten_once_then_made_anew() {
        let d = tempfile::tempdir().unwrap();
        let a = load_or_create(d.path(), "prod").unwrap();
        assert!(forget(d.path(), "prod").unwrap());
        assert!(!path(d.path(), "prod").exists());
        assert!(
            !forget(d.path(), "prod").unwrap(),
            "nothing left the second time"
        );
        assert_ne!(load_or_create(d.path(), "prod").unwrap(), a);
    }
}
