//! Effective SSH settings per node: the inventory's values win, then the operator's OpenSSH
//! config (`[ssh] config`, else `~/.ssh/config`), then kha-tui's defaults. Each keeps its source.

use std::path::{Path, PathBuf};

use super::ssh_config::tokens::{self, TokenContext};
use super::ssh_config::{ConfigError, SshConfig};
use super::ssh_jump::{self, Jump, NodeKey, Route};
use super::validate::{Issue, Severity};
use super::{Cluster, InventoryFile, Node, Source};

/// The ssh config this inventory uses, if any: `[ssh] config` (must exist), else
/// `~/.ssh/config` when it exists.
pub fn config_for(file: &InventoryFile) -> Result<Option<SshConfig>, Issue> {
    config_under(file, &local_home())
}

fn local_home() -> PathBuf {
    PathBuf::from(tokens::local_context().2)
}

/// [`config_for`] with `home` as the operator's home directory.
fn config_under(file: &InventoryFile, home: &Path) -> Result<Option<SshConfig>, Issue> {
    let home = home.to_path_buf();
    let (path, explicit) = match &file.ssh.config {
        Some(p) => (PathBuf::from(tokens::tilde(p, &home)), true),
        None => (home.join(".ssh/config"), false),
    };
    if !explicit && !path.exists() {
        return Ok(None);
    }
    SshConfig::load(&path, &home)
        .map(Some)
        .map_err(|e| issue("ssh.config", e.to_string(), fix_for(explicit)))
}

fn fix_for(explicit: bool) -> &'static str {
    if explicit {
        "fix that line, or point ssh.config at another file"
    } else {
        "fix that line, or set ssh.config in the inventory to a config kha-tui can read"
    }
}

