//! Models at every screen, built by feeding `update` the messages a session would produce (keys
//! and hand-made engine events). Snapshot tests and the screenshot generator draw these.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::oneshot;

use super::form::{FieldId, Page};
use super::model::{Model, Msg, Setup, Source};
use super::theme::Theme;
use super::update::update;
use crate::engine::events::{
    CheckResult, CheckStatus, Event, NodeInfo, PhaseInfo, RunSummary, StepOutcome, Stream,
};
use crate::inventory::{EXAMPLE, validate};
use crate::plan;

pub fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Feeds messages, dropping the commands (the fixtures have no runtime).
pub fn feed(m: &mut Model, msgs: impl IntoIterator<Item = Msg>) {
    for msg in msgs {
        update(m, msg);
    }
}

pub fn ev(m: &mut Model, e: Event) {
    update(m, Msg::Engine(e));
}

/// A reply channel whose answer nobody reads (fixtures only).
pub fn reply() -> oneshot::Sender<bool> {
    let (tx, rx) = oneshot::channel();
    // Keep the question open, as the engine would while it waits.
    std::mem::forget(rx);
    tx
}

/// The demo's welcome screen.
pub fn welcome() -> Model {
    let mut m = Model::new(Setup {
        simulated: true,
        save_path: "/home/op/.config/kha-tui/demo.toml".into(),
        sources: vec![Source {
            label: "The seed topology: 1 LB, 3 control planes, 3 workers (editable)".into(),
            path: None,
            text: Ok(EXAMPLE.to_string()),
        }],
    });
    m.theme = Theme::default();
    m
}

/// The seed loaded into the forms, on `page`.
pub fn form(page: Page) -> Model {
    let mut m = welcome();
    feed(&mut m, [key(KeyCode::Enter)]);
    let f = m.form.as_mut().expect("form");
    f.page = page;
    f.focus = 0;
    m.screen = super::model::Screen::Form(page);
    m
}

/// The LB page with a pair: the backup LB and the virtual IP, which becomes the endpoint.
pub fn form_pair() -> Model {
    let mut m = form(Page::Access);
    let f = m.form.as_mut().expect("form");
    f.set(FieldId::LbEndpoint, "");
    f.set(FieldId::LbVip, "10.0.0.5");
    f.set(FieldId::BackupName, "lb2");
    f.set(FieldId::BackupAddress, "10.0.0.9");
    f.focus = f
        .focusables(Page::Access)
        .iter()
        .position(|x| *x == FieldId::LbVip)
        .expect("the VIP field");
    m
}

/// The Kubernetes page with a pod subnet that contains the nodes, and Next refused.
pub fn form_invalid_cidr() -> Model {
    let mut m = form(Page::Cluster);
    let f = m.form.as_mut().expect("form");
    f.set(FieldId::PodSubnet, "10.0.0.0/8");
    f.focus = 3;
    feed(&mut m, [key(KeyCode::Enter)]);
    m
}

/// Page 3 with the bad pod subnet and a plain-http package mirror whose key is not pinned, the
/// key's field focused (at 80×24 the page scrolls to it).
pub fn form_mirror_key_missing() -> Model {
    let mut m = form_invalid_cidr();
    m.status = None;
    let f = m.form.as_mut().expect("form");
    f.set(FieldId::PackageMirror, "http://192.0.2.1/k8s");
    f.focus = f
        .focusables(Page::Cluster)
        .iter()
        .position(|id| *id == FieldId::PackageMirrorKey)
        .expect("the key field");
    m
}

/// The node tables with a mistyped address and a duplicate name.
pub fn form_nodes_invalid() -> Model {
    let mut m = form(Page::Nodes);
    let f = m.form.as_mut().expect("form");
    f.set(
        FieldId::Node {
            row: 4,
            col: super::form::Col::Address,
        },
        "10.0.0.2x",
    );
    f.set(
        FieldId::Node {
            row: 5,
            col: super::form::Col::Name,
        },
        "worker1",
    );
    f.focus = 4 * 4 + 1;
    m
}

