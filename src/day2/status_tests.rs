//! The status report from the steps' lines: parsing each real format, and the problems found.

use super::status::{self, ClusterStatus, parse_haproxy, parse_node, residual_days};
use super::status_checks;
use super::status_fixture::{Faults, reported};
use crate::inventory::{self, Cluster, validate};

fn cluster() -> Cluster {
    validate::check(&inventory::parse(inventory::EXAMPLE).unwrap())
        .unwrap()
        .0
}

fn report(f: Faults) -> ClusterStatus {
    let c = cluster();
    let (lines, unreachable) = reported(&f);
    let mut s = status::build(&c, &lines, &unreachable, &[]);
    status_checks::check(&c, &mut s, "cluster.toml");
    s
}

fn problems(s: &ClusterStatus) -> String {
    s.problems
        .iter()
        .map(|p| format!("{} → {}", p.what, p.fix))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn healthy_cluster_has_no_problem() {
    let s = report(Faults::default());
    assert!(s.healthy, "{}", problems(&s));
    assert_eq!(s.nodes.len(), 6);
    assert!(s.nodes.iter().all(|n| n.ready && n.in_inventory));
    assert_eq!(s.nodes_reported_by.as_deref(), Some("master1"));
    assert_eq!(s.etcd_members.len(), 3);
    let leaders: Vec<_> = s.etcd_members.iter().filter(|m| m.leader).collect();
    assert_eq!(leaders.len(), 1);
    assert_eq!(leaders[0].name, "master1");
    assert_eq!(leaders[0].id, "8211f1d0f64f3269");
    assert!(
        s.etcd_members
            .iter()
            .all(|m| m.healthy == Some(true) && m.started)
    );
    assert_eq!(s.etcd_members[1].db_size, Some(3276800));
    let b = &s.load_balancers[0].backends;
    assert_eq!(b.len(), 3);
    assert!(b.iter().all(|b| b.up && b.status == "UP"));
    assert_eq!(b[1].address, "10.0.0.12:6443");
    assert_eq!(b[2].sessions, 3);
    assert_eq!(b[2].total_sessions, 22);
    assert_eq!(s.certificates.len(), 21);
    assert!(
        s.certificates
            .iter()
            .filter(|c| c.soonest)
            .all(|c| !c.authority && c.residual_days == 364)
    );
    assert!(s.tokens.is_empty());
    assert!(s.vip.is_none());
}

#[test]
fn stopped_member_and_down_backend_are_named_with_a_fix() {
    let s = report(Faults {
        etcd_stopped: Some("master3"),
        backend_down: Some("master2"),
        ..Default::default()
    });
    assert!(!s.healthy);
    let m3 = s.etcd_members.iter().find(|m| m.name == "master3").unwrap();
    assert_eq!(m3.healthy, Some(false));
    assert!(
        m3.error
            .as_deref()
            .unwrap()
            .contains("no running etcd container")
    );
    let p = problems(&s);
    assert!(
        p.contains("etcd member master3 (fd422379fda50e48) is not healthy"),
        "{p}"
    );
    assert!(p.contains("on master3: crictl ps -a --name etcd"), "{p}");
    assert!(
        p.contains("HAProxy on lb marks master2's API server DOWN (check L4TOUT)"),
        "{p}"
    );
    assert!(!p.contains("quorum"), "2 of 3 is a quorum: {p}");
    assert_eq!(s.problems.len(), 2, "{p}");
}

#[test]
fn unreachable_control_plane_offers_member_removal() {
    let s = report(Faults {
        unreachable: Some("master3"),
        ..Default::default()
    });
    let p = problems(&s);
    assert!(p.contains("cannot reach master3"), "{p}");
    assert!(p.contains("master3 is NotReady"), "{p}");
    assert!(p.contains("etcdctl member remove fd422379fda50e48"), "{p}");
    let m3 = s.etcd_members.iter().find(|m| m.name == "master3").unwrap();
    assert_eq!(m3.healthy, None);
    // Its certificates are unknown, not missing from the others.
    assert!(s.certificates.iter().all(|c| c.node != "master3"));
    assert_eq!(s.certificates.len(), 14);
}

#[test]
fn lost_quorum_is_said_first_for_etcd() {
    let c = cluster();
    let (lines, _) = reported(&Faults::default());
    let lines: Vec<_> = lines
        .into_iter()
        .filter(|l| !(l.node != "master1" && l.line.starts_with("etcd-")))
        .collect();
    let mut s = status::build(&c, &lines, &[], &[]);
    status_checks::check(&c, &mut s, "cluster.toml");
    let p = problems(&s);
    assert!(
        p.contains("etcd has lost quorum: 1 of 3 members healthy"),
        "{p}"
    );
}

#[test]
fn expiring_certificates_and_tokens() {
    let s = report(Faults {
        cert_days: Some(28),
        token: true,
        ..Default::default()
    });
    let p = problems(&s);
    assert!(
        p.contains("4 certificate(s) on master2 expire within 30 days, the soonest admin.conf in 28d (Jan 04, 2027 14:02 UTC)"),
        "{p}"
    );
    assert!(p.contains("kubeadm certs renew all"), "{p}");
    assert_eq!(s.tokens.len(), 1);
    assert_eq!(s.tokens[0].id, "abcdef");
}

#[test]
fn inventory_and_cluster_disagree() {
    let c = cluster();
    let (lines, _) = reported(&Faults::default());
    let lines: Vec<_> = lines
        .into_iter()
        .filter(|l| !l.line.starts_with("node worker3 "))
        .map(|mut l| {
            if l.line.starts_with("node worker2 ") {
                l.line = "node worker9   Ready,SchedulingDisabled   <none>   1h   v1.37.1".into();
            }
            l
        })
        .collect();
    let mut s = status::build(&c, &lines, &[], &[]);
    status_checks::check(&c, &mut s, "cluster.toml");
    let p = problems(&s);
    assert!(p.contains("worker3 is in the inventory but not in the cluster → kha-tui apply --config cluster.toml --node worker3"), "{p}");
    assert!(
        p.contains("worker9 is in the cluster but not in the inventory"),
        "{p}"
    );
    assert!(p.contains("kubectl uncordon worker9"), "{p}");
}

#[test]
fn formats() {
    let n =
        parse_node("master1   Ready,SchedulingDisabled   control-plane   5d   v1.37.1").unwrap();
    assert!(n.ready);
    assert_eq!(n.roles, vec!["control-plane"]);
    assert!(
        !parse_node("w   NotReady   <none>   5d   v1.37.1")
            .unwrap()
            .ready
    );
    assert_eq!(residual_days("364d"), 364);
    assert_eq!(residual_days("9y"), 3285);
    assert_eq!(residual_days("23h"), 0);
    assert_eq!(residual_days("<invalid>"), 0);
    // The header line decides the columns; FRONTEND, BACKEND and other proxies are left out.
    let b = parse_haproxy(&[
        "# pxname,svname,scur,stot,status,check_status,addr",
        "stats,FRONTEND,0,0,OPEN,,",
        "kube-apiserver,BACKEND,1,9,UP,,",
        "kube-apiserver,m1,1,9,DOWN 1/2,L7STS,10.0.0.11:6443",
        "kube-apiserver,m2,0,0,no check,,10.0.0.12:6443",
    ]);
    assert_eq!(b.len(), 2);
    assert_eq!(
        (b[0].status.as_str(), b[0].up, b[0].check.as_str()),
        ("DOWN 1/2", false, "L7STS")
    );
    assert!(b[1].up);
}

#[test]
fn text_names_every_part() {
    let s = report(Faults {
        etcd_stopped: Some("master3"),
        token: true,
        ..Default::default()
    });
    let t = super::status_text::to_text(&s);
    for want in [
        "master1",
        "8211f1d0f64f3269",
        "HAProxy on lb",
        "abcdef (secret not shown)",
        "1 problem(s)",
        "fix: on master3",
    ] {
        assert!(t.contains(want), "{want} missing:\n{t}");
    }
}

#[test]
fn the_virtual_address_holder_of_a_pair() {
    use super::status::Reported;
    let mut c = cluster();
    let mut backup = c.lb.clone();
    backup.name = "lb2".into();
    backup.address = "10.0.0.9".parse().unwrap();
    c.lb_pair = Some(inventory::LbPair {
        backup,
        vip: "10.0.0.5".parse().unwrap(),
        virtual_router_id: 51,
    });
    let with = |held: [&str; 2]| {
        let (mut lines, _) = reported(&Faults::default());
        // lb2's HAProxy sees the same backends as lb's.
        let lb2: Vec<Reported> = lines
            .iter()
            .filter(|l| l.node == "lb")
            .map(|l| Reported {
                node: "lb2".into(),
                ..l.clone()
            })
            .collect();
        lines.extend(lb2);
        for (lb, h) in ["lb", "lb2"].iter().zip(held) {
            lines.push(Reported {
                node: lb.to_string(),
                step: super::status_plan::LB_STEP.into(),
                line: format!("vip {h} 10.0.0.5"),
            });
        }
        let mut s = status::build(&c, &lines, &[], &[]);
        status_checks::check(&c, &mut s, "cluster.toml");
        s
    };
    let s = with(["held", "not-held"]);
    assert!(s.healthy, "{}", problems(&s));
    assert_eq!(s.vip.as_ref().unwrap().holders, ["lb"]);
    assert_eq!(s.load_balancers[1].holds_vip, Some(false));
    let s = with(["held", "held"]);
    assert!(
        problems(&s).contains("2 load balancers hold 10.0.0.5 at once (lb, lb2)"),
        "{}",
        problems(&s)
    );
    let s = with(["not-held", "not-held"]);
    assert!(
        problems(&s).contains("no load balancer holds the virtual address 10.0.0.5"),
        "{}",
        problems(&s)
    );
    let plan = super::status_plan::status_plan(&c);
    let lb2 = plan.find("lb2", super::status_plan::LB_STEP).unwrap();
    assert!(lb2.env.contains(&("KHA_VIP".into(), "10.0.0.5".into())));
}
