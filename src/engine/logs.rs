//! Per-node log files (0600), every line redacted before it is written, plus one file with every
//! node's lines interleaved. One line per entry, in plain words with the local time:
//!
//! ```text
//! 2026-11-29 21:55:01.123 out [containerd] Unpacking containerd.io (1.7.24-1) ...
//! 2026-11-29 21:55:04.002 FAIL [containerd] ✗ containerd failed after 0:03: exit status 100
//! ```
//!
//! The interleaved file (`_all-nodes.log`: a leading `_` cannot be a node name, which is an
//! RFC 1123 label) has the node's name after the time. [`entries`] turns an engine event into
//! these lines; the TUI uses the same function for the lines it keeps in memory, so the pane
//! and the files always say the same. [`index`] pages through a file by line number.

pub mod index;
mod time;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

pub use index::LogIndex;
pub use time::local_timestamp;

use super::events::{Event, StepOutcome};
use super::state::create_private_dir;

/// Name of the file with every node's lines, in the cluster's log directory.
pub const ALL_NODES_FILE: &str = "_all-nodes.log";

/// Who wrote a line: the remote command (stdout/stderr) or kha-tui itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Out,
    Err,
    /// kha-tui's own line: a step started or finished, a check's result.
    Kha,
    /// kha-tui's own line about a failure.
    Fail,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Out => "out",
            Kind::Err => "err",
            Kind::Kha => "kha",
            Kind::Fail => "FAIL",
        }
    }

    pub fn from_word(w: &str) -> Option<Kind> {
        Some(match w {
            "out" => Kind::Out,
            "err" => Kind::Err,
            "kha" => Kind::Kha,
            "FAIL" => Kind::Fail,
            _ => return None,
        })
    }
}

/// One line of a node's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub node: String,
    pub kind: Kind,
    pub step: String,
    pub text: String,
}

/// A line read back from a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// "2026-11-29 21:55:01.123"
    pub time: String,
    /// Only in the interleaved file.
    pub node: Option<String>,
    pub kind: Kind,
    pub step: String,
    pub text: String,
}

/// Splits a line of a node file (`with_node` = false) or of the interleaved file. A line that
/// does not have the shape (written by an older kha-tui) comes back whole as `out` text.
pub fn parse(line: &str, with_node: bool) -> Parsed {
    let whole = || Parsed {
        time: String::new(),
        node: None,
        kind: Kind::Out,
        step: String::new(),
        text: line.to_string(),
    };
    let mut rest = line;
    let take = |rest: &mut &str| -> Option<String> {
        let (a, b) = rest.split_once(' ')?;
        *rest = b;
        Some(a.to_string())
    };
    let (Some(date), Some(clock)) = (take(&mut rest), take(&mut rest)) else {
        return whole();
    };
    let node = if with_node {
        match take(&mut rest) {
            Some(n) => Some(n),
            None => return whole(),
        }
    } else {
        None
    };
    let Some(kind) = take(&mut rest).as_deref().and_then(Kind::from_word) else {
        return whole();
    };
    let Some(r) = rest.strip_prefix('[') else {
        return whole();
    };
    let Some((step, text)) = r
        .split_once("] ")
        .or_else(|| r.strip_suffix(']').map(|s| (s, "")))
    else {
        return whole();
    };
    Parsed {
        time: format!("{date} {clock}"),
        node,
        kind,
        step: step.to_string(),
        text: text.to_string(),
    }
}

/// `m:ss`, or `h:mm:ss` from an hour.
fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The log lines an event stands for (most events have none).
pub fn entries(ev: &Event) -> Vec<Entry> {
    let e = |node: &str, kind: Kind, step: &str, text: String| Entry {
        node: node.to_string(),
        kind,
        step: step.to_string(),
        text,
    };
    match ev {
        Event::Log {
            node,
            step,
            stream,
            line,
        } => {
            let kind = match stream {
                super::events::Stream::Stdout => Kind::Out,
                super::events::Stream::Stderr => Kind::Err,
            };
            vec![e(node, kind, step, line.clone())]
        }
        Event::StepStarted {
            node,
            step,
            title,
            phase,
        } => vec![e(
            node,
            Kind::Kha,
            step,
            format!("▶ [{phase}] {step}: {title}"),
        )],
        Event::StepFinished {
            node,
            step,
            outcome,
            duration,
        } => match outcome {
            StepOutcome::Succeeded => vec![e(
                node,
                Kind::Kha,
                step,
                format!("✓ {step} ({})", clock(*duration)),
            )],
            StepOutcome::SkippedDone => vec![e(
                node,
                Kind::Kha,
                step,
                format!("✓ {step}: done in an earlier run, skipped"),
            )],
            StepOutcome::Failed { failure, reason } => {
                let mut v = vec![e(
                    node,
                    Kind::Fail,
                    step,
                    format!("✗ {step} failed after {}: {failure}", clock(*duration)),
                )];
                v.extend(
                    reason
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| e(node, Kind::Fail, step, format!("  │ {l}"))),
                );
                v
            }
            StepOutcome::Interrupted { reason } => vec![e(
                node,
                Kind::Fail,
                step,
                format!("■ {step} interrupted after {}: {reason}", clock(*duration)),
            )],
            StepOutcome::NotRun { reason } => vec![e(
                node,
                Kind::Kha,
                step,
                format!("· {step} not run: {reason}"),
            )],
        },
        Event::NodeUnreachable {
            node,
            failure,
            error,
        } => vec![e(
            node,
            Kind::Fail,
            "connect",
            format!("✗ {failure}: {error}"),
        )],
        Event::NodeIdentityChanged { node, detail } => vec![e(
            node,
            Kind::Fail,
            "identity",
            format!("⚠ not the machine the state recorded ({detail}): its steps run again"),
        )],
        Event::PreflightResult(r) => {
            let status = match r.status {
                super::events::CheckStatus::Pass => "passed",
                super::events::CheckStatus::Warn => "warning",
                super::events::CheckStatus::Fail => "FAILED",
            };
            let mut text = format!("check {} {status}: {}", r.check, r.found);
            if !r.fix.is_empty() {
                text.push_str(&format!(" — {}", r.fix));
            }
            vec![e(&r.node, Kind::Kha, "preflight", text)]
        }
        _ => vec![],
    }
}