pub fn cluster() -> crate::inventory::Cluster {
    validate::check(&crate::inventory::parse(EXAMPLE).expect("example parses"))
        .expect("example is valid")
        .0
}

fn check(node: &str, check: &str, status: CheckStatus, found: &str, fix: &str) -> CheckResult {
    CheckResult {
        node: node.into(),
        check: check.into(),
        status,
        found: found.into(),
        fix: fix.into(),
        fixable: None,
    }
}

/// Enter on the last page of a new inventory: where to save it (the default prefilled).
pub fn save_as() -> Model {
    let mut m = form(Page::Cluster);
    feed(&mut m, [key(KeyCode::Enter)]);
    m
}

/// `?` on the node tables: every key of the page.
pub fn help_nodes() -> Model {
    let mut m = form(Page::Nodes);
    feed(&mut m, [key(KeyCode::F(1))]);
    m
}

/// `q` on Welcome after editing: asks before the edits are lost.
pub fn quit_unsaved() -> Model {
    let mut m = form(Page::Access);
    feed(&mut m, [key(KeyCode::Char('x')), key(KeyCode::Esc)]);
    feed(&mut m, [key(KeyCode::Char('q'))]);
    m
}

/// Through the forms to the preflight screen (the Next of the last page).
pub fn preflight_started() -> Model {
    let mut m = save_as();
    feed(&mut m, [key(KeyCode::Enter)]);
    // The runtime answers a save at once.
    let saved = m.save_path.clone();
    feed(&mut m, [Msg::Saved(Ok(saved))]);
    assert_eq!(m.screen, super::model::Screen::Preflight, "{:?}", m.status);
    m
}

/// Preflight finished: every node connected and checked, swap on worker2 (fixable warning).
pub fn preflight_done() -> Model {
    let mut m = preflight_started();
    let c = cluster();
    for (i, n) in c.all_hosts().enumerate() {
        ev(
            &mut m,
            Event::NodeConnecting {
                node: n.name.clone(),
            },
        );
        ev(
            &mut m,
            Event::NodeConnected {
                node: n.name.clone(),
                detail: if i % 2 == 0 {
                    "Ubuntu 24.04.3 LTS".into()
                } else {
                    "Debian GNU/Linux 13 (trixie)".into()
                },
            },
        );
        let cp = n.role != crate::inventory::Role::Worker;
        let mut checks = vec![
            check(
                &n.name,
                "os",
                CheckStatus::Pass,
                "Ubuntu 24.04 (supported)",
                "",
            ),
            check(
                &n.name,
                "cpu",
                CheckStatus::Pass,
                if cp {
                    "2 CPUs (need 2)"
                } else {
                    "2 CPUs (need 1)"
                },
                "",
            ),
            check(
                &n.name,
                "memory",
                CheckStatus::Pass,
                "3.8 GB (need 2 GB)",
                "",
            ),
            check(&n.name, "cgroup", CheckStatus::Pass, "cgroup v2", ""),
            check(&n.name, "ports", CheckStatus::Pass, "6443, 10250 free", ""),
            check(&n.name, "product_uuid", CheckStatus::Pass, "unique", ""),
            check(&n.name, "mac", CheckStatus::Pass, "unique", ""),
        ];
        if n.name == "worker2" {
            checks.push(CheckResult {
                fixable: Some("swap-off".into()),
                ..check(
                    &n.name,
                    "swap",
                    CheckStatus::Warn,
                    "swap is on (2048 MB)",
                    "the prepare step turns it off for good",
                )
            });
        } else {
            checks.push(check(&n.name, "swap", CheckStatus::Pass, "off", ""));
        }
        if n.role != crate::inventory::Role::LoadBalancer {
            checks.push(check(
                &n.name,
                "lb-reach",
                CheckStatus::Pass,
                "lb.example.internal:6443 reachable",
                "",
            ));
        }
        for r in checks {
            ev(&mut m, Event::PreflightResult(r));
        }
    }
    ev(&mut m, Event::PreflightDone { blocking: vec![] });
    m.preflight.selected = 6;
    m
}

