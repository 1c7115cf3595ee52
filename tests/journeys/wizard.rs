//! Driving the wizard as an operator does, for the journeys: one tmux window per kha-tui run,
//! keys in, screen text out, with a private HOME (its state, logs and known_hosts).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::lab::Lab;
use crate::tmux::Tmux;

pub const BIN: &str = env!("CARGO_BIN_EXE_kha-tui");

/// The hosts of one journey's cluster (lab host names).
pub struct Cluster {
    pub name: String,
    pub lb: String,
    /// (name, address)
    pub control_planes: Vec<(String, String)>,
    pub workers: Vec<(String, String)>,
}

impl Cluster {
    pub fn new(name: &str, lb: &str, cps: &[&str], workers: &[&str], lab: &Lab) -> Cluster {
        let pair = |n: &&str| (n.to_string(), lab.addr(n).to_string());
        Cluster {
            name: name.into(),
            lb: lb.into(),
            control_planes: cps.iter().map(pair).collect(),
            workers: workers.iter().map(pair).collect(),
        }
    }

    /// Kubernetes nodes: control planes, then workers.
    pub fn nodes(&self) -> Vec<(String, String)> {
        self.control_planes
            .iter()
            .chain(&self.workers)
            .cloned()
            .collect()
    }

    /// Every host, the LB first.
    pub fn hosts(&self) -> Vec<String> {
        std::iter::once(self.lb.clone())
            .chain(self.nodes().into_iter().map(|(n, _)| n))
            .collect()
    }

    /// An inventory for this cluster, from the lab's (its mirrors, user and key), with comments.
    pub fn inventory_text(&self, lab: &Lab) -> String {
        let labinv = std::fs::read_to_string(&lab.inventory).unwrap();
        let value = |key: &str| {
            labinv
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = ")))
                .unwrap_or("\"\"")
                .to_string()
        };
        let mut s = format!(
            "# Journey cluster {name}: written by the journey test, edited by the wizard.\n\
             [cluster]\nname = \"{name}\"\nkubernetes_version = {k}\ncalico_version = {cv}\n\
             # The lab's file server stands in for pkgs.k8s.io, Docker and GitHub.\n\
             package_mirror = {pm}\ncontainerd_mirror = {cm}\nmanifest_mirror = {mm}\n{keys}\n\
             [load_balancer]\nname = \"{lb}\"\naddress = \"{lba}\"\nport = 6443\n\n\
             [ssh]\nuser = \"ops\"\nidentity_file = \"{key}\"\n",
            name = self.name,
            k = value("kubernetes_version"),
            cv = value("calico_version"),
            pm = value("package_mirror"),
            cm = value("containerd_mirror"),
            mm = value("manifest_mirror"),
            // The mirrors are plain http: their signing keys (and the manifests' sums) are pinned, as
            // the lab's are.
            keys = labinv
                .lines()
                .filter(|l| l.contains("_mirror_key = ") || l.contains("_sha256 = "))
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            lb = self.lb,
            lba = lab.addr(&self.lb),
            key = lab.key.display(),
        );
        for (role, list) in [
            ("control-plane", &self.control_planes),
            ("worker", &self.workers),
        ] {
            for (n, a) in list {
                s.push_str(&format!(
                    "\n[[nodes]]\nname = \"{n}\"\naddress = \"{a}\"\nrole = \"{role}\"\n"
                ));
            }
        }
        s
    }
}

/// One kha-tui wizard in tmux.
pub struct Wizard {
    pub t: Tmux,
}

impl Wizard {
    /// `kha-tui wizard [--config FILE]` at 120×36 with HOME and the XDG dirs under `home`.
    pub fn start(tag: &str, lab: &Lab, home: &Path, config: Option<&Path>) -> Wizard {
        Self::start_until(tag, lab, home, config, "Welcome to")
    }

    /// `kha-tui wizard --config FILE` on an installed cluster: it opens on the cluster view.
    pub fn start_home(tag: &str, lab: &Lab, home: &Path, config: &Path) -> Wizard {
        Self::start_until(tag, lab, home, Some(config), "┌ Cluster ")
    }

    fn start_until(
        tag: &str,
        lab: &Lab,
        home: &Path,
        config: Option<&Path>,
        first: &str,
    ) -> Wizard {
        let h = home.display();
        let cfg = config
            .map(|p| format!(" --config {}", p.display()))
            .unwrap_or_default();
        let cmd = format!(
            "env HOME={h} XDG_CONFIG_HOME={h}/.config XDG_STATE_HOME={h}/.local/state XDG_DATA_HOME={h}/.local/share TERM=xterm-256color {BIN} wizard{cfg}"
        );
        let tag = format!("{}-{tag}", lab.name);
        let w = Wizard {
            t: Tmux::start(&tag, &cmd, &home.join(format!("exit-{tag}")), 120, 36),
        };
        w.wait(first, 30);
        w
    }

