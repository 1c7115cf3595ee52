//! The log pane's position and contents: follow the end, or stay at a line while lines keep
//! arriving; page by the visible height. Lines come from the engine's log files when they exist
//! (unlimited scrollback), else from the in-memory tails.

use super::logs::{LineKind, Window};
use super::model::Model;
use crate::engine::events::Event;
use crate::engine::logs::entries;

/// Takes in the log lines an engine event stands for: the same lines the engine writes to its
/// files (`engine::logs::entries`), so the pane and the files agree.
pub fn take_event(m: &mut Model, ev: &Event) {
    for en in entries(ev) {
        let d = &mut m.run;
        let kind = LineKind::from(en.kind);
        match d.index.get(&en.node) {
            Some(&i) => {
                let name = d.nodes[i].name.clone();
                d.logs.push(i, name, kind, &en.text);
            }
            // Preflight before the dashboard exists has no card: its lines are in the files.
            None if matches!(ev, Event::PreflightResult(_)) => {}
            None => d.logs.push_all(en.node.as_str().into(), kind, &en.text),
        }
    }
}

/// Rows and columns of text inside the pane's border.
pub fn size(m: &Model) -> (usize, usize) {
    let r = super::view::log_pane(m);
    (
        r.height.saturating_sub(2).max(1) as usize,
        r.width.saturating_sub(2).max(1) as usize,
    )
}

/// Brings the window up to date: the lines at the paused position, or, in follow mode, the
/// file's last lines while the tail in memory is shorter than the pane.
pub fn refresh(m: &mut Model) {
    let (h, _) = size(m);
    let d = &mut m.run;
    let view = d.ring_index();
    d.window = match d.top {
        Some(top) => {
            let w = d.logs.window(view, top, h);
            // Without a file, the tail's oldest lines fall out: the position follows them.
            d.top = Some(w.start);
            Some(w)
        }
        None if d.logs.ring(view).len() < h => {
            let total = d.logs.total(view);
            let w = d.logs.window(view, total.saturating_sub(h as u64), h);
            w.from_file.then_some(w)
        }
        None => None,
    };
}

/// Lines of `w` that fit in `h` rows of `width` columns from its top, wrapped.
fn lines_that_fit(w: &Window, h: usize, width: usize, prefix: usize) -> usize {
    let mut rows = 0;
    for (i, l) in w.lines.iter().enumerate() {
        rows += super::view::wrapped_rows(&l.text, width.saturating_sub(prefix));
        if rows > h {
            return i.max(1);
        }
    }
    w.lines.len().max(1)
}

/// Up one page: the visible height, from where the pane is (the end when following).
pub fn page_up(m: &mut Model) {
    let (h, _) = size(m);
    let d = &mut m.run;
    let view = d.ring_index();
    let top = match d.top {
        Some(t) => t,
        None => d.logs.total(view).saturating_sub(h as u64),
    };
    d.top = Some(top.saturating_sub(h as u64));
    refresh(m);
}

/// Down one page: as many lines as were shown; at the end the pane follows again.
pub fn page_down(m: &mut Model) {
    let (h, w) = size(m);
    let prefix = if m.run.all { 9 } else { 0 };
    let d = &mut m.run;
    let Some(top) = d.top else { return };
    let view = d.ring_index();
    let step = d
        .window
        .as_ref()
        .map(|win| lines_that_fit(win, h, w, prefix))
        .unwrap_or(h) as u64;
    let total = d.logs.total(view);
    let next = top + step;
    d.top = if next + h as u64 >= total {
        None
    } else {
        Some(next)
    };
    refresh(m);
}

pub fn home(m: &mut Model) {
    m.run.top = Some(0);
    refresh(m);
}