/// Preflight with an unknown host key question open.
pub fn preflight_host_key() -> Model {
    let mut m = preflight_started();
    for n in ["lb", "master1", "master2", "master3", "worker1", "worker2"] {
        ev(&mut m, Event::NodeConnecting { node: n.into() });
        ev(
            &mut m,
            Event::NodeConnected {
                node: n.into(),
                detail: "Ubuntu 24.04.3 LTS".into(),
            },
        );
    }
    ev(
        &mut m,
        Event::NodeConnecting {
            node: "worker3".into(),
        },
    );
    ev(
        &mut m,
        Event::HostKeyQuestion {
            node: "worker3".into(),
            host: "10.0.0.23:22".into(),
            algorithm: "ssh-ed25519".into(),
            fingerprint: "SHA256:v8Zl0mR3p5Jm0dWq0c3iQm2k9x7XyU1HkT4bPz9Yc2E".into(),
            reply: reply(),
        },
    );
    m
}

/// Preflight where master2's host key changed: red warning, node blocked; a failed check too.
pub fn preflight_key_changed() -> Model {
    let mut m = preflight_done();
    ev(
        &mut m,
        Event::NodeUnreachable {
            node: "master2".into(),
            error: "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for 10.0.0.12! The ssh-ed25519 key now offered has fingerprint SHA256:Q2xhc2ggb2YgdGhlIGtleXM, which does not match the key recorded in ~/.ssh/known_hosts:14.".into(),
            failure: crate::engine::Failure::HostKeyChanged,
        },
    );
    ev(
        &mut m,
        Event::PreflightResult(check(
            "worker1",
            "memory",
            CheckStatus::Fail,
            "1.0 GB",
            "a worker needs at least 2 GB of RAM",
        )),
    );
    m.preflight.selected = 2;
    m
}

/// The passwords dialog with a sudo password typed.
pub fn preflight_passwords() -> Model {
    let mut m = preflight_done();
    feed(&mut m, [key(KeyCode::Char('p'))]);
    for c in "s3cret".chars() {
        feed(&mut m, [key(KeyCode::Char(c))]);
    }
    m
}

/// The plan review.
pub fn plan_review() -> Model {
    let mut m = preflight_done();
    feed(&mut m, [key(KeyCode::Enter)]);
    assert_eq!(m.screen, super::model::Screen::Plan, "{:?}", m.status);
    m.plan.selected = 4;
    m
}

/// The script of the kubeadm-init step.
pub fn plan_script() -> Model {
    let mut m = plan_review();
    let rows = m.plan.rows();
    let p = m.plan.plan.as_ref().expect("plan");
    let at = rows
        .iter()
        .position(|r| matches!(r, super::model::PlanRow::Step(i, j) if p.phases[*i].steps[*j].id == "kubeadm-init"))
        .expect("an init step");
    m.plan.selected = at;
    feed(&mut m, [key(KeyCode::Enter)]);
    m
}

fn node_infos() -> Vec<NodeInfo> {
    let c = cluster();
    let p = plan::build(&c);
    c.all_hosts()
        .map(|n| NodeInfo {
            name: n.name.clone(),
            role: n.role,
            address: n.address.to_string(),
            steps: p.steps().filter(|(_, s)| s.node == n.name).count(),
        })
        .collect()
}

fn phases() -> Vec<PhaseInfo> {
    plan::build(&cluster())
        .phases
        .iter()
        .map(|p| PhaseInfo {
            name: p.name.clone(),
            title: p.title.clone(),
        })
        .collect()
}

