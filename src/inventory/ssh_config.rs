//! What an operator's `~/.ssh/config` (or `-F FILE`) says about reaching one node, resolved as
//! OpenSSH resolves it: `Host` and simple `Match` blocks, `Include`, first value wins,
//! `IdentityFile` accumulates, and every value remembers the FILE:LINE it came from.
//!
//! The `ssh2-config` crate parses each option line (quoting, `=`, value types, `~`); this module
//! adds what the crate does not do: `Match`, first-wins within a block, line numbers, and
//! `%` tokens (in [`tokens`]).

pub mod tokens;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ssh2_config::{Host, HostClause, HostParams, ParseRule};

/// Where in a config file a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A value and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    pub at: At,
}

/// `StrictHostKeyChecking`. Whatever it says, kha-tui never accepts a changed host key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrictHostKeys {
    Yes,
    No,
    Ask,
    AcceptNew,
}

impl StrictHostKeys {
    pub fn as_str(self) -> &'static str {
        match self {
            StrictHostKeys::Yes => "true",
            StrictHostKeys::No => "false",
            StrictHostKeys::Ask => "ask",
            StrictHostKeys::AcceptNew => "accept-new",
        }
    }
    fn parse(s: &str) -> Option<StrictHostKeys> {
        match s.to_ascii_lowercase().as_str() {
            "yes" | "true" => Some(StrictHostKeys::Yes),
            "no" | "false" | "off" => Some(StrictHostKeys::No),
            "ask" => Some(StrictHostKeys::Ask),
            "accept-new" => Some(StrictHostKeys::AcceptNew),
            _ => None,
        }
    }
}

/// Everything the config says for one host; `None` where it says nothing. Paths keep their `%`
/// tokens (as `ssh -G` prints IdentityFile); [`Resolved::expand`] fills them in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub host_name: Option<Found<String>>,
    pub user: Option<Found<String>>,
    pub port: Option<Found<u16>>,
    pub identity_files: Vec<Found<String>>,
    pub identities_only: Option<Found<bool>>,
    /// As written (comma-separated hops); `none` is kept out.
    pub proxy_jump: Option<Found<String>>,
    /// As written (its `%` tokens too); `none` is kept out. OpenSSH takes whichever of
    /// ProxyJump and ProxyCommand comes first and ignores the other.
    pub proxy_command: Option<Found<String>>,
    pub user_known_hosts: Option<Found<Vec<String>>>,
    pub strict_host_keys: Option<Found<StrictHostKeys>>,
    pub connect_timeout: Option<Found<Duration>>,
    pub server_alive_interval: Option<Found<Duration>>,
}

/// A config file that cannot be used, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ConfigError {
    pub at: At,
    pub message: String,
}

#[derive(Debug, Clone)]
enum Entry {
    Host(Vec<HostClause>),
    Match(Vec<Criterion>),
    Include(Vec<Vec<Entry>>),
    Option(Opt, At),
}

#[derive(Debug, Clone)]
enum Criterion {
    All,
    Host(String, bool),
    OriginalHost(String, bool),
    User(String, bool),
    LocalUser(String, bool),
}

#[derive(Debug, Clone)]
enum Opt {
    HostName(String),
    User(String),
    Port(u16),
    IdentityFile(Vec<String>),
    IdentitiesOnly(bool),
    ProxyJump(Option<String>),
    ProxyCommand(Option<String>),
    UserKnownHostsFile(Vec<String>),
    StrictHostKeyChecking(StrictHostKeys),
    ConnectTimeout(Duration),
    ServerAliveInterval(Duration),
}

/// A parsed config file (with its includes), ready to answer for any host.
#[derive(Debug, Clone)]
pub struct SshConfig {
    entries: Vec<Entry>,
    home: PathBuf,
}

impl SshConfig {
    /// Reads FILE; `home` is what `~` and relative `Include` paths (under `home/.ssh`) refer to.
    pub fn load(path: &Path, home: &Path) -> Result<SshConfig, ConfigError> {
        let entries = read_file(path, home, 0)?;
        Ok(SshConfig {
            entries,
            home: home.to_path_buf(),
        })
    }

