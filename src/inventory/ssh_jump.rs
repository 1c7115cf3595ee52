//! Jump hosts: how a node is reached through one bastion or a chain of them. The route comes
//! from the inventory (`[[nodes]] jump`, else `[ssh] jump`; `"none"` = directly) or else from the
//! ssh config's `ProxyJump` (a `ProxyCommand` is kept only to be refused). Each hop is
//! `[user@]host[:port]`, resolved as OpenSSH resolves `ssh -J`: the hop's own `Host` block in the
//! ssh config gives its HostName, User, Port and IdentityFile; what the hop spec says wins; the
//! first bastion's own ProxyJump puts the hosts in front of it first ([`resolve_route`]).

use std::path::{Path, PathBuf};

use super::Source;
use super::ssh_config::{ConfigError, SshConfig, tokens};

/// How one node is reached, and where that was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// As the operator wrote it: the hops ("ops@bastion:22,inner") or the proxy command.
    pub written: String,
    pub source: Source,
    pub route: Route,
    /// The hops as written, resolved again once the ssh config is read.
    pub specs: Vec<HopSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `jump = "none"` (or `ProxyJump none`): dialled directly, whatever the ssh config says.
    Direct,
    /// Through these bastions, the first dialled first.
    Hops(Vec<Hop>),
    /// `ProxyCommand CMD`: refused when connecting (kha-tui does not run local commands to
    /// carry its SSH traffic; dialling directly would go around what the operator set up).
    Command,
}

/// One bastion on the way: where and as whom kha-tui logs in to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The hop as written (`ops@bastion:22`), for messages.
    pub spec: String,
    /// The host part as written (the name the ssh config's `Host` patterns see).
    pub name: String,
    /// What is dialled: the config's `HostName` for the hop, else its name.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub identity_file: Option<PathBuf>,
    pub use_agent: bool,
    /// Where the user, port and key came from ("hop", "ssh config FILE:LINE", "node", "default").
    pub sources: String,
}

impl Jump {
    /// The bastions, first dialled first; none when direct or refused.
    pub fn hops(&self) -> &[Hop] {
        match &self.route {
            Route::Hops(h) => h,
            _ => &[],
        }
    }

    /// A line for `kha-tui plan` and the connect screen: "via ops@bastion:22 (inventory ssh.jump)".
    pub fn describe(&self) -> String {
        match &self.route {
            Route::Direct => format!("directly, no jump host ({})", self.source),
            Route::Hops(hops) => {
                let chain: Vec<String> = hops
                    .iter()
                    .map(|h| format!("{}@{}:{}", h.user, h.host, h.port))
                    .collect();
                format!("via {} ({})", chain.join(" then "), self.source)
            }
            Route::Command => format!(
                "ProxyCommand {} ({}): refused, kha-tui does not run a local command to carry \
                 SSH; use ProxyJump (or jump = \"user@bastion\" in the inventory) instead",
                self.written, self.source
            ),
        }
    }
}

/// A hop as written, before the ssh config fills in what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopSpec {
    pub spec: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// Parses `"none"` (→ `Ok(None)`) or `[user@]host[:port]` hops separated by commas, as
/// `ProxyJump` takes them (`[user@][host]:port` with IPv6 in brackets; `ssh://` URLs too).
pub fn parse(text: &str) -> Result<Option<Vec<HopSpec>>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if text.is_empty() {
        return Err("is empty (write \"user@bastion:22\", or \"none\" for no jump host)".into());
    }
    let mut hops = Vec::new();
    for part in text.split(',') {
        hops.push(parse_hop(part.trim())?);
    }
    Ok(Some(hops))
}

