//! `kha-tui plan` output: text for people, JSON for tools. Placeholders stay placeholders.

use std::fmt::Write as _;

use super::Plan;
use crate::shell;

pub fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

pub fn to_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("plan serializes")
}

pub fn to_text(plan: &Plan, with_scripts: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Plan for cluster {} (Kubernetes {}, endpoint {})",
        plan.cluster, plan.kubernetes_version, plan.endpoint
    );
    let _ = writeln!(
        s,
        "{} {} {}",
        super::INIT_MARK,
        plan.init_node,
        super::INIT_MEANS
    );
    let total = plan.phases.len();
    for (i, ph) in plan.phases.iter().enumerate() {
        let mode = match ph.mode {
            super::Mode::Parallel => "nodes in parallel",
            super::Mode::Serial => "one step at a time",
        };
        let _ = writeln!(
            s,
            "\nPhase {}/{}: {} — {} ({mode})",
            i + 1,
            total,
            ph.name,
            ph.title
        );
        for st in &ph.steps {
            let flag = match (&st.confirm, st.sensitive) {
                (Some(_), _) => "  [asks for confirmation]",
                (None, true) => "  [handles secrets]",
                _ => "",
            };
            let _ = writeln!(
                s,
                " {}{:<10} {:<16} {}{flag}",
                plan.mark(&st.node),
                st.node,
                st.id,
                st.title
            );
            if !with_scripts {
                continue;
            }
            if let Some(why) = &st.confirm {
                let _ = writeln!(s, "      confirm: {why}");
            }
            for (k, v) in &st.env {
                let _ = writeln!(s, "      env {k}={}", shell::quote(v));
            }
            for f in &st.files {
                let _ = writeln!(s, "      file {} (mode {:04o}):", f.path, f.mode);
                for l in f.content.lines() {
                    let _ = writeln!(s, "        | {l}");
                }
            }
            let _ = writeln!(s, "      script (bash, as root):");
            for l in st.script.lines() {
                let _ = writeln!(s, "        > {l}");
            }
        }
    }
    s
}
