//! One round trip per step: the step's files and its script travel on stdin to a single root
//! `bash -s`, instead of one upload per file, one for the script and one for a wrapper.
//!
//! The stream is a short bash program in which each file's bytes follow the line that takes
//! them: bash reads a script from a pipe one byte at a time (so that commands may read the
//! rest), and `head -c N` reads exactly N bytes, so after each file bash carries on with the
//! next line. Every path and value in it is quoted; secrets are only in the file bytes.
//!
//! When sudo asks for a password, the password is the first line of the same stream. The
//! command skips every line before the marker, so the password can never be read by bash
//! as a command, whatever sudo did with it.

use std::collections::HashMap;

use crate::plan::{FileSpec, Step};
use crate::shell::quote;

/// The line after which the step's program starts.
pub const MARKER: &str = "KHA-TUI-STEP";

/// Exit status when the stream ended before the marker (nothing was run).
pub const NO_MARKER_EXIT: u32 = 98;
/// Exit status when a file arrived short (the stream was cut).
pub const SHORT_FILE_EXIT: u32 = 97;

/// The command a step runs with, after the `sudo` prefix (if any). The root shell records
/// its process group in `pgid` before it reads anything, so that a stop that comes while the
/// files are still arriving ends it too; everything the step starts stays in that group.
///
/// The group is the one the shell is already in: sshd makes every session a process group of
/// its own (`setsid` before the login shell), and a sudo that runs commands on a pty
/// (`Defaults use_pty`) makes another; either way it holds only this step. It is read from
/// `/proc` with builtins, so no `setsid` (a fork and an exec per step) is needed.
///
/// The shell that reads the step gets its EXIT trap before it reads a byte of it, through
/// `BASH_ENV` (a here-string on fd 3, which it then closes): a stream cut right after the
/// marker ends with the cut's status, not 0. Reaching the end of its input (status 0) means
/// cut; a failed command keeps its own status; the script's `exec` runs no trap.
pub fn command(sudo_prefix: &str, pgid: &str) -> String {
    format!("{sudo_prefix}bash -c '{}' {}", reader(), quote(pgid))
}

/// The program of the shell that reads a step (run as `bash -c PROGRAM PGID_FILE`): it has no
/// single quote, so the command line can carry it in single quotes. The node's long-lived root
/// shell (`root_shell`) runs each step with the same program, so a step is read alike either way.
pub fn reader() -> String {
    format!(
        r#"read -r s </proc/$$/stat; set -- ${{s##*) }}; echo "$3" >"$0"; while IFS= read -r l; do [ "$l" = {MARKER} ] && {}; done; {}"#,
        run_rest(),
        no_marker()
    )
}

/// What follows the marker line, once it was read: the shell that reads and runs the rest of
/// the stream, with the cut-stream EXIT trap. Has no single quote (see [`reader`]).
pub fn run_rest() -> String {
    format!(
        r#"BASH_ENV=/dev/fd/3 exec bash -s 3<<<"unset BASH_ENV; exec 3<&-; kha_exit() {{ [ \$1 -ne 0 ] || {{ echo kha-tui: the step arrived short: the stream from kha-tui was cut >&2; exit {SHORT_FILE_EXIT}; }}; exit \$1; }}; trap \"kha_exit \\\$?\" EXIT""#
    )
}

/// Said and ended with when the stream has no marker (nothing was run).
pub fn no_marker() -> String {
    format!(
        r#"echo "kha-tui: the step never arrived on stdin (did sudo ask for a password again?)" >&2; exit {NO_MARKER_EXIT}"#
    )
}

