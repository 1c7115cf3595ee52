//! Fixtures of the drill screen (snapshots, screenshot 14), built through `update` from the
//! messages the drill's task sends, on top of the Done fixture.

use std::time::Duration;

use crossterm::event::KeyCode;

use super::fixtures::{done, feed, key};
use super::model::{Model, Msg};
use super::model_drill::DrillMsg;
use crate::drill::DrillEvent;
use crate::drill::record::{Second, Totals};
use crate::drill::report::{Report, ScenarioResult};

fn what() -> Vec<String> {
    vec![
        "scenario A: stop kube-apiserver on master3 (10.0.0.13) by moving /etc/kubernetes/manifests/kube-apiserver.yaml to /etc/kubernetes/kha-drill/kube-apiserver.yaml for about 5 s, then put it back and wait until HAProxy shows it UP".into(),
        "scenario B: stop HAProxy on lb (10.0.0.10), which holds the virtual address 10.0.0.5, for about 5 s; keepalived should move 10.0.0.5 to lb2; then start HAProxy again -- kha-tui runs on lb: only HAProxy stops there, this process keeps running and keeps counting through 10.0.0.5".into(),
    ]
}

/// Done of a real install, then `d`: the drill asks (default No).
pub fn drill_confirm() -> Model {
    let mut m = done();
    // The drill runs against real hosts only (the Done fixture is the demo's).
    m.simulated = false;
    feed(&mut m, [key(KeyCode::Char('d'))]);
    feed(&mut m, [Msg::Drill(DrillMsg::Ready { what: what() })]);
    m.now += Duration::from_secs(1);
    m
}

fn scenarios() -> Vec<ScenarioResult> {
    vec![
        ScenarioResult {
            id: "apiserver".into(),
            stopped: "kube-apiserver on master3".into(),
            node: "master3".into(),
            stopped_at: "15:02:03.112".into(),
            restored_at: "15:02:10.480".into(),
            stopped_ms: 3012,
            restored_ms: 10380,
            ended_ms: 17800,
            backend_down_after_ms: Some(5024),
            backend_up_after_ms: Some(5835),
            totals: Totals {
                readyz_ok: 187,
                readyz_failed: 0,
                kubectl_ok: 18,
                kubectl_failed: 0,
                failure_window_ms: 0,
                recovered_at_ms: None,
            },
            ok: true,
            ..Default::default()
        },
        ScenarioResult {
            id: "lb-failover".into(),
            stopped: "HAProxy on lb (holds 10.0.0.5)".into(),
            node: "lb".into(),
            stopped_at: "15:02:18.020".into(),
            restored_at: "15:02:25.410".into(),
            stopped_ms: 17900,
            restored_ms: 25300,
            ended_ms: 29400,
            vip_moved_after_ms: Some(2316),
            vip_from: Some("lb".into()),
            vip_to: Some("lb2".into()),
            vip_final_holder: Some("lb2".into()),
            totals: Totals {
                readyz_ok: 108,
                readyz_failed: 14,
                kubectl_ok: 10,
                kubectl_failed: 1,
                failure_window_ms: 2086,
                recovered_at_ms: Some(20270),
            },
            ok: true,
            ..Default::default()
        },
    ]
}

/// A finished drill: the seconds, the steps and both tables.
pub fn drill() -> Model {
    let mut m = drill_confirm();
    feed(&mut m, [key(KeyCode::Char('y'))]);
    let steps = [
        ("apiserver", 3012, "stopping kube-apiserver on master3"),
        (
            "apiserver",
            3390,
            "kube-apiserver on master3 stopped (port 6443 closed)",
        ),
        (
            "apiserver",
            8036,
            "HAProxy on lb shows master3 DOWN (stats socket)",
        ),
        ("apiserver", 10380, "restoring kube-apiserver on master3"),
        (
            "apiserver",
            11020,
            "kube-apiserver on master3 listens again",
        ),
        ("apiserver", 16215, "HAProxy on lb shows master3 UP"),
        ("lb-failover", 17900, "stopping HAProxy on lb"),
        ("lb-failover", 18010, "HAProxy on lb stopped"),
        (
            "lb-failover",
            20216,
            "10.0.0.5 is on lb2 (ip addr), 2316 ms after the stop",
        ),
        (
            "lb-failover",
            20600,
            "lb2: VIP=yes STATE=MASTER KEEPALIVED=active HAPROXY=active",
        ),
        ("lb-failover", 25300, "starting HAProxy on lb again"),
        (
            "lb-failover",
            28900,
            "lb: VIP=no STATE=BACKUP KEEPALIVED=active HAPROXY=active",
        ),
    ];
    let mut msgs = vec![];
    for at in 0..30u64 {
        let bad = if at == 18 || at == 19 { 7 } else { 0 };
        msgs.push(Msg::Drill(DrillMsg::Event(DrillEvent::Second(Second {
            at,
            readyz_ok: 10 - bad,
            readyz_failed: bad,
            kubectl_ok: u32::from(at != 18),
            kubectl_failed: u32::from(at == 18),
        }))));
        for (s, ms, text) in steps.iter().filter(|(_, ms, _)| ms / 1000 == at) {
            msgs.push(Msg::Drill(DrillMsg::Event(DrillEvent::Step {
                scenario: s.to_string(),
                text: format!("+{ms} ms  {text}"),
            })));
        }
    }
    for s in scenarios() {
        msgs.push(Msg::Drill(DrillMsg::Event(DrillEvent::ScenarioDone(
            Box::new(s),
        ))));
    }
    msgs.push(Msg::Drill(DrillMsg::Event(DrillEvent::Finished(Box::new(
        Report {
            cluster: "prod".into(),
            endpoint: "lb.example.internal:6443".into(),
            scenarios: scenarios(),
            restored: true,
            ok: true,
            ..Default::default()
        },
    )))));
    msgs.push(Msg::Drill(DrillMsg::Saved(Some(
        "/home/op/.local/state/kha-tui/logs/prod/drill-2026-12-07-15-02-00-100.json".into(),
    ))));
    feed(&mut m, msgs);
    m
}
