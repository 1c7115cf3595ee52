//! Pages through a log file by line number without holding it: the byte offset of every
//! [`STRIDE`]-th line (8 bytes per 64 lines), extended as the file grows. Reading lines
//! `n..n+k` seeks to the mark before `n` and reads at most `STRIDE + k` lines, whatever the
//! file's size.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

pub const STRIDE: u64 = 64;

#[derive(Debug, Clone)]
pub struct LogIndex {
    path: PathBuf,
    /// `marks[i]` = byte offset where line `i * STRIDE` starts.
    marks: Vec<u64>,
    /// Complete lines seen.
    lines: u64,
    /// Byte offset just after the last complete line seen.
    scanned: u64,
}

impl LogIndex {
    pub fn new(path: &Path) -> LogIndex {
        LogIndex {
            path: path.to_path_buf(),
            marks: vec![0],
            lines: 0,
            scanned: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Complete lines in the file when last refreshed.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Takes in what was appended since the last call (reads only the new bytes). A file that
    /// shrank (rotated by hand) is indexed again from its start.
    pub fn refresh(&mut self) -> std::io::Result<()> {
        let mut f = File::open(&self.path)?;
        let len = f.metadata()?.len();
        if len < self.scanned {
            *self = LogIndex::new(&self.path);
        }
        if len == self.scanned {
            return Ok(());
        }
        f.seek(SeekFrom::Start(self.scanned))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut at = self.scanned;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            for (i, b) in buf[..n].iter().enumerate() {
                if *b == b'\n' {
                    self.lines += 1;
                    self.scanned = at + i as u64 + 1;
                    if self.lines.is_multiple_of(STRIDE) {
                        self.marks.push(self.scanned);
                    }
                }
            }
            at += n as u64;
        }
        Ok(())
    }

    /// Up to `count` lines from line `from` (0-based), as text (invalid UTF-8 replaced);
    /// never past the lines indexed.
    pub fn read(&self, from: u64, count: usize) -> std::io::Result<Vec<String>> {
        let from = from.min(self.lines);
        let count = count.min((self.lines - from) as usize);
        if count == 0 {
            return Ok(vec![]);
        }
        let mark = (from / STRIDE) as usize;
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.marks[mark]))?;
        let mut r = BufReader::with_capacity(16 * 1024, f);
        let mut skip = from - mark as u64 * STRIDE;
        let mut line = Vec::with_capacity(256);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            out.push(String::from_utf8_lossy(&line).into_owned());
        }
        Ok(out)
    }

    /// Bytes this index holds in memory (the benchmark reports it).
    pub fn heap_bytes(&self) -> usize {
        self.marks.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn pages_anywhere_and_follows_growth() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("n.log");
        let mut f = File::create(&p).unwrap();
        for i in 0..1000 {
            writeln!(f, "line {i}").unwrap();
        }
        write!(f, "half").unwrap(); // not a line yet
        f.flush().unwrap();
        let mut ix = LogIndex::new(&p);
        ix.refresh().unwrap();
        assert_eq!(ix.lines(), 1000);
        assert_eq!(ix.read(0, 2).unwrap(), ["line 0", "line 1"]);
        assert_eq!(
            ix.read(130, 3).unwrap(),
            ["line 130", "line 131", "line 132"]
        );
        assert_eq!(ix.read(998, 10).unwrap(), ["line 998", "line 999"]);
        writeln!(f, " done").unwrap();
        writeln!(f, "line 1001").unwrap();
        ix.refresh().unwrap();
        assert_eq!(ix.lines(), 1002);
        assert_eq!(ix.read(1000, 5).unwrap(), ["half done", "line 1001"]);
        assert_eq!(ix.read(64, 1).unwrap(), ["line 64"]);
        assert!(ix.heap_bytes() < 1024);
    }
}