pub fn follow(m: &mut Model) {
    m.run.top = None;
    refresh(m);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossterm::event::KeyCode;

    use super::*;
    use crate::engine::events::{Event, NodeInfo, PhaseInfo, Stream};
    use crate::engine::logs::NodeLogs;
    use crate::inventory::Role;
    use crate::tui::fixtures::key;
    use crate::tui::model::{Msg, Screen, Setup};
    use crate::tui::update;

    /// A run dashboard whose engine writes its files under `root` (as the pump does: the file
    /// first, then the event to the TUI).
    struct Rig {
        m: Model,
        files: NodeLogs,
        seq: usize,
    }

    impl Rig {
        fn new(root: &std::path::Path, nodes: usize) -> Rig {
            let mut m = Model::new(Setup {
                simulated: false,
                save_path: root.join("unused.toml"),
                sources: vec![],
            });
            m.screen = Screen::Run;
            m.run.log_root = Some(root.to_path_buf());
            update(&mut m, Msg::Resize(120, 36));
            let mut r = Rig {
                m,
                files: NodeLogs::open(root, "c").unwrap(),
                seq: 0,
            };
            r.send(Event::RunStarted {
                cluster: "c".into(),
                nodes: (0..nodes)
                    .map(|i| NodeInfo {
                        name: format!("n{i}"),
                        role: Role::Worker,
                        address: format!("192.0.2.{}", i + 1),
                        steps: 3,
                    })
                    .collect(),
                phases: vec![PhaseInfo {
                    name: "prepare".into(),
                    title: "Prepare".into(),
                }],
                simulated: false,
            });
            r
        }

        fn send(&mut self, ev: Event) {
            self.files.record(&ev);
            self.files.flush();
            update(&mut self.m, Msg::Engine(ev));
        }

        /// `n` lines for node 0, numbered on from the last ones.
        fn lines(&mut self, n: usize) {
            for _ in 0..n {
                let line = format!("line {}", self.seq);
                self.seq += 1;
                self.send(Event::Log {
                    node: "n0".into(),
                    step: "prepare".into(),
                    stream: Stream::Stdout,
                    line,
                });
            }
        }

        fn tick(&mut self) {
            let now = self.m.now + Duration::from_millis(50);
            update(&mut self.m, Msg::Tick(now));
        }

        fn shown(&self) -> Vec<String> {
            let w = self.m.run.window.as_ref().expect("a window");
            w.lines.iter().map(|l| l.text.to_string()).collect()
        }
    }

    #[test]
    fn pages_by_the_visible_height_and_a_paused_log_stays_put() {
        let tmp = tempfile::tempdir().unwrap();
        let mut r = Rig::new(tmp.path(), 3);
        r.lines(2_000);
        let (h, _) = size(&r.m);
        assert!(h > 10 && h < 36, "{h}");
        update(&mut r.m, key(KeyCode::PageUp));
        let total = r.m.run.window.as_ref().unwrap().total;
        // Following, the pane showed the last h lines; one page up shows the h before them.
        assert_eq!(r.m.run.top, Some(total - 2 * h as u64));
        let before = r.shown();
        assert_eq!(before.len(), h);
        assert_eq!(before[h - 1], format!("line {}", 2_000 - h - 1));
        update(&mut r.m, key(KeyCode::PageUp));
        assert_eq!(r.m.run.top, Some(total - 3 * h as u64));
        update(&mut r.m, key(KeyCode::PageDown));
        assert_eq!(r.m.run.top, Some(total - 2 * h as u64));
        // Lines keep arriving: the paused window does not move, only the total grows.
        r.lines(300);
        r.tick();
        let w = r.m.run.window.as_ref().unwrap();
        assert_eq!(w.start, total - 2 * h as u64);
        assert_eq!(w.total, total + 300);
        assert_eq!(r.shown(), before);
    }

    #[test]
    fn scrollback_reaches_lines_the_memory_no_longer_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let mut r = Rig::new(tmp.path(), 200);
        let cap = crate::tui::logs::tail_cap(200);
        r.lines(cap * 10);
        assert_eq!(r.m.run.logs.ring(Some(0)).len(), cap, "the tail is bounded");
        update(&mut r.m, key(KeyCode::Home));
        let shown = r.shown();
        // The first line of the file: the step's start marker, then the first line printed.
        assert!(shown.iter().any(|l| l == "line 0"), "{shown:?}");
        assert!(r.m.run.window.as_ref().unwrap().from_file);
        // End follows again: the tail's last line is the last one shown.
        update(&mut r.m, key(KeyCode::End));
        assert_eq!(r.m.run.top, None);
        let tail = r.m.run.logs.ring(Some(0));
        let last = tail.window(tail.end() - 1, 1).next().unwrap();
        assert_eq!(&*last.text, format!("line {}", cap * 10 - 1));
    }

    #[test]
    fn tails_share_one_budget_whatever_the_node_count() {
        use crate::tui::logs::{TAIL_BUDGET, TAIL_MIN, tail_cap};
        assert!(tail_cap(200) * 200 <= TAIL_BUDGET);
        assert!(tail_cap(1_000) * 1_000 <= TAIL_BUDGET.max(TAIL_MIN * 1_000));
        assert!(
            tail_cap(1) >= 100,
            "one node still has a screenful in memory"
        );
    }

    #[test]
    fn without_files_the_tail_pages_and_says_where_it_is() {
        let mut m = crate::tui::fixtures::run_running();
        m.run.log_root = None;
        update(&mut m, Msg::Resize(120, 36));
        let i = m.run.selected;
        let name = m.run.nodes[i].name.clone();
        for k in 0..100 {
            m.run
                .logs
                .push(i, name.clone(), LineKind::Stdout, &format!("x{k}"));
        }
        update(&mut m, key(KeyCode::PageUp));
        let w = m.run.window.as_ref().unwrap();
        assert!(!w.from_file);
        assert_eq!(w.lines.len(), size(&m).0);
    }
}
