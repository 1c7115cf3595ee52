//! The load-balancer pair's steps: keepalived on both LBs (unicast VRRP, the VIP, a check of
//! HAProxy itself, a notify script kha-tui reads), after HAProxy on the same LB.

use super::{FileSpec, Placeholder, Step};
use crate::assets::{render, scripts, templates};
use crate::inventory::{Cluster, LbPair, Node};

/// Where keepalived's notify script keeps the LB's current VRRP state (one word).
pub const VRRP_STATE_FILE: &str = "/run/kha-tui/vrrp-state";

/// Priorities: the first LB (`load_balancer.address`) wins the first election.
const PRIORITY_FIRST: u8 = 150;
const PRIORITY_BACKUP: u8 = 100;

/// keepalived.conf for `n`, one of the pair's LBs, with `peer` the other. The VRRP password
/// stays a placeholder (filled on upload into a 0600 file); the interface and its prefix are
/// filled on the node.
pub fn keepalived_conf(c: &Cluster, pair: &LbPair, n: &Node, peer: &Node) -> String {
    let first = n.name == c.lb.name;
    let (prio, peer_prio) = if first {
        (PRIORITY_FIRST, PRIORITY_BACKUP)
    } else {
        (PRIORITY_BACKUP, PRIORITY_FIRST)
    };
    render(
        templates::KEEPALIVED,
        &[
            ("cluster_name", &c.name),
            ("node_name", &n.name),
            ("instance", &c.name.replace('-', "_")),
            ("vip", &pair.vip.to_string()),
            ("address", &n.address.to_string()),
            ("peer", &peer.address.to_string()),
            ("priority", &prio.to_string()),
            ("peer_priority", &peer_prio.to_string()),
            ("virtual_router_id", &pair.virtual_router_id.to_string()),
            ("api_port", &c.api_port.to_string()),
        ],
    )
}

/// One keepalived step per LB of the pair (none without a pair).
pub fn keepalived_steps(c: &Cluster) -> Vec<Step> {
    let Some(pair) = &c.lb_pair else {
        return vec![];
    };
    let lbs = [(&c.lb, &pair.backup), (&pair.backup, &c.lb)];
    lbs.into_iter()
        .map(|(n, peer)| {
            let mut s = Step::new(
                "keepalived",
                &n.name,
                "Install keepalived: unicast VRRP with the other LB, the virtual address, HAProxy tracked",
                super::build::script(&[scripts::LB_KEEPALIVED]),
            );
            s.env = vec![
                ("KHA_ADDRESS".into(), n.address.to_string()),
                ("KHA_VIP".into(), pair.vip.to_string()),
                ("KHA_API_PORT".into(), c.api_port.to_string()),
            ];
            s.files = vec![
                FileSpec {
                    path: "/etc/kha/keepalived.conf".into(),
                    mode: 0o600,
                    content: keepalived_conf(c, pair, n, peer),
                },
                FileSpec {
                    path: "/etc/kha/kha-check-haproxy.sh".into(),
                    mode: 0o755,
                    content: scripts::LB_VRRP_CHECK.into(),
                },
                FileSpec {
                    path: "/etc/kha/kha-notify.sh".into(),
                    mode: 0o755,
                    content: scripts::LB_VRRP_NOTIFY.into(),
                },
            ];
            s.sensitive = true;
            s
        })
        .collect()
}

/// Whether a plan step's files need the VRRP password.
pub fn needs_vrrp_password(s: &Step) -> bool {
    s.needs().contains(&Placeholder::VrrpPassword)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{EXAMPLE, InventoryFile, validate};

    fn pair() -> Cluster {
        let mut f = crate::inventory::example_pair();
        f.load_balancer.endpoint = String::new();
        f.load_balancer.virtual_router_id = Some(51);
        validate::check(&f).unwrap().0
    }

    #[test]
    fn each_lb_gets_unicast_vrrp_towards_the_other() {
        let c = pair();
        let steps = keepalived_steps(&c);
        assert_eq!(steps.len(), 2);
        let conf = |i: usize| steps[i].files[0].content.clone();
        let (a, b) = (conf(0), conf(1));
        assert!(a.contains("unicast_src_ip 10.0.0.10") && a.contains("        10.0.0.9\n"));
        assert!(b.contains("unicast_src_ip 10.0.0.9") && b.contains("        10.0.0.10\n"));
        for t in [&a, &b] {
            assert!(t.contains("virtual_router_id 51"));
            assert!(t.contains("10.0.0.5/__PREFIX__ dev __INTERFACE__"));
            assert!(t.contains("nopreempt") && t.contains("state BACKUP"));
            assert!(t.contains("auth_pass <<kha:vrrp-password>>"));
            assert!(t.contains("kha-check-haproxy.sh 6443"));
        }
        assert!(a.contains("priority 150") && b.contains("priority 100"));
        assert_eq!(steps[0].files[0].mode, 0o600);
        assert!(steps.iter().all(needs_vrrp_password));
        assert_eq!(steps[1].node, "lb2");
    }

    #[test]
    fn no_pair_no_keepalived() {
        let c = validate::check(&InventoryFile::from_toml(EXAMPLE).unwrap())
            .unwrap()
            .0;
        assert!(keepalived_steps(&c).is_empty());
    }
}
