//! A session lost mid-step (its sshd killed on the host, as when a link or a server drops
//! it): the step fails as "connection lost", its remote process group is ended over a fresh
//! session (nothing of it left on the host, no work directory), and the next run resumes and
//! finishes the step.

use kha_tui::engine::{Event, Failure, StepOutcome};

use crate::run::{Scene, stdout};

/// Kills, on the worker, the sshd processes of the session that runs `sleep 352`: walks up
/// from that process to its `sshd: …` ancestors: the session's (`sshd: ops [priv]`,
/// `sshd: ops@notty`), never the listener.
const KILL_SESSION: &str = r#"
for _ in $(seq 100); do
  pid=$(ps -eo pid=,args= | awk '$2 == "sleep" && $3 == "352" { print $1; exit }')
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "no sleep 352 on this host" >&2; exit 1; }
killed=""
while [ "$pid" -gt 1 ]; do
  case "$(ps -o args= -p "$pid")" in
    *"[listener]"*) ;;
    "sshd: "*) killed="$killed $pid" ;;
  esac
  pid=$(ps -o ppid= -p "$pid" | tr -d ' ')
done
[ -n "$killed" ] || { echo "no sshd session above the step" >&2; exit 1; }
kill -9 $killed
echo "killed$killed"
"#;

pub fn a_lost_session_is_cleaned_up_and_resumed(s: &Scene) {
    let data = tempfile::tempdir().unwrap();
    let script = "if [ -e /var/tmp/kha-lost.first ]; then echo second-attempt-finishes; exit 0; fi\ntouch /var/tmp/kha-lost.first\necho session-drops; sleep 351 & sleep 352; echo never";
    let plan = s.plan_with("containerd", script, None);
    let (lab, worker) = (s.lab.name.clone(), s.worker().to_string());
    let killed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let k = killed.clone();
    let ran = s.apply(
        data.path(),
        plan.clone(),
        |_| {},
        Box::new(move |ev, _| {
            if matches!(ev, Event::Log { line, .. } if line == "session-drops") {
                let out = std::process::Command::new(crate::lab::LAB)
                    .args([
                        "--name",
                        &lab,
                        "exec",
                        &worker,
                        "--",
                        "bash",
                        "-c",
                        KILL_SESSION,
                    ])
                    .output()
                    .unwrap();
                *k.lock().unwrap() = format!("{}{}", stdout(&out), crate::lab::text(&out.stderr));
            }
        }),
    );
    let killed = killed.lock().unwrap().clone();
    assert!(killed.starts_with("killed "), "{killed}");
    assert!(!ran.summary.ok);
    let failed = ran.events.iter().find_map(|(_, e)| match e {
        Event::StepFinished {
            node,
            step,
            outcome: StepOutcome::Failed { failure, .. },
            ..
        } if node == s.worker() && step == "containerd" => Some(failure.clone()),
        _ => None,
    });
    assert_eq!(
        failed,
        Some(Failure::ConnectionLost),
        "{killed}\n{}",
        ran.dump()
    );
    s.assert_nothing_left("sleep 35");

    // The same command again resumes: the step runs again and the run finishes.
    let ran = s.apply(data.path(), plan, |_| {}, Box::new(|_, _| {}));
    assert!(ran.summary.ok, "{:?}\n{}", ran.summary, ran.dump());
    assert!(
        ran.log_index("second-attempt-finishes").is_some(),
        "{}",
        ran.dump()
    );
    s.assert_nothing_left("sleep 35");
}
