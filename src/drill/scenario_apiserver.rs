//! Scenario A: one control plane's API server stopped (its manifest moved out), HAProxy seen
//! marking it DOWN, the load counted meanwhile, then the manifest put back and UP waited for.

use super::*;

impl<T: Transport> Drill<T> {
    pub(super) async fn scenario_apiserver(&self) -> ScenarioResult {
        let cp = self.cp.clone();
        let lb = self.serving_lb();
        let mut r = ScenarioResult {
            id: "apiserver".into(),
            stopped: format!("kube-apiserver on {}", cp.name),
            node: cp.name.clone(),
            ..Default::default()
        };
        r.stopped_ms = self.now_ms();
        self.say(
            &mut r,
            format!(
                "stopping kube-apiserver on {}: {} moves to {}; the timer {}.timer on {} puts it back by itself in {} s if this drill cannot (by hand: mv {} {})",
                cp.name,
                steps::MANIFEST,
                steps::PARKED_MANIFEST,
                steps::APISERVER_RESTORE_UNIT,
                cp.name,
                self.restore_after.as_secs(),
                steps::PARKED_MANIFEST,
                steps::MANIFEST
            ),
        )
        .await;
        let stopped = self
            .work_step(steps::apiserver_stop(&cp, self.restore_after))
            .await;
        if succeeded(&stopped) {
            self.say(
                &mut r,
                format!("kube-apiserver on {} stopped (port 6443 closed)", cp.name),
            )
            .await;
            let down = self
                .work_step(steps::haproxy_watch(
                    &lb,
                    &cp.name,
                    "DOWN",
                    Duration::from_secs(60),
                ))
                .await;
            if succeeded(&down) {
                r.backend_down_after_ms = Some(self.now_ms() - r.stopped_ms);
                self.say(
                    &mut r,
                    format!(
                        "HAProxy on {} shows {} DOWN (stats socket)",
                        lb.name, cp.name
                    ),
                )
                .await;
                self.hold(HOLD).await;
            } else {
                r.problems.push(format!(
                    "HAProxy on {} never showed {} DOWN: {}",
                    lb.name,
                    cp.name,
                    why(&down)
                ));
            }
        } else {
            r.problems.push(format!(
                "stopping kube-apiserver on {} failed: {}",
                cp.name,
                why(&stopped)
            ));
        }
        if self.stop.is_cancelled() {
            r.problems.push("stopped by the operator".into());
        }
        self.say(&mut r, format!("restoring kube-apiserver on {}", cp.name))
            .await;
        r.restored_ms = self.now_ms();
        let back = self.keep_step(steps::apiserver_restore(&cp)).await;
        if succeeded(&back) {
            self.say(
                &mut r,
                format!("kube-apiserver on {} is ready again (/readyz)", cp.name),
            )
            .await;
            let up = self
                .keep_step(steps::haproxy_watch(
                    &lb,
                    &cp.name,
                    "UP",
                    Duration::from_secs(120),
                ))
                .await;
            if succeeded(&up) {
                r.backend_up_after_ms = Some(self.now_ms() - r.restored_ms);
                self.say(
                    &mut r,
                    format!("HAProxy on {} shows {} UP", lb.name, cp.name),
                )
                .await;
            } else {
                r.problems.push(format!(
                    "HAProxy on {} never showed {} UP again: {}",
                    lb.name,
                    cp.name,
                    why(&up)
                ));
            }
        } else {
            r.problems.push(format!(
                "restoring kube-apiserver on {} failed: {} (the manifest waits in {})",
                cp.name,
                why(&back),
                steps::PARKED_MANIFEST
            ));
        }
        self.hold(SETTLE).await;
        self.finish_scenario(&mut r);
        let t = r.totals;
        if t.kubectl_failed > 0 && t.failure_window_ms >= APISERVER_WINDOW_LIMIT_MS {
            r.problems.push(format!(
                "{} kubectl get nodes failed and the endpoint failed for {} ms (limit {} ms)",
                t.kubectl_failed, t.failure_window_ms, APISERVER_WINDOW_LIMIT_MS
            ));
        }
        r.ok = r.problems.is_empty();
        r
    }
}