fn parse_hop(spec: &str) -> Result<HopSpec, String> {
    let bare = spec.strip_prefix("ssh://").unwrap_or(spec);
    let (user, rest) = match bare.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, bare),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let Some((h, after)) = inner.split_once(']') else {
            return Err(format!("{spec:?}: an IPv6 address needs its closing ']'"));
        };
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("{spec:?}: unexpected {after:?} after ']'")),
        };
        (h.to_string(), port)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (rest.to_string(), None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{spec:?} names no host (write [user@]host[:port])"));
    }
    if host.starts_with('-') {
        return Err(format!("{spec:?}: a host name cannot start with '-'"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("{spec:?}: port {p:?} is not between 1 and 65535")),
        },
    };
    if let Some(u) = &user
        && !super::validate::is_user_name(u)
    {
        return Err(format!(
            "{spec:?}: {u:?} is not a Linux user name (lowercase letters, digits, '_' and '-', \
             starting with a letter or '_')"
        ));
    }
    Ok(HopSpec {
        spec: spec.to_string(),
        user,
        host,
        port,
    })
}

/// The inventory's jump for one node (`[[nodes]] jump`, else `[ssh] jump`), with its key,
/// resolved without the ssh config (done again once it is read); `Err((key, message))`.
pub fn from_inventory(
    node_key: &str,
    own: Option<&str>,
    all: Option<&str>,
    key: &NodeKey,
) -> Result<Option<Jump>, (String, String)> {
    let (text, source) = match (own, all) {
        (Some(t), _) => (t, format!("{node_key}jump")),
        (None, Some(t)) => (t, "ssh.jump".to_string()),
        (None, None) => return Ok(None),
    };
    let specs = parse(text).map_err(|e| (source.clone(), e))?;
    Ok(Some(match specs {
        None => Jump {
            written: text.trim().to_string(),
            source: Source::Inventory(source),
            route: Route::Direct,
            specs: Vec::new(),
        },
        Some(specs) => Jump {
            written: text.trim().to_string(),
            source: Source::Inventory(source),
            route: Route::Hops(resolve(&specs, None, key)),
            specs,
        },
    }))
}

/// The node's key, offered to a bastion whose config names none.
pub struct NodeKey<'a> {
    pub identity_file: Option<&'a Path>,
    pub use_agent: bool,
}

/// Fills in each hop from the ssh config (the hop's own `Host` block), then OpenSSH's
/// defaults (port 22, the local user name); a bastion with no key of its own gets the node's.
pub fn resolve(specs: &[HopSpec], cfg: Option<&SshConfig>, node_key: &NodeKey) -> Vec<Hop> {
    let (local_user, _, home, _) = tokens::local_context();
    specs
        .iter()
        .map(|s| {
            let r = cfg
                .map(|c| c.resolve(&s.host, &local_user))
                .unwrap_or_default();
            let at = |a: &super::ssh_config::At| format!("ssh config {a}");
            let (user, user_src) = match (&s.user, &r.user) {
                (Some(u), _) => (u.clone(), "hop".to_string()),
                (None, Some(u)) => (u.value.clone(), at(&u.at)),
                (None, None) => (local_user.clone(), "local user".to_string()),
            };
            let (port, port_src) = match (s.port, &r.port) {
                (Some(p), _) => (p, "hop".to_string()),
                (None, Some(p)) => (p.value, at(&p.at)),
                (None, None) => (22, "default".to_string()),
            };
            let host = r
                .host_name
                .as_ref()
                .map(|h| h.value.clone())
                .unwrap_or_else(|| s.host.clone());
            let home_dir = cfg
                .map(|c| c.home().to_path_buf())
                .unwrap_or(home.clone().into());
            let from_config = r.identity_files.iter().find_map(|f| {
                let p = PathBuf::from(tokens::tilde(&f.value, &home_dir));
                p.exists().then(|| (p, at(&f.at)))
            });
            let (identity_file, key_src) = match from_config {
                Some((p, src)) => (Some(p), src),
                None => (
                    node_key.identity_file.map(Path::to_path_buf),
                    "node".to_string(),
                ),
            };
            Hop {
                spec: s.spec.clone(),
                name: s.host.clone(),
                host,
                port,
                user,
                identity_file,
                use_agent: node_key.use_agent,
                sources: format!("user {user_src} · port {port_src} · key {key_src}"),
            }
        })
        .collect()
}

