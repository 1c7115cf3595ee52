//! The one loop: terminal input (read on a blocking thread, forwarded into a channel), engine
//! events (a bounded channel, always drained) and a tick, in one `select!`. It feeds `update`,
//! runs the commands it returns, and draws with `view` when something changed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossterm::event::{self as ct, KeyEventKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::model::{Command, Model, Msg, Task};
use super::{update, view};
use crate::engine::{self, Options};
use crate::transport::Transport;

/// How often running clocks and streamed logs are redrawn.
const FRAME: Duration = Duration::from_millis(50);

/// The TUI's own log file (never the screen).
pub struct Logger {
    file: Option<std::fs::File>,
    start: Instant,
}

impl Logger {
    pub fn open(path: &Path) -> Logger {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok();
        Logger {
            file,
            start: Instant::now(),
        }
    }

    /// A logger that writes nowhere.
    pub fn none() -> Logger {
        Logger {
            file: None,
            start: Instant::now(),
        }
    }

    pub fn log(&mut self, msg: impl AsRef<str>) {
        if let Some(f) = self.file.as_mut() {
            let _ = writeln!(
                f,
                "{:>9.3} {}",
                self.start.elapsed().as_secs_f64(),
                msg.as_ref()
            );
        }
    }
}

/// Runs the TUI until the operator quits. Restores the terminal on return and on panic.
pub async fn run<T: Transport>(
    transport: Arc<T>,
    model: Model,
    engine_opts: Options,
    mut log: Logger,
) -> anyhow::Result<()>
where
    T::Session: Sync,
{
    let mut terminal = ratatui::init();
    log.log("terminal initialised");
    let res = event_loop(&mut terminal, transport, model, engine_opts, &mut log).await;
    ratatui::restore();
    match &res {
        Ok(()) => log.log("bye"),
        Err(e) => log.log(format!("error: {e:#}")),
    }
    res
}

/// Reads terminal events on a plain thread (crossterm's blocking API; no `event-stream` feature)
/// and forwards them; ends when `stop` is set or the receiver is gone.
fn spawn_input(tx: mpsc::Sender<ct::Event>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match ct::poll(Duration::from_millis(100)) {
                Ok(true) => match ct::read() {
                    Ok(ev) => {
                        if tx.blocking_send(ev).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                },
                Ok(false) => {}
                Err(_) => break,
            }
        }
    });
}

struct Jobs<T: Transport> {
    transport: Arc<T>,
    opts: Options,
    events: mpsc::Sender<engine::Event>,
    internal: mpsc::UnboundedSender<Msg>,
    /// Cancels the engine task now running.
    current: Option<CancellationToken>,
    /// The prepared drill waits for the operator's answer on this.
    drill_answer: Option<tokio::sync::oneshot::Sender<bool>>,
}

