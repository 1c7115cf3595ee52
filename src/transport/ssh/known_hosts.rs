//! OpenSSH-compatible known_hosts lookup and learning.
//!
//! russh's own helpers (`russh::keys::check_known_hosts_path`) get the line number wrong after
//! comment lines, split only on single spaces, and know neither wildcard / negated patterns nor
//! `@revoked` / `@cert-authority` markers, so this module reads the files itself, following
//! OpenSSH's `hostfile.c` / `match.c`:
//!
//! - a line is `[@marker] patterns keytype base64 [comment]`, fields separated by blanks;
//!   `#` comments and blank lines are skipped (but counted, so line numbers match an editor's);
//! - the name looked up is `host` on port 22 and `[host]:port` otherwise, lowercased;
//! - patterns are comma separated, `*` and `?` are wildcards, `!pattern` vetoes the line, and a
//!   `|1|salt|hash` entry is HMAC-SHA1(salt, name);
//! - a matching `@revoked` key is refused; `@cert-authority` lines do not vouch for a plain key
//!   (they are read by [`KnownHosts::authorities`] for host certificates);
//! - across all files: the offered key anywhere → known; otherwise a key of the same type for
//!   the host → changed (first such line reported); otherwise unknown.
//!
//! Unparsable lines are skipped, as OpenSSH does.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use russh::keys::ssh_key::{Algorithm, PublicKey, public::KeyData};

/// Appends to known_hosts files are serialized process-wide: several nodes connect at once, and
/// two transports may share a file. Held only around the (local, short) file append.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// What the known_hosts files say about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The offered key is recorded for this host.
    Known,
    /// Nothing recorded for this host with this key type.
    Unknown,
    /// The host is recorded with a different key of the same type.
    Changed { file: PathBuf, line: usize },
    /// The offered key is marked `@revoked`.
    Revoked { file: PathBuf, line: usize },
}

/// The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise, lowercased.
pub fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The key type used to decide "same algorithm": RSA keys are one type whatever the signature hash.
fn key_type(key: &KeyData) -> Algorithm {
    key.algorithm()
}

/// One parsed known_hosts line.
struct Entry<'a> {
    marker: Option<&'a str>,
    patterns: &'a str,
    key: PublicKey,
}

fn parse_line(line: &str) -> Option<Entry<'_>> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let mut fields = trimmed.split_ascii_whitespace();
    let mut first = fields.next()?;
    let marker = if first.starts_with('@') {
        let m = first;
        first = fields.next()?;
        Some(m)
    } else {
        None
    };
    let keytype = fields.next()?;
    let base64 = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{keytype} {base64}")).ok()?;
    Some(Entry {
        marker,
        patterns: first,
        key,
    })
}

/// OpenSSH `match_hostname`: true when a positive pattern matches and no negated one does.
/// `name` must already be lowercased.
pub fn patterns_match(name: &str, patterns: &str) -> bool {
    let mut matched = false;
    for entry in patterns.split(',') {
        if let Some(hashed) = entry.strip_prefix("|1|") {
            if hashed_matches(name, hashed) {
                matched = true;
            }
            continue;
        }
        let (negated, pattern) = match entry.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, entry),
        };
        if wildcard_match(name.as_bytes(), pattern.to_ascii_lowercase().as_bytes()) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

/// `salt|hash` (both base64) of a hashed entry against `name`.
fn hashed_matches(name: &str, salt_and_hash: &str) -> bool {
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (BASE64.decode(salt), BASE64.decode(hash)) else {
        return false;
    };
    hash.len() == 20 && sha1::hmac(&salt, name.as_bytes()) == hash.as_slice()
}

/// Shell-style `*` / `?` matching, as OpenSSH's `match_pattern`.
fn wildcard_match(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Reads known_hosts files and appends accepted keys to one of them.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    /// Consulted in order; a missing file is skipped.
    pub read: Vec<PathBuf>,
    /// Where accepted keys are appended; consulted too.
    pub write: PathBuf,
    /// The files' text, read once (`preload`, off the async workers) and kept until a key is
    /// learned.
    pub cache: Arc<Mutex<Option<Texts>>>,
}