/// Fills every node's settings the inventory left unset from `cfg`, then checks that each node
/// has a way to authenticate.
pub fn apply(cluster: &mut Cluster, cfg: Option<&SshConfig>) -> Result<(), Vec<Issue>> {
    let mut issues = Vec::new();
    let mut no_auth = Vec::new();
    let lb = std::iter::once(&mut cluster.lb);
    let backup = cluster.lb_pair.as_mut().map(|p| &mut p.backup);
    for node in lb.chain(backup).chain(cluster.nodes.iter_mut()) {
        if let Some(cfg) = cfg
            && let Err(e) = apply_one(node, cfg)
        {
            issues.push(issue(
                "ssh.config",
                format!("{}: {e}", node.name),
                fix_for(true),
            ));
        }
        if node.ssh.identity_file.is_none() && !node.ssh.use_agent {
            no_auth.push(node.name.clone());
        }
    }
    if !no_auth.is_empty() {
        issues.push(issue(
            "ssh.identity_file",
            format!(
                "no way to authenticate is set for {} (no identity_file in the inventory, no \
                 IdentityFile for it in the ssh config)",
                no_auth.join(", ")
            ),
            "set identity_file = \"~/.ssh/id_ed25519\" or use_agent = true",
        ));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

fn apply_one(node: &mut Node, cfg: &SshConfig) -> Result<(), ConfigError> {
    let (local_user, uid, _, local_host) = tokens::local_context();
    let r = cfg.resolve(&node.name, &local_user);
    let s = &mut node.ssh;
    if s.sources.user == Source::Default
        && let Some(u) = &r.user
    {
        // The same rule as the inventory's user: it reaches the node's scripts.
        if !super::validate::is_user_name(&u.value) {
            return Err(ConfigError {
                at: u.at.clone(),
                message: format!(
                    "User {:?} is not a Linux user name (lowercase letters, digits, '_' and \
                     '-', starting with a letter or '_')",
                    u.value
                ),
            });
        }
        s.user = u.value.clone();
        s.sources.user = Source::SshConfig(u.at.clone());
    }
    if s.sources.port == Source::Default
        && let Some(p) = &r.port
    {
        s.port = p.value;
        s.sources.port = Source::SshConfig(p.at.clone());
    }
    // %h is the address kha-tui dials (the inventory's), %n the node's name.
    let cx = TokenContext {
        home: cfg.home().display().to_string(),
        host: node.address.to_string(),
        original_host: node.name.clone(),
        port: s.port,
        remote_user: s.user.clone(),
        local_user,
        uid,
        local_host,
    };
    let expand = |raw: &str, at: &super::ssh_config::At| {
        tokens::expand(raw, &cx).map_err(|message| ConfigError {
            at: at.clone(),
            message,
        })
    };
    // `use_agent` does not name a key: a config's IdentityFile is still used (before the agent).
    if s.identity_file.is_none() && !r.identity_files.is_empty() {
        // OpenSSH tries each in turn: the first that exists (else the first) is the key, the
        // others that exist follow it (`more_identity_files`, tried by the transport).
        let mut files = Vec::new();
        for f in &r.identity_files {
            files.push((PathBuf::from(expand(&f.value, &f.at)?), f.at.clone()));
        }
        let (path, at) = files
            .iter()
            .find(|(p, _)| Path::new(p).exists())
            .unwrap_or(&files[0])
            .clone();
        s.more_identity_files = files
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p != &path && p.exists())
            .collect();
        s.identity_file = Some(path);
        s.sources.identity = Source::SshConfig(at);
    }
    s.identities_only = r.identities_only.as_ref().is_some_and(|o| o.value);
    let key = NodeKey {
        identity_file: s.identity_file.as_deref(),
        use_agent: s.use_agent,
    };
    match &mut s.jump {
        // The inventory's jump wins; its hops are resolved with the config now.
        Some(j) => {
            if let Route::Hops(_) = j.route {
                j.route = Route::Hops(ssh_jump::resolve_route(&j.specs, cfg, &key)?);
            }
        }
        None => s.jump = config_jump(&r, cfg, &key)?,
    }
    if let Some(k) = &r.user_known_hosts {
        s.known_hosts_files = k
            .value
            .iter()
            .map(|p| expand(p, &k.at).map(PathBuf::from))
            .collect::<Result<_, _>>()?;
    }
    s.strict_host_keys = r.strict_host_keys.as_ref().map(|x| x.value);
    s.connect_timeout = r.connect_timeout.as_ref().map(|x| x.value);
    s.keepalive = r.server_alive_interval.as_ref().map(|x| x.value);
    Ok(())
}

/// The ssh config's `ProxyJump` (its hops resolved with the config too) or `ProxyCommand`.
fn config_jump(
    r: &super::ssh_config::Resolved,
    cfg: &SshConfig,
    key: &NodeKey,
) -> Result<Option<Jump>, ConfigError> {
    if let Some(j) = r.jump() {
        let specs = ssh_jump::parse(&j.value)
            .map_err(|message| ConfigError {
                at: j.at.clone(),
                message: format!("ProxyJump {message}"),
            })?
            .unwrap_or_default();
        return Ok(Some(Jump {
            written: j.value.clone(),
            source: Source::SshConfig(j.at.clone()),
            route: Route::Hops(ssh_jump::resolve_route(&specs, cfg, key)?),
            specs,
        }));
    }
    Ok(r.proxy_command().map(|c| Jump {
        written: c.value.clone(),
        source: Source::SshConfig(c.at.clone()),
        route: Route::Command,
        specs: Vec::new(),
    }))
}

fn issue(key: &str, message: String, fix: &str) -> Issue {
    Issue {
        severity: Severity::Error,
        key: key.into(),
        message,
        fix: fix.into(),
    }
}

/// `validate::check`, then the ssh config: the cluster as the engine will reach it.
pub fn check(file: &InventoryFile) -> Result<(Cluster, Vec<Issue>), Vec<Issue>> {
    check_under(file, &local_home())
}

/// [`check`] with `home` as the operator's home directory.
fn check_under(file: &InventoryFile, home: &Path) -> Result<(Cluster, Vec<Issue>), Vec<Issue>> {
    let (mut cluster, mut warnings) = super::validate::check(file)?;
    let cfg = match config_under(file, home) {
        Ok(cfg) => cfg,
        // The operator's own ~/.ssh/config, which the inventory does not name, with a line
        // kha-tui cannot use (a `Match exec`, say): it is not used at all, rather than in
        // part, and that is said. Blocking here would leave the wizard with no field to fix.
        Err(e) if file.ssh.config.is_none() => {
            warnings.push(Issue {
                severity: Severity::Warning,
                key: "ssh.config".into(),
                message: format!(
                    "~/.ssh/config is not used: {}; every node is reached with the \
                     inventory's settings and kha-tui's defaults",
                    e.message
                ),
                fix: "set ssh.config in the inventory to a config kha-tui can read, or fix \
                      that line"
                    .into(),
            });
            None
        }
        Err(e) => return Err(vec![e]),
    };
    apply(&mut cluster, cfg.as_ref()).map_err(|mut e| {
        e.extend(warnings.iter().cloned());
        e
    })?;
    Ok((cluster, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::ssh_config::StrictHostKeys;

    const CONFIG: &str = "Host master*\n  User ops\n  Port 2222\n  IdentityFile /keys/%n\n\
                          Host master2\n  ProxyJump bastion\n\
                          Host master3\n  ProxyCommand nc bastion 22\n\
                          Host *\n  User other\n  UserKnownHostsFile /kh/%h\n  \
                          StrictHostKeyChecking accept-new\n  ConnectTimeout 7\n  \
                          ServerAliveInterval 11\n";

    fn cluster(edit: impl Fn(&mut InventoryFile)) -> Result<Cluster, Vec<Issue>> {
        let mut file = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
        file.ssh.user = None;
        file.ssh.port = None;
        file.ssh.identity_file = None;
        edit(&mut file);
        let (mut c, _) = crate::inventory::validate::check(&file)?;
        let cfg = SshConfig::parse(CONFIG, Path::new("/cfg"), Path::new("/home/op")).unwrap();
        apply(&mut c, Some(&cfg))?;
        Ok(c)
    }

    #[test]
    fn the_config_fills_what_the_inventory_leaves_unset() {
        let c = cluster(|f| f.ssh.use_agent = true).unwrap();
        let m1 = c.host("master1").unwrap();
        assert_eq!((m1.ssh.user.as_str(), m1.ssh.port), ("ops", 2222));
        assert_eq!(
            m1.ssh.identity_file.as_deref(),
            Some(Path::new("/keys/master1"))
        );
        assert_eq!(m1.ssh.sources.user.to_string(), "ssh config /cfg:2");
        assert_eq!(m1.ssh.sources.port.to_string(), "ssh config /cfg:3");
        assert_eq!(m1.ssh.sources.identity.to_string(), "ssh config /cfg:4");
        assert_eq!(
            m1.ssh.sources.host.to_string(),
            "inventory nodes[0].address"
        );
        let addr = m1.address.to_string();
        assert_eq!(
            m1.ssh.known_hosts_files,
            vec![PathBuf::from(format!("/kh/{addr}"))]
        );
        assert_eq!(m1.ssh.strict_host_keys, Some(StrictHostKeys::AcceptNew));
        assert_eq!(m1.ssh.connect_timeout.map(|d| d.as_secs()), Some(7));
        assert_eq!(m1.ssh.keepalive.map(|d| d.as_secs()), Some(11));
        assert_eq!(m1.ssh.jump, None);
        let m2 = c.host("master2").unwrap();
        let j = m2.ssh.jump.as_ref().unwrap();
        assert_eq!(j.source.to_string(), "ssh config /cfg:6");
        assert_eq!(j.written, "bastion");
        // The bastion matches `Host *` only: its user from there, kha-tui has no key for it
        // but the node's (the agent here).
        let hop = &j.hops()[0];
        assert_eq!(
            (hop.host.as_str(), hop.user.as_str(), hop.port),
            ("bastion", "other", 22)
        );
        // A ProxyCommand is kept to be refused: dialling the node directly would go around
        // what the operator set up.
        let m3 = c.host("master3").unwrap();
        let proxy = m3.ssh.jump.as_ref().unwrap();
        assert_eq!(
            (
                proxy.written.as_str(),
                proxy.source.to_string().as_str(),
                &proxy.route
            ),
            ("nc bastion 22", "ssh config /cfg:8", &Route::Command)
        );
        // The LB matches only `Host *`: its user from there, its port kha-tui's default, and
        // the agent (use_agent) since the config names no key for it.
        let lb = &c.lb;
        assert_eq!((lb.ssh.user.as_str(), lb.ssh.port), ("other", 22));
        assert_eq!(lb.ssh.sources.port, Source::Default);
        assert_eq!(lb.ssh.identity_file, None);
        assert_eq!(
            lb.ssh.sources.identity.to_string(),
            "inventory ssh.use_agent"
        );
    }

    /// `[[nodes]] jump` beats `[ssh] jump`, which beats the config's ProxyJump (and
    /// ProxyCommand); "none" means directly; the load balancer takes no `[ssh] jump`.
    #[test]
    fn the_inventorys_jump_wins_over_the_configs() {
        let c = cluster(|f| {
            f.ssh.use_agent = true;
            f.ssh.jump = Some("ops@192.0.2.9:2201".into());
            f.nodes[1].jump = Some("none".into());
            f.nodes[2].jump = Some("a@one,b@two".into());
        })
        .unwrap();
        let m1 = c.host("master1").unwrap().ssh.jump.clone().unwrap();
        assert_eq!(m1.source.to_string(), "inventory ssh.jump");
        let h = &m1.hops()[0];
        assert_eq!(
            (h.user.as_str(), h.host.as_str(), h.port),
            ("ops", "192.0.2.9", 2201)
        );
        assert_eq!(m1.describe(), "via ops@192.0.2.9:2201 (inventory ssh.jump)");
        let m2 = c.host("master2").unwrap().ssh.jump.clone().unwrap();
        assert_eq!(m2.route, Route::Direct, "none beats the config's ProxyJump");
        assert_eq!(m2.source.to_string(), "inventory nodes[1].jump");
        let m3 = c.host("master3").unwrap().ssh.jump.clone().unwrap();
        assert_eq!(m3.hops().len(), 2, "beats the config's ProxyCommand");
        assert!(
            m3.describe().starts_with("via a@one:22 then b@two:22"),
            "{}",
            m3.describe()
        );
        assert_eq!(c.lb.ssh.jump, None);
    }

    /// Every IdentityFile that exists is kept, in order: the first is the key, the others are
    /// tried after it.
    #[test]
    fn the_other_existing_identity_files_follow_the_first() {
        let d = tempfile::tempdir().unwrap();
        for k in ["a", "c"] {
            std::fs::write(d.path().join(k), "x").unwrap();
        }
        let text = format!(
            "Host *\n  IdentityFile {0}/missing\n  IdentityFile {0}/a\n  IdentityFile {0}/b\n  \
             IdentityFile {0}/c\n",
            d.path().display()
        );
        let mut file = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
        file.ssh.identity_file = None;
        let (mut c, _) = crate::inventory::validate::check(&file).unwrap();
        let cfg = SshConfig::parse(&text, Path::new("/cfg"), Path::new("/home/op")).unwrap();
        apply(&mut c, Some(&cfg)).unwrap();
        let m1 = &c.host("master1").unwrap().ssh;
        assert_eq!(
            m1.identity_file.as_deref(),
            Some(d.path().join("a").as_path())
        );
        assert_eq!(m1.more_identity_files, vec![d.path().join("c")]);
    }

    #[test]
    fn a_bad_jump_is_an_error_on_its_key() {
        let mut file = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
        file.nodes[0].jump = Some("ops@bastion:99999".into());
        let e = crate::inventory::validate::check(&file).unwrap_err();
        assert!(
            e.iter()
                .any(|i| i.key == "nodes[0].jump" && i.message.contains("99999")),
            "{e:?}"
        );
    }

    #[test]
    fn inventory_values_override_the_config() {
        let c = cluster(|f| {
            f.ssh.user = Some("admin".into());
            f.ssh.identity_file = Some("/inv/key".into());
            f.nodes[0].port = Some(2200);
        })
        .unwrap();
        let m1 = c.host(&c.nodes[0].name.clone()).unwrap();
        assert_eq!((m1.ssh.user.as_str(), m1.ssh.port), ("admin", 2200));
        assert_eq!(m1.ssh.identity_file.as_deref(), Some(Path::new("/inv/key")));
        assert_eq!(m1.ssh.sources.user.to_string(), "inventory ssh.user");
        assert_eq!(m1.ssh.sources.port.to_string(), "inventory nodes[0].port");
        assert_eq!(
            m1.ssh.sources.identity.to_string(),
            "inventory ssh.identity_file"
        );
    }

    #[test]
    fn a_node_without_any_key_is_named() {
        let e = cluster(|_| {}).unwrap_err();
        let auth = e.iter().find(|i| i.key == "ssh.identity_file").unwrap();
        assert!(auth.message.contains("lb"), "{auth}");
        assert!(!auth.message.contains("master1"), "{auth}");
    }

    /// A user from the config is held to the inventory's rule for user names.
    #[test]
    fn a_user_from_the_config_is_checked_like_the_inventorys() {
        let mut c = crate::inventory::validate::check(
            &crate::inventory::parse(crate::inventory::EXAMPLE).unwrap(),
        )
        .unwrap()
        .0;
        for n in c.nodes.iter_mut().chain(std::iter::once(&mut c.lb)) {
            n.ssh.sources.user = Source::Default;
        }
        let cfg = SshConfig::parse(
            "Host master1\n  User -x\n",
            Path::new("/cfg"),
            Path::new("/home/op"),
        )
        .unwrap();
        let e = apply(&mut c, Some(&cfg)).unwrap_err();
        assert!(
            e.iter().any(|i| i.key == "ssh.config"
                && i.message.contains("master1")
                && i.message.contains("/cfg:2")
                && i.message.contains("not a Linux user name")),
            "{e:?}"
        );
    }

    /// A `~/.ssh/config` the inventory does not name, with a line kha-tui cannot use, is
    /// left out as a whole with a warning that names the line: the operator's own ssh setup
    /// never blocks kha-tui (the wizard has no field for it). Named, the same file is an error.
    #[test]
    fn an_unusable_default_config_is_not_used_and_said() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
        std::fs::write(
            home.path().join(".ssh/config"),
            "Host *\n  User other\nMatch exec \"true\"\n  Port 2200\n",
        )
        .unwrap();
        let mut file = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
        file.ssh.user = None;
        let (c, warnings) = check_under(&file, home.path()).unwrap();
        let w = warnings.iter().find(|i| i.key == "ssh.config").unwrap();
        assert_eq!(w.severity, Severity::Warning);
        assert!(w.message.contains("~/.ssh/config is not used"), "{w}");
        assert!(w.message.contains(":3"), "names the line: {w}");
        assert_ne!(
            c.host("master1").unwrap().ssh.user,
            "other",
            "not used in part"
        );
        file.ssh.config = Some(home.path().join(".ssh/config").display().to_string());
        let e = check_under(&file, home.path()).unwrap_err();
        assert!(
            e.iter()
                .any(|i| i.key == "ssh.config" && i.severity == Severity::Error),
            "{e:?}"
        );
    }

    #[test]
    fn a_named_config_that_cannot_be_read_is_an_error_on_ssh_config() {
        let mut file = crate::inventory::parse(crate::inventory::EXAMPLE).unwrap();
        file.ssh.config = Some("/nonexistent/kha-tui/ssh_config".into());
        let e = check(&file).unwrap_err();
        assert!(
            e.iter()
                .any(|i| i.key == "ssh.config"
                    && i.message.contains("/nonexistent/kha-tui/ssh_config")),
            "{e:?}"
        );
    }
}
