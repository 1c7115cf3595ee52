//! The load-balancer pair's inventory rules: the backup LB (`load_balancer.backup_*`), the
//! virtual address (`load_balancer.vip`) and VRRP's router id. One LB without a VIP stays the
//! seed's topology; a VIP needs a backup and a backup needs a VIP.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::file::LoadBalancerSection;
use super::validate::{Issues, is_dns_label, parse_port};

/// VRRP's router id when the inventory sets none: derived from the cluster name (FNV-1a), so
/// it is the same on every run and two clusters on one segment most likely differ. 1-255.
pub fn default_router_id(cluster: &str) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in cluster.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % 255) as u8 + 1
}

/// The backup LB's name, address and SSH port when `backup_address` is set and valid; records
/// its name and address as taken.
pub(super) fn check_backup<'a>(
    is: &mut Issues,
    lbs: &'a LoadBalancerSection,
    names: &mut HashMap<&'a str, String>,
    addrs: &mut HashMap<IpAddr, String>,
) -> Option<(String, IpAddr, Option<u16>)> {
    let set_without_address = !lbs.backup_name.is_empty()
        || lbs.backup_user.is_some()
        || lbs.backup_ssh_port.is_some()
        || lbs.backup_identity_file.is_some();
    if lbs.backup_address.is_empty() {
        if set_without_address {
            is.error(
                "load_balancer.backup_address",
                "backup settings are given but no backup_address",
                "give the second load balancer's address, or remove the backup_* keys",
            );
        }
        return None;
    }
    let name = lbs.backup_name_or_default();
    let mut ok = true;
    if !is_dns_label(name) {
        is.error(
            "load_balancer.backup_name",
            format!("{name:?} is not an RFC 1123 label"),
            "use lowercase letters, digits and '-', e.g. lb2",
        );
        ok = false;
    } else if let Some(prev) = names.get(name) {
        is.error(
            "load_balancer.backup_name",
            format!("{name:?} is already used by {prev}"),
            "give the backup load balancer a name no node uses, e.g. lb2",
        );
        ok = false;
    } else {
        names.insert(name, "load_balancer.backup_name".into());
    }
    let address = match lbs.backup_address.parse::<IpAddr>() {
        Err(_) => {
            is.error(
                "load_balancer.backup_address",
                format!("{:?} is not an IPv4 or IPv6 address", lbs.backup_address),
                "give the second load balancer's address, e.g. 10.0.0.9",
            );
            None
        }
        Ok(a) => {
            if let Some(prev) = addrs.get(&a) {
                is.error(
                    "load_balancer.backup_address",
                    format!("{a} is already used by {prev}"),
                    "give the backup load balancer its own address",
                );
                ok = false;
            } else {
                addrs.insert(a, "load_balancer.backup_address".into());
            }
            Some(a)
        }
    };
    let port = match lbs.backup_ssh_port {
        Some(p) => match parse_port(p) {
            Some(p) => Some(p),
            None => {
                is.error(
                    "load_balancer.backup_ssh_port",
                    format!("{p} is out of range"),
                    "use a port between 1 and 65535",
                );
                ok = false;
                None
            }
        },
        None => None,
    };
    if let Some(u) = &lbs.backup_user
        && !super::validate::is_user_name(u)
    {
        is.error(
            "load_balancer.backup_user",
            format!("{u:?} is not a valid user name"),
            "use lowercase letters, digits, '_' and '-'",
        );
    }
    match address {
        Some(a) if ok => Some((name.to_string(), a, port)),
        _ => None,
    }
}

