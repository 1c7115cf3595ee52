//! The resolver against OpenSSH's own answers: for each config file and host, `ssh -G -F FILE
//! HOST` (no network needed) and kha-tui must agree on every option kha-tui uses.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::tokens::{TokenContext, expand};
use super::*;

/// The passwd entry OpenSSH uses for `~` and %u (not $HOME).
fn me() -> (String, u32, String) {
    let uid = unsafe { libc::getuid() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    for l in passwd.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() > 5 && f[2] == uid.to_string() {
            return (f[0].to_string(), uid, f[5].to_string());
        }
    }
    panic!("uid {uid} not in /etc/passwd");
}

const KEYS: [&str; 11] = [
    "user",
    "hostname",
    "port",
    "identityfile",
    "identitiesonly",
    "proxyjump",
    "proxycommand",
    "stricthostkeychecking",
    "connecttimeout",
    "serveraliveinterval",
    "userknownhostsfile",
];

fn openssh(file: &Path, host: &str, home: &str) -> BTreeMap<String, String> {
    let out = Command::new("ssh")
        .args(["-G", "-F"])
        .arg(file)
        .arg(host)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssh-client (ssh) is needed for these tests");
    assert!(
        out.status.success(),
        "ssh -G: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let Some((k, v)) = l.split_once(' ') else {
            continue;
        };
        if !KEYS.contains(&k) {
            continue;
        }
        // ssh -G prints IdentityFile unexpanded; kha-tui's parser crate expands `~`.
        let v = if k == "identityfile" {
            super::tokens::tilde(v, Path::new(home))
        } else {
            v.to_string()
        };
        m.entry(k.to_string())
            .and_modify(|e| {
                e.push('\n');
                e.push_str(&v)
            })
            .or_insert(v);
    }
    m
}

/// kha-tui's answer in `ssh -G`'s words (its defaults where the config is silent).
fn ours(cfg: &SshConfig, host: &str) -> BTreeMap<String, String> {
    let (local_user, uid, home) = me();
    let r = cfg.resolve(host, &local_user);
    let hostname = r
        .host_name
        .as_ref()
        .map(|h| h.value.replace("%h", host))
        .unwrap_or_else(|| host.to_string());
    let user = r
        .user
        .as_ref()
        .map(|u| u.value.clone())
        .unwrap_or(local_user.clone());
    let port = r.port.as_ref().map(|p| p.value).unwrap_or(22);
    let cx = TokenContext {
        home: home.clone(),
        host: hostname.clone(),
        original_host: host.to_string(),
        port,
        remote_user: user.clone(),
        local_user,
        uid,
        local_host: String::new(),
    };
    let mut m = BTreeMap::new();
    m.insert("user".into(), user);
    m.insert("hostname".into(), hostname);
    m.insert("port".into(), port.to_string());
    let ids: Vec<String> = if r.identity_files.is_empty() {
        [
            "id_rsa",
            "id_ecdsa",
            "id_ecdsa_sk",
            "id_ed25519",
            "id_ed25519_sk",
            "id_xmss",
            "id_dsa",
        ]
        .iter()
        .map(|k| format!("{home}/.ssh/{k}"))
        .collect()
    } else {
        r.identity_files.iter().map(|f| f.value.clone()).collect()
    };
    m.insert("identityfile".into(), ids.join("\n"));
    let only = r.identities_only.as_ref().is_some_and(|o| o.value);
    m.insert(
        "identitiesonly".into(),
        if only { "yes" } else { "no" }.into(),
    );
    if let Some(j) = r.jump() {
        m.insert("proxyjump".into(), j.value.clone());
    }
    if let Some(c) = r.proxy_command() {
        m.insert("proxycommand".into(), c.value.clone());
    }
    let strict = r
        .strict_host_keys
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or("ask");
    m.insert("stricthostkeychecking".into(), strict.into());
    let ct = r
        .connect_timeout
        .as_ref()
        .map(|t| t.value.as_secs().to_string());
    m.insert("connecttimeout".into(), ct.unwrap_or("none".into()));
    let sa = r
        .server_alive_interval
        .as_ref()
        .map(|t| t.value.as_secs())
        .unwrap_or(0);
    m.insert("serveraliveinterval".into(), sa.to_string());
    let kh: Vec<String> = match &r.user_known_hosts {
        Some(f) => f.value.iter().map(|p| expand(p, &cx).unwrap()).collect(),
        None => vec![
            format!("{home}/.ssh/known_hosts"),
            format!("{home}/.ssh/known_hosts2"),
        ],
    };
    m.insert("userknownhostsfile".into(), kh.join(" "));
    m
}

fn agree(config: &str, extra: &[(&str, &str)], hosts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    std::fs::write(&file, config).unwrap();
    for (name, text) in extra {
        std::fs::write(
            dir.path().join(name),
            text.replace("$DIR", &dir.path().display().to_string()),
        )
        .unwrap();
    }
    let config = config.replace("$DIR", &dir.path().display().to_string());
    std::fs::write(&file, &config).unwrap();
    let (_, _, home) = me();
    let cfg = SshConfig::load(&file, Path::new(&home)).unwrap();
    for host in hosts {
        assert_eq!(
            ours(&cfg, host),
            openssh(&file, host, &home),
            "kha-tui and `ssh -G` disagree for {host} with\n{config}"
        );
    }
}