fn log(m: &mut Model, node: &str, step: &str, line: &str) {
    ev(
        m,
        Event::Log {
            node: node.into(),
            step: step.into(),
            stream: Stream::Stdout,
            line: line.into(),
        },
    );
}

fn step(
    m: &mut Model,
    node: &str,
    step: &str,
    title: &str,
    phase: &str,
    secs: u64,
    lines: &[&str],
) {
    ev(
        m,
        Event::StepStarted {
            node: node.into(),
            step: step.into(),
            title: title.into(),
            phase: phase.into(),
        },
    );
    for l in lines {
        log(m, node, step, l);
    }
    if secs > 0 {
        ev(
            m,
            Event::StepFinished {
                node: node.into(),
                step: step.into(),
                outcome: StepOutcome::Succeeded,
                duration: Duration::from_secs(secs),
            },
        );
    }
}

const PREP: [&str; 4] = [
    "cgroup: cgroup2fs",
    "swap turned off",
    "wrote /etc/modules-load.d/k8s.conf",
    "node prepared",
];
const CONTAINERD: [&str; 4] = [
    "apt offers containerd 1.7.28-0ubuntu1~24.04.1; this Kubernetes minor needs >= 2.0",
    "Setting up containerd.io (2.1.5-1~ubuntu.24.04~noble) ...",
    "containerd 2.1.5: SystemdCgroup = true, sandbox registry.k8s.io/pause:3.10.1 (config version 3)",
    "wrote /etc/crictl.yaml",
];
const PKGS: [&str; 3] = [
    "Get:1 https://pkgs.k8s.io/core:/stable:/v1.37/deb  InRelease [1186 B]",
    "Setting up kubelet (1.37.1-1.1) ...",
    "installed kubelet=1.37.1-1.1 kubeadm=1.37.1-1.1 kubectl=1.37.1-1.1",
];

/// The dashboard mid-run: the LB and prepare phases done, kubeadm init running on master1.
/// The example with a load-balancer pair (lb + lb2, VIP 10.0.0.5).
fn pair_cluster() -> crate::inventory::Cluster {
    validate::check(&crate::inventory::example_pair())
        .expect("the pair is valid")
        .0
}

/// A pair's run: HAProxy and keepalived done on both LBs, lb holds the VIP, the nodes are
/// being prepared.
pub fn run_pair() -> Model {
    let mut m = plan_review();
    feed(
        &mut m,
        [Msg::Tick(Duration::from_secs(5)), key(KeyCode::Char('s'))],
    );
    let c = pair_cluster();
    let p = plan::build(&c);
    ev(
        &mut m,
        Event::RunStarted {
            cluster: "prod".into(),
            nodes: c
                .all_hosts()
                .map(|n| NodeInfo {
                    name: n.name.clone(),
                    role: n.role,
                    address: n.address.to_string(),
                    steps: p.steps().filter(|(_, s)| s.node == n.name).count(),
                })
                .collect(),
            phases: p
                .phases
                .iter()
                .map(|p| PhaseInfo {
                    name: p.name.clone(),
                    title: p.title.clone(),
                })
                .collect(),
            simulated: true,
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 0,
            name: "load-balancer".into(),
        },
    );
    for (lb, state) in [("lb", "MASTER"), ("lb2", "BACKUP")] {
        step(
            &mut m,
            lb,
            "haproxy",
            "Install HAProxy, write and validate haproxy.cfg",
            "load-balancer",
            4,
            &["haproxy listens on port 6443"],
        );
        let said = format!(
            "keepalived runs: this load balancer is {state}; the virtual address 10.0.0.5 answers on port 6443"
        );
        step(
            &mut m,
            lb,
            "keepalived",
            "Install keepalived: unicast VRRP with the other LB, the virtual address, HAProxy tracked",
            "load-balancer",
            6,
            &["wrote /etc/keepalived/keepalived.conf", &said],
        );
    }
    ev(
        &mut m,
        Event::LbPairState {
            vip: "10.0.0.5".into(),
            states: vec![
                ("lb".into(), Some("MASTER".into())),
                ("lb2".into(), Some("BACKUP".into())),
            ],
        },
    );
    ev(
        &mut m,
        Event::PhaseFinished {
            index: 0,
            name: "load-balancer".into(),
            ok: true,
            duration: Duration::from_secs(10),
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 1,
            name: "prepare".into(),
        },
    );
    step(
        &mut m,
        "master1",
        "prepare",
        "Prepare the node: cgroup check, swap off, kernel modules, sysctls",
        "prepare",
        0,
        &PREP,
    );
    feed(&mut m, [Msg::Tick(Duration::from_secs(19))]);
    m
}