    /// Parses config text as if it were the file `path`.
    pub fn parse(text: &str, path: &Path, home: &Path) -> Result<SshConfig, ConfigError> {
        Ok(SshConfig {
            entries: parse_text(text, path, home, 0)?,
            home: home.to_path_buf(),
        })
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// What the config says for `host` (as typed after `ssh`), for a local user `local_user`.
    pub fn resolve(&self, host: &str, local_user: &str) -> Resolved {
        let mut r = Resolved::default();
        let mut active = true;
        walk(&self.entries, host, local_user, &mut active, true, &mut r);
        r
    }
}

fn walk(
    entries: &[Entry],
    host: &str,
    local_user: &str,
    active: &mut bool,
    can_match: bool,
    r: &mut Resolved,
) {
    for e in entries {
        match e {
            Entry::Host(clauses) => {
                let h = Host::new(clauses.clone(), no_params());
                *active = can_match && h.intersects(&host.to_ascii_lowercase());
            }
            Entry::Match(criteria) => {
                *active = can_match && criteria.iter().all(|c| matches(c, host, local_user, r));
            }
            Entry::Include(files) => {
                let outer = *active;
                for f in files {
                    walk(f, host, local_user, active, can_match && outer, r);
                }
                *active = outer;
            }
            Entry::Option(opt, at) if *active => apply(opt, at, r),
            Entry::Option(..) => {}
        }
    }
}

fn matches(c: &Criterion, host: &str, local_user: &str, r: &Resolved) -> bool {
    // `Match host` looks at HostName as set so far (%h in it is the host as typed).
    let target = || match &r.host_name {
        Some(h) => h.value.replace("%h", host),
        None => host.to_string(),
    };
    let user = || {
        r.user
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_else(|| local_user.into())
    };
    match c {
        Criterion::All => true,
        Criterion::Host(list, neg) => pattern_list(&target(), list) != *neg,
        Criterion::OriginalHost(list, neg) => pattern_list(host, list) != *neg,
        Criterion::User(list, neg) => pattern_list(&user(), list) != *neg,
        Criterion::LocalUser(list, neg) => pattern_list(local_user, list) != *neg,
    }
}

/// OpenSSH's comma-separated pattern list: a matching `!pattern` refuses at once.
fn pattern_list(value: &str, list: &str) -> bool {
    let clauses: Vec<HostClause> = list
        .split(',')
        .map(|p| match p.strip_prefix('!') {
            Some(p) => HostClause::new(p.to_ascii_lowercase(), true),
            None => HostClause::new(p.to_ascii_lowercase(), false),
        })
        .collect();
    Host::new(clauses, no_params()).intersects(&value.to_ascii_lowercase())
}

fn apply(opt: &Opt, at: &At, r: &mut Resolved) {
    fn first<T: Clone>(slot: &mut Option<Found<T>>, v: &T, at: &At) {
        if slot.is_none() {
            *slot = Some(Found {
                value: v.clone(),
                at: at.clone(),
            });
        }
    }
    match opt {
        Opt::HostName(v) => first(&mut r.host_name, v, at),
        Opt::User(v) => first(&mut r.user, v, at),
        Opt::Port(v) => first(&mut r.port, v, at),
        Opt::IdentityFile(files) => {
            for f in files {
                if !r.identity_files.iter().any(|x| &x.value == f) {
                    r.identity_files.push(Found {
                        value: f.clone(),
                        at: at.clone(),
                    });
                }
            }
        }
        Opt::IdentitiesOnly(v) => first(&mut r.identities_only, v, at),
        // `ProxyJump none` is a first value too (kept as ""): later lines cannot set a jump.
        Opt::ProxyJump(v) if r.proxy_command.is_none() => {
            first(&mut r.proxy_jump, &v.clone().unwrap_or_default(), at)
        }
        Opt::ProxyCommand(v) if r.proxy_jump.is_none() => {
            first(&mut r.proxy_command, &v.clone().unwrap_or_default(), at)
        }
        // The other of the two came first.
        Opt::ProxyJump(_) | Opt::ProxyCommand(_) => {}
        Opt::UserKnownHostsFile(v) => first(&mut r.user_known_hosts, v, at),
        Opt::StrictHostKeyChecking(v) => first(&mut r.strict_host_keys, v, at),
        Opt::ConnectTimeout(v) => first(&mut r.connect_timeout, v, at),
        Opt::ServerAliveInterval(v) => first(&mut r.server_alive_interval, v, at),
    }
}

impl Resolved {
    /// The jump hosts the node needs, if any (`ProxyJump none` → none).
    pub fn jump(&self) -> Option<&Found<String>> {
        self.proxy_jump.as_ref().filter(|j| !j.value.is_empty())
    }