#[test]
fn host_patterns_wildcards_and_negation_match_openssh() {
    agree(
        "Host master* !master9\n  User alice\n  Port 2222\n\
         Host worker? 192.168.60.*\n  User bob\n  IdentityFile ~/.ssh/workers\n\
         Host *\n  User carol\n  Port 2200\n  ConnectTimeout 9\n",
        &[],
        &[
            "master1",
            "master9",
            "worker1",
            "worker12",
            "192.168.60.4",
            "lb",
        ],
    );
}

#[test]
fn first_value_wins_and_identity_files_accumulate_like_openssh() {
    agree(
        "Port 2022\n\
         Host master1\n  Port 2023\n  Port 2024\n  IdentityFile /k/one\n  IdentityFile /k/two\n\
         Host *\n  IdentityFile /k/one\n  IdentityFile /k/%h-%r\n  User u1\n  User u2\n  \
         ServerAliveInterval 30\n  ServerAliveInterval 5\n",
        &[],
        &["master1", "other"],
    );
}

#[test]
fn hostname_and_match_host_user_match_openssh() {
    agree(
        "Host m1\n  HostName 192.168.70.11\n\
         Host m2\n  HostName %h.lab.internal\n  User deploy\n\
         Match host 192.168.70.*\n  User net\n  Port 2201\n\
         Match host *.lab.internal user deploy\n  Port 2202\n  IdentitiesOnly yes\n\
         Match originalhost m3 !user root\n  Port 2203\n\
         Match user nobody-here\n  Port 2299\n\
         Match all\n  StrictHostKeyChecking accept-new\n",
        &[],
        &["m1", "m2", "m3", "m4"],
    );
}

#[test]
fn tokens_in_known_hosts_and_other_options_match_openssh() {
    agree(
        "Host k*\n  User ops\n  Port 2100\n  UserKnownHostsFile ~/kh/%n_%h_%p_%r_%u_%i %d/x/%%\n  \
         StrictHostKeyChecking yes\n  ProxyJump jump@bastion:2222,second\n\
         Host n*\n  StrictHostKeyChecking no\n  ProxyJump none\n\
         Host *\n  ProxyJump other\n  IdentityFile \"/k/with space\"\n  ConnectTimeout=4\n",
        &[],
        &["k1", "n1", "z1"],
    );
}

#[test]
fn include_is_read_in_place_like_openssh() {
    agree(
        "Host master*\n  Include $DIR/inc.conf\n  User outer\n\
         Host *\n  Include $DIR/inc2.conf\n",
        &[
            ("inc.conf", "Port 2301\nHost master2\n  User inner2\n"),
            ("inc2.conf", "Port 2302\nIdentityFile /k/inc2\n"),
        ],
        &["master1", "master2", "lb"],
    );
}

/// ProxyCommand, and whichever of it and ProxyJump comes first (the other is ignored, and
/// `none` still counts as first), as OpenSSH resolves them.
#[test]
fn proxy_command_and_proxy_jump_match_openssh() {
    agree(
        "Host a\n  ProxyCommand nc bastion 22\n\
         Host b\n  ProxyJump j1\n  ProxyCommand nc x 22\n\
         Host c\n  ProxyCommand=ssh -W %h:%p bastion\n  ProxyJump j2\n\
         Host d\n  ProxyCommand none\n  ProxyJump j3\n",
        &[],
        &["a", "b", "c", "d", "e"],
    );
    let cfg = SshConfig::parse(
        "Host c\n  ProxyCommand ssh -W %h:%p bastion\n  ProxyJump j2\n",
        Path::new("/cfg"),
        Path::new("/home/op"),
    )
    .unwrap();
    let p = cfg.resolve("c", "op").proxy().unwrap();
    assert_eq!(p.value, "ProxyCommand ssh -W %h:%p bastion");
    assert_eq!(p.at.to_string(), "/cfg:2");
}

#[test]
fn every_value_names_its_file_and_line() {
    let text = "# comment\nHost master*\n  User alice\n\nHost *\n  User bob\n  Port 2022\n";
    let cfg = SshConfig::parse(text, Path::new("/cfg"), Path::new("/home/op")).unwrap();
    let r = cfg.resolve("master1", "op");
    assert_eq!(r.user.as_ref().unwrap().at.to_string(), "/cfg:3");
    assert_eq!(r.port.as_ref().unwrap().at.to_string(), "/cfg:7");
    assert_eq!(r.jump(), None);
}

#[test]
fn bad_lines_and_unsupported_match_are_refused_with_their_line() {
    let home = Path::new("/home/op");
    let e = SshConfig::parse("Host a\n  Port many\n", Path::new("/cfg"), home).unwrap_err();
    assert_eq!(e.at.line, 2, "{e}");
    let e = SshConfig::parse("Match exec \"true\"\n", Path::new("/cfg"), home).unwrap_err();
    assert!(
        e.to_string().contains("/cfg:1") && e.message.contains("Match exec"),
        "{e}"
    );
    let e = SshConfig::parse("StrictHostKeyChecking maybe\n", Path::new("/cfg"), home).unwrap_err();
    assert!(e.message.contains("StrictHostKeyChecking"), "{e}");
}