pub fn run_running() -> Model {
    let mut m = plan_review();
    feed(
        &mut m,
        [Msg::Tick(Duration::from_secs(5)), key(KeyCode::Char('s'))],
    );
    ev(
        &mut m,
        Event::RunStarted {
            cluster: "prod".into(),
            nodes: node_infos(),
            phases: phases(),
            simulated: true,
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 0,
            name: "load-balancer".into(),
        },
    );
    step(
        &mut m,
        "lb",
        "haproxy",
        "Install HAProxy, write and validate haproxy.cfg",
        "load-balancer",
        4,
        &[
            "Setting up haproxy (2.8.5-1ubuntu3) ...",
            "Configuration file is valid",
            "haproxy listens on port 6443",
        ],
    );
    ev(
        &mut m,
        Event::PhaseFinished {
            index: 0,
            name: "load-balancer".into(),
            ok: true,
            duration: Duration::from_secs(4),
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 1,
            name: "prepare".into(),
        },
    );
    for n in [
        "master1", "master2", "master3", "worker1", "worker2", "worker3",
    ] {
        step(
            &mut m,
            n,
            "prepare",
            "Swap off, kernel modules, sysctls",
            "prepare",
            3,
            &PREP,
        );
        step(
            &mut m,
            n,
            "containerd",
            "Install and configure containerd",
            "prepare",
            9,
            &CONTAINERD,
        );
        step(
            &mut m,
            n,
            "kube-packages",
            "Install kubelet, kubeadm, kubectl (held)",
            "prepare",
            11,
            &PKGS,
        );
    }
    step(
        &mut m,
        "lb",
        "kubectl",
        "Install kubectl on the load balancer",
        "prepare",
        8,
        &PKGS,
    );
    ev(
        &mut m,
        Event::PhaseFinished {
            index: 1,
            name: "prepare".into(),
            ok: true,
            duration: Duration::from_secs(24),
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 2,
            name: "init".into(),
        },
    );
    feed(&mut m, [Msg::Tick(Duration::from_secs(33))]);
    step(
        &mut m,
        "master1",
        "kubeadm-init",
        "kubeadm init with the control-plane endpoint, uploading certificates",
        "init",
        0,
        &[
            "kubeadm init v1.37.1",
            "[preflight] Running pre-flight checks",
            "[certs] Generating \"ca\" certificate and key",
            "[kubeconfig] Writing \"admin.conf\" kubeconfig file",
            "[control-plane] Creating static Pod manifest for \"kube-apiserver\"",
            "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods",
        ],
    );
    feed(&mut m, [Msg::Tick(Duration::from_secs(41))]);
    m.run.selected = 1;
    m
}

/// The confirmation before kubeadm init.
pub fn confirm_init() -> Model {
    let mut m = run_running();
    ev(
        &mut m,
        Event::ConfirmationNeeded {
            step: "kubeadm-init".into(),
            nodes: vec!["master1".into()],
            title: "kubeadm init on master1 creates the cluster".into(),
            detail: "kubeadm init creates the cluster CA and control plane on master1 and uploads the control-plane certificates, encrypted under a generated key, into the cluster for two hours".into(),
            command: format!(
                "{}\n# on stdin: 1 file, then the script of kubeadm-init",
                crate::engine::payload::command(
                    "sudo -n -- ",
                    "/tmp/kha-tui.k3x9/kubeadm-init.pgid"
                )
            ),
            reply: reply(),
        },
    );
    m
}

