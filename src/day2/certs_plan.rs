//! The plan behind `kha-tui certs renew`: on each control plane in turn, `kubeadm certs renew
//! all` and its static pods restarted and waited for (`assets/scripts/certs-renew.sh`; one at a
//! time so etcd keeps its quorum and HAProxy always has API servers), then the admin kubeconfig
//! on the load balancers written again from a control plane's renewed admin.conf (the install's
//! own `kubeconfig` step and value source). Pure.

use std::time::Duration;

use crate::assets::scripts;
use crate::inventory::Cluster;
use crate::plan::{Limits, Mode, Phase, Plan, Step};

pub const RENEW_STEP: &str = "certs-renew";
/// The install plan's step on the load balancers that writes ~/.kube/config.
pub const KUBECONFIG_STEP: &str = "kubeconfig";

pub fn renew_plan(c: &Cluster) -> Plan {
    let install = crate::plan::build(c);
    let mut renew: Vec<Step> = Vec::new();
    for n in c.control_planes() {
        let mut s = Step::new(
            RENEW_STEP,
            &n.name,
            "kubeadm certs renew all, then etcd, the API server, controller manager and scheduler restarted",
            format!("{}\n{}", scripts::LIB, scripts::CERTS_RENEW),
        );
        s.env.push(("KHA_NODE_NAME".into(), n.name.clone()));
        s.limits = Limits {
            total: Some(Duration::from_secs(900)),
            idle: Some(Duration::from_secs(300)),
        };
        renew.push(s);
    }
    let last = renew.last().map(|s| Plan::key(&s.node, &s.id));
    let kubeconfigs: Vec<Step> = install
        .steps()
        .filter(|(_, s)| s.id == KUBECONFIG_STEP)
        .map(|(_, s)| {
            let mut s = s.clone();
            s.after = last.iter().cloned().collect();
            s
        })
        .collect();
    Plan {
        cluster: c.name.clone(),
        kubernetes_version: c.versions.minor.clone(),
        endpoint: c.control_plane_endpoint(),
        init_node: c.first_control_plane().name.clone(),
        phases: vec![
            Phase {
                name: "certs-renew".into(),
                title: "Renew the certificates, one control plane at a time".into(),
                mode: Mode::Serial,
                steps: renew,
            },
            Phase {
                name: "certs-kubeconfig".into(),
                title: "The admin kubeconfig on the load balancers, renewed".into(),
                mode: Mode::Parallel,
                steps: kubeconfigs,
            },
        ],
        values: install.values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_plane_in_turn_then_the_lb_kubeconfig() {
        let c = crate::inventory::validate::check(
            &crate::inventory::parse(crate::inventory::EXAMPLE).unwrap(),
        )
        .unwrap()
        .0;
        let p = renew_plan(&c);
        let cps: Vec<&str> = p.phases[0].steps.iter().map(|s| s.node.as_str()).collect();
        let want: Vec<&str> = c.control_planes().map(|n| n.name.as_str()).collect();
        assert_eq!(cps, want);
        assert_eq!(p.phases[0].mode, Mode::Serial);
        let lbs = &p.phases[1].steps;
        assert_eq!(lbs.len(), c.load_balancers().count());
        assert!(lbs.iter().all(|s| s.id == KUBECONFIG_STEP
            && s.after == vec![Plan::key(want.last().unwrap(), RENEW_STEP)]));
        assert!(
            p.values.is_some(),
            "the admin kubeconfig comes from a control plane"
        );
    }
}