    /// Keys with a pause after each, as a person types: a loaded machine keeps up.
    pub fn keys(&self, k: &[&str]) {
        for key in k {
            self.t.keys(&[key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    pub fn text(&self, s: &str) {
        self.t.text(s)
    }
    pub fn wait(&self, what: &str, secs: u64) -> String {
        self.t.wait(what, secs)
    }

    /// On Welcome: moves to the entry starting with `label` (↑↓) and takes it.
    pub fn choose(&self, label: &str) {
        for _ in 0..6 {
            if self.t.screen().contains(&format!("▶ {label}")) {
                self.keys(&["Enter"]);
                return;
            }
            self.keys(&["Down"]);
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no {label:?} on Welcome:\n{}", self.t.screen());
    }

    /// Clears the focused text field and types `value` (readline's Ctrl-U), then waits until
    /// the focused line (›) shows it (its end, for long values): keys are only sent on once the
    /// wizard has taken the ones before, however loaded the machine is.
    pub fn set(&self, value: &str) {
        let tail: String = {
            let v: Vec<char> = value.chars().collect();
            v[v.len().saturating_sub(12)..].iter().collect()
        };
        let focused = |s: &str| s.lines().any(|l| l.contains('›') && l.contains(&tail));
        self.keys(&["C-u"]);
        // Cleared first (the old value may equal the new one, or hold it: wait a little only).
        let end = Instant::now() + Duration::from_secs(2);
        while focused(&self.t.screen()) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.text(value);
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.t.screen();
            if s.lines().any(|l| l.contains('›') && l.contains(&tail)) {
                return;
            }
            assert!(
                Instant::now() < end,
                "typed {value:?}, not on the focused line:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Journey 1's typing: page 1 (LB and SSH), page 2 (the node table, cell by cell), page 3
    /// (the cluster's name). Tab moves field to field (cell to cell in the table).
    pub fn type_new_inventory(&self, lab: &Lab, c: &Cluster) {
        // A new inventory starts empty or with examples: every value is typed over.
        self.wait("1. Load balancer and SSH", 20);
        // Name, Address, Endpoint (empty = address), API port.
        self.set(&c.lb);
        self.keys(&["Tab"]);
        self.set(lab.addr(&c.lb));
        self.keys(&["Tab", "Tab"]);
        self.set("6443");
        // SSH: user, port, a key file.
        self.keys(&["Tab"]);
        self.set("ops");
        self.keys(&["Tab"]);
        self.set("22");
        self.keys(&["Tab"]);
        if self.t.screen().contains("◂ ssh-agent ▸") {
            self.keys(&["Right"]);
        }
        self.keys(&["Tab"]);
        self.set(&lab.key.display().to_string());
        self.page_valid("1 LB & SSH");
        self.keys(&["Enter"]);
        self.wait("2. Control planes and workers", 20);
        // The table, cell by cell (Tab wraps to the next row); Ctrl-N adds a row where the
        // table has too few. A new inventory starts with the rows its headings count.
        let rows = c.nodes();
        let heading = |s: &str, what: &str| -> usize {
            s.split(what)
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0)
        };
        let s = self.t.screen();
        let existing = heading(&s, "Control planes (") + heading(&s, "Workers (");
        for (i, (n, a)) in rows.iter().enumerate() {
            if i > 0 && i < existing {
                self.keys(&["Tab"]);
            }
            if i >= existing {
                // A new row comes with a name and the focus on its Address.
                self.keys(&["C-n"]);
                std::thread::sleep(Duration::from_millis(300));
                let s = self.t.screen();
                let named = s.lines().any(|l| {
                    l.contains('›')
                        && l.trim_start_matches(['│', ' ', '›', '★'])
                            .starts_with(&format!("{n} "))
                });
                if !named {
                    self.keys(&["BTab"]);
                    self.set(n);
                    self.keys(&["Tab"]);
                }
            } else {
                self.set(n);
                self.keys(&["Tab"]);
            }
            self.set(a);
            self.keys(&["Tab"]);
            self.set("ops");
            self.keys(&["Tab"]);
            self.set("22");
            let worker = i >= c.control_planes.len();
            std::thread::sleep(Duration::from_millis(300));
            if worker != self.row_is_worker(n) {
                self.keys(&["C-t"]);
            }
        }
        for (n, a) in &rows {
            let s = self.t.screen();
            assert!(
                s.lines()
                    .any(|l| l.contains(n.as_str()) && l.contains(a.as_str())),
                "{n} {a} not in the table:\n{s}"
            );
        }
        self.page_valid("2 Nodes");
        self.keys(&["Enter"]);
        self.wait("3. Kubernetes and networks", 20);
        // The cluster's name; everything else as offered (the newest minor, its Calico, the
        // default subnets, the default download hosts, which the lab serves itself).
        self.focus_field("Cluster name");
        self.set(&c.name);
        self.wait("✓ valid", 10);
    }

    /// Waits until the page tab `tab` shows no error count (`1 LB & SSH ✗2` → `1 LB & SSH`).
    fn page_valid(&self, tab: &str) {
        let end = Instant::now() + Duration::from_secs(15);
        while self.t.screen().contains(&format!("{tab} ✗")) {
            assert!(
                Instant::now() < end,
                "page {tab} still has errors:\n{}",
                self.t.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether `name`'s row is under the Workers heading of the node table.
    fn row_is_worker(&self, name: &str) -> bool {
        let s = self.t.screen();
        let lines: Vec<&str> = s.lines().collect();
        let workers = lines.iter().position(|l| l.contains("Workers ("));
        let row = lines.iter().position(|l| {
            l.trim_start_matches(['│', ' ', '›', '★'])
                .starts_with(&format!("{name} "))
        });
        matches!((workers, row), (Some(w), Some(r)) if r > w)
    }

    /// Tab until the focused line (marked ›) is the field `label`.
    pub fn focus_field(&self, label: &str) {
        for _ in 0..30 {
            if self
                .t
                .screen()
                .lines()
                .any(|l| l.contains('›') && l.contains(label))
            {
                return;
            }
            self.keys(&["Tab"]);
        }
        panic!("no field {label:?} on this page:\n{}", self.t.screen());
    }

    /// In the node table: ↓ to `node`'s row, Tab to its Address cell, replace `from` by `to`.
    pub fn edit_node_address(&self, node: &str, from: &str, to: &str) {
        for _ in 0..12 {
            let s = self.t.screen();
            if s.lines().any(|l| l.contains('›') && l.contains(node)) {
                break;
            }
            self.keys(&["Down"]);
        }
        self.keys(&["Tab"]);
        self.set(to);
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.t.screen();
            let row = s.lines().find(|l| l.contains(node)).unwrap_or("");
            if row.contains(&format!(" {to} ")) && !s.contains(from) {
                break;
            }
            assert!(Instant::now() < end, "{node}'s address not corrected:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ctrl-S: saves to the file the inventory came from; the status line says where.
    pub fn save(&self, file: &Path) {
        self.keys(&["C-s"]);
        self.wait(&format!("Saved to {}", file.display()), 10);
    }

    /// Ctrl-S on a new inventory: asks where; the operator types `path`.
    pub fn save_as(&self, path: &Path) {
        self.keys(&["C-s"]);
        // The question comes with a path filled in: replace it.
        std::thread::sleep(Duration::from_millis(800));
        self.keys(&["C-u"]);
        self.text(&path.display().to_string());
        std::thread::sleep(Duration::from_millis(500));
        self.keys(&["Enter"]);
        self.wait(&format!("Saved to {}", path.display()), 10);
    }

    /// From any form page, Enter through the rest to Connect (in the node table Enter goes cell
    /// by cell, and on from the last; on the last page it saves and connects).
    pub fn forms_to_connect(&self) {
        let end = Instant::now() + Duration::from_secs(120);
        loop {
            let s = self.t.screen();
            if s.contains("Connect and preflight") {
                return;
            }
            assert!(Instant::now() < end, "never reached Connect:\n{s}");
            self.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Accepts `n` unknown host keys, each in its dialog.
    pub fn accept_host_keys(&self, n: usize) {
        for i in 0..n {
            let (k, s) = self.t.wait_any(
                &["Unknown host key", "nothing blocks the run", "blocking"],
                120,
            );
            assert_eq!(k, 0, "host key {} of {n} never asked:\n{s}", i + 1);
            let s = self.wait("SHA256:", 10);
            let fp = s
                .split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .unwrap_or("SHA256:")
                .to_string();
            // A dialog ignores keys for a moment after it opens (a stray key must not answer it).
            std::thread::sleep(Duration::from_millis(600));
            self.keys(&["Right", "Enter"]);
            // The next node's dialog may follow at once: this one is gone when its key is.
            self.t.wait_gone(&fp, 10);
        }
    }

    /// Preflight passed → Plan → `s`: the run starts.
    pub fn preflight_to_run(&self) {
        let (k, s) = self
            .t
            .wait_any(&["nothing blocks the run", "Unknown host key"], 300);
        assert_eq!(k, 0, "{s}");
        self.keys(&["Enter"]);
        self.wait("Plan review", 20);
        self.keys(&["s"]);
        self.wait("Log ·", 20);
    }

    /// Until a step runs on the run screen.
    pub fn wait_running(&self) {
        self.t.wait_any(&["running", "▶"], 300);
    }

    /// Journey 5: 80×24 mid-run — the header, the node names and the footer stay — and back.
    pub fn resize_and_back(&self) {
        self.t.resize(80, 24);
        let end = Instant::now() + Duration::from_secs(10);
        // tmux may be read while a frame is still being written (under load a redraw takes a
        // while, and its lower half is blank until then), so the whole frame is waited for; a
        // layout that drops the key line still fails when the limit passes.
        loop {
            let s = self.t.screen();
            let first = s.lines().next().unwrap_or("").to_string();
            let redrawn = s.lines().all(|l| l.chars().count() <= 80) && first.contains("kha-tui");
            let key_line = s.lines().last().unwrap_or("").trim().len() > 5;
            if redrawn && key_line {
                break;
            }
            assert!(
                Instant::now() < end,
                "{}:\n{s}",
                if redrawn {
                    "the key line is gone at 80×24"
                } else {
                    "not redrawn at 80×24"
                }
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.t.resize(120, 36);
        std::thread::sleep(Duration::from_millis(500));
        assert!(self.t.screen().contains("kha-tui"));
    }

    /// Answers every confirmation (explicitly Yes) until Done; `on_failure(w, screen)` runs when
    /// a node failed (the retry key is offered). Returns the Done screen.
    pub fn run_to_done(&self, mut on_failure: impl FnMut(&Wizard, &str)) -> String {
        let mut confirmed = 0;
        loop {
            let (i, scr) = self
                .t
                .wait_any(&["Confirm — this step asks", "r  retry", "is ready"], 1500);
            match i {
                0 => {
                    // After the moment a new dialog ignores keys: an explicit yes.
                    std::thread::sleep(Duration::from_millis(600));
                    self.keys(&["y"]);
                    self.t.wait_gone("Confirm — this step asks", 10);
                    confirmed += 1;
                    assert!(confirmed < 20, "too many confirmations");
                }
                1 => {
                    on_failure(self, &scr);
                    self.t.wait_gone("r  retry", 30);
                }
                _ => return scr,
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Stop (Ctrl-C on the run screen), answered yes; waits until the run has stopped.
    pub fn stop(&self) {
        self.keys(&["C-c"]);
        self.wait("Stop", 10);
        std::thread::sleep(Duration::from_millis(600));
        self.keys(&["y"]);
        // "stopping…" while the engine ends the remote commands; the banner offers to resume
        // once it reports that everything stopped.
        self.wait("r resumes", 180);
    }

    /// `q` (answering a quit question if one comes); waits for the exit.
    pub fn quit(&self) {
        self.keys(&["q"]);
        std::thread::sleep(Duration::from_millis(500));
        if self.t.exited().is_none() && self.t.screen().contains("Quit") {
            self.keys(&["y"]);
        }
        self.t.wait_exit(120);
    }
}

/// Waits until a kha-tui step runs on `node` (a `bash /tmp/kha-tui.XXXX/STEP.sh` in its
/// process list, the preflight's script aside); returns that command line.
pub fn wait_remote_step(lab: &Lab, node: &str, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        let out = lab.exec(node, &["pgrep", "-af", "kha-tui\\.[^/ ]*/[a-z0-9-]+\\.sh"]);
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        if let Some(l) = s.lines().find(|l| !l.contains("/preflight.sh")) {
            return l.to_string();
        }
        assert!(Instant::now() < end, "no kha-tui step ever ran on {node}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The longest duration written on a screen (`1m05s`, `3:07`, `42s`, `42.3s`).
pub fn longest_duration(screen: &str) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for w in screen.split(|c: char| c.is_whitespace() || "()[]│,".contains(c)) {
        let d = parse_duration(w);
        if let Some(d) = d
            && best.is_none_or(|b| d > b)
        {
            best = Some(d);
        }
    }
    best
}

fn parse_duration(w: &str) -> Option<Duration> {
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if let Some((m, s)) = w.split_once(':') {
        return Some(Duration::from_secs(
            m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?,
        ));
    }
    let w = w.strip_suffix('s')?;
    let (m, s) = match w.split_once('m') {
        Some((m, s)) => (m.parse::<u64>().ok()?, s),
        None => (0, w),
    };
    let s: f64 = if s.is_empty() { 0.0 } else { s.parse().ok()? };
    Some(Duration::from_secs(m * 60) + Duration::from_secs_f64(s))
}

#[test]
fn durations_on_screen_are_read() {
    assert_eq!(
        longest_duration("run 1m05s (total 3:07) step 42.5s"),
        Some(Duration::from_secs(187))
    );
    assert_eq!(longest_duration("nothing here"), None);
}