/// A destructive step: the cluster name must be typed.
pub fn confirm_reset() -> Model {
    let mut m = run_running();
    ev(
        &mut m,
        Event::ConfirmationNeeded {
            step: "kubeadm-reset".into(),
            nodes: vec!["worker2".into()],
            title: "kubeadm reset wipes worker2".into(),
            detail: "kubeadm reset removes the node's Kubernetes state (/etc/kubernetes, /var/lib/kubelet, /var/lib/etcd) so that it can join again".into(),
            command: "sudo -n kubeadm reset --force".into(),
            reply: reply(),
        },
    );
    // Past the moment a new dialog ignores keys.
    let later = m.now + Duration::from_secs(1);
    feed(&mut m, [Msg::Tick(later)]);
    for c in "pro".chars() {
        feed(&mut m, [key(KeyCode::Char(c))]);
    }
    m
}

/// kubeadm init has printed nothing for 2:10 (the engine's StepQuiet).
pub fn run_quiet() -> Model {
    let mut m = run_running();
    feed(&mut m, [Msg::Tick(Duration::from_secs(171))]);
    ev(
        &mut m,
        Event::StepQuiet {
            node: "master1".into(),
            step: "kubeadm-init".into(),
            quiet_for: Duration::from_secs(130),
        },
    );
    m
}

/// Ctrl-C during the run: asks first.
pub fn stop_dialog() -> Model {
    let mut m = run_running();
    feed(&mut m, [ctrl('c')]);
    m
}

/// worker2 failed joining; the run stopped; retry is offered.
pub fn run_failed() -> Model {
    let mut m = run_running();
    let tail = [
        "[certs] Using certificateDir folder \"/etc/kubernetes/pki\"",
        "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\"",
        "[bootstrap-token] Using token: <<kha:bootstrap-token>>",
        "Your Kubernetes control-plane has initialized successfully!",
    ];
    for l in tail {
        log(&mut m, "master1", "kubeadm-init", l);
    }
    ev(
        &mut m,
        Event::StepFinished {
            node: "master1".into(),
            step: "kubeadm-init".into(),
            outcome: StepOutcome::Succeeded,
            duration: Duration::from_secs(14),
        },
    );
    ev(
        &mut m,
        Event::PhaseFinished {
            index: 2,
            name: "init".into(),
            ok: true,
            duration: Duration::from_secs(14),
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 3,
            name: "join-control-planes".into(),
        },
    );
    for n in ["master2", "master3"] {
        step(
            &mut m,
            n,
            "kubeadm-join",
            "kubeadm join as a control plane through the endpoint",
            "join-control-planes",
            12,
            &[
                "[preflight] Running pre-flight checks",
                "[control-plane-join] Creating static Pod manifests",
                "This node has joined the cluster and a new control plane instance was created",
            ],
        );
    }
    ev(
        &mut m,
        Event::PhaseFinished {
            index: 3,
            name: "join-control-planes".into(),
            ok: true,
            duration: Duration::from_secs(24),
        },
    );
    ev(
        &mut m,
        Event::PhaseStarted {
            index: 4,
            name: "join-workers".into(),
        },
    );
    for n in ["worker1", "worker3"] {
        step(
            &mut m,
            n,
            "kubeadm-join",
            "kubeadm join as a worker through the endpoint",
            "join-workers",
            7,
            &[
                "[preflight] Running pre-flight checks",
                "This node has joined the cluster",
            ],
        );
    }
    ev(
        &mut m,
        Event::StepStarted {
            node: "worker2".into(),
            step: "kubeadm-join".into(),
            title: "kubeadm join as a worker through the endpoint".into(),
            phase: "join-workers".into(),
        },
    );
    log(
        &mut m,
        "worker2",
        "kubeadm-join",
        "[preflight] Running pre-flight checks",
    );
    ev(&mut m, Event::Log { node: "worker2".into(), step: "kubeadm-join".into(), stream: Stream::Stderr, line: "error execution phase preflight: couldn't validate the identity of the API Server: Get \"https://lb.example.internal:6443/api/v1/namespaces/kube-public/configmaps/cluster-info\": dial tcp 10.0.0.10:6443: i/o timeout".into() });
    ev(&mut m, Event::StepFinished {
        node: "worker2".into(),
        step: "kubeadm-join".into(),
        outcome: StepOutcome::Failed { failure: crate::engine::Failure::Exited(1), reason: "[preflight] Running pre-flight checks\nerror execution phase preflight: couldn't validate the identity of the API Server: Get \"https://lb.example.internal:6443/api/v1/namespaces/kube-public/configmaps/cluster-info\": dial tcp 10.0.0.10:6443: i/o timeout\nTo see the stack trace of this error execute with --v=5 or higher".into() },
        duration: Duration::from_secs(31),
    });
    ev(
        &mut m,
        Event::PhaseFinished {
            index: 4,
            name: "join-workers".into(),
            ok: false,
            duration: Duration::from_secs(31),
        },
    );
    feed(&mut m, [Msg::Tick(Duration::from_secs(112))]);
    ev(
        &mut m,
        Event::RunFinished(RunSummary {
            ok: false,
            stopped: Some(
                "worker2 failed at kubeadm-join; later phases did not run. Retry resumes.".into(),
            ),
            failures: vec![(
                "worker2".into(),
                "kubeadm-join".into(),
                "i/o timeout".into(),
            )],
            phase_durations: vec![],
            total: Duration::from_secs(107),
            total_all_runs: Duration::from_secs(107),
            cluster_nodes: vec![],
            endpoint: "lb.example.internal:6443".into(),
            kubeconfig: "~/.kube/config on lb (10.0.0.10)".into(),
            log_dir: "/home/op/.local/state/kha-tui/logs/prod".into(),
            state_file: "/home/op/.local/state/kha-tui/prod.json".into(),
        }),
    );
    m.run.selected = 5;
    m
}

