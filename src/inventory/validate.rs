//! Every rule an inventory must satisfy before anything runs. Each problem names the key
//! (`nodes[3].address`) and the fix. The TUI's forms run the same rules on every keystroke.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use super::file::InventoryFile;
use super::{
    Cluster, ContainerdSource, DEFAULT_DOCKER_BASE, DEFAULT_MANIFEST_BASE, DEFAULT_PACKAGE_BASE,
    LbPair, Node, Role, Source, SshSettings, SshSources,
};
use crate::versions::{self, Status, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// The inventory key, e.g. `nodes[3].address` or `cluster.pod_subnet`.
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}: {}", self.key, self.message)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

#[derive(Default)]
pub(super) struct Issues(Vec<Issue>);

impl Issues {
    pub(super) fn error(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Severity::Error, key, message, fix)
    }
    fn warn(&mut self, key: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Warning, key, message, fix)
    }
    fn push(
        &mut self,
        severity: Severity,
        key: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.0.push(Issue {
            severity,
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        })
    }
}

/// RFC 1123 label: lowercase alphanumerics and '-', starting and ending alphanumeric, ≤ 63.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// RFC 1123 subdomain: dot-separated labels, ≤ 253.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A Linux user name as useradd accepts it (and nothing a shell would interpret).
pub fn is_user_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// An http(s) URL limited to characters that are safe in a shell word and an apt source line.
fn check_url(v: &str) -> Result<(), String> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    // An IPv6 host is in brackets (`http://[fd00::1]:8080/`); a colon outside them is the port.
    let (h, port) = if let Some(b) = host.strip_prefix('[') {
        let (inner, after) = b
            .split_once(']')
            .ok_or("the IPv6 address in the host has no closing ]")?;
        if inner.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("[{inner}] is not an IPv6 address"));
        }
        match after {
            "" => (inner, None),
            _ => (
                inner,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or(format!("{after:?} after the IPv6 address is not :PORT"))?,
                ),
            ),
        }
    } else {
        match host.split_once(':') {
            Some((h, _))
                if h.parse::<std::net::Ipv6Addr>().is_ok() || host.matches(':').count() > 1 =>
            {
                return Err(format!("put the IPv6 address in brackets: [{host}]"));
            }
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        }
    };
    if h.is_empty() || !(is_dns_subdomain(&h.to_ascii_lowercase()) || h.parse::<IpAddr>().is_ok()) {
        return Err(format!("host {h:?} is not a DNS name or IP address"));
    }
    if let Some(p) = port
        && p.parse::<u16>().map(|p| p == 0).unwrap_or(true)
    {
        return Err(format!("port {p:?} is not 1-65535"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/%+=@,".contains(*c)))
    {
        return Err(format!("character {c:?} is not allowed in the path"));
    }
    Ok(())
}

/// The signing-key fingerprint pinned for a mirror (`<mirror>_key`), normalised to 40 uppercase
/// hex digits. A plain-http mirror must pin one: whoever can change the traffic could otherwise
/// hand the nodes a key of their own along with packages signed by it.
fn mirror_key(is: &mut Issues, mirror: &str, url: &str, key: &str, key_file: &str) -> String {
    let field = format!("cluster.{mirror}_key");
    let how = format!(
        "give the 40 hex digits of the fingerprint of the mirror's signing key (`gpg --show-keys {key_file}` prints it), e.g. {mirror}_key = \"0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567\""
    );
    let fpr: String = key
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !key.is_empty() && (fpr.len() != 40 || !fpr.bytes().all(|b| b.is_ascii_hexdigit())) {
        is.error(
            field,
            format!("{key:?} is not an OpenPGP key fingerprint"),
            how,
        );
    } else if key.is_empty() && url.starts_with("http://") {
        is.error(
            field,
            format!(
                "{mirror} {url} is plain http, so its signing key could be swapped on the way and is not pinned"
            ),
            format!("{how}; or use an https mirror"),
        );
    }
    fpr
}

/// The sums the Calico manifests are checked against: both pinned in the inventory (64 hex
/// digits each), else the versions table's for `calico`, else none.
fn manifest_sums(
    is: &mut Issues,
    c: &super::file::ClusterSection,
    calico: Option<&str>,
) -> Option<crate::versions::CalicoSums> {
    let pins = [
        (
            "manifest_crds_sha256",
            "operator-crds.yaml",
            &c.manifest_crds_sha256,
        ),
        (
            "manifest_operator_sha256",
            "tigera-operator.yaml",
            &c.manifest_operator_sha256,
        ),
    ];
    let mut ok = true;
    for (key, file, v) in pins {
        let other = if key == "manifest_crds_sha256" {
            &c.manifest_operator_sha256
        } else {
            &c.manifest_crds_sha256
        };
        let how = format!(
            "give the sha256 of {file} as the manifest source serves it (`curl -fsSL URL | sha256sum`), 64 hex digits, or leave both manifest_crds_sha256 and manifest_operator_sha256 empty"
        );
        if !v.is_empty() && !crate::versions::is_sha256(&v.to_ascii_lowercase()) {
            is.error(
                format!("cluster.{key}"),
                format!("{v:?} is not a sha256 (64 hex digits)"),
                how,
            );
            ok = false;
        } else if v.is_empty() && !other.is_empty() {
            is.error(
                format!("cluster.{key}"),
                "is empty while the other manifest's sum is pinned: both are checked or neither is pinned",
                how,
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    if !c.manifest_crds_sha256.is_empty() {
        return Some(crate::versions::CalicoSums {
            version: calico.unwrap_or_default().to_string(),
            operator_crds: c.manifest_crds_sha256.to_ascii_lowercase(),
            tigera_operator: c.manifest_operator_sha256.to_ascii_lowercase(),
        });
    }
    calico.and_then(|v| crate::versions::Table::get().calico_sums(v).cloned())
}

/// IPv6 clusters are refused, each field by name, until an IPv6 install is proven end to end
/// (the node scripts, the stand-in Kubernetes and the lab are IPv4 today). No half support: a
/// cluster that would install half-way is worse than a clear no before anything runs. Mirrors
/// may still be reached over IPv6 (`http://[…]/`).
fn refuse_ipv6(
    is: &mut Issues,
    addrs: &[(String, String, IpAddr)],
    pod: Option<IpNet>,
    svc: Option<IpNet>,
    endpoint: &str,
) {
    const FIX: &str = "IPv6 and dual-stack clusters are not supported yet; use IPv4";
    for (key, name, a) in addrs {
        if a.is_ipv6() {
            is.error(
                key.as_str(),
                format!("{name} has the IPv6 address {a}; kha-tui installs IPv4 clusters only"),
                format!("{FIX}: give {name}'s IPv4 address"),
            );
        }
    }
    for (key, net) in [("cluster.pod_subnet", pod), ("cluster.service_subnet", svc)] {
        if let Some(IpNet::V6(n)) = net {
            is.error(
                key,
                format!("{n} is an IPv6 subnet; kha-tui installs IPv4 clusters only"),
                format!("{FIX}: leave it empty for the default, or give an IPv4 CIDR"),
            );
        }
    }
    if let Ok(IpAddr::V6(a)) = endpoint.parse::<IpAddr>() {
        is.error(
            "load_balancer.endpoint",
            format!("{a} is an IPv6 address; kha-tui installs IPv4 clusters only"),
            format!("{FIX}: give a DNS name or the LB's IPv4 address"),
        );
    }
}

pub(super) fn parse_port(v: i64) -> Option<u16> {
    u16::try_from(v).ok().filter(|p| *p != 0)
}

/// Parses a CIDR and insists on a network address (no host bits).
fn parse_cidr(issues: &mut Issues, key: &str, v: &str) -> Option<IpNet> {
    match v.parse::<IpNet>() {
        Err(_) => {
            issues.error(
                key,
                format!("{v:?} is not a CIDR"),
                "write it as ADDRESS/PREFIX, e.g. 10.244.0.0/16",
            );
            None
        }
        Ok(net) if net.trunc() != net => {
            issues.error(
                key,
                format!("{v} has host bits set"),
                format!("use the network address: {}", net.trunc()),
            );
            None
        }
        Ok(net) => Some(net),
    }
}

/// All problems with an inventory, errors and warnings, in file order; the ssh config
/// included (a node it leaves without a way to authenticate, a line it cannot use).
pub fn issues(file: &InventoryFile) -> Vec<Issue> {
    match super::ssh_effective::check(file) {
        Ok((_, warnings)) => warnings,
        Err(all) => all,
    }
}

/// Validates and builds the typed cluster. `Err` holds every issue (errors and warnings).
pub fn check(file: &InventoryFile) -> Result<(Cluster, Vec<Issue>), Vec<Issue>> {
    let mut is = Issues::default();
    let c = &file.cluster;
    let table = Table::get();

    if !is_dns_label(&c.name) {
        is.error(
            "cluster.name",
            format!("{:?} is not an RFC 1123 label", c.name),
            "use lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit",
        );
    }

    // Kubernetes minor and the versions table.
    let minor = if c.kubernetes_version.is_empty() {
        Some(table.default_minor())
    } else if versions::minor_number(&c.kubernetes_version).is_none() {
        is.error(
            "cluster.kubernetes_version",
            format!("{:?} is not of the form 1.NN", c.kubernetes_version),
            format!(
                "give the minor only, e.g. \"{}\"; the patch is resolved on the nodes",
                table.default_minor().minor
            ),
        );
        None
    } else {
        match table.find(&c.kubernetes_version) {
            None => {
                let known: Vec<_> = table.kubernetes.iter().map(|m| m.minor.as_str()).collect();
                is.error(
                    "cluster.kubernetes_version",
                    format!(
                        "{} is not in kha-tui's versions table",
                        c.kubernetes_version
                    ),
                    format!("use one of {} (see `kha-tui versions`)", known.join(", ")),
                );
                None
            }
            Some(m) => {
                if m.status == Status::EndOfLife {
                    is.warn(
                        "cluster.kubernetes_version",
                        format!(
                            "Kubernetes {} is end of life and gets no more fixes",
                            m.minor
                        ),
                        format!("install {} instead", table.default_minor().minor),
                    );
                }
                Some(m)
            }
        }
    };

    if c.cni != "calico" {
        is.error(
            "cluster.cni",
            format!("{:?} is not supported", c.cni),
            "set cni = \"calico\"",
        );
    }
    let calico = match minor {
        Some(m) if c.calico_version.is_empty() => Some(m.default_calico().to_string()),
        Some(m) => {
            if m.calico.contains(&c.calico_version) {
                Some(c.calico_version.clone())
            } else {
                is.error(
                    "cluster.calico_version",
                    format!(
                        "Calico {:?} is not known to work with Kubernetes {}",
                        c.calico_version, m.minor
                    ),
                    format!("use one of {}", m.calico.join(", ")),
                );
                None
            }
        }
        None => None,
    };
    let calico_sums = manifest_sums(&mut is, c, calico.as_deref());

    let source = match c.containerd_source.as_str() {
        "auto" => Some(ContainerdSource::Auto),
        "distro" => Some(ContainerdSource::Distro),
        "docker" => Some(ContainerdSource::Docker),
        other => {
            is.error(
                "cluster.containerd_source",
                format!("{other:?} is not a containerd source"),
                "use auto, distro or docker",
            );
            None
        }
    };
    if let (Some(ContainerdSource::Distro), Some(m)) = (source, minor)
        && m.containerd_min.starts_with('2')
    {
        is.warn(
            "cluster.containerd_source",
            format!(
                "Kubernetes {} needs containerd >= {}, and Debian's and Ubuntu's released packages are 1.x; nodes whose apt offers less will be refused",
                m.minor, m.containerd_min
            ),
            "set containerd_source = \"auto\" to take Docker's containerd.io where needed",
        );
    }

    let mut mirror = |key: &str, v: &str, default: &str| -> String {
        if v.is_empty() {
            return default.to_string();
        }
        if let Err(why) = check_url(v) {
            is.error(
                format!("cluster.{key}"),
                format!("{v:?} is not a usable http(s) URL: {why}"),
                "give a URL like https://mirror.example.internal/path, or leave it empty",
            );
        }
        v.trim_end_matches('/').to_string()
    };
    let package_base = mirror("package_mirror", &c.package_mirror, DEFAULT_PACKAGE_BASE);
    let docker_base = mirror(
        "containerd_mirror",
        &c.containerd_mirror,
        DEFAULT_DOCKER_BASE,
    );
    let manifest_base = mirror("manifest_mirror", &c.manifest_mirror, DEFAULT_MANIFEST_BASE);
    let package_key = mirror_key(
        &mut is,
        "package_mirror",
        &c.package_mirror,
        &c.package_mirror_key,
        "Release.key",
    );
    let docker_key = mirror_key(
        &mut is,
        "containerd_mirror",
        &c.containerd_mirror,
        &c.containerd_mirror_key,
        "gpg",
    );

    let pod = parse_cidr(&mut is, "cluster.pod_subnet", &c.pod_subnet);
    let svc = parse_cidr(&mut is, "cluster.service_subnet", &c.service_subnet);
    if let (Some(p), Some(s)) = (pod, svc)
        && (p.contains(&s.network()) || s.contains(&p.network()))
    {
        is.error(
            "cluster.service_subnet",
            format!("service subnet {s} overlaps pod subnet {p}"),
            "choose disjoint ranges, e.g. pod 10.244.0.0/16 and service 10.96.0.0/12",
        );
    }
    if let Some(p @ IpNet::V4(v4)) = pod {
        {
            // kube-controller-manager hands each node a /24 out of the pod subnet.
            if v4.prefix_len() > 24 {
                is.error(
                    "cluster.pod_subnet",
                    format!("{p} is smaller than one node's /24 pod range"),
                    "use a prefix of /24 or shorter, e.g. /16",
                );
            }
            if "192.168.0.0/16"
                .parse::<IpNet>()
                .map(|lan| lan.contains(&p.network()) || p.contains(&lan.network()))
                .unwrap_or(false)
            {
                is.warn(
                    "cluster.pod_subnet",
                    format!("{p} overlaps 192.168.0.0/16, which most office and home LANs use; pods could not reach those networks"),
                    "use a range no network of yours uses, e.g. 10.244.0.0/16",
                );
            }
        }
    }
    if let Some(IpNet::V4(s)) = svc
        && s.prefix_len() < 12
    {
        is.error(
            "cluster.service_subnet",
            format!("{s} is too large: the apiserver allows at most a /12 for IPv4 services"),
            "use a prefix of /12 or longer, e.g. 10.96.0.0/12",
        );
    }

    // SSH defaults (unset ones come from the ssh config, see `ssh_effective`).
    let ssh = &file.ssh;
    if let Some(user) = &ssh.user
        && !is_user_name(user)
    {
        is.error(
            "ssh.user",
            format!("{user:?} is not a valid user name"),
            "use lowercase letters, digits, '_' and '-', starting with a letter or '_'",
        );
    }
    let default_port = ssh.port.map(parse_port);
    if let (Some(p), Some(None)) = (ssh.port, default_port) {
        is.error(
            "ssh.port",
            format!("{p} is out of range"),
            "use a port between 1 and 65535",
        );
    }
    if let Some(f) = &ssh.identity_file
        && f.trim().is_empty()
    {
        is.error(
            "ssh.identity_file",
            "is empty",
            "give the path of a private key, or remove the key and set use_agent = true",
        );
    }
    let settings =
        |prefix: &str, user: &Option<String>, port: Option<u16>, identity: &Option<String>| {
            let key = |k: &str| Source::Inventory(format!("{prefix}{k}"));
            let (user, user_src) = match (user, &ssh.user) {
                (Some(u), _) => (u.clone(), key("user")),
                (None, Some(u)) => (u.clone(), Source::Inventory("ssh.user".into())),
                (None, None) => ("root".to_string(), Source::Default),
            };
            let (port, port_src) = match (port, default_port.flatten()) {
                (Some(p), _) => (
                    p,
                    key(if prefix.starts_with("load_balancer.") {
                        "ssh_port"
                    } else {
                        "port"
                    }),
                ),
                (None, Some(p)) => (p, Source::Inventory("ssh.port".into())),
                (None, None) => (22, Source::Default),
            };
            let (identity_file, identity_src) = match (identity, &ssh.identity_file) {
                (Some(f), _) => (Some(expand_home(f)), key("identity_file")),
                (None, Some(f)) => (
                    Some(expand_home(f)),
                    Source::Inventory("ssh.identity_file".into()),
                ),
                (None, None) if ssh.use_agent => (None, Source::Inventory("ssh.use_agent".into())),
                (None, None) => (None, Source::Default),
            };
            SshSettings {
                use_agent: ssh.use_agent,
                sources: SshSources {
                    host: Source::Inventory(format!("{prefix}address")),
                    user: user_src,
                    port: port_src,
                    identity: identity_src,
                },
                ..SshSettings::direct(&user, port, identity_file)
            }
        };

    // Load balancer.
    let lbs = &file.load_balancer;
    if !is_dns_label(&lbs.name) {
        is.error(
            "load_balancer.name",
            format!("{:?} is not an RFC 1123 label", lbs.name),
            "use lowercase letters, digits and '-'",
        );
    }
    let lb_addr = match lbs.address.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            is.error(
                "load_balancer.address",
                format!("{:?} is not an IPv4 or IPv6 address", lbs.address),
                "give the LB node's address, e.g. 10.0.0.10",
            );
            None
        }
    };
    let api_port = parse_port(lbs.port);
    if api_port.is_none() {
        is.error(
            "load_balancer.port",
            format!("{} is out of range", lbs.port),
            "use a port between 1 and 65535, usually 6443",
        );
    }
    if !(lbs.endpoint.is_empty()
        || is_dns_subdomain(&lbs.endpoint)
        || lbs.endpoint.parse::<IpAddr>().is_ok())
    {
        is.error("load_balancer.endpoint", format!("{:?} is not a DNS name or IP address", lbs.endpoint), "use a lowercase DNS name such as lb.example.internal, or leave it empty to use the address");
    }
    check_user_port(
        &mut is,
        "load_balancer",
        &lbs.user,
        lbs.ssh_port,
        "ssh_port",
    );

    // Nodes.
    let mut names: HashMap<&str, String> = HashMap::new();
    let mut addrs: HashMap<IpAddr, String> = HashMap::new();
    names.insert(lbs.name.as_str(), "load_balancer.name".into());
    if let Some(a) = lb_addr {
        addrs.insert(a, "load_balancer.address".into());
    }
    let mut nodes = Vec::new();
    let mut all_addrs: Vec<(String, String, IpAddr)> = Vec::new();
    if let Some(a) = lb_addr {
        all_addrs.push(("load_balancer.address".into(), lbs.name.clone(), a));
    }
    let backup = super::pair::check_backup(&mut is, lbs, &mut names, &mut addrs);
    if let Some((name, a, _)) = &backup {
        all_addrs.push(("load_balancer.backup_address".into(), name.clone(), *a));
    }
    if file.nodes.is_empty() {
        is.error(
            "nodes",
            "no nodes are listed",
            "add [[nodes]] entries with name, address and role",
        );
    }
    for (i, n) in file.nodes.iter().enumerate() {
        let k = |f: &str| format!("nodes[{i}].{f}");
        if !is_dns_subdomain(&n.name) {
            is.error(
                k("name"),
                format!("{:?} is not an RFC 1123 name", n.name),
                "use lowercase letters, digits, '-' and '.', e.g. master1",
            );
        } else if let Some(prev) = names.get(n.name.as_str()) {
            is.error(
                k("name"),
                format!("{:?} is already used by {prev}", n.name),
                "give every node and the load balancer a unique name",
            );
        } else {
            names.insert(n.name.as_str(), k("name"));
        }
        let addr = match n.address.parse::<IpAddr>() {
            Err(_) => {
                is.error(
                    k("address"),
                    format!("{:?} is not an IPv4 or IPv6 address", n.address),
                    "give the node's address, e.g. 10.0.0.11",
                );
                None
            }
            Ok(a) => {
                if let Some(prev) = addrs.get(&a) {
                    is.error(
                        k("address"),
                        format!("{a} is already used by {prev}"),
                        "give every node and the load balancer its own address",
                    );
                } else {
                    addrs.insert(a, k("address"));
                }
                all_addrs.push((k("address"), n.name.clone(), a));
                Some(a)
            }
        };
        let role = match n.role.as_str() {
            "control-plane" => Some(Role::ControlPlane),
            "worker" => Some(Role::Worker),
            other => {
                is.error(
                    k("role"),
                    format!("{other:?} is not a role"),
                    "use \"control-plane\" or \"worker\"",
                );
                None
            }
        };
        let port = match n.port {
            Some(p) => match parse_port(p) {
                Some(p) => Some(p),
                None => {
                    is.error(
                        k("port"),
                        format!("{p} is out of range"),
                        "use a port between 1 and 65535",
                    );
                    None
                }
            },
            None => None,
        };
        check_user_port(&mut is, &format!("nodes[{i}]"), &n.user, None, "port");
        if let (Some(address), Some(role)) = (addr, role) {
            nodes.push(Node {
                name: n.name.clone(),
                address,
                role,
                ssh: {
                    let mut s = settings(&format!("nodes[{i}]."), &n.user, port, &n.identity_file);
                    let key = super::ssh_jump::NodeKey {
                        identity_file: s.identity_file.as_deref(),
                        use_agent: s.use_agent,
                    };
                    let (own, all) = (n.jump.as_deref(), ssh.jump.as_deref());
                    match super::ssh_jump::from_inventory(&format!("nodes[{i}]."), own, all, &key) {
                        Ok(j) => s.jump = j,
                        Err((k, e)) => is.error(
                            k,
                            e,
                            "write the jump host(s) as \"user@bastion:22\" (two: \"a,b\"), or \"none\"",
                        ),
                    }
                    s
                },
            });
        }
    }

    for (key, name, a) in &all_addrs {
        for (sk, net) in [("cluster.pod_subnet", pod), ("cluster.service_subnet", svc)] {
            if let Some(net) = net
                && net.contains(a)
            {
                let what = if sk.ends_with("pod_subnet") {
                    "pod"
                } else {
                    "service"
                };
                is.error(
                    sk,
                    format!("{what} subnet {net} contains {name} {a} ({key})"),
                    format!(
                        "choose a {what} subnet that no node or load balancer address falls in"
                    ),
                );
            }
        }
    }

    let vip = super::pair::check_vip(
        &mut is,
        lbs,
        &c.name,
        backup.is_some(),
        lb_addr,
        &addrs,
        [pod, svc],
    );
    if let Some((a, _)) = vip {
        all_addrs.push(("load_balancer.vip".into(), "the virtual address".into(), a));
    }

    refuse_ipv6(&mut is, &all_addrs, pod, svc, &lbs.endpoint);

    let cps = file
        .nodes
        .iter()
        .filter(|n| n.role == "control-plane")
        .count();
    if cps == 0 && !file.nodes.is_empty() {
        is.error(
            "nodes",
            "no node has role = \"control-plane\"",
            "mark at least one node (three for HA) as control-plane",
        );
    } else if cps == 1 || cps == 2 {
        is.warn(
            "nodes",
            format!(
                "{cps} control plane(s) is not highly available: etcd loses quorum when one fails"
            ),
            "use three control planes",
        );
    } else if cps >= 4 && cps % 2 == 0 {
        is.warn("nodes", format!("{cps} control planes: an even etcd member count tolerates no more failures than {}", cps - 1), format!("use {} or {} control planes", cps - 1, cps + 1));
    }
    let workers = file.nodes.iter().filter(|n| n.role == "worker").count();
    if let Some(IpNet::V4(p)) = pod
        && p.prefix_len() <= 24
        && (cps + workers) as u64 > 1u64 << (24 - p.prefix_len())
    {
        is.error(
            "cluster.pod_subnet",
            format!(
                "{p} holds {} node ranges of /24, fewer than the {} nodes",
                1u64 << (24 - p.prefix_len()),
                cps + workers
            ),
            "use a larger pod subnet, e.g. /16",
        );
    }

    let mut all = is.0;
    all.sort_by_key(|i| i.severity);
    if all.iter().any(|i| i.severity == Severity::Error) {
        return Err(all);
    }
    let lb_addr = lb_addr.expect("no errors");
    let mut nodes_sorted: Vec<Node> = nodes
        .iter()
        .filter(|n| n.role == Role::ControlPlane)
        .cloned()
        .collect();
    nodes_sorted.extend(nodes.iter().filter(|n| n.role == Role::Worker).cloned());
    let cluster = Cluster {
        name: c.name.clone(),
        versions: minor.expect("no errors").clone(),
        pod_subnet: pod.expect("no errors"),
        service_subnet: svc.expect("no errors"),
        calico_version: calico.expect("no errors"),
        package_base,
        package_key,
        containerd_source: source.expect("no errors"),
        docker_base,
        docker_key,
        manifest_base,
        calico_sums,
        lb: Node {
            name: lbs.name.clone(),
            address: lb_addr,
            role: Role::LoadBalancer,
            ssh: settings(
                "load_balancer.",
                &lbs.user,
                lbs.ssh_port.and_then(parse_port),
                &lbs.identity_file,
            ),
        },
        lb_pair: match (backup, vip) {
            (Some((name, address, port)), Some((vip, virtual_router_id))) => Some(LbPair {
                backup: Node {
                    name,
                    address,
                    role: Role::LoadBalancer,
                    ssh: settings(
                        "load_balancer.backup_",
                        &lbs.backup_user,
                        port,
                        &lbs.backup_identity_file,
                    ),
                },
                vip,
                virtual_router_id,
            }),
            _ => None,
        },
        endpoint_host: match (lbs.endpoint.is_empty(), vip) {
            (false, _) => lbs.endpoint.clone(),
            (true, Some((vip, _))) => vip.to_string(),
            (true, None) => lb_addr.to_string(),
        },
        api_port: api_port.expect("no errors"),
        nodes: nodes_sorted,
        known_hosts: ssh.known_hosts.as_deref().map(expand_home),
    };
    Ok((cluster, all))
}

fn check_user_port(
    is: &mut Issues,
    prefix: &str,
    user: &Option<String>,
    port: Option<i64>,
    port_key: &str,
) {
    if let Some(u) = user
        && !is_user_name(u)
    {
        is.error(
            format!("{prefix}.user"),
            format!("{u:?} is not a valid user name"),
            "use lowercase letters, digits, '_' and '-'",
        );
    }
    if let Some(p) = port
        && parse_port(p).is_none()
    {
        is.error(
            format!("{prefix}.{port_key}"),
            format!("{p} is out of range"),
            "use a port between 1 and 65535",
        );
    }
}

/// `~/x` → `$HOME/x`; other paths unchanged.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}