    /// The command the node is reached through, if any (`ProxyCommand none` → none).
    pub fn proxy_command(&self) -> Option<&Found<String>> {
        self.proxy_command.as_ref().filter(|c| !c.value.is_empty())
    }

    /// How the node is to be reached other than directly, as the config line says it
    /// (`ProxyJump HOPS` or `ProxyCommand CMD`), if at all.
    pub fn proxy(&self) -> Option<Found<String>> {
        let with = |word: &str, f: &Found<String>| Found {
            value: format!("{word} {}", f.value),
            at: f.at.clone(),
        };
        self.jump()
            .map(|j| with("ProxyJump", j))
            .or_else(|| self.proxy_command().map(|c| with("ProxyCommand", c)))
    }
}

fn read_file(path: &Path, home: &Path, depth: usize) -> Result<Vec<Entry>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        at: At {
            file: path.to_path_buf(),
            line: 0,
        },
        message: format!("cannot read the ssh config: {e}"),
    })?;
    parse_text(&text, path, home, depth)
}

fn parse_text(
    text: &str,
    path: &Path,
    home: &Path,
    depth: usize,
) -> Result<Vec<Entry>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let at = At {
            file: path.to_path_buf(),
            line: i + 1,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let keyword = line
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let rest = line[keyword.len()..]
            .trim_start()
            .trim_start_matches('=')
            .trim();
        let err = |message: String| ConfigError {
            at: at.clone(),
            message,
        };
        match keyword.as_str() {
            "host" => {
                let h = crate_parse(line, home).map_err(err)?;
                let hosts = h.get_hosts();
                let block = hosts
                    .get(1)
                    .ok_or_else(|| err("Host needs a pattern".into()))?;
                out.push(Entry::Host(lowercase(&block.pattern)));
            }
            "match" => out.push(Entry::Match(criteria(rest).map_err(err)?)),
            "include" => {
                if depth >= 16 {
                    return Err(err("Include nests deeper than 16 files".into()));
                }
                let mut files = Vec::new();
                for pat in rest.split_whitespace() {
                    let pat = tokens::tilde(pat, home);
                    let pat = if Path::new(&pat).is_absolute() {
                        pat
                    } else {
                        home.join(".ssh").join(pat).display().to_string()
                    };
                    let mut paths: Vec<PathBuf> = glob::glob(&pat)
                        .map_err(|e| err(format!("Include {pat}: {e}")))?
                        .filter_map(Result::ok)
                        .collect();
                    paths.sort();
                    for p in paths {
                        files.push(read_file(&p, home, depth + 1)?);
                    }
                }
                out.push(Entry::Include(files));
            }
            _ => {
                if let Some(opt) = option(&keyword, line, home).map_err(err)? {
                    out.push(Entry::Option(opt, at));
                }
            }
        }
    }
    Ok(out)
}

fn no_params() -> HostParams {
    HostParams::new(&ssh2_config::DefaultAlgorithms::empty())
}

fn lowercase(clauses: &[HostClause]) -> Vec<HostClause> {
    clauses
        .iter()
        .map(|c| HostClause::new(c.pattern.to_ascii_lowercase(), c.negated))
        .collect()
}

/// One line through the crate, alone, so that its value is typed and checked.
fn crate_parse(line: &str, home: &Path) -> Result<ssh2_config::SshConfig, String> {
    ssh2_config::SshConfig::default()
        .home_dir(home)
        .parse(
            &mut line.as_bytes(),
            ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
        )
        .map_err(|e| format!("{line:?}: {e}"))
}