/// The VIP and router id when `vip` is set and valid. `addrs` holds every node's and LB's
/// address (and the key that gave it).
pub(super) fn check_vip(
    is: &mut Issues,
    lbs: &LoadBalancerSection,
    cluster: &str,
    has_backup: bool,
    lb_addr: Option<IpAddr>,
    addrs: &HashMap<IpAddr, String>,
    subnets: [Option<IpNet>; 2],
) -> Option<(IpAddr, u8)> {
    let router_id = match lbs.virtual_router_id {
        None => Some(default_router_id(cluster)),
        Some(v) if (1..=255).contains(&v) => Some(v as u8),
        Some(v) => {
            is.error(
                "load_balancer.virtual_router_id",
                format!("{v} is not a VRRP router id"),
                "use a number from 1 to 255 that no other VRRP group on this network uses, or remove the key for one derived from the cluster name",
            );
            None
        }
    };
    if lbs.vip.is_empty() {
        if !lbs.backup_address.is_empty() {
            is.error(
                "load_balancer.vip",
                "a backup load balancer is given but no virtual address to share",
                "set vip = \"ADDRESS\" (a free address in the load balancers' subnet), or remove backup_address",
            );
        } else if lbs.virtual_router_id.is_some() {
            is.error(
                "load_balancer.virtual_router_id",
                "is set but there is no load-balancer pair",
                "set vip and backup_address for a pair, or remove virtual_router_id",
            );
        }
        return None;
    }
    let vip = match lbs.vip.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => {
            is.error(
                "load_balancer.vip",
                format!("{:?} is not an IP address", lbs.vip),
                "give a free address in the load balancers' subnet, e.g. 10.0.0.5",
            );
            return None;
        }
    };
    let mut ok = true;
    if !has_backup && lbs.backup_address.is_empty() {
        is.error(
            "load_balancer.vip",
            "a virtual address needs a second load balancer to move to",
            "set backup_address (and backup_name) of the second load balancer, or remove vip",
        );
        ok = false;
    }
    if let Some(lb) = lb_addr
        && lb.is_ipv4() != vip.is_ipv4()
    {
        is.error(
            "load_balancer.vip",
            format!("{vip} is not of the load balancers' address family ({lb})"),
            "give an address of the same family as load_balancer.address",
        );
        ok = false;
    }
    if vip.is_unspecified() || vip.is_loopback() || vip.is_multicast() {
        is.error(
            "load_balancer.vip",
            format!("{vip} cannot be a virtual address"),
            "give a free unicast address in the load balancers' subnet",
        );
        ok = false;
    }
    if let Some(prev) = addrs.get(&vip) {
        is.error(
            "load_balancer.vip",
            format!("{vip} is already used by {prev}"),
            "give an address no node or load balancer has: keepalived adds it to the active LB",
        );
        ok = false;
    }
    for (net, what) in subnets.iter().zip(["pod", "service"]) {
        if let Some(net) = net
            && net.contains(&vip)
        {
            is.error(
                "load_balancer.vip",
                format!("{vip} lies inside the {what} subnet {net}"),
                format!(
                    "give an address outside cluster.{what}_subnet, in the load balancers' subnet"
                ),
            );
            ok = false;
        }
    }
    if let Ok(a) = lbs.endpoint.parse::<IpAddr>()
        && a != vip
    {
        is.error(
            "load_balancer.endpoint",
            format!("{a} is an address other than the virtual address {vip}: clients would bypass the pair"),
            "leave endpoint empty (the VIP is used), or give a DNS name that resolves to the VIP",
        );
        ok = false;
    }
    match router_id {
        Some(id) if ok => Some((vip, id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{EXAMPLE, InventoryFile, validate};

    fn pair_file() -> InventoryFile {
        let mut f = crate::inventory::example_pair();
        f.load_balancer.endpoint = String::new();
        f
    }

    fn errors(f: &InventoryFile) -> Vec<(String, String)> {
        match validate::check(f) {
            Ok(_) => vec![],
            Err(all) => all
                .into_iter()
                .filter(|i| i.severity == validate::Severity::Error)
                .map(|i| (i.key, i.message))
                .collect(),
        }
    }

    fn keys(f: &InventoryFile) -> Vec<String> {
        errors(f).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_pair_fills_lb_pair_and_the_endpoint_is_the_vip() {
        let (c, _) = validate::check(&pair_file()).unwrap();
        let p = c.lb_pair.as_ref().expect("a pair");
        assert_eq!(p.backup.name, "lb2");
        assert_eq!(p.backup.address.to_string(), "10.0.0.9");
        assert_eq!(p.vip.to_string(), "10.0.0.5");
        assert_eq!(p.virtual_router_id, default_router_id("prod"));
        assert_eq!(c.endpoint_host, "10.0.0.5");
        assert_eq!(c.control_plane_endpoint(), "10.0.0.5:6443");
        let names: Vec<&str> = c.load_balancers().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["lb", "lb2"]);
        assert_eq!(p.backup.ssh.user, "ubuntu", "[ssh] defaults apply");
        // A DNS endpoint stays the endpoint.
        let mut f = pair_file();
        f.load_balancer.endpoint = "api.example.internal".into();
        f.load_balancer.virtual_router_id = Some(42);
        f.load_balancer.backup_user = Some("admin".into());
        f.load_balancer.backup_ssh_port = Some(2222);
        let (c, _) = validate::check(&f).unwrap();
        assert_eq!(c.endpoint_host, "api.example.internal");
        let p = c.lb_pair.unwrap();
        assert_eq!(p.virtual_router_id, 42);
        assert_eq!(
            (p.backup.ssh.user.as_str(), p.backup.ssh.port),
            ("admin", 2222)
        );
        assert_eq!(
            p.backup.ssh.sources.port.to_string(),
            "inventory load_balancer.backup_ssh_port"
        );
    }

    #[test]
    fn the_seed_single_lb_stays_valid() {
        let (c, _) = validate::check(&InventoryFile::from_toml(EXAMPLE).unwrap()).unwrap();
        assert!(c.lb_pair.is_none());
    }

    #[test]
    fn default_router_id_is_stable_and_in_range() {
        assert_eq!(default_router_id("prod"), default_router_id("prod"));
        for n in ["a", "prod", "lab", "x-y-z", ""] {
            assert!((1..=255).contains(&default_router_id(n)));
        }
        assert_ne!(default_router_id("prod"), default_router_id("lab"));
    }

    #[test]
    fn half_a_pair_is_refused_naming_the_missing_key() {
        let mut f = pair_file();
        f.load_balancer.backup_address.clear();
        let e = errors(&f);
        assert!(
            e.iter()
                .any(|(k, m)| k == "load_balancer.vip" && m.contains("second load balancer")),
            "{e:?}"
        );
        let mut f = pair_file();
        f.load_balancer.vip.clear();
        assert_eq!(keys(&f), ["load_balancer.vip"]);
        let mut f = InventoryFile::from_toml(EXAMPLE).unwrap();
        f.load_balancer.backup_name = "lb2".into();
        assert_eq!(keys(&f), ["load_balancer.backup_address"]);
    }

    #[test]
    fn bad_vips_and_router_ids_are_refused() {
        let with = |vip: &str| {
            let mut f = pair_file();
            f.load_balancer.vip = vip.into();
            errors(&f)
        };
        for (vip, words) in [
            ("10.0.0.11", "already used by nodes[0].address"),
            ("10.0.0.10", "already used by load_balancer.address"),
            ("10.0.0.9", "already used by load_balancer.backup_address"),
            ("10.244.1.1", "inside the pod subnet"),
            ("10.96.0.10", "inside the service subnet"),
            ("fd00::5", "address family"),
            ("not-an-ip", "not an IP address"),
            ("127.0.0.1", "cannot be a virtual address"),
        ] {
            let e = with(vip);
            assert!(
                e.iter()
                    .any(|(k, m)| k == "load_balancer.vip" && m.contains(words)),
                "{vip}: {e:?}"
            );
        }
        for id in [0, 256, -1] {
            let mut f = pair_file();
            f.load_balancer.virtual_router_id = Some(id);
            assert_eq!(keys(&f), ["load_balancer.virtual_router_id"], "{id}");
        }
        let mut f = pair_file();
        f.load_balancer.endpoint = "10.0.0.10".into();
        assert_eq!(keys(&f), ["load_balancer.endpoint"]);
        let mut f = pair_file();
        f.load_balancer.backup_name = "master1".into();
        let e = errors(&f);
        assert!(
            e.iter()
                .any(|(k, _)| k == "load_balancer.backup_name" || k == "nodes[0].name"),
            "{e:?}"
        );
    }
}