/// The stream for `step`: its files (filled with the run values) installed as root, then
/// its script (kept at `script` in the work directory) run with its environment.
pub fn compose(step: &Step, files: &[(&FileSpec, String)], script: &str) -> Vec<u8> {
    let mut p = Vec::new();
    let line = |p: &mut Vec<u8>, s: &str| {
        p.extend_from_slice(s.as_bytes());
        p.push(b'\n');
    };
    line(&mut p, MARKER);
    line(
        &mut p,
        &format!(
            "# kha-tui step {} on {}",
            quote(&step.id),
            quote(&step.node)
        ),
    );
    line(&mut p, "set -eu");
    line(&mut p, "umask 077");
    // bash runs a last line even without its newline, so a stream cut inside a line would run
    // what came of it ("mv -f x.kha-tmp /etc/k", "exec bash step.sh" without its
    // "</dev/null"). Every line that acts is therefore a call of a helper that first checks
    // its last word is EOL, and the script starts only from a function that bash parses
    // whole before it runs any of it.
    line(
        &mut p,
        &format!(
            "kha_cut() {{ echo \"kha-tui: the step arrived short: the stream from kha-tui was cut\" >&2; exit {SHORT_FILE_EXIT}; }}"
        ),
    );
    line(
        &mut p,
        &format!(
            "kha_dir() {{ [ $# = 3 ] && [ \"$3\" = {EOL} ] || kha_cut; [ -d \"$2\" ] || install -d -m \"$1\" \"$2\"; }}"
        ),
    );
    line(
        &mut p,
        &format!(
            "kha_take() {{ [ $# = 3 ] && [ \"$3\" = {EOL} ] || kha_cut; head -c \"$1\" >\"$2\"; }}"
        ),
    );
    line(
        &mut p,
        &format!(
            "kha_put() {{ [ $# = 4 ] && [ \"$4\" = {EOL} ] || kha_cut; chmod \"$1\" \"$2\"; mv -f \"$2\" \"$3\"; }}"
        ),
    );
    for (f, content) in files {
        let parent = std::path::Path::new(&f.path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/".into());
        // kha-tui's own directory holds secrets: nobody else may list it.
        let parent_mode = if parent == "/etc/kha" || parent.starts_with("/etc/kha/") {
            "0700"
        } else {
            "0755"
        };
        let tmp = quote(&format!("{}.kha-tmp", f.path));
        line(
            &mut p,
            &format!("kha_dir {parent_mode} {} {EOL}", quote(&parent)),
        );
        line(&mut p, &format!("kha_take {} {tmp} {EOL}", content.len()));
        p.extend_from_slice(content.as_bytes());
        line(
            &mut p,
            &format!("kha_put {:04o} {tmp} {} {EOL}", f.mode, quote(&f.path)),
        );
    }
    line(
        &mut p,
        &format!("kha_take {} {} {EOL}", step.script.len(), quote(script)),
    );
    p.extend_from_slice(step.script.as_bytes());
    // The script runs in the process group the command started and recorded (`pgid`), so
    // that stopping the run, a timeout or a lost session can end it and every child it
    // started (apt, kubeadm), and a retry never waits behind it. `exec` keeps that group.
    // `export` (a builtin) instead of `exec env` saves an exec.
    line(&mut p, "kha_run() {");
    line(
        &mut p,
        &format!("[ $# = 1 ] && [ \"$1\" = {EOL} ] || kha_cut"),
    );
    if !step.env.is_empty() {
        let mut export = String::from("export");
        for (k, v) in &step.env {
            export.push_str(&format!(" {}", quote(&format!("{k}={v}"))));
        }
        line(&mut p, &export);
    }
    line(&mut p, &format!("exec bash {} </dev/null", quote(script)));
    line(&mut p, "}");
    line(&mut p, &format!("kha_run {EOL}"));
    p
}

/// The last word of every line of a step's stream that acts: a line cut short lacks it.
const EOL: &str = "kha-eol";

/// A step stream read back: what the simulated fleet does with it, as a node would.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub step: String,
    pub env: HashMap<String, String>,
    /// Files installed, as (path, content, mode), in order.
    pub files: Vec<(String, Vec<u8>, u32)>,
    pub script: Vec<u8>,
}

/// Whether `stream` is a step's (it has the marker line).
pub fn is_step(stream: &[u8]) -> bool {
    stream
        .split(|&b| b == b'\n')
        .any(|l| l == MARKER.as_bytes())
}

/// Reads a stream made by [`compose`] (anything before the marker, such as a sudo password,
/// is skipped). `None` when it is not one.
pub fn parse(stream: &[u8]) -> Option<Parsed> {
    let mut rest = stream;
    let next_line = |rest: &mut &[u8]| -> Option<String> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let l = String::from_utf8_lossy(&rest[..end]).into_owned();
        *rest = &rest[end + 1..];
        Some(l)
    };
    while next_line(&mut rest)? != MARKER {}
    let mut parsed = Parsed::default();
    // Taken bytes waiting for their chmod/mv, by temporary path.
    let mut taken: HashMap<String, (Vec<u8>, u32)> = HashMap::new();
    while let Some(l) = next_line(&mut rest) {
        let words = shell_words(&l);
        match words.first().map(String::as_str) {
            Some("#") if words.get(1).map(String::as_str) == Some("kha-tui") => {
                parsed.step = words.get(3)?.clone();
            }
            Some("kha_take") if words.len() == 4 => {
                let n: usize = words.get(1)?.parse().ok()?;
                let path = words.get(2)?.clone();
                let bytes = rest.get(..n)?.to_vec();
                rest = &rest[n..];
                taken.insert(path, (bytes, 0o600));
            }
            Some("kha_put") => {
                let mode = u32::from_str_radix(words.get(1)?, 8).ok()?;
                let (bytes, _) = taken.remove(words.get(2)?)?;
                parsed.files.push((words.get(3)?.clone(), bytes, mode));
            }
            Some("export") => {
                parsed.env = words
                    .iter()
                    .skip(1)
                    .filter_map(|w| {
                        w.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                    })
                    .collect();
            }
            Some("exec") => {
                let script = words.iter().skip_while(|w| *w != "bash").nth(1)?;
                parsed.script = taken.remove(script)?.0;
                return Some(parsed);
            }
            _ => {}
        }
    }
    None
}