/// Each file with its text (`None`: the file does not exist).
pub type Texts = Arc<Vec<(PathBuf, Option<String>)>>;

impl KnownHosts {
    pub fn new(read: Vec<PathBuf>, write: PathBuf) -> KnownHosts {
        KnownHosts {
            read,
            write,
            cache: Arc::default(),
        }
    }

    /// Reads every file once; later lookups use what was read. Blocking: call it from
    /// `spawn_blocking`. A file that exists but cannot be read is an error, every time.
    pub fn preload(&self) -> Result<Texts, String> {
        if let Some(t) = self.cache.lock().expect("lock").clone() {
            return Ok(t);
        }
        let mut texts = Vec::new();
        for file in self.files() {
            let text =
                read_file(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            texts.push((file.to_path_buf(), text));
        }
        let texts = Arc::new(texts);
        *self.cache.lock().expect("lock") = Some(texts.clone());
        Ok(texts)
    }

    fn files(&self) -> impl Iterator<Item = &Path> {
        let write_listed = self.read.contains(&self.write);
        self.read
            .iter()
            .map(PathBuf::as_path)
            .chain((!write_listed).then_some(self.write.as_path()))
    }

    /// Looks `key` up for `host`:`port` in all files. A file that exists but cannot be read is an
    /// error (a changed key recorded there must not go unnoticed).
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Result<Verdict, String> {
        let name = lookup_name(host, port);
        let offered = key.key_data();
        let mut changed = None;
        let texts = self.preload()?;
        for (file, text) in texts.iter() {
            let Some(text) = text else { continue };
            for (index, line) in text.lines().enumerate() {
                let Some(entry) = parse_line(line) else {
                    continue;
                };
                if !patterns_match(&name, entry.patterns) {
                    continue;
                }
                let same_key = entry.key.key_data() == offered;
                match entry.marker {
                    None => {}
                    Some("@revoked") if same_key => {
                        return Ok(Verdict::Revoked {
                            file: file.to_path_buf(),
                            line: index + 1,
                        });
                    }
                    // @revoked for another key, @cert-authority, unknown markers.
                    Some(_) => continue,
                }
                if same_key {
                    return Ok(Verdict::Known);
                }
                if changed.is_none() && key_type(entry.key.key_data()) == key_type(offered) {
                    changed = Some(Verdict::Changed {
                        file: file.to_path_buf(),
                        line: index + 1,
                    });
                }
            }
        }
        Ok(changed.unwrap_or(Verdict::Unknown))
    }

    /// The host CAs (`@cert-authority` lines) whose patterns match `host`:`port`, with their
    /// file and line.
    pub fn authorities(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<(PublicKey, PathBuf, usize)>, String> {
        let name = lookup_name(host, port);
        let mut cas = Vec::new();
        for (file, text) in self.preload()?.iter() {
            let Some(text) = text else { continue };
            for (index, line) in text.lines().enumerate() {
                if let Some(e) = parse_line(line)
                    && e.marker == Some("@cert-authority")
                    && patterns_match(&name, e.patterns)
                {
                    cas.push((e.key, file.to_path_buf(), index + 1));
                }
            }
        }
        Ok(cas)
    }

    /// Where `key` is marked `@revoked` for `host`:`port`, if it is.
    pub fn revoked(
        &self,
        host: &str,
        port: u16,
        key: &KeyData,
    ) -> Result<Option<(PathBuf, usize)>, String> {
        let name = lookup_name(host, port);
        for (file, text) in self.preload()?.iter() {
            let Some(text) = text else { continue };
            for (index, line) in text.lines().enumerate() {
                if let Some(e) = parse_line(line)
                    && e.marker == Some("@revoked")
                    && e.key.key_data() == key
                    && patterns_match(&name, e.patterns)
                {
                    return Ok(Some((file.to_path_buf(), index + 1)));
                }
            }
        }
        Ok(None)
    }

    /// Key types recorded (without a marker) for `host`:`port`, in file order, without repeats.
    pub fn recorded_types(&self, host: &str, port: u16) -> Result<Vec<Algorithm>, String> {
        let name = lookup_name(host, port);
        let mut types = Vec::new();
        let texts = self.preload()?;
        for (_, text) in texts.iter() {
            let Some(text) = text else { continue };
            for entry in text.lines().filter_map(parse_line) {
                let kind = key_type(entry.key.key_data());
                if entry.marker.is_none()
                    && patterns_match(&name, entry.patterns)
                    && !types.contains(&kind)
                {
                    types.push(kind);
                }
            }
        }
        Ok(types)
    }

    /// Appends `host`:`port` → `key` to the write file (created 0600, parent directories 0700),
    /// unless that exact entry is already there. Serialized process-wide.
    pub fn learn(&self, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
        let name = lookup_name(host, port);
        let line = format!("{name} {}\n", openssh_key_text(key.key_data())?);
        let _guard = WRITE_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());

        if let Some(parent) = self.write.parent().filter(|p| !p.as_os_str().is_empty()) {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.write)?;

        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let already = text.lines().filter_map(parse_line).any(|e| {
            e.marker.is_none()
                && e.key.key_data() == key.key_data()
                && patterns_match(&name, e.patterns)
        });
        if already {
            return Ok(());
        }
        let mut out = Vec::with_capacity(line.len() + 1);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push(b'\n');
        }
        out.extend_from_slice(line.as_bytes());
        file.seek(SeekFrom::End(0))?;
        file.write_all(&out)?;
        *self.cache.lock().expect("lock") = None;
        file.sync_data()
    }
}

