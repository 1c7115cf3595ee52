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

    /// Runs one command; returns messages to feed back into `update` right away.
    fn execute(&mut self, cmd: Command, log: &mut Logger) -> Vec<Msg> {
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
            Command::Preflight { cluster, ignore } => {
                log.log(format!(
                    "preflight of {} (ignoring {ignore:?})",
                    cluster.name
                ));
                let stop = self.token();
                let mut opts = self.opts.clone();
                opts.ignore_preflight = ignore;
                let (t, ev, done) = (
                    self.transport.clone(),
                    self.events.clone(),
                    self.internal.clone(),
                );
                tokio::spawn(async move {
                    engine::run_preflight(t, &cluster, &opts, ev, stop).await;
                    let _ = done.send(Msg::TaskEnded(Task::Preflight));
                });
                vec![]
            }
            Command::Fix { node, fix, .. } => {
                // The engine has no entry point for a single preflight fix yet; the prepare
                // phase applies the same fixes (e.g. swap off) during the run.
                log.log(format!("fix {fix} on {node}: not available"));
                vec![
                    Msg::TaskEnded(Task::Fix),
                    Msg::Saved(Err(format!(
                        "no one-key fix for {fix} yet: the prepare phase does it during the run (or press i to ignore)"
                    ))),
                ]
            }
            Command::Apply { cluster, ignore } => {
                log.log(format!("apply {} (ignoring {ignore:?})", cluster.name));
                let stop = self.token();
                let mut opts = self.opts.clone();
                opts.ignore_preflight = ignore;
                let (t, ev, done) = (
                    self.transport.clone(),
                    self.events.clone(),
                    self.internal.clone(),
                );
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
        }
    }
}

fn save(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}

fn feed<T: Transport>(m: &mut Model, msg: Msg, jobs: &mut Jobs<T>, log: &mut Logger)
where
    T::Session: Sync,
{
    let mut queue = vec![msg];
    while let Some(msg) = queue.pop() {
        for cmd in update::update(m, msg) {
            queue.extend(jobs.execute(cmd, log));
        }
    }
}

async fn event_loop<T: Transport>(
    terminal: &mut ratatui::DefaultTerminal,
    transport: Arc<T>,
    mut model: Model,
    engine_opts: Options,
    log: &mut Logger,
) -> anyhow::Result<()>
where
    T::Session: Sync,
{
    let (term_tx, mut term_rx) = mpsc::channel::<ct::Event>(256);
    let input_stop = Arc::new(AtomicBool::new(false));
    spawn_input(term_tx, input_stop.clone());
    let (ev_tx, mut ev_rx) = mpsc::channel::<engine::Event>(1024);
    let (int_tx, mut int_rx) = mpsc::unbounded_channel::<Msg>();
    let mut jobs = Jobs {
        transport,
        opts: engine_opts,
        events: ev_tx,
        internal: int_tx,
        current: None,
    };
    let start = Instant::now();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut batch = Vec::with_capacity(512);
    let mut draw_now = true;
    let result = loop {
        if model.quit {
            break Ok(());
        }
        if draw_now && model.dirty {
            if let Err(e) = terminal.draw(|f| view::view(&model, f)) {
                break Err(e.into());
            }
            model.dirty = false;
        }
        draw_now = false;
        tokio::select! {
            ev = term_rx.recv() => match ev {
                Some(ct::Event::Key(k)) if k.kind == KeyEventKind::Press => {
                    feed(&mut model, Msg::Key(k), &mut jobs, log);
                    draw_now = true;
                }
                Some(ct::Event::Resize(w, h)) => {
                    feed(&mut model, Msg::Resize(w, h), &mut jobs, log);
                    let _ = terminal.autoresize();
                    draw_now = true;
                }
                Some(_) => {}
                None => break Err(anyhow::anyhow!("terminal input ended")),
            },
            n = ev_rx.recv_many(&mut batch, 512) => {
                if n == 0 {
                    break Err(anyhow::anyhow!("engine channel closed"));
                }
                for ev in batch.drain(..) {
                    if let engine::Event::RunFinished(s) = &ev {
                        log.log(format!("run finished: ok={} stopped={:?} failures={:?}", s.ok, s.stopped, s.failures));
                    }
                    feed(&mut model, Msg::Engine(ev), &mut jobs, log);
                }
            },
            Some(msg) = int_rx.recv() => feed(&mut model, msg, &mut jobs, log),
            _ = tick.tick() => {
                feed(&mut model, Msg::Tick(start.elapsed()), &mut jobs, log);
                draw_now = true;
            }
        }
    };
    input_stop.store(true, Ordering::Relaxed);
    if let Some(t) = jobs.current.take() {
        t.cancel();
    }
    result
}

/// Where the wizard saves the inventory: `<config dir>/cluster.toml` (XDG: ~/.config/kha-tui).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "kha-tui").map(|p| p.config_dir().to_path_buf())
}
