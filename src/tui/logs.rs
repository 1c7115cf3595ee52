//! The log pane's lines. The engine writes every line to per-node files (and one interleaved
//! file, `engine::logs`); the pane pages through those files by line number with an index of
//! offsets, so scrollback is unlimited. In memory: a short tail per node (what follow mode
//! shows) and the window on screen. The tails share one budget, so memory does not grow with
//! the node count. Reading a window is O(window): a frame costs what is visible, never what is
//! buffered.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::logs::{self as files, LogIndex};

/// Lines the tails of all nodes hold together.
pub const TAIL_BUDGET: usize = 40_000;
/// A node's tail never holds fewer lines than this (taller panes read the file).
pub const TAIL_MIN: usize = 32;
/// Nor more.
pub const TAIL_MAX: usize = 400;
/// The interleaved tail.
pub const ALL_TAIL: usize = 2_000;

/// Lines one node's tail holds when the fleet has `nodes` nodes.
pub fn tail_cap(nodes: usize) -> usize {
    (TAIL_BUDGET / nodes.max(1)).clamp(TAIL_MIN, TAIL_MAX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Stdout,
    Stderr,
    /// Written by kha-tui: a step started or finished, a run began.
    Marker,
    /// A marker for a failure.
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub node: Arc<str>,
    pub kind: LineKind,
    pub text: Box<str>,
}

/// A bounded ring that numbers its lines: line `n` is the n-th ever pushed, so a position stays
/// meaningful while old lines fall out.
#[derive(Debug, Clone)]
pub struct Ring {
    lines: VecDeque<Arc<LogLine>>,
    cap: usize,
    dropped: u64,
}

impl Ring {
    pub fn new(cap: usize) -> Ring {
        Ring {
            lines: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// A smaller cap drops the oldest lines now.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
        while self.lines.len() > self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
    }

    pub fn push(&mut self, line: Arc<LogLine>) {
        if self.lines.len() >= self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Number of the oldest line still held.
    pub fn first(&self) -> u64 {
        self.dropped
    }

    /// Number the next line will get (= lines ever pushed).
    pub fn end(&self) -> u64 {
        self.dropped + self.lines.len() as u64
    }

    /// The start of a window of `height` lines: the last ones when `top` is `None` (follow),
    /// otherwise `top` clamped to what is held.
    pub fn window_start(&self, top: Option<u64>, height: usize) -> u64 {
        let last_start = self.end().saturating_sub(height as u64).max(self.first());
        match top {
            None => last_start,
            Some(t) => t.clamp(self.first(), last_start),
        }
    }

    /// Up to `height` lines starting at line number `start`.
    pub fn window(&self, start: u64, height: usize) -> impl Iterator<Item = &LogLine> {
        let from = start.saturating_sub(self.dropped) as usize;
        let from = from.min(self.lines.len());
        let to = (from + height).min(self.lines.len());
        self.lines.range(from..to).map(|l| l.as_ref())
    }
}

/// Where the engine writes this cluster's logs, and the indexes of the files paged so far.
#[derive(Debug, Clone)]
struct Files {
    root: PathBuf,
    cluster: String,
    /// By node name (`None` = the interleaved file). 8 bytes per 64 lines each.
    indexes: HashMap<Option<String>, LogIndex>,
}

/// What the pane shows when it does not follow the tail: lines `start..` of `total`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub total: u64,
    pub lines: Vec<LogLine>,
    /// Read from the log file (else from the tail: no file to page).
    pub from_file: bool,
}

/// Tails per node plus one interleaved tail, and the files behind them.
#[derive(Debug, Clone)]
pub struct Logs {
    pub nodes: Vec<Ring>,
    pub all: Ring,
    names: Vec<Arc<str>>,
    node_cap: Option<usize>,
    files: Option<Files>,
}

impl Default for Logs {
    fn default() -> Self {
        Logs {
            nodes: Vec::new(),
            all: Ring::new(ALL_TAIL),
            names: Vec::new(),
            node_cap: None,
            files: None,
        }
    }
}

impl Logs {
    /// Fixed caps (tests that need a big buffer); by default they follow [`tail_cap`].
    pub fn with_caps(node_cap: usize, all_cap: usize) -> Logs {
        Logs {
            all: Ring::new(all_cap),
            node_cap: Some(node_cap),
            ..Logs::default()
        }
    }

    /// The nodes, in card order. Tails are resized to the fleet's share of the budget.
    pub fn set_nodes(&mut self, names: Vec<Arc<str>>) {
        let cap = self.node_cap.unwrap_or_else(|| tail_cap(names.len()));
        while self.nodes.len() < names.len() {
            self.nodes.push(Ring::new(cap));
        }
        self.nodes.truncate(names.len());
        for r in &mut self.nodes {
            r.set_cap(cap);
        }
        if let Some(f) = &mut self.files
            && self.names != names
        {
            f.indexes.clear();
        }
        self.names = names;
    }

    /// Makes sure tails exist for nodes `0..n` (unnamed: no file behind them).
    pub fn ensure(&mut self, n: usize) {
        let cap = self.node_cap.unwrap_or_else(|| tail_cap(n));
        while self.nodes.len() < n {
            self.nodes.push(Ring::new(cap));
        }
    }

    /// Pages from the engine's files under `root` (the engine's log directory) for `cluster`.
    pub fn set_files(&mut self, root: PathBuf, cluster: &str) {
        if self
            .files
            .as_ref()
            .is_some_and(|f| f.root == root && f.cluster == cluster)
        {
            return;
        }
        self.files = Some(Files {
            root,
            cluster: cluster.to_string(),
            indexes: HashMap::new(),
        });
    }

    /// Appends a line to node `index`'s tail and to the interleaved tail.
    pub fn push(&mut self, index: usize, node: Arc<str>, kind: LineKind, text: &str) {
        self.ensure(index + 1);
        let line = Arc::new(LogLine {
            node,
            kind,
            text: sanitize(text).into_boxed_str(),
        });
        self.nodes[index].push(line.clone());
        self.all.push(line);
    }

    /// Appends a line to the interleaved tail only.
    pub fn push_all(&mut self, node: Arc<str>, kind: LineKind, text: &str) {
        self.all.push(Arc::new(LogLine {
            node,
            kind,
            text: sanitize(text).into_boxed_str(),
        }));
    }

    pub fn ring(&self, node: Option<usize>) -> &Ring {
        match node {
            Some(i) if i < self.nodes.len() => &self.nodes[i],
            Some(_) => &EMPTY,
            None => &self.all,
        }
    }

    /// The index of the file behind `view`, brought up to date; `None` when there is no file.
    fn index(&mut self, view: Option<usize>) -> Option<&LogIndex> {
        let key = match view {
            Some(i) => Some(self.names.get(i)?.to_string()),
            None => None,
        };
        let f = self.files.as_mut()?;
        let ix = f.indexes.entry(key.clone()).or_insert_with(|| {
            LogIndex::new(&files::log_path(&f.root, &f.cluster, key.as_deref()))
        });
        ix.refresh().ok()?;
        (ix.lines() > 0).then_some(&*ix)
    }

    /// Lines of `view` in the file (or the tail's numbering when there is no file).
    pub fn total(&mut self, view: Option<usize>) -> u64 {
        match self.index(view) {
            Some(ix) => ix.lines(),
            None => self.ring(view).end(),
        }
    }

    /// `count` lines of `view` from line `start` (clamped to what exists). From the engine's
    /// file when there is one, else from the tail.
    pub fn window(&mut self, view: Option<usize>, start: u64, count: usize) -> Window {
        let all = view.is_none();
        let fallback: Arc<str> = match view {
            Some(i) => self.names.get(i).cloned().unwrap_or_else(|| "".into()),
            None => "".into(),
        };
        if let Some(ix) = self.index(view) {
            let total = ix.lines();
            let start = start.min(total.saturating_sub(1));
            if let Ok(text) = ix.read(start, count) {
                let lines = text
                    .iter()
                    .map(|l| {
                        let p = files::parse(l, all);
                        LogLine {
                            node: p.node.map(Arc::from).unwrap_or_else(|| fallback.clone()),
                            kind: LineKind::from(p.kind),
                            text: sanitize(&p.text).into_boxed_str(),
                        }
                    })
                    .collect();
                return Window {
                    start,
                    total,
                    lines,
                    from_file: true,
                };
            }
        }
        let ring = self.ring(view);
        let start = start.clamp(ring.first(), ring.end().saturating_sub(1).max(ring.first()));
        Window {
            start,
            total: ring.end(),
            lines: ring.window(start, count).cloned().collect(),
            from_file: false,
        }
    }

    /// Memory the file indexes hold (the benchmark reports it).
    pub fn index_bytes(&self) -> usize {
        self.files
            .as_ref()
            .map(|f| f.indexes.values().map(LogIndex::heap_bytes).sum())
            .unwrap_or(0)
    }
}

impl From<files::Kind> for LineKind {
    fn from(k: files::Kind) -> LineKind {
        match k {
            files::Kind::Out => LineKind::Stdout,
            files::Kind::Err => LineKind::Stderr,
            files::Kind::Kha => LineKind::Marker,
            files::Kind::Fail => LineKind::Failure,
        }
    }
}

static EMPTY: Ring = Ring {
    lines: VecDeque::new(),
    cap: 1,
    dropped: 0,
};

/// Makes a remote line safe to draw: no escape sequences or control characters (they would
/// move the cursor or recolour the terminal), tabs as spaces, at most 4 KiB.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4096));
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= 4096 {
            out.push('…');
            break;
        }
        match c {
            '\x1b' => {
                // CSI: ESC [ params final(0x40..=0x7e); OSC: ESC ] ... BEL or ESC \
                match chars.peek() {
                    Some('[') => {
                        chars.next();
                        for d in chars.by_ref() {
                            if ('\x40'..='\x7e').contains(&d) {
                                break;
                            }
                        }
                    }
                    Some(']') => {
                        chars.next();
                        while let Some(d) = chars.next() {
                            if d == '\x07' {
                                break;
                            }
                            if d == '\x1b' {
                                chars.next();
                                break;
                            }
                        }
                    }
                    _ => {
                        chars.next();
                    }
                }
            }
            '\t' => out.push_str("    "),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Arc<LogLine> {
        Arc::new(LogLine {
            node: "n".into(),
            kind: LineKind::Stdout,
            text: s.into(),
        })
    }

    #[test]
    fn ring_drops_oldest_and_keeps_numbers() {
        let mut r = Ring::new(3);
        for i in 0..5 {
            r.push(line(&i.to_string()));
        }
        assert_eq!((r.first(), r.end(), r.len()), (2, 5, 3));
        let w: Vec<_> = r
            .window(r.window_start(None, 2), 2)
            .map(|l| &*l.text)
            .collect();
        assert_eq!(w, ["3", "4"]);
        // A position that fell out is clamped to the oldest held line.
        let w: Vec<_> = r
            .window(r.window_start(Some(0), 2), 2)
            .map(|l| &*l.text)
            .collect();
        assert_eq!(w, ["2", "3"]);
    }

    #[test]
    fn window_is_clamped_to_the_end() {
        let mut r = Ring::new(10);
        for i in 0..4 {
            r.push(line(&i.to_string()));
        }
        assert_eq!(r.window_start(Some(100), 3), 1);
        assert_eq!(r.window_start(None, 10), 0);
        assert_eq!(r.window(0, 10).count(), 4);
    }

    #[test]
    fn sanitize_strips_escapes_and_controls() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m\tx\r"), "red    x");
        assert_eq!(sanitize("a\x1b]0;title\x07b"), "ab");
        assert_eq!(sanitize("bell\x07"), "bell");
    }
}
