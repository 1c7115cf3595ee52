//! A private OpenSSH sshd for a test: its own config, host key and authorized_keys in a
//! directory the test owns, listening on loopback addresses only (127.0.0.x) at a free port.
//! Needs root (sshd logs users in) and /usr/sbin/sshd, ssh-keygen. Include it with
//!
//! ```ignore
//! #[path = "common/sshd.rs"]
//! mod sshd;
//! ```
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SSHD: &str = "/usr/sbin/sshd";

/// Why a private sshd cannot run here, if it cannot.
pub fn prerequisites() -> Result<(), String> {
    if !Path::new(SSHD).exists() {
        return Err("no /usr/sbin/sshd (apt-get install openssh-server)".into());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Err("not root: the test sshd must run as root to log users in".into());
    }
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        return Err("no ssh-keygen".into());
    }
    Ok(())
}

/// Whether a private sshd can run here; when it cannot, the test skips saying why, except under
/// CI=true, where that is a failure.
pub fn available() -> bool {
    match prerequisites() {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot run under CI: {why}"
            );
            eprintln!("skipping: {why}");
            false
        }
    }
}

/// `(major, minor)` of the installed sshd, from `sshd -V` ("OpenSSH_9.2p1 …").
pub fn version() -> (u32, u32) {
    let out = Command::new(SSHD).arg("-V").output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let v = text
        .split("OpenSSH_")
        .nth(1)
        .unwrap_or("0.0")
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("0.0")
        .to_string();
    let mut parts = v.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Generates a key pair with ssh-keygen (`kind`: ed25519, ecdsa, rsa); returns the private
/// key's path.
pub fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", passphrase, "-C", name, "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd.output().expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// "type base64" of a key pair's public half (without the comment).
pub fn public_key_line(private: &Path) -> String {
    let text = std::fs::read_to_string(private.with_extension("pub")).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A running sshd; dropping it ends it (and prints its log when the test panicked).
pub struct Sshd {
    pub port: u16,
    /// Its directory: sshd_config, sshd.log, authorized_keys, host_ed25519(.pub).
    pub dir: PathBuf,
    /// Its host key (private half; `.pub` beside it).
    pub host_key: PathBuf,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- sshd log ---\n{}", self.log());
        }
    }
}

impl Sshd {
    /// Starts sshd in `dir` on every address of `listen` (loopback addresses) at one free
    /// port, with `extra` appended to its config. Root may log in; keys and passwords are
    /// accepted; authorized keys are read from `dir/authorized_keys` (empty at first).
    /// Panics if it does not start.
    pub fn start(dir: &Path, listen: &[&str], extra: &str) -> Sshd {
        Sshd::start_with(dir, listen, extra, |_| {})
    }

    /// [`Sshd::start`], calling `before` with the host key's path before sshd starts (to sign
    /// it into a host certificate, say).
    pub fn start_with(
        dir: &Path,
        listen: &[&str],
        extra: &str,
        before: impl FnOnce(&Path),
    ) -> Sshd {
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let host_key = keygen(dir, "host_ed25519", "ed25519", "");
        before(&host_key);
        std::fs::write(dir.join("authorized_keys"), "").unwrap();
        let d = dir.display();
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addresses: String = listen
                .iter()
                .map(|a| format!("ListenAddress {a}\n"))
                .collect();
            let mut config = format!(
                "Port {port}\n{addresses}HostKey {d}/host_ed25519\nPidFile none\n\
                 StrictModes no\nUsePAM no\nPermitRootLogin yes\nPubkeyAuthentication yes\n\
                 PasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 AuthorizedKeysFile {d}/authorized_keys\nMaxAuthTries 20\nLogLevel VERBOSE\n"
            );
            if version() >= (9, 8) {
                // Refused host keys and failed logins must not lock the next test out.
                config.push_str("PerSourcePenalties no\n");
            }
            config.push_str(extra);
            std::fs::write(dir.join("sshd_config"), config).unwrap();
            let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(dir.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            for _ in 0..200 {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if listen
                    .iter()
                    .all(|a| std::net::TcpStream::connect((*a, port)).is_ok())
                {
                    return Sshd {
                        port,
                        dir: dir.to_path_buf(),
                        host_key,
                        child,
                    };
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            // The port was taken in between, or sshd refused its config: try another port.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start:\n{}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// Lets `private`'s public half log in.
    pub fn authorize(&self, private: &Path) {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("authorized_keys"))
            .unwrap();
        writeln!(f, "{}", public_key_line(private)).unwrap();
    }
}