/// `keytype base64`, as in a known_hosts or authorized_keys line.
fn openssh_key_text(key: &KeyData) -> io::Result<String> {
    let bytes = PublicKey::new(key.clone(), "")
        .to_bytes()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(format!(
        "{} {}",
        key.algorithm().as_str(),
        BASE64.encode(bytes)
    ))
}

fn read_file(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// SHA-1 and HMAC-SHA1 (the `sha1` and `hmac` crates), only for matching hashed known_hosts
/// names (`|1|salt|hash`, the format OpenSSH writes with `HashKnownHosts yes`).
mod sha1 {
    use hmac::{Hmac, KeyInit as _, Mac as _};
    use sha1::Sha1;

    #[cfg(test)]
    pub fn digest(data: &[u8]) -> [u8; 20] {
        use sha1::Digest as _;
        Sha1::digest(data).into()
    }

    pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 20] {
        let mut m = <Hmac<Sha1>>::new_from_slice(key).expect("HMAC takes keys of any length");
        m.update(data);
        m.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";
    const ED_C: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGUHsqwpUwnfumyuO34u0lpGfni9ChsWo0ER6t5Ion4/sgY0l7f9fh8jMkuIebM+v8dyMdgRftakThK1Yz+JCeY=";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn store(dir: &Path, content: &str) -> KnownHosts {
        let read = dir.join("known_hosts");
        std::fs::write(&read, content).unwrap();
        KnownHosts::new(vec![read], dir.join("own").join("known_hosts"))
    }

    #[test]
    fn sha1_and_hmac_match_published_vectors() {
        assert_eq!(
            hex(&sha1::digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha1::digest(b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha1::digest(long)),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        // RFC 2202 test cases 2 and 6.
        assert_eq!(
            hex(&sha1::hmac(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&sha1::hmac(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn hashed_entry_matches_its_host_only() {
        // From russh's own test data: this hash is example.com.
        let pattern = "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak=";
        assert!(patterns_match("example.com", pattern));
        assert!(!patterns_match("example.org", pattern));
        assert!(!patterns_match("example.com", "|1|garbage"));
    }

    #[test]
    fn plain_wildcard_and_negated_patterns() {
        assert!(patterns_match("node1", "node1"));
        assert!(patterns_match("node1", "other,NODE1"));
        assert!(patterns_match("node1.lab", "*.lab"));
        assert!(patterns_match("node7", "node?"));
        assert!(!patterns_match("node17", "node?"));
        assert!(!patterns_match("bad.lab", "*.lab,!bad.lab"));
        assert!(patterns_match("[10.0.0.1]:2222", "[10.0.0.1]:2222"));
        assert!(!patterns_match("10.0.0.1", "[10.0.0.1]:2222"));
        assert!(patterns_match("[10.0.0.1]:2222", "[10.0.0.*]:2222"));
        assert!(wildcard_match(b"abc", b"a*c"));
        assert!(wildcard_match(b"ac", b"a*c"));
        assert!(!wildcard_match(b"ab", b"a*c"));
        assert!(wildcard_match(b"aXbXc", b"a*b*c"));
    }

    #[test]
    fn lookup_name_brackets_non_default_ports() {
        assert_eq!(lookup_name("Node1", 22), "node1");
        assert_eq!(lookup_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
    }

    #[test]
    fn verdicts_follow_openssh() {
        let dir = tempfile::tempdir().unwrap();
        let kh = store(
            dir.path(),
            &format!(
                "# comment\n\n10.0.0.1 {ED_A}\n[10.0.0.2]:2222,node2\t{ED_B} a comment\n\
                 @cert-authority * {ED_C}\n@revoked 10.0.0.9 {ED_C}\nnot a valid line\n"
            ),
        );
        assert_eq!(
            kh.check("10.0.0.1", 22, &key(ED_A)).unwrap(),
            Verdict::Known
        );
        // Same type, other key: changed, reported with the editor's line number.
        assert_eq!(
            kh.check("10.0.0.1", 22, &key(ED_B)).unwrap(),
            Verdict::Changed {
                file: dir.path().join("known_hosts"),
                line: 3
            }
        );
        // Another key type is not a change (OpenSSH asks, as for a new host).
        assert_eq!(
            kh.check("10.0.0.1", 22, &key(ECDSA)).unwrap(),
            Verdict::Unknown
        );
        // The port matters.
        assert_eq!(
            kh.check("10.0.0.1", 2200, &key(ED_A)).unwrap(),
            Verdict::Unknown
        );
        assert_eq!(
            kh.check("10.0.0.2", 2222, &key(ED_B)).unwrap(),
            Verdict::Known
        );
        assert_eq!(kh.check("node2", 22, &key(ED_B)).unwrap(), Verdict::Known);
        // @cert-authority lines do not vouch for a plain key.
        assert_eq!(
            kh.check("anything", 22, &key(ED_C)).unwrap(),
            Verdict::Unknown
        );
        assert_eq!(
            kh.check("10.0.0.9", 22, &key(ED_C)).unwrap(),
            Verdict::Revoked {
                file: dir.path().join("known_hosts"),
                line: 6
            }
        );
    }

    #[test]
    fn a_match_anywhere_beats_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let kh = store(dir.path(), &format!("h {ED_A}\nh {ED_B}\n"));
        assert_eq!(kh.check("h", 22, &key(ED_B)).unwrap(), Verdict::Known);
    }

    #[test]
    fn learn_creates_private_file_and_is_idempotent() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let kh = store(dir.path(), "");
        assert_eq!(
            kh.check("10.0.0.5", 2222, &key(ED_A)).unwrap(),
            Verdict::Unknown
        );
        kh.learn("10.0.0.5", 2222, &key(ED_A)).unwrap();
        kh.learn("10.0.0.5", 2222, &key(ED_A)).unwrap();
        kh.learn("10.0.0.6", 22, &key(ECDSA)).unwrap();
        let text = std::fs::read_to_string(&kh.write).unwrap();
        assert_eq!(text, format!("[10.0.0.5]:2222 {ED_A}\n10.0.0.6 {ECDSA}\n"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&kh.write), 0o600);
        assert_eq!(mode(kh.write.parent().unwrap()), 0o700);
        assert_eq!(
            kh.check("10.0.0.5", 2222, &key(ED_A)).unwrap(),
            Verdict::Known
        );
    }

    #[test]
    fn learn_appends_after_a_missing_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let kh = store(dir.path(), "");
        std::fs::create_dir_all(kh.write.parent().unwrap()).unwrap();
        std::fs::write(&kh.write, format!("a {ED_B}")).unwrap();
        kh.learn("b", 22, &key(ED_A)).unwrap();
        let text = std::fs::read_to_string(&kh.write).unwrap();
        assert_eq!(text, format!("a {ED_B}\nb {ED_A}\n"));
    }
}