impl<T: Transport> Jobs<T>
where
    T::Session: Sync,
{
    fn token(&mut self) -> CancellationToken {
        if let Some(t) = self.current.take() {
            t.cancel();
        }
        let t = CancellationToken::new();
        self.current = Some(t.clone());
        t
    }

    /// What a background engine task needs: the transport, where its events go, and where it
    /// says that it ended.
    fn task_ends(
        &self,
    ) -> (
        Arc<T>,
        mpsc::Sender<crate::engine::Event>,
        mpsc::UnboundedSender<Msg>,
    ) {
        (
            self.transport.clone(),
            self.events.clone(),
            self.internal.clone(),
        )
    }

    /// Runs one command; returns messages to feed back into `update` right away.
    fn execute(&mut self, cmd: Command, log: &mut Logger) -> Vec<Msg> {
        if let Command::Preflight { cluster, .. }
        | Command::Fix { cluster, .. }
        | Command::Apply { cluster, .. }
        | Command::Status { cluster, .. } = &cmd
        {
            // The same trust sources as the CLI: the inventory's own known_hosts too.
            self.transport.use_inventory(cluster);
        }
        match cmd {
            Command::Save { path, text } => {
                log.log(format!("save {}", path.display()));
                let r = save(&path, &text)
                    .map(|()| path.clone())
                    .map_err(|e| format!("{e:#}"));
                vec![Msg::Saved(r)]
            }
            Command::Load { path } => {
                log.log(format!("load {}", path.display()));
                let result = std::fs::read_to_string(&path).map_err(|e| e.to_string());
                vec![Msg::Loaded { path, result }]
            }
            Command::Preflight {
                cluster,
                ignore,
                secrets,
            } => {
                log.log(format!(
                    "preflight of {} (ignoring {ignore:?}, {secrets:?})",
                    cluster.name
                ));
                let stop = self.token();
                let opts = engine_options(&self.opts, ignore, secrets);
                let (t, ev, done) = self.task_ends();
                tokio::spawn(async move {
                    engine::run_preflight(t, &cluster, &opts, ev, stop).await;
                    let _ = done.send(Msg::TaskEnded(Task::Preflight));
                });
                vec![]
            }
            Command::Fix {
                cluster,
                node,
                fix,
                secrets,
            } => {
                // The update asks for the whole preflight again once the fix is done.
                log.log(format!("fix {fix} on {node}"));
                let opts = engine_options(&self.opts, self.opts.ignore_preflight.clone(), secrets);
                let (t, ev, done) = self.task_ends();
                tokio::spawn(async move {
                    let result = engine::fix::fix(t, &cluster, &node, &fix, &opts, ev).await;
                    let _ = done.send(Msg::FixDone { node, fix, result });
                    let _ = done.send(Msg::TaskEnded(Task::Fix));
                });
                vec![]
            }
            Command::Apply {
                cluster,
                ignore,
                secrets,
            } => {
                log.log(format!(
                    "apply {} (ignoring {ignore:?}, {secrets:?})",
                    cluster.name
                ));
                let stop = self.token();
                let opts = engine_options(&self.opts, ignore, secrets);
                let (t, ev, done) = self.task_ends();
                tokio::spawn(async move {
                    engine::apply(t, *cluster, opts, ev, stop).await;
                    let _ = done.send(Msg::TaskEnded(Task::Apply));
                });
                vec![]
            }
            Command::Answer { reply, yes } => {
                log.log(format!("answer: {}", if yes { "yes" } else { "no" }));
                let _ = reply.send(yes);
                vec![]
            }
            Command::Status {
                cluster,
                config,
                secrets,
                accepted,
            } => {
                log.log(format!("status of {}", cluster.name));
                // Its own token: a status read never cancels (or is cancelled by) a run.
                let stop = CancellationToken::new();
                let opts = engine_options(&self.opts, vec![], secrets);
                let (t, _, done) = self.task_ends();
                tokio::spawn(async move {
                    let r = crate::day2::gather_status_trusting(
                        t, &cluster, &opts, &config, &accepted, stop,
                    )
                    .await
                    .map(Box::new)
                    .map_err(|e| format!("{e:#}"));
                    let _ = done.send(Msg::ClusterStatus(r));
                });
                vec![]
            }
            Command::Stop => {
                log.log("stop requested");
                if let Some(t) = &self.current {
                    t.cancel();
                }
                vec![]
            }
            Command::Quit => {
                log.log("quit");
                vec![]
            }
            Command::DrillPrepare { cluster, secrets } => {
                log.log(format!("drill of {} ({secrets:?})", cluster.name));
                self.transport.use_inventory(&cluster);
                let stop = self.token();
                let opts = engine_options(&self.opts, vec![], secrets);
                let (t, _, done) = self.task_ends();
                let (answer, asked) = tokio::sync::oneshot::channel();
                self.drill_answer = Some(answer);
                tokio::spawn(super::drill_task::run(t, *cluster, opts, stop, asked, done));
                vec![]
            }
            Command::Day2 { job, secrets } => {
                log.log(format!(
                    "day 2: {}",
                    super::day2_wizard::describe(&job, &secrets)
                ));
                let c = match job.as_ref() {
                    super::day2_wizard::Day2Job::Add { cluster, .. }
                    | super::day2_wizard::Day2Job::Remove { cluster, .. }
                    | super::day2_wizard::Day2Job::Reset { cluster }
                    | super::day2_wizard::Day2Job::Upgrade { cluster, .. } => cluster.clone(),
                };
                self.transport.use_inventory(&c);
                let stop = self.token();
                let opts = engine_options(&self.opts, vec![], secrets);
                let (t, ev, done) = self.task_ends();
                tokio::spawn(super::day2_task::run(t, *job, opts, ev, stop, done));
                vec![]
            }
            Command::UpgradePrepare {
                cluster,
                config,
                to,
                secrets,
            } => {
                log.log(format!("upgrade preflight of {} for {to}", cluster.name));
                self.transport.use_inventory(&cluster);
                // Its own token, as a status read: reading never cancels a run.
                let stop = CancellationToken::new();
                let opts = engine_options(&self.opts, vec![], secrets);
                let (t, _, done) = self.task_ends();
                tokio::spawn(super::upgrade_task::prepare(
                    t, *cluster, config, to, opts, stop, done,
                ));
                vec![]
            }
            Command::InstallKey {
                cluster,
                nodes,
                password,
                secrets,
            } => {
                log.log(super::key_setup::describe(&nodes, &secrets));
                let opts = engine_options(&self.opts, vec![], secrets);
                let (t, _, done) = self.task_ends();
                tokio::spawn(async move {
                    let r = super::key_setup::install(t, &cluster, &nodes, password, &opts).await;
                    let _ = done.send(Msg::KeyInstalled(r));
                });
                vec![]
            }
            Command::DrillAnswer { yes } => {
                log.log(format!("drill answer: {}", if yes { "yes" } else { "no" }));
                if let Some(a) = self.drill_answer.take() {
                    let _ = a.send(yes);
                }
                vec![]
            }
        }
    }
}

