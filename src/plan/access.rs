//! How kha-tui reaches each node (effective user@host:port, key) and where each value came
//! from, for `kha-tui plan`, preflight and the wizard's Connect screen.

use std::fmt::Write as _;

use serde::Serialize;

use crate::inventory::{Cluster, Node, Source};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    pub node: String,
    pub user: String,
    pub host: String,
    pub port: u16,
    /// The private key file, or "ssh-agent".
    pub identity: String,
    /// The jump host(s) on the way and where that was said ("via ops@10.0.1.2:22 (ssh config
    /// ~/.ssh/config:4)"); a ProxyCommand says it is refused. None = dialled directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
    /// Per bastion: where its user, port and key came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jump_sources: Vec<String>,
    pub sources: AccessSources,
    /// The sources as the text says them (short).
    #[serde(skip)]
    short: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessSources {
    pub user: String,
    pub host: String,
    pub port: String,
    pub identity: String,
}

impl Access {
    pub fn of(n: &Node) -> Access {
        let s = &n.ssh;
        Access {
            node: n.name.clone(),
            user: s.user.clone(),
            host: n.address.to_string(),
            port: s.port,
            identity: match &s.identity_file {
                Some(p) => home_short(&p.display().to_string()),
                None => "ssh-agent".into(),
            },
            jump: s.jump.as_ref().map(|j| home_short_in(&j.describe())),
            jump_sources: s
                .jump
                .iter()
                .flat_map(|j| j.hops())
                .map(|h| {
                    let key = h
                        .identity_file
                        .as_ref()
                        .map(|p| home_short(&p.display().to_string()))
                        .unwrap_or_else(|| "ssh-agent".into());
                    home_short_in(&format!("bastion {} key {key}: {}", h.spec, h.sources))
                })
                .collect(),
            sources: AccessSources {
                user: s.sources.user.to_string(),
                host: s.sources.host.to_string(),
                port: s.sources.port.to_string(),
                identity: s.sources.identity.to_string(),
            },
            short: short_sources(n),
        }
    }

    /// "user@host:port", IPv6 bracketed.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }

    /// "user :2 · port :3 · key ssh.identity_file (ssh config F)": config lines by number, the
    /// file named once.
    pub fn sources_line(&self) -> &str {
        &self.short
    }
}

fn short_sources(n: &Node) -> String {
    let src = &n.ssh.sources;
    let mut files: Vec<String> = Vec::new();
    let mut parts = Vec::new();
    for (what, source) in [
        ("user", &src.user),
        ("port", &src.port),
        ("key", &src.identity),
    ] {
        let said = match source {
            Source::Inventory(key) => key.clone(),
            Source::Default => "default".into(),
            Source::SshConfig(at) => {
                let f = home_short(&at.file.display().to_string());
                if !files.contains(&f) {
                    files.push(f);
                }
                if files.len() == 1 && files[0] == home_short(&at.file.display().to_string()) {
                    format!(":{}", at.line)
                } else {
                    at.to_string()
                }
            }
        };
        parts.push(format!("{what} {said}"));
    }
    let mut line = parts.join(" · ");
    if let Some(f) = files.first() {
        let _ = write!(line, " (ssh config {f})");
    }
    line
}

/// Every host of the cluster (or only `node`), LB first.
pub fn of_cluster(c: &Cluster, node: Option<&str>) -> Vec<Access> {
    c.all_hosts()
        .filter(|n| node.is_none_or(|name| n.name == name))
        .map(Access::of)
        .collect()
}

/// The text block `kha-tui plan` and preflight print first.
pub fn to_text(access: &[Access]) -> String {
    let mut s = String::from("How kha-tui reaches each node (and where each setting came from):\n");
    let w = access.iter().map(|a| a.node.len()).max().unwrap_or(0);
    for a in access {
        let _ = writeln!(s, "  {:w$}  {}  key {}", a.node, a.address(), a.identity);
        let _ = writeln!(s, "  {:w$}    {}", "", a.sources_line());
        if let Some(j) = &a.jump {
            let _ = writeln!(s, "  {:w$}    {j}", "");
        }
        for b in &a.jump_sources {
            let _ = writeln!(s, "  {:w$}      {b}", "");
        }
    }
    s
}

/// Every `$HOME/` in a text shown as `~/`.
fn home_short_in(text: &str) -> String {
    match std::env::var("HOME") {
        Ok(h) if !h.is_empty() && h != "/" => text.replace(&format!("{h}/"), "~/"),
        _ => text.to_string(),
    }
}

/// `$HOME/x` shown as `~/x`.
fn home_short(p: &str) -> String {
    match std::env::var("HOME") {
        Ok(h) if !h.is_empty() && h != "/" => match p.strip_prefix(&format!("{h}/")) {
            Some(rest) => format!("~/{rest}"),
            None => p.to_string(),
        },
        _ => p.to_string(),
    }
}