/// The summary after a successful run.
pub fn done() -> Model {
    let mut m = run_running();
    let infos = node_infos();
    for c in &mut m.run.nodes {
        c.done = infos
            .iter()
            .find(|i| i.name == c.info.name)
            .map(|i| i.steps)
            .unwrap_or(0);
        c.status = super::model::NodeStatus::Done;
    }
    for (i, p) in m.run.phases.iter_mut().enumerate() {
        p.status = super::model::PhaseStatus::Ok;
        p.duration = Some(Duration::from_secs([4, 24, 14, 24, 7, 9][i.min(5)]));
    }
    let phase_durations = m
        .run
        .phases
        .iter()
        .map(|p| (p.info.name.clone(), p.duration.unwrap_or_default()))
        .collect();
    feed(&mut m, [Msg::Tick(Duration::from_secs(90))]);
    ev(
        &mut m,
        Event::RunFinished(RunSummary {
            ok: true,
            stopped: None,
            failures: vec![],
            phase_durations,
            total: Duration::from_secs(82),
            // A first run failed after 1:47; this one resumed it.
            total_all_runs: Duration::from_secs(82 + 107),
            cluster_nodes: [
                "master1", "master2", "master3", "worker1", "worker2", "worker3",
            ]
            .iter()
            .map(|n| crate::engine::events::ClusterNode {
                name: n.to_string(),
                ready: true,
                version: "v1.37.1".into(),
                roles: if n.starts_with("master") {
                    "control-plane".into()
                } else {
                    "<none>".into()
                },
            })
            .collect(),
            endpoint: "lb.example.internal:6443".into(),
            kubeconfig: "~/.kube/config on lb (10.0.0.10)".into(),
            log_dir: "/home/op/.local/state/kha-tui/logs/prod".into(),
            state_file: "/home/op/.local/state/kha-tui/prod.json".into(),
        }),
    );
    m
}

