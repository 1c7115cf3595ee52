//! Scenario B (with a load-balancer pair): HAProxy stopped on the LB holding the virtual
//! address, the move to the other LB and the failure window measured, HAProxy restored.

use super::*;

impl<T: Transport> Drill<T> {
    pub(super) async fn scenario_lb(&self) -> Option<ScenarioResult> {
        let (holder, other) = (self.holder.clone()?, self.other.clone()?);
        let vip = self.cluster.lb_pair.as_ref()?.vip.to_string();
        let mut r = ScenarioResult {
            id: "lb-failover".into(),
            stopped: format!("HAProxy on {} (holds {vip})", holder.name),
            node: holder.name.clone(),
            vip_from: Some(holder.name.clone()),
            ..Default::default()
        };
        r.stopped_ms = self.now_ms();
        self.say(
            &mut r,
            format!(
                "stopping HAProxy on {}; the timer {}.timer there starts it by itself in {} s if this drill cannot (by hand: systemctl start haproxy)",
                holder.name,
                steps::HAPROXY_RESTORE_UNIT,
                self.restore_after.as_secs()
            ),
        )
        .await;
        let stopped = self
            .work_step(steps::haproxy_service(&holder, "stop", self.restore_after))
            .await;
        if succeeded(&stopped) {
            self.say(&mut r, format!("HAProxy on {} stopped", holder.name))
                .await;
            let moved = self
                .work_step(steps::vip_watch(&other, &vip, Duration::from_secs(30)))
                .await;
            if succeeded(&moved) {
                let after = self.now_ms() - r.stopped_ms;
                r.vip_moved_after_ms = Some(after);
                r.vip_to = Some(other.name.clone());
                self.say(
                    &mut r,
                    format!(
                        "{vip} is on {} (ip addr), {after} ms after the stop",
                        other.name
                    ),
                )
                .await;
                if after > VIP_MOVE_LIMIT_MS {
                    r.problems.push(format!(
                        "{vip} took {after} ms to move to {} (limit {VIP_MOVE_LIMIT_MS} ms)",
                        other.name
                    ));
                }
                for n in [&holder, &other] {
                    if let Ok(s) = self.lb_state(n, &vip).await {
                        self.say(&mut r, format!("{}: {}", n.name, s)).await;
                    }
                }
                self.hold(HOLD).await;
            } else {
                r.problems.push(format!(
                    "{vip} did not move to {}: {}",
                    other.name,
                    why(&moved)
                ));
            }
        } else {
            r.problems.push(format!(
                "stopping HAProxy on {} failed: {}",
                holder.name,
                why(&stopped)
            ));
        }
        if self.stop.is_cancelled() {
            r.problems.push("stopped by the operator".into());
        }
        self.say(&mut r, format!("starting HAProxy on {} again", holder.name))
            .await;
        r.restored_ms = self.now_ms();
        let back = self
            .keep_step(steps::haproxy_service(&holder, "start", self.restore_after))
            .await;
        if !succeeded(&back) {
            r.problems.push(format!(
                "starting HAProxy on {} failed: {}",
                holder.name,
                why(&back)
            ));
        }
        self.hold(SETTLE).await;
        let mut final_holders = vec![];
        for n in [&holder, &other] {
            match self.lb_state(n, &vip).await {
                Ok(s) => {
                    if s.contains("VIP=yes") {
                        final_holders.push(n.name.clone());
                    }
                    self.say(&mut r, format!("{}: {}", n.name, s)).await;
                }
                Err(e) => r.problems.push(e.to_string()),
            }
        }
        r.vip_final_holder = Some(final_holders.join(", "));
        if final_holders.len() != 1 {
            r.problems.push(format!(
                "{} load balancers hold {vip} at the end",
                final_holders.len()
            ));
        }
        self.finish_scenario(&mut r);
        let t = r.totals;
        if t.failure_window_ms > 0 && t.recovered_at_ms.is_none() {
            r.problems
                .push("requests kept failing after the virtual address moved".into());
        }
        r.ok = r.problems.is_empty();
        Some(r)
    }
}