/// Splits a shell line into words, undoing the single quotes of `shell::quote`.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn step(files: Vec<FileSpec>) -> Step {
        let script = "echo \"joining $KHA_NODE_NAME\"\ncat \"$KHA_OUT\"/etc/kha/join.yaml\n";
        Step {
            env: vec![
                ("KHA_NODE_NAME".into(), "master2".into()),
                ("KHA_ODD".into(), "it's $(not run)".into()),
            ],
            files,
            ..Step::new("kubeadm-join", "master2", "join", script.into())
        }
    }

    /// Feeds `stream` to the step command (without sudo) run by a real bash.
    fn run_in_bash(stream: &[u8], pgid: &str) -> std::process::Output {
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(command("", pgid))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(stream).unwrap();
        child.wait_with_output().unwrap()
    }

    /// The stream runs in a real bash as the command runs it on a node (without sudo, paths
    /// under a temporary root): the files arrive byte for byte with their modes, a password
    /// line before the marker is skipped, and the script runs with its environment.
    #[test]
    fn a_real_bash_installs_the_files_and_runs_the_script() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display().to_string();
        let content = "token: \"abc.def\"\nno newline at the end, and a line: head -c 3 x";
        let f = FileSpec {
            path: format!("{r}/etc/kha/join.yaml"),
            mode: 0o640,
            content: "<<kha:bootstrap-token>>".into(),
        };
        let mut s = step(vec![f.clone()]);
        s.env.push(("KHA_OUT".into(), r.clone()));
        let (script, pgid) = (format!("{r}/step.sh"), format!("{r}/step.pgid"));
        let stream = compose(&s, &[(&f, content.to_string())], &script);
        let mut with_password = b"hunter2\n".to_vec();
        with_password.extend_from_slice(&stream);
        let out = run_in_bash(&with_password, &pgid);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("joining master2\n"), "{stdout}");
        assert!(stdout.ends_with(content), "{stdout}");
        assert!(!stdout.contains("hunter2"));
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(&f.path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        // Only the real /etc/kha is private; a parent made elsewhere is 0755.
        let dir = std::fs::metadata(format!("{r}/etc/kha")).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o755);
        assert!(
            std::fs::read_to_string(&pgid)
                .unwrap()
                .trim()
                .parse::<u32>()
                .is_ok()
        );

        let back = parse(&with_password).unwrap();
        assert_eq!(back.step, "kubeadm-join");
        assert_eq!(back.env["KHA_ODD"], "it's $(not run)");
        assert_eq!(
            back.files,
            vec![(f.path.clone(), content.as_bytes().to_vec(), 0o640)]
        );
        assert_eq!(back.script, s.script.as_bytes());
    }

    /// In a session of its own (as sshd starts every session), the group the command records
    /// holds the whole step: the kill script ends the script and the children it started, and
    /// nothing of the step is left.
    #[test]
    fn the_recorded_group_holds_the_whole_step() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display().to_string();
        let (script, pgid) = (format!("{r}/step.sh"), format!("{r}/step.pgid"));
        let mut s = step(vec![]);
        s.script = "sleep 60 & sleep 61\n".into();
        let stream = compose(&s, &[], &script);
        let mut child = Command::new("setsid")
            .arg("bash")
            .arg("-c")
            .arg(command("", &pgid))
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&stream).unwrap();
        let g: u32 = loop {
            if let Ok(t) = std::fs::read_to_string(&pgid)
                && let Ok(g) = t.trim().parse()
            {
                break g;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        // Both sleeps run, in that group.
        let in_group = || {
            let out = Command::new("pgrep")
                .arg("-g")
                .arg(g.to_string())
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).lines().count()
        };
        let t0 = std::time::Instant::now();
        while in_group() < 3 && t0.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(in_group() >= 3, "bash and two sleeps in group {g}");
        let st = Command::new("bash")
            .arg("-c")
            .arg(crate::engine::node::kill_script(&pgid))
            .status()
            .unwrap();
        assert!(st.success());
        let _ = child.wait();
        assert_eq!(in_group(), 0, "nothing of group {g} is left");
    }

    /// Without the marker (sudo took the step's first line as a password, say) nothing runs
    /// and the reason is said.
    #[test]
    fn a_stream_without_the_marker_runs_nothing() {
        let root = tempfile::tempdir().unwrap();
        let pgid = root.path().join("step.pgid").display().to_string();
        let out = run_in_bash(b"hunter2\necho ran\n", &pgid);
        assert_eq!(out.status.code(), Some(NO_MARKER_EXIT as i32));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ran"));
        assert!(String::from_utf8_lossy(&out.stderr).contains("never arrived"));
    }

    /// Cut at any byte (but inside a file's bytes, where `head -c` waits for them), the
    /// stream runs no partial line: the script never starts, nothing is written anywhere but
    /// the step's own paths, and the status is not 0. Only the whole stream runs the script
    /// (its last newline may be missing: everything else arrived).
    #[test]
    fn a_stream_cut_at_any_line_runs_no_part_of_it() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display().to_string();
        let f = FileSpec {
            path: format!("{r}/a.conf"),
            mode: 0o600,
            content: String::new(),
        };
        let mut s = step(vec![f.clone()]);
        s.script = ": >\"$KHA_OUT/ran\"\n".into();
        s.env.push(("KHA_OUT".into(), r.clone()));
        let (script, pgid) = (format!("{r}/step.sh"), format!("{r}/step.pgid"));
        let content = "y".repeat(40);
        let stream = compose(&s, &[(&f, content.clone())], &script);
        let start = MARKER.len() + 1;
        let body = stream
            .windows(40)
            .position(|w| w == content.as_bytes())
            .unwrap();
        let allowed = [
            "a.conf",
            "a.conf.kha-tmp",
            "step.sh",
            "step.sh.kha-tmp",
            "step.pgid",
        ];
        let clean = || {
            for e in std::fs::read_dir(root.path()).unwrap() {
                std::fs::remove_file(e.unwrap().path()).unwrap();
            }
        };
        // Each line cut at its start, one byte in, its middle, before and after its newline.
        let mut cuts = std::collections::BTreeSet::new();
        let mut from = start;
        for (i, b) in stream.iter().enumerate().skip(start) {
            if *b == b'\n' {
                cuts.extend([
                    from,
                    from + 1,
                    (from + i) / 2,
                    i.saturating_sub(1),
                    i,
                    i + 1,
                ]);
                from = i + 1;
            }
        }
        let cuts = cuts.into_iter().filter(|at| {
            *at >= start && *at < stream.len() - 1 && !(*at > body && *at < body + content.len())
        });
        for at in cuts {
            let out = run_in_bash(&stream[..at], &pgid);
            let names: Vec<String> = std::fs::read_dir(root.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            let cut_line = String::from_utf8_lossy(&stream[..at]);
            let cut_line = cut_line.lines().last().unwrap_or("");
            assert!(
                !names.iter().any(|n| n == "ran"),
                "cut after {cut_line:?}: the script ran"
            );
            for n in &names {
                assert!(
                    allowed.contains(&n.as_str()),
                    "cut after {cut_line:?}: wrote {n}"
                );
            }
            assert_ne!(out.status.code(), Some(0), "cut after {cut_line:?}");
            clean();
        }
        for whole in [&stream[..], &stream[..stream.len() - 1]] {
            let out = run_in_bash(whole, &pgid);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(root.path().join("ran").exists());
            clean();
        }
    }

    /// A cut stream never runs the script: the short file is named.
    #[test]
    fn a_cut_stream_runs_nothing() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().display().to_string();
        let f = FileSpec {
            path: format!("{r}/a.conf"),
            mode: 0o600,
            content: String::new(),
        };
        let s = step(vec![f.clone()]);
        let (script, pgid) = (format!("{r}/step.sh"), format!("{r}/step.pgid"));
        let stream = compose(&s, &[(&f, "x".repeat(100))], &script);
        let at = stream.windows(4).position(|w| w == b"xxxx").unwrap();
        let cut = &stream[..at + 50];
        let out = run_in_bash(cut, &pgid);
        assert_eq!(out.status.code(), Some(SHORT_FILE_EXIT as i32));
        assert!(String::from_utf8_lossy(&out.stderr).contains("arrived short"));
        assert!(!std::path::Path::new(&f.path).exists());
        // The script never ran: the only process group recorded is the reading shell's.
        assert!(!std::path::Path::new(&script).exists());
        // A command that fails keeps its own status (the trap reads cuts only).
        let mut failing = step(vec![]);
        failing.script = "exit 3\n".into();
        let other = format!("{r}/other.sh");
        let stream = compose(&failing, &[], &other);
        let at = stream.windows(8).position(|w| w == b"kha_take").unwrap();
        let mut bad = stream[..at].to_vec();
        bad.extend_from_slice(b"false\n");
        assert_eq!(run_in_bash(&bad, &pgid).status.code(), Some(1));
        // The whole stream: the script's own status.
        assert_eq!(run_in_bash(&stream, &pgid).status.code(), Some(3));
    }
}