/// A status report of the example cluster: `faulty` has master3's etcd stopped, master2's API
/// server DOWN behind HAProxy, certificates 28 days from expiry and a bootstrap token.
pub fn cluster_status_with(faulty: bool) -> crate::day2::ClusterStatus {
    use crate::day2::status_fixture::{Faults, reported};
    let c = cluster();
    let f = if faulty {
        Faults {
            etcd_stopped: Some("master3"),
            backend_down: Some("master2"),
            cert_days: Some(28),
            token: true,
            ..Default::default()
        }
    } else {
        Faults::default()
    };
    let (lines, unreachable) = reported(&f);
    let mut s = crate::day2::status::build(&c, &lines, &unreachable, &[]);
    crate::day2::status_checks::check(&c, &mut s, "/home/op/.config/kha-tui/cluster.toml");
    s
}

pub fn cluster_status() -> crate::day2::ClusterStatus {
    cluster_status_with(false)
}

fn cluster_view_with(faulty: bool) -> Model {
    let mut m = done();
    super::cluster_view::open(&mut m);
    super::cluster_view::arrived(&mut m, Ok(Box::new(cluster_status_with(faulty))));
    m
}

/// The cluster view after the install: healthy.
pub fn cluster_view() -> Model {
    cluster_view_with(false)
}

/// The cluster view with a stopped etcd member, a DOWN backend and certificates near expiry.
pub fn cluster_view_problems() -> Model {
    cluster_view_with(true)
}

/// Every fixture by name (snapshot and screenshot names).
/// A fixture: a name and how to build it.
pub type Fixture = (&'static str, fn() -> Model);

pub fn all() -> Vec<Fixture> {
    vec![
        ("welcome", welcome as fn() -> Model),
        ("form_access", || form(Page::Access)),
        ("form_pair", form_pair),
        ("form_nodes", || form(Page::Nodes)),
        ("form_nodes_invalid", form_nodes_invalid),
        ("form_cluster", || form(Page::Cluster)),
        ("form_invalid_cidr", form_invalid_cidr),
        ("form_mirror_key_missing", form_mirror_key_missing),
        ("save_as", save_as),
        ("help_nodes", help_nodes),
        ("quit_unsaved", quit_unsaved),
        ("preflight", preflight_done),
        ("preflight_host_key", preflight_host_key),
        ("preflight_key_changed", preflight_key_changed),
        ("preflight_passwords", preflight_passwords),
        ("plan", plan_review),
        ("plan_script", plan_script),
        ("run", run_running),
        ("run_quiet", run_quiet),
        ("run_pair", run_pair),
        ("confirm_init", confirm_init),
        ("confirm_reset", confirm_reset),
        ("stop_dialog", stop_dialog),
        ("run_failed", run_failed),
        ("done", done),
        ("drill_confirm", super::fixtures_drill::drill_confirm),
        ("drill", super::fixtures_drill::drill),
        ("cluster", cluster_view),
        ("cluster_problems", cluster_view_problems),
        ("cluster_home", super::fixtures_day2::cluster_home),
        ("day2_add", super::fixtures_day2::day2_add),
        ("day2_add_review", super::fixtures_day2::day2_add_review),
        ("day2_pick", super::fixtures_day2::day2_pick),
        ("day2_remove_cp", super::fixtures_day2::day2_remove_cp),
        ("day2_reset", super::fixtures_day2::day2_reset),
        ("upgrade_ready", super::fixtures_upgrade::upgrade_ready),
        ("upgrade_skip", super::fixtures_upgrade::upgrade_skip),
        ("upgrade_newest", super::fixtures_upgrade::upgrade_newest),
        (
            "preflight_install_key",
            super::fixtures_key_setup::preflight_install_key,
        ),
    ]
}