/// The options kha-tui uses; others are left to OpenSSH (`None`).
fn option(keyword: &str, line: &str, home: &Path) -> Result<Option<Opt>, String> {
    const USED: [&str; 11] = [
        "hostname",
        "user",
        "port",
        "identityfile",
        "identitiesonly",
        "proxyjump",
        "proxycommand",
        "userknownhostsfile",
        "stricthostkeychecking",
        "connecttimeout",
        "serveraliveinterval",
    ];
    if !USED.contains(&keyword) {
        return Ok(None);
    }
    let parsed = crate_parse(line, home)?;
    let p = &parsed.get_hosts()[0].params;
    let raw = |name: &str| -> Result<Vec<String>, String> {
        p.unsupported_fields
            .iter()
            .chain(p.ignored_fields.iter())
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{line:?}: a value is missing"))
    };
    let missing = || format!("{line:?}: a value is missing");
    Ok(Some(match keyword {
        "hostname" => Opt::HostName(p.host_name.clone().ok_or_else(missing)?),
        "user" => Opt::User(p.user.clone().ok_or_else(missing)?),
        "port" => Opt::Port(p.port.ok_or_else(missing)?),
        "identityfile" => Opt::IdentityFile(
            p.identity_file
                .clone()
                .ok_or_else(missing)?
                .iter()
                .map(|f| f.display().to_string())
                .collect(),
        ),
        "identitiesonly" => {
            let v = raw("identitiesonly")?;
            Opt::IdentitiesOnly(match v[0].to_ascii_lowercase().as_str() {
                "yes" | "true" => true,
                "no" | "false" => false,
                other => return Err(format!("IdentitiesOnly {other:?}: expected yes or no")),
            })
        }
        "proxyjump" => {
            let hops = p.proxy_jump.clone().ok_or_else(missing)?;
            if hops.len() == 1 && hops[0].eq_ignore_ascii_case("none") {
                Opt::ProxyJump(None)
            } else {
                Opt::ProxyJump(Some(hops.join(",")))
            }
        }
        "proxycommand" => {
            // The rest of the line, as OpenSSH keeps it (tokens expanded only when it runs).
            let cmd = line
                .trim_start()
                .get(keyword.len()..)
                .unwrap_or("")
                .trim_start_matches([' ', '\t', '='])
                .trim();
            if cmd.is_empty() {
                return Err(missing());
            }
            if cmd.eq_ignore_ascii_case("none") {
                Opt::ProxyCommand(None)
            } else {
                Opt::ProxyCommand(Some(cmd.to_string()))
            }
        }
        "userknownhostsfile" => Opt::UserKnownHostsFile(raw("userknownhostsfile")?),
        "stricthostkeychecking" => {
            let v = raw("stricthostkeychecking")?;
            Opt::StrictHostKeyChecking(StrictHostKeys::parse(&v[0]).ok_or_else(|| {
                format!(
                    "StrictHostKeyChecking {:?}: expected yes, no, ask or accept-new",
                    v[0]
                )
            })?)
        }
        "connecttimeout" => Opt::ConnectTimeout(p.connect_timeout.ok_or_else(missing)?),
        "serveraliveinterval" => {
            Opt::ServerAliveInterval(p.server_alive_interval.ok_or_else(missing)?)
        }
        _ => unreachable!("only used keywords reach here"),
    }))
}

/// `Match` criteria kha-tui can decide on its own; the others are refused, not guessed.
fn criteria(rest: &str) -> Result<Vec<Criterion>, String> {
    let mut words = rest.split_whitespace();
    let mut out = Vec::new();
    while let Some(w) = words.next() {
        let (neg, name) = match w.strip_prefix('!') {
            Some(n) => (true, n.to_ascii_lowercase()),
            None => (false, w.to_ascii_lowercase()),
        };
        if name == "all" {
            out.push(Criterion::All);
            continue;
        }
        let arg = || {
            words
                .clone()
                .next()
                .map(str::to_string)
                .ok_or_else(|| format!("Match {name} needs an argument"))
        };
        let c = match name.as_str() {
            "host" => Criterion::Host(arg()?, neg),
            "originalhost" => Criterion::OriginalHost(arg()?, neg),
            "user" => Criterion::User(arg()?, neg),
            "localuser" => Criterion::LocalUser(arg()?, neg),
            other => {
                return Err(format!(
                    "Match {other} is not supported by kha-tui (only all, host, originalhost, \
                     user and localuser); give kha-tui a config without it with --ssh-config"
                ));
            }
        };
        words.next();
        out.push(c);
    }
    if out.is_empty() {
        return Err("Match needs a criterion".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
