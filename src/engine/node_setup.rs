//! A node's setup after connecting, in one round trip: how sudo behaves, a private work
//! directory, the OS name and the machine id, asked by one command whose answers come back as
//! `kha-setup KEY=VALUE` lines. Before, these were four commands one after another per node,
//! 0.24–0.66 s of every run's start on the lab (BENCHMARKS.md).
//!
//! The command runs in the login user's shell (POSIX sh is enough). A sudo password, when the
//! operator gave one, is the only thing on stdin and only `sudo -S` reads it, and only after
//! `sudo -n` refused: with NOPASSWD nothing reads it. The work directory is made only when
//! sudo said yes, so a refused node keeps nothing of ours.

/// Prefix of every answer line.
pub const PREFIX: &str = "kha-setup ";

/// How sudo answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SudoAnswer {
    /// Logged in as root: sudo was not asked.
    Root,
    /// `sudo -n` works (NOPASSWD).
    NoPassword,
    /// `sudo -n` refused and the password given was accepted.
    PasswordAccepted,
    /// `sudo -n` refused and the password given was refused.
    PasswordRefused,
    /// `sudo -n` refused and no password was given.
    AsksForPassword,
}

/// The setup command. `as_root`: the login user is root; `with_password`: a password goes
/// on stdin (the first line).
pub fn command(as_root: bool, with_password: bool) -> String {
    let sudo = if as_root {
        "s=root".to_string()
    } else if with_password {
        "if sudo -n true 2>/dev/null; then s=nopasswd; \
elif sudo -k -S -p '' true 2>/dev/null; then s=password; else s=refused; fi"
            .to_string()
    } else {
        "if sudo -n true 2>/dev/null; then s=nopasswd; else s=asks; fi".to_string()
    };
    format!(
        "{sudo}; printf '{PREFIX}sudo=%s\\n' \"$s\"; \
case $s in root|nopasswd|password) ;; *) exit 0;; esac; \
d=$(umask 077 && mktemp -d /tmp/kha-tui.XXXXXXXX) || exit 1; printf '{PREFIX}workdir=%s\\n' \"$d\"; \
(. /etc/os-release 2>/dev/null && printf '{PREFIX}os=%s\\n' \"$PRETTY_NAME\"); \
m=; read -r m </etc/machine-id 2>/dev/null; printf '{PREFIX}machine-id=%s\\n' \"$m\"; exit 0"
    )
}

/// The same answers given by a root shell (`root_shell::setup_command`): the setup and the
/// node's root shell in one command, one `sudo`, one channel, for a login user with NOPASSWD
/// sudo (`as_root`: logged in as root, no sudo). It runs as root: the work directory is made
/// as root and handed to the login user (`SUDO_UID`), so it is what [`command`] makes. When
/// `sudo -n` refuses, nothing runs and nothing is answered; the caller then asks [`command`].
pub fn as_root_answers(as_root: bool) -> String {
    let (sudo, chown) = if as_root {
        ("root", "")
    } else {
        ("nopasswd", " && chown \"$SUDO_UID:$SUDO_GID\" \"$d\"")
    };
    format!(
        "printf '{PREFIX}sudo={sudo}\\n'; \
d=$(umask 077 && mktemp -d /tmp/kha-tui.XXXXXXXX){chown} || exit 1; printf '{PREFIX}workdir=%s\\n' \"$d\"; \
(. /etc/os-release 2>/dev/null && printf '{PREFIX}os=%s\\n' \"$PRETTY_NAME\"); \
m=; read -r m </etc/machine-id 2>/dev/null; printf '{PREFIX}machine-id=%s\\n' \"$m\""
    )
}

/// The answers read back from the command's output. Lines without the prefix (a login
/// script's chatter) are ignored; the first answer for a key wins.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answers {
    pub sudo: Option<SudoAnswer>,
    pub workdir: Option<String>,
    pub os: Option<String>,
    pub machine_id: Option<String>,
}

pub fn parse(stdout: &str) -> Answers {
    let mut a = Answers::default();
    for l in stdout.lines() {
        let Some((k, v)) = l.strip_prefix(PREFIX).and_then(|r| r.split_once('=')) else {
            continue;
        };
        let v = v.trim();
        match k {
            "sudo" if a.sudo.is_none() => {
                a.sudo = match v {
                    "root" => Some(SudoAnswer::Root),
                    "nopasswd" => Some(SudoAnswer::NoPassword),
                    "password" => Some(SudoAnswer::PasswordAccepted),
                    "refused" => Some(SudoAnswer::PasswordRefused),
                    "asks" => Some(SudoAnswer::AsksForPassword),
                    _ => None,
                }
            }
            "workdir" if a.workdir.is_none() => a.workdir = Some(v.to_string()),
            "os" if a.os.is_none() => a.os = Some(v.to_string()),
            "machine-id" if a.machine_id.is_none() => a.machine_id = Some(v.to_string()),
            _ => {}
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn run_sh(command: &str, stdin: &[u8]) -> (bool, String) {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        // The command may exit before it has read all of stdin (a refusal): a broken pipe
        // here is its answer, not the test's failure.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// As root (what the tests run as), the command run by a real sh makes a private work
    /// directory and reads the OS and the machine id, all in one go.
    #[test]
    fn a_real_shell_answers_everything_at_once() {
        let (ok, out) = run_sh(&command(true, false), b"");
        assert!(ok, "{out}");
        let a = parse(&out);
        assert_eq!(a.sudo, Some(SudoAnswer::Root));
        let wd = a.workdir.expect("a work directory");
        assert!(wd.starts_with("/tmp/kha-tui."), "{wd}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&wd).unwrap().permissions().mode();
        std::fs::remove_dir(&wd).unwrap();
        assert_eq!(mode & 0o777, 0o700);
        assert!(a.os.is_some_and(|o| !o.is_empty()));
        let mid = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
        assert_eq!(a.machine_id.as_deref(), Some(mid.trim()));
    }

    /// The work directory is made only once sudo said yes: a refusal answers and stops.
    #[test]
    fn a_refusal_makes_no_work_directory() {
        let fake = tempfile::tempdir().unwrap();
        let sudo = fake.path().join("sudo");
        std::fs::write(&sudo, "#!/bin/sh\nexit 1\n").unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cmd = format!(
            "PATH={}:$PATH; {}",
            fake.path().display(),
            command(false, true)
        );
        let (ok, out) = run_sh(&cmd, b"hunter2\n");
        assert!(ok, "{out}");
        let a = parse(&out);
        assert_eq!(a.sudo, Some(SudoAnswer::PasswordRefused));
        assert_eq!(a.workdir, None);
        let (_, out) = run_sh(
            &format!(
                "PATH={}:$PATH; {}",
                fake.path().display(),
                command(false, false)
            ),
            b"",
        );
        assert_eq!(parse(&out).sudo, Some(SudoAnswer::AsksForPassword));
    }

    #[test]
    fn chatter_is_ignored_and_the_first_answer_wins() {
        let a = parse(
            "welcome\nkha-setup sudo=nopasswd\nkha-setup workdir=/tmp/kha-tui.ab\n\
kha-setup os=Debian GNU/Linux 12 (bookworm)\nkha-setup workdir=/tmp/other\nkha-setup machine-id=\n",
        );
        assert_eq!(a.sudo, Some(SudoAnswer::NoPassword));
        assert_eq!(a.workdir.as_deref(), Some("/tmp/kha-tui.ab"));
        assert_eq!(a.os.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(a.machine_id.as_deref(), Some(""));
    }
}
