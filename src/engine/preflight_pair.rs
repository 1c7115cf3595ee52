//! Preflight of the load-balancer pair, on each LB (facts from preflight.sh's lb_pair_facts):
//! the virtual address lies in the LB's subnet, nothing answers on it before kha-tui's
//! keepalived holds it, and no other VRRP group on the segment uses the pair's router id.

use super::events::{CheckResult, CheckStatus};
use super::preflight::{Facts, result};
use crate::inventory::{Cluster, Node};

/// The pair's checks on LB `n` (none without a pair).
pub fn check_lb(c: &Cluster, n: &Node, f: &Facts) -> Vec<CheckResult> {
    use CheckStatus::*;
    let Some(pair) = &c.lb_pair else {
        return vec![];
    };
    let name = n.name.as_str();
    let vip = pair.vip;
    let mut out = Vec::new();
    let ours = f.get("vip_ours") == "yes";
    match f.get("vip_route") {
        "onlink" | "local" => out.push(result(
            name,
            "vip-subnet",
            Pass,
            format!("{vip} is in the subnet of this LB's interface"),
            "",
        )),
        other => out.push(result(
            name,
            "vip-subnet",
            Fail,
            format!(
                "{vip} is not in the subnet of any interface of {name} ({})",
                if other == "routed" { "it is reached through a router" } else { "no route" }
            ),
            "give load_balancer.vip a free address of the load balancers' own subnet: keepalived announces it by ARP there",
        )),
    }
    let answer = f.get("vip_answer");
    if !ours && answer != "yes" && answer != "no" {
        // The probe could not run (python3 failed, or said nothing): unknown is not free.
        let why = match f.get("vip_probe_error") {
            "" => "the ARP probe gave no answer".to_string(),
            e => e.to_string(),
        };
        out.push(result(
            name,
            "vip-free",
            Fail,
            format!("could not find out whether something answers on {vip}: {why}"),
            "make python3 able to open raw sockets on this LB (it runs as root), or check by hand that no host uses the address (arping -D) and pass --ignore-preflight vip-free",
        ));
    } else if answer == "yes" && !ours {
        out.push(result(
            name,
            "vip-free",
            Fail,
            format!(
                "something already answers on the virtual address {vip} (ARP or ping from {name})"
            ),
            "give load_balancer.vip an address no host uses, or free that address",
        ));
    } else if ours {
        out.push(result(
            name,
            "vip-free",
            Pass,
            format!("{vip} is this pair's (kha-tui's keepalived from an earlier run)"),
            "",
        ));
    } else {
        out.push(result(
            name,
            "vip-free",
            Pass,
            format!("nothing answers on {vip}"),
            "",
        ));
    }
    let lbs: Vec<String> = c.load_balancers().map(|l| l.address.to_string()).collect();
    let adverts = f.get("vrrp_adverts");
    if adverts == "unknown" {
        out.push(result(
            name,
            "vrrp-router-id",
            Warn,
            match f.get("vip_probe_error") {
                "" => "could not listen for VRRP adverts (no python3 on this LB)".into(),
                e => format!("could not listen for VRRP adverts ({e})"),
            },
            "make sure no other VRRP group on this network uses load_balancer.virtual_router_id",
        ));
        return out;
    }
    let foreign: Vec<&str> = adverts
        .split_whitespace()
        .filter(|a| match a.split_once(':') {
            Some((id, src)) => {
                id == pair.virtual_router_id.to_string() && !lbs.iter().any(|l| l == src)
            }
            None => false,
        })
        .collect();
    if foreign.is_empty() {
        out.push(result(
            name,
            "vrrp-router-id",
            Pass,
            format!(
                "no other VRRP group uses router id {} here (listened 3 s)",
                pair.virtual_router_id
            ),
            "",
        ));
    } else {
        let sources: Vec<&str> = foreign
            .iter()
            .filter_map(|a| a.split_once(':').map(|x| x.1))
            .collect();
        out.push(result(
            name,
            "vrrp-router-id",
            Fail,
            format!(
                "VRRP adverts for router id {} come from {}, which is not this pair",
                pair.virtual_router_id,
                sources.join(", ")
            ),
            "set load_balancer.virtual_router_id to an id (1-255) no other VRRP group on this network uses",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::validate;

    fn pair() -> Cluster {
        let mut f = crate::inventory::example_pair();
        f.load_balancer.virtual_router_id = Some(51);
        validate::check(&f).unwrap().0
    }

    #[test]
    fn a_failed_probe_is_a_failed_vip_free_with_its_reason() {
        let c = pair();
        let lb = c.lb.clone();
        let f = Facts::parse(
            "vip_route=onlink\nvip_ours=no\nvip_answer=unknown\nvip_probe_error=python3 failed: PermissionError: [Errno 1] Operation not permitted\nvrrp_adverts=unknown\n",
            0.0,
        );
        let r = check_lb(&c, &lb, &f);
        let free = r.iter().find(|x| x.check == "vip-free").unwrap();
        assert_eq!(free.status, CheckStatus::Fail);
        assert!(
            free.found.contains("Operation not permitted"),
            "{}",
            free.found
        );
        let ids = r.iter().find(|x| x.check == "vrrp-router-id").unwrap();
        assert!(ids.found.contains("python3 failed"), "{}", ids.found);
        // Nothing said at all (an older script, a cut output) is not "free" either.
        let f = Facts::parse("vip_route=onlink\nvip_ours=no\nvrrp_adverts=\n", 0.0);
        let free = check_lb(&c, &lb, &f)
            .into_iter()
            .find(|x| x.check == "vip-free")
            .unwrap();
        assert_eq!(free.status, CheckStatus::Fail, "{}", free.found);
    }

    fn status(r: &[CheckResult], check: &str) -> CheckStatus {
        r.iter().find(|x| x.check == check).unwrap().status
    }

    #[test]
    fn a_free_vip_in_the_subnet_passes_and_each_problem_fails() {
        let c = pair();
        let facts = |kv: &str| Facts::parse(kv, 0.0);
        let good =
            "vip_route=onlink\nvip_ours=no\nvip_answer=no\nvrrp_adverts=51:10.0.0.9 7:10.0.0.77\n";
        let r = check_lb(&c, &c.lb, &facts(good));
        assert!(r.iter().all(|x| x.status == CheckStatus::Pass), "{r:#?}");
        let r = check_lb(
            &c,
            &c.lb,
            &facts(&good.replace("vip_answer=no", "vip_answer=yes")),
        );
        assert_eq!(status(&r, "vip-free"), CheckStatus::Fail);
        assert!(
            r[1].found
                .contains("already answers on the virtual address 10.0.0.5")
        );
        // Ours from an earlier run: fine.
        let again = good
            .replace("vip_answer=no", "vip_answer=yes")
            .replace("vip_ours=no", "vip_ours=yes");
        assert_eq!(
            status(&check_lb(&c, &c.lb, &facts(&again)), "vip-free"),
            CheckStatus::Pass
        );
        let r = check_lb(&c, &c.lb, &facts(&good.replace("onlink", "routed")));
        assert_eq!(status(&r, "vip-subnet"), CheckStatus::Fail);
        let r = check_lb(
            &c,
            &c.lb,
            &facts(&good.replace("7:10.0.0.77", "51:10.0.0.77")),
        );
        assert_eq!(status(&r, "vrrp-router-id"), CheckStatus::Fail);
        assert!(r[2].found.contains("10.0.0.77"), "{r:#?}");
        let r = check_lb(
            &c,
            &c.lb,
            &facts(&good.replace("51:10.0.0.9 7:10.0.0.77", "unknown")),
        );
        assert_eq!(status(&r, "vrrp-router-id"), CheckStatus::Warn);
    }
}