/// Passwords typed in the TUI override those the engine options came with.
/// The engine's options for one task: the session's, with this task's ignored checks and the
/// passwords the operator gave.
fn engine_options(base: &Options, ignore: Vec<String>, secrets: super::model::Secrets) -> Options {
    let mut opts = base.clone();
    opts.ignore_preflight = ignore;
    with_secrets(&mut opts, secrets);
    opts
}

fn with_secrets(opts: &mut Options, s: super::model::Secrets) {
    if s.sudo_password.is_some() {
        opts.sudo_password = s.sudo_password;
    }
    if s.key_passphrase.is_some() {
        opts.key_passphrase = s.key_passphrase;
    }
    if s.ssh_password.is_some() {
        opts.ssh_password = s.ssh_password;
    }
}

/// Writes `text` to `path` whole or not at all (a temporary file renamed over it). A symlink is
/// written through to its target, and a file already there keeps its mode (a 0600 inventory
/// stays 0600).
pub(crate) fn save(path: &Path, text: &str) -> anyhow::Result<()> {
    // The link's target is the file the operator means; replacing the link would orphan it.
    let path = match std::fs::canonicalize(path) {
        Ok(target) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            target
        }
        _ => path.to_path_buf(),
    };
    let path = path.as_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mode = std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    let tmp = path.with_extension("toml.tmp");
    let _ = std::fs::remove_file(&tmp);
    // Created with the old mode already, so the text is never readable by more than before.
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode.unwrap_or(0o644))
        .open(&tmp)
        .with_context(|| format!("write {}", tmp.display()))?;
    out.write_all(text.as_bytes())
        .with_context(|| format!("write {}", tmp.display()))?;
    drop(out);
    if let Some(mode) = mode {
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("set the mode of {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}

/// The TUI without a terminal: the model, the engine jobs and their channels. The terminal loop
/// is this plus input and drawing; tests drive it with messages and wait on the model.
pub struct Headless<T: Transport>
where
    T::Session: Sync,
{
    pub model: Model,
    jobs: Jobs<T>,
    ev_rx: mpsc::Receiver<engine::Event>,
    int_rx: mpsc::UnboundedReceiver<Msg>,
    pub log: Logger,
    start: Instant,
    batch: Vec<engine::Event>,
}

impl<T: Transport> Headless<T>
where
    T::Session: Sync,
{
    pub fn new(transport: Arc<T>, mut model: Model, engine_opts: Options, log: Logger) -> Self {
        // The log pane pages from the files the engine writes there.
        model.run.log_root = Some(engine_opts.dirs.logs.clone());
        let (ev_tx, ev_rx) = mpsc::channel::<engine::Event>(1024);
        let (int_tx, int_rx) = mpsc::unbounded_channel::<Msg>();
        Headless {
            model,
            jobs: Jobs {
                transport,
                opts: engine_opts,
                events: ev_tx,
                internal: int_tx,
                current: None,
                drill_answer: None,
            },
            ev_rx,
            int_rx,
            log,
            start: Instant::now(),
            batch: Vec::with_capacity(512),
        }
    }

    /// Feeds one message through `update` and runs the commands it returns (and theirs).
    pub fn send(&mut self, msg: Msg) {
        let mut queue = std::collections::VecDeque::from([msg]);
        while let Some(msg) = queue.pop_front() {
            for cmd in update::update(&mut self.model, msg) {
                queue.extend(self.jobs.execute(cmd, &mut self.log));
            }
        }
    }

    /// Waits for the next engine events, internal messages or tick, and feeds them. Returns
    /// whether it was a tick or an internal message (time to draw) rather than engine events.
    pub async fn step(&mut self, tick: &mut tokio::time::Interval) -> anyhow::Result<bool> {
        tokio::select! {
            n = self.ev_rx.recv_many(&mut self.batch, 512) => {
                if n == 0 {
                    anyhow::bail!("engine channel closed");
                }
                let batch: Vec<_> = self.batch.drain(..).collect();
                for ev in batch {
                    if let engine::Event::RunFinished(s) = &ev {
                        self.log.log(format!(
                            "run finished: ok={} stopped={:?} failures={:?}",
                            s.ok, s.stopped, s.failures
                        ));
                    }
                    self.send(Msg::Engine(ev));
                }
                Ok(false)
            },
            Some(msg) = self.int_rx.recv() => {
                self.send(msg);
                Ok(true)
            },
            _ = tick.tick() => {
                let now = self.start.elapsed();
                self.send(Msg::Tick(now));
                Ok(true)
            }
        }
    }

    /// Pumps events until `pred` holds (true) or `timeout` passes (false).
    pub async fn until(&mut self, timeout: Duration, pred: impl Fn(&Model) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut tick = tokio::time::interval(FRAME);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while !pred(&self.model) {
            if Instant::now() >= deadline {
                return false;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.step(&mut tick)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => return pred(&self.model),
            }
        }
        true
    }

    /// Cancels the engine task now running.
    pub fn stop(&mut self) {
        if let Some(t) = self.jobs.current.take() {
            t.cancel();
        }
    }
}

async fn event_loop<T: Transport>(
    terminal: &mut ratatui::DefaultTerminal,
    transport: Arc<T>,
    model: Model,
    engine_opts: Options,
    log: &mut Logger,
) -> anyhow::Result<()>
where
    T::Session: Sync,
{
    let (term_tx, mut term_rx) = mpsc::channel::<ct::Event>(256);
    let input_stop = Arc::new(AtomicBool::new(false));
    spawn_input(term_tx, input_stop.clone());
    let mut h = Headless::new(
        transport,
        model,
        engine_opts,
        std::mem::replace(log, Logger::none()),
    );
    // The size from the start, not only after a resize: pages move by the visible height.
    if let Ok(size) = terminal.size() {
        h.send(Msg::Resize(size.width, size.height));
    }
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut draw_now = true;
    let result = loop {
        if h.model.quit {
            break Ok(());
        }
        if draw_now && h.model.dirty {
            if let Err(e) = draw(terminal, &h.model) {
                break Err(e.into());
            }
            h.model.dirty = false;
        }
        draw_now = false;
        tokio::select! {
            ev = term_rx.recv() => match ev {
                Some(ct::Event::Key(k)) if k.kind == KeyEventKind::Press => {
                    h.send(Msg::Key(k));
                    draw_now = true;
                }
                Some(ct::Event::Resize(w, hh)) => {
                    h.send(Msg::Resize(w, hh));
                    let _ = terminal.autoresize();
                    draw_now = true;
                }
                Some(_) => {}
                None => break Err(anyhow::anyhow!("terminal input ended")),
            },
            r = h.step(&mut tick) => match r {
                // Engine events only mark the model dirty: while lines stream in, frames are
                // drawn once per tick, not once per line.
                Ok(draw) => draw_now = draw,
                Err(e) => break Err(e),
            }
        }
    };
    input_stop.store(true, Ordering::Relaxed);
    h.stop();
    *log = std::mem::replace(&mut h.log, Logger::none());
    result
}

/// Draws one frame inside a synchronized update, so terminals that support it (mode 2026) show
/// whole frames only.
fn draw(terminal: &mut ratatui::DefaultTerminal, model: &Model) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let r = terminal.draw(|f| view::view(model, f)).map(|_| ());
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    r
}

/// Where the wizard saves the inventory: `<config dir>/cluster.toml` (XDG: ~/.config/kha-tui).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kha-tui").map(|p| p.config_dir().to_path_buf())
}

#[cfg(test)]
mod save_tests {
    use super::save;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saving_over_a_file_keeps_its_mode_and_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("cluster.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save(&link, "new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        save(&real, "again").unwrap();
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