/// One file line: no line breaks inside (a multi-line text would shift every line number).
fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\n', '\r']) {
        s.replace(['\n', '\r'], " ").into()
    } else {
        s.into()
    }
}

pub struct NodeLogs {
    dir: PathBuf,
    files: HashMap<String, BufWriter<File>>,
    all: Option<BufWriter<File>>,
}

fn open_append(path: &Path) -> Option<BufWriter<File>> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .ok()
        .map(BufWriter::new)
}

impl NodeLogs {
    /// Logs of one run go to `<logs>/<cluster>/<node>.log`, appended across runs.
    pub fn open(logs: &Path, cluster: &str) -> std::io::Result<NodeLogs> {
        let dir = logs.join(cluster);
        create_private_dir(logs)?;
        create_private_dir(&dir)?;
        Ok(NodeLogs {
            all: open_append(&dir.join(ALL_NODES_FILE)),
            dir,
            files: HashMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the lines `ev` stands for (see [`entries`]).
    pub fn record(&mut self, ev: &Event) {
        for en in entries(ev) {
            self.write_entry(&en);
        }
    }

    /// Appends an already-redacted line for `node`.
    pub fn write(&mut self, node: &str, step: &str, line: &str) {
        self.write_entry(&Entry {
            node: node.to_string(),
            kind: Kind::Out,
            step: step.to_string(),
            text: line.to_string(),
        });
    }

    fn write_entry(&mut self, en: &Entry) {
        if !self.files.contains_key(&en.node) {
            // A log that cannot be written must not stop the install.
            let Some(f) = open_append(&self.dir.join(format!("{}.log", en.node))) else {
                return;
            };
            self.files.insert(en.node.clone(), f);
        }
        let ts = local_timestamp(std::time::SystemTime::now());
        let (kind, step, text) = (en.kind.word(), one_line(&en.step), one_line(&en.text));
        if let Some(f) = self.files.get_mut(&en.node) {
            let _ = writeln!(f, "{ts} {kind} [{step}] {text}");
        }
        if let Some(f) = self.all.as_mut() {
            let _ = writeln!(f, "{ts} {} {kind} [{step}] {text}", en.node);
        }
    }

    pub fn flush(&mut self) {
        for f in self.files.values_mut() {
            let _ = f.flush();
        }
        if let Some(f) = self.all.as_mut() {
            let _ = f.flush();
        }
    }
}

impl Drop for NodeLogs {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Where the lines of `node` (or of every node, `None`) of `cluster` are.
pub fn log_path(logs: &Path, cluster: &str, node: Option<&str>) -> PathBuf {
    let dir = logs.join(cluster);
    match node {
        Some(n) => dir.join(format!("{n}.log")),
        None => dir.join(ALL_NODES_FILE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::Stream;
    use std::time::Duration;

    #[test]
    fn a_failure_is_plain_words_one_line_each() {
        let ev = Event::StepFinished {
            node: "w1".into(),
            step: "containerd".into(),
            outcome: StepOutcome::Failed {
                failure: crate::engine::events::Failure::Exited(100),
                reason: "E: Unable to locate package\nE: second".into(),
            },
            duration: Duration::from_secs(3),
        };
        let v = entries(&ev);
        assert_eq!(v[0].text, "✗ containerd failed after 0:03: exit status 100");
        assert_eq!(v[0].kind, Kind::Fail);
        assert_eq!(v[1].text, "  │ E: Unable to locate package");
        assert_eq!(v.len(), 3);
        for en in &v {
            assert!(!en.text.contains("Failed {"), "{}", en.text);
        }
    }

    #[test]
    fn files_have_local_time_and_parse_back() {
        let tmp = tempfile::tempdir().unwrap();
        let mut logs = NodeLogs::open(tmp.path(), "c").unwrap();
        logs.record(&Event::Log {
            node: "w1".into(),
            step: "prepare".into(),
            stream: Stream::Stderr,
            line: "multi\nline".into(),
        });
        logs.flush();
        let text = std::fs::read_to_string(log_path(tmp.path(), "c", Some("w1"))).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let p = parse(text.trim_end(), false);
        assert_eq!((p.kind, p.step.as_str()), (Kind::Err, "prepare"));
        assert_eq!(p.text, "multi line");
        // A local wall-clock time, not epoch seconds: "YYYY-MM-DD HH:MM:SS.mmm".
        assert_eq!(p.time.len(), 23, "{}", p.time);
        assert_eq!(&p.time[4..5], "-");
        assert_eq!(&p.time[13..14], ":");
        let all = std::fs::read_to_string(log_path(tmp.path(), "c", None)).unwrap();
        let p = parse(all.trim_end(), true);
        assert_eq!(p.node.as_deref(), Some("w1"));
        assert_eq!(p.text, "multi line");
    }

    #[test]
    fn an_odd_line_comes_back_whole() {
        let p = parse("1764453301 [prepare] old format", false);
        assert_eq!(p.text, "1764453301 [prepare] old format");
        assert_eq!(p.kind, Kind::Out);
    }
}