/// The whole route, as OpenSSH dials `ssh -J HOPS`: each hop filled in by [`resolve`], then the
/// first bastion's own `ProxyJump` from its Host block followed — it is reached the way the
/// operator reaches it by hand — and that one's first hop's, and so on. Only the first: OpenSSH
/// reaches every later hop with `-J` on its command line (ssh.c builds `ssh -J EARLIER -W %h:%p
/// LAST`), which wins over that hop's own config. A loop is refused in OpenSSH's words
/// ("jumphost loop via …"), and so is a first bastion reached through a ProxyCommand.
pub fn resolve_route(
    specs: &[HopSpec],
    cfg: &SshConfig,
    node_key: &NodeKey,
) -> Result<Vec<Hop>, ConfigError> {
    /// More bastions in front than anyone sets up on purpose: a loop OpenSSH would not catch
    /// at once (a → b → a).
    const MOST: usize = 8;
    let mut hops = resolve(specs, Some(cfg), node_key);
    let (local_user, ..) = tokens::local_context();
    let mut first = match specs.first() {
        Some(f) => f.clone(),
        None => return Ok(hops),
    };
    let mut seen = vec![first.host.clone()];
    loop {
        let r = cfg.resolve(&first.host, &local_user);
        if let Some(j) = r.jump() {
            let err = |message: String| ConfigError {
                at: j.at.clone(),
                message,
            };
            let Some(before) = parse(&j.value).map_err(|e| err(format!("ProxyJump {e}")))? else {
                return Ok(hops);
            };
            let next = before[0].clone();
            if seen.contains(&next.host) {
                return Err(err(format!(
                    "jumphost loop via {} (the bastion {}'s own ProxyJump leads back to it)",
                    next.host, first.host
                )));
            }
            if hops.len() + before.len() > MOST {
                return Err(err(format!(
                    "more than {MOST} jump hosts in front of the node (the bastion {}'s own \
                     ProxyJump adds {}); shorten the chain",
                    first.host, j.value
                )));
            }
            let mut route = resolve(&before, Some(cfg), node_key);
            route.append(&mut hops);
            hops = route;
            seen.push(next.host.clone());
            first = next;
        } else if let Some(c) = r.proxy_command() {
            return Err(ConfigError {
                at: c.at.clone(),
                message: format!(
                    "the bastion {} is reached through ProxyCommand {}: kha-tui does not run a \
                     local command to carry SSH; give that bastion a ProxyJump instead",
                    first.host, c.value
                ),
            });
        } else {
            return Ok(hops);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_parse_as_proxyjump_writes_them() {
        let h = parse("ops@bastion:2222, inner").unwrap().unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].user.as_deref(), h[0].host.as_str(), h[0].port),
            (Some("ops"), "bastion", Some(2222))
        );
        assert_eq!((h[1].user.as_deref(), h[1].port), (None, None));
        let v6 = parse("ssh://root@[fd00::1]:22").unwrap().unwrap();
        assert_eq!((v6[0].host.as_str(), v6[0].port), ("fd00::1", Some(22)));
        assert_eq!(parse("None").unwrap(), None);
    }

    #[test]
    fn bad_hops_say_what_is_wrong() {
        for (bad, says) in [
            ("", "is empty"),
            ("ops@:22", "names no host"),
            ("bastion:0", "not between 1 and 65535"),
            ("bastion:x", "not between 1 and 65535"),
            ("Bad User@b", "not a Linux user name"),
            ("-oProxyCommand=x", "cannot start with '-'"),
            ("a,,b", "names no host"),
            ("[fd00::1", "closing ']'"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_hop_takes_its_settings_from_its_own_host_block() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("bastion_key");
        std::fs::write(&key, "x").unwrap();
        let text = format!(
            "Host bastion\n  HostName 192.0.2.7\n  User jumper\n  Port 2200\n  IdentityFile {}\n",
            key.display()
        );
        let cfg = SshConfig::parse(&text, Path::new("/cfg"), dir.path()).unwrap();
        let node_key = NodeKey {
            identity_file: Some(Path::new("/node/key")),
            use_agent: false,
        };
        let specs = parse("bastion,admin@other:23").unwrap().unwrap();
        let hops = resolve(&specs, Some(&cfg), &node_key);
        assert_eq!(
            (hops[0].host.as_str(), hops[0].user.as_str(), hops[0].port),
            ("192.0.2.7", "jumper", 2200)
        );
        assert_eq!(hops[0].identity_file.as_deref(), Some(key.as_path()));
        assert!(
            hops[0].sources.contains("user ssh config /cfg:3"),
            "{}",
            hops[0].sources
        );
        // What the hop says wins; no Host block: the node's key.
        assert_eq!(
            (hops[1].host.as_str(), hops[1].user.as_str(), hops[1].port),
            ("other", "admin", 23)
        );
        assert_eq!(
            hops[1].identity_file.as_deref(),
            Some(Path::new("/node/key"))
        );
        assert_eq!(hops[1].sources, "user hop · port hop · key node");
    }

    /// `ssh -G` for one hop as `ssh -J` dials it (`-l USER -p PORT HOST`): user, hostname, port.
    fn openssh_hop(file: &Path, spec: &HopSpec) -> (String, String, u16) {
        let mut cmd = std::process::Command::new("ssh");
        cmd.args(["-G", "-F"]).arg(file);
        if let Some(u) = &spec.user {
            cmd.args(["-l", u]);
        }
        if let Some(p) = spec.port {
            cmd.args(["-p", &p.to_string()]);
        }
        let out = cmd
            .arg(&spec.host)
            .output()
            .expect("ssh (openssh-client) runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} ")))
                .unwrap()
                .to_string()
        };
        (get("user"), get("hostname"), get("port").parse().unwrap())
    }

    /// Every hop of a ProxyJump chain resolves as OpenSSH resolves it (its own Host block,
    /// Match host on its HostName, the spec's user and port winning, the local user else).
    #[test]
    fn chains_of_hops_resolve_like_openssh() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        let text = "Host master*\n  ProxyJump ops@bastion:2222,inner\n\
                    Host bastion\n  HostName 192.0.2.10\n  User nobody-there\n  Port 2200\n\
                    Host inner\n  HostName 198.51.100.%h\n  Port 2300\n\
                    Match host 198.51.100.*\n  User jumper\n\
                    Host edge?\n  ProxyJump edge-bastion\n";
        std::fs::write(&file, text).unwrap();
        let cfg = SshConfig::load(&file, dir.path()).unwrap();
        let key = NodeKey {
            identity_file: None,
            use_agent: true,
        };
        let (local_user, ..) = tokens::local_context();
        for node in ["master1", "edge7"] {
            let j = cfg.resolve(node, &local_user);
            let specs = parse(&j.jump().unwrap().value).unwrap().unwrap();
            let hops = resolve(&specs, Some(&cfg), &key);
            for (spec, hop) in specs.iter().zip(&hops) {
                let mut ours = (hop.user.clone(), hop.host.clone(), hop.port);
                // %h in a HostName: expanded by OpenSSH; kha-tui dials the hop's HostName as
                // written, so such a config is compared with the token filled in here.
                ours.1 = ours.1.replace("%h", &spec.host);
                assert_eq!(ours, openssh_hop(&file, spec), "{node}: hop {}", spec.spec);
            }
        }
    }

    /// The config in a file of its own (kept while the result is used: OpenSSH reads it too).
    fn route_of(
        text: &str,
        node: &str,
    ) -> (tempfile::TempDir, PathBuf, Result<Vec<Hop>, ConfigError>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, text).unwrap();
        let cfg = SshConfig::load(&file, dir.path()).unwrap();
        let (local_user, ..) = tokens::local_context();
        let r = cfg.resolve(node, &local_user);
        let specs = parse(&r.jump().unwrap().value).unwrap().unwrap();
        let key = NodeKey {
            identity_file: None,
            use_agent: true,
        };
        let route = resolve_route(&specs, &cfg, &key);
        (dir, file, route)
    }

    fn names(hops: &[Hop]) -> Vec<&str> {
        hops.iter().map(|h| h.name.as_str()).collect()
    }

    /// `ssh -G -F FILE HOST`'s proxyjump line (what OpenSSH would reach HOST through).
    fn openssh_proxyjump(file: &Path, host: &str) -> Option<String> {
        let out = std::process::Command::new("ssh")
            .args(["-G", "-F"])
            .arg(file)
            .arg(host)
            .output()
            .expect("ssh (openssh-client) runs");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("proxyjump ").map(str::to_string))
    }

    /// The first bastion's own ProxyJump is followed, as OpenSSH reaches a bastion: the gateway
    /// in front of it comes first. A later hop's own ProxyJump is not (OpenSSH reaches it with
    /// -J on its command line), but the first hop's is, however deep.
    #[test]
    fn the_first_bastions_own_proxyjump_is_followed_as_openssh_does() {
        let text = "Host master*\n  ProxyJump bastion\n\
                    Host worker*\n  ProxyJump edge,bastion\n\
                    Host bastion\n  HostName 192.0.2.10\n  ProxyJump gw\n\
                    Host edge\n  ProxyJump outer\n\
                    Host gw\n  HostName 192.0.2.1\n  User gate\n";
        let (_dir, file, master) = route_of(text, "master1");
        let master = master.unwrap();
        assert_eq!(names(&master), ["gw", "bastion"]);
        assert_eq!(
            (master[0].host.as_str(), master[0].user.as_str()),
            ("192.0.2.1", "gate")
        );
        // What OpenSSH says of each: master1 through bastion, bastion through gw, gw directly.
        assert_eq!(
            openssh_proxyjump(&file, "master1").as_deref(),
            Some("bastion")
        );
        assert_eq!(openssh_proxyjump(&file, "bastion").as_deref(), Some("gw"));
        assert_eq!(openssh_proxyjump(&file, "gw"), None);
        // edge,bastion: edge's own ProxyJump (outer) comes first; bastion's (gw) is not used.
        let (_, _, worker) = route_of(text, "worker1");
        assert_eq!(names(&worker.unwrap()), ["outer", "edge", "bastion"]);
    }

    /// `Host *` with a ProxyJump matches the bastion too: OpenSSH stops with "jumphost loop
    /// via bastion", and so does kha-tui, naming the config line; a loop of two as well.
    #[test]
    fn a_jump_host_loop_is_refused_in_openssh_words() {
        let text = "Host *\n  ProxyJump bastion\n";
        let (_dir, file, r) = route_of(text, "master1");
        let e = r.unwrap_err();
        assert!(
            e.message.contains("jumphost loop via bastion"),
            "{}",
            e.message
        );
        assert_eq!(e.at.line, 2);
        let out = std::process::Command::new("ssh")
            .args(["-G", "-F"])
            .arg(&file)
            .arg("bastion")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("jumphost loop via bastion"),
            "OpenSSH: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let two = "Host n1\n  ProxyJump a\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n";
        let e = route_of(two, "n1").2.unwrap_err();
        assert!(e.message.contains("jumphost loop via a"), "{}", e.message);
    }

    /// A first bastion reached through a ProxyCommand: refused, naming its line and the fix.
    #[test]
    fn a_bastion_behind_a_proxy_command_is_refused() {
        let text = "Host n1\n  ProxyJump bastion\nHost bastion\n  ProxyCommand nc -X 5 gw %h %p\n";
        let e = route_of(text, "n1").2.unwrap_err();
        assert!(
            e.message.contains("ProxyCommand nc -X 5 gw %h %p"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("give that bastion a ProxyJump"),
            "{}",
            e.message
        );
        assert_eq!(e.at.line, 4);
    }
}
