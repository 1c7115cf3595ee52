//! Splitting a byte stream that arrives in arbitrary packets into lines.

/// A line longer than this without a newline is passed on in pieces of this size, so a command
/// that prints megabytes without `\n` cannot make us buffer it all.
pub const MAX_LINE: usize = 64 * 1024;

/// Collects bytes and hands out complete lines: split on `\n`, a trailing `\r` stripped, invalid
/// UTF-8 replaced. Bytes are split before decoding, so a multi-byte character cut between two
/// packets survives.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Adds `data` and returns the lines it completed.
    pub fn push(&mut self, data: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..pos]);
            lines.push(take_line(&mut self.partial));
            rest = &rest[pos + 1..];
        }
        self.partial.extend_from_slice(rest);
        while self.partial.len() >= MAX_LINE {
            let tail = self.partial.split_off(MAX_LINE);
            lines.push(take_line(&mut self.partial));
            self.partial = tail;
        }
        lines
    }

    /// The final line when the stream ended without a newline.
    pub fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| take_line(&mut self.partial))
    }
}

fn take_line(buf: &mut Vec<u8>) -> String {
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let line = String::from_utf8_lossy(buf).into_owned();
    buf.clear();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_packets_and_strips_crlf() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"one\r\ntw"), vec!["one"]);
        assert_eq!(s.push(b"o\n\nthr"), vec!["two", ""]);
        assert_eq!(s.push(b"ee"), Vec::<String>::new());
        assert_eq!(s.finish().as_deref(), Some("three"));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn multibyte_character_cut_between_packets() {
        let mut s = LineSplitter::default();
        let text = "héllo\n".as_bytes();
        assert!(s.push(&text[..2]).is_empty());
        assert_eq!(s.push(&text[2..]), vec!["héllo"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\xffb\n"), vec!["a\u{fffd}b"]);
    }

    #[test]
    fn endless_line_is_cut() {
        let mut s = LineSplitter::default();
        let lines = s.push(&vec![b'x'; MAX_LINE * 2 + 5]);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() == MAX_LINE));
        assert_eq!(s.finish().map(|l| l.len()), Some(5));
    }
}
