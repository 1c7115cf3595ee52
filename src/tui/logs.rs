//! Log lines per node, in bounded rings. Reading a window is O(window): a frame costs what is
//! visible, never what is buffered.

use std::collections::VecDeque;
use std::sync::Arc;

/// Default cap of one node's ring.
pub const NODE_CAP: usize = 20_000;
/// Default cap of the interleaved ring (all nodes).
pub const ALL_CAP: usize = 100_000;

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

    pub fn push(&mut self, line: Arc<LogLine>) {
        if self.lines.len() == self.cap {
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

/// Rings per node plus one interleaved ring.
#[derive(Debug, Clone)]
pub struct Logs {
    pub nodes: Vec<Ring>,
    pub all: Ring,
    node_cap: usize,
}

impl Default for Logs {
    fn default() -> Self {
        Logs::with_caps(NODE_CAP, ALL_CAP)
    }
}

impl Logs {
    pub fn with_caps(node_cap: usize, all_cap: usize) -> Logs {
        Logs {
            nodes: Vec::new(),
            all: Ring::new(all_cap),
            node_cap,
        }
    }

    /// Makes sure rings exist for nodes `0..n`.
    pub fn ensure(&mut self, n: usize) {
        while self.nodes.len() < n {
            self.nodes.push(Ring::new(self.node_cap));
        }
    }

    /// Appends a line to node `index`'s ring and to the interleaved ring.
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

    /// Appends a line to the interleaved ring only.
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
