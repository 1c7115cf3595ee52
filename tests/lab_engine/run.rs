//! What every scenario of `lab_engine` needs: a cluster on three light lab hosts of its own
//! (LB, control plane, worker), a plan of stand-in steps (short shell), the engine run over
//! real SSH with its events collected, and looks at the hosts made outside kha-tui.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kha_tui::engine::{self, Dirs, Event, Options};
use kha_tui::inventory::{self, Cluster, validate};
use kha_tui::plan::{self, Plan, Step};
use kha_tui::transport::ssh::{SshConfig, SshTransport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::lab::{self, Host, Lab};

/// One scenario's hosts on the shared lab: `hosts[0]` the LB, `[1]` the control plane,
/// `[2]` the worker. `name` is the cluster's (and so the state file's) name.
pub struct Scene<'a> {
    pub lab: &'a Lab,
    pub hosts: &'a [Host],
    pub name: &'static str,
}

/// A finished run: its summary and every event, with when it arrived.
pub struct Ran {
    pub summary: engine::RunSummary,
    pub events: Vec<(Instant, Event)>,
}

impl Ran {
    /// Every event as Debug text, one a line (for assertion messages).
    pub fn dump(&self) -> String {
        self.events
            .iter()
            .map(|(_, e)| format!("{e:?}\n"))
            .collect()
    }

    /// The index of the first `Log` line containing `part`.
    pub fn log_index(&self, part: &str) -> Option<usize> {
        self.events
            .iter()
            .position(|(_, e)| matches!(e, Event::Log { line, .. } if line.contains(part)))
    }
}

/// What a scenario does with each event as it arrives: it may stop the run (the token is the
/// one Ctrl-C and Stop cancel) or act on the hosts. It runs on the collector's thread.
pub type OnEvent = Box<dyn FnMut(&Event, &CancellationToken) + Send>;

impl Scene<'_> {
    pub fn worker(&self) -> &str {
        &self.hosts[2].name
    }

    pub fn cluster(&self) -> Cluster {
        let h = self.hosts;
        let mut t = format!(
            "[cluster]\nname = \"{}\"\nkubernetes_version = \"1.37\"\ncni = \"calico\"\ncalico_version = \"v3.33.0\"\n\n[load_balancer]\nname = \"{}\"\naddress = \"{}\"\nport = 6443\n\n[ssh]\nuser = \"ops\"\nport = 22\nidentity_file = \"{}\"\n",
            self.name,
            h[0].name,
            h[0].address,
            self.lab.key.display()
        );
        for (i, role) in [(1, "control-plane"), (2, "worker")] {
            t.push_str(&format!(
                "\n[[nodes]]\nname = \"{}\"\naddress = \"{}\"\nrole = \"{role}\"\n",
                h[i].name, h[i].address
            ));
        }
        validate::check(&inventory::parse(&t).unwrap()).unwrap().0
    }

    /// The real plan with every step a quick stand-in (`echo stand-in`, no files); then
    /// `change` may give some steps other scripts or limits.
    pub fn plan(&self, change: impl Fn(&mut Step)) -> Plan {
        let mut p = plan::build(&self.cluster());
        for ph in &mut p.phases {
            for s in &mut ph.steps {
                s.files.clear();
                s.script = "echo stand-in".into();
                change(s);
            }
        }
        p
    }

    /// The worker's `step` runs `script` with this idle limit; every other step is a stand-in.
    pub fn plan_with(&self, step: &str, script: &str, idle: Option<Duration>) -> Plan {
        let worker = self.worker().to_string();
        self.plan(|s| {
            if s.node == worker && s.id == step {
                s.script = script.into();
                s.limits.idle = idle;
            }
        })
    }

    /// Runs `plan` with state and logs under `data`, as `apply --yes` would (no preflight:
    /// light hosts have no systemd); `options` may change the run's options.
    pub fn apply(
        &self,
        data: &Path,
        plan: Plan,
        options: impl FnOnce(&mut Options),
        mut on_event: OnEvent,
    ) -> Ran {
        let c = self.cluster();
        let mut config = SshConfig::with_openssh_defaults(data.join("known_hosts"));
        config.known_hosts = vec![self.lab.known_hosts.clone()];
        let mut opts = Options::new(Dirs::under(data));
        opts.assume_yes = true;
        opts.skip_preflight = true;
        options(&mut opts);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let (tx, mut rx) = mpsc::channel(256);
            let stop = CancellationToken::new();
            let stopper = stop.clone();
            let collector = tokio::spawn(async move {
                let mut events = vec![];
                while let Some(ev) = rx.recv().await {
                    on_event(&ev, &stopper);
                    events.push((Instant::now(), ev));
                }
                events
            });
            let summary = tokio::time::timeout(
                Duration::from_secs(180),
                engine::apply_plan(Arc::new(SshTransport::new(config)), c, plan, opts, tx, stop),
            )
            .await
            .expect("the run ends");
            Ran {
                summary,
                events: collector.await.unwrap(),
            }
        })
    }

    /// Processes on `host` whose command line contains `part` (not counting the `ps` itself).
    pub fn processes(&self, host: &str, part: &str) -> Vec<String> {
        stdout(&self.lab.exec(host, &["ps", "-eo", "pid,pgid,args"]))
            .lines()
            .filter(|l| l.contains(part) && !l.contains("ps -eo"))
            .map(str::to_string)
            .collect()
    }

    /// kha-tui's work directories on `host`.
    pub fn work_dirs(&self, host: &str) -> Vec<String> {
        stdout(&self.lab.exec(host, &["ls", "-a", "/tmp"]))
            .lines()
            .filter(|l| l.starts_with("kha-tui."))
            .map(str::to_string)
            .collect()
    }

    /// Nothing containing `part` runs on any of the scenario's hosts, and no work directory is
    /// left there.
    pub fn assert_nothing_left(&self, part: &str) {
        for h in self.hosts {
            assert_eq!(
                self.processes(&h.name, part),
                Vec::<String>::new(),
                "{}",
                h.name
            );
            assert_eq!(self.work_dirs(&h.name), Vec::<String>::new(), "{}", h.name);
        }
    }
}

pub fn stdout(o: &std::process::Output) -> String {
    lab::text(&o.stdout)
}
