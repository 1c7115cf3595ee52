//! The day-2 scripts that pick a machine or a member by name, run by a real bash with stand-in
//! commands on PATH: `etcd-member-remove.sh` against `etcdctl member list` outputs (through a
//! `crictl exec` stub that records what it was asked), so that the member removed is the one
//! the inventory's name AND address agree on, never another.

use std::path::Path;
use std::process::Command;

use kha_tui::assets::scripts;

/// etcdctl's simple format: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER.
const MEMBERS: &str = "8e9e05c52164694d, started, master1, https://10.0.0.11:2380, https://10.0.0.11:2379, false
91bc3c398fb3c146, started, master2, https://10.0.0.12:2380,https://10.0.0.112:2380, https://10.0.0.12:2379, false
a1b2c3d4e5f60718, started, master20, https://10.0.0.20:2380, https://10.0.0.20:2379, false
fd422379fda50e48, unstarted, , https://10.0.0.13:2380, , false
";

/// Runs etcd-member-remove.sh for `target` at `peer`: (success, output, removed member ids).
fn remove(dir: &Path, target: &str, peer: &str) -> (bool, String, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(dir.join("members"), MEMBERS).unwrap();
    let removed = dir.join("removed");
    let _ = std::fs::remove_file(&removed);
    let stub = format!(
        "#!/bin/bash\n\
         case \"$1\" in\n\
           ps) echo etcd0000;;\n\
           exec) shift 2; for a in \"$@\"; do case \"$a\" in list) cat {m}; exit;; remove) r=1;; *) [ -n \"${{r:-}}\" ] && echo \"$a\" >>{r};; esac; done;;\n\
         esac\n",
        m = dir.join("members").display(),
        r = removed.display()
    );
    let p = bin.join("crictl");
    std::fs::write(&p, stub).unwrap();
    Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{}\n{}", scripts::LIB, scripts::ETCD_MEMBER_REMOVE))
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("KHA_TARGET", target)
        .env("KHA_TARGET_PEER", peer)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success(),
        text,
        std::fs::read_to_string(&removed).unwrap_or_default(),
    )
}

#[test]
fn the_member_removed_is_the_one_name_and_address_agree_on() {
    let d = tempfile::tempdir().unwrap();
    // Name and address agree (the second of two peer URLs counts too).
    let (ok, out, gone) = remove(d.path(), "master2", "https://10.0.0.112:2380");
    assert!(ok, "{out}");
    assert_eq!(gone.trim(), "91bc3c398fb3c146", "{out}");
    // A member that never started has no name: found by its address.
    let (ok, out, gone) = remove(d.path(), "master3", "https://10.0.0.13:2380");
    assert!(ok, "{out}");
    assert_eq!(gone.trim(), "fd422379fda50e48", "{out}");
    // "master2" is a prefix of "master20": only the exact name.
    let (ok, out, gone) = remove(d.path(), "master2", "https://10.0.0.12:2380");
    assert!(ok && gone.trim() == "91bc3c398fb3c146", "{out}");
    // Not listed: nothing to do.
    let (ok, out, gone) = remove(d.path(), "master9", "https://10.0.0.99:2380");
    assert!(ok && gone.is_empty(), "{out}");
    assert!(out.contains("nothing to remove"), "{out}");
}

#[test]
fn a_name_at_another_address_or_another_name_at_the_address_removes_nothing() {
    let d = tempfile::tempdir().unwrap();
    // The inventory gives master2 the address of master1.
    let (ok, out, gone) = remove(d.path(), "master2", "https://10.0.0.11:2380");
    assert!(!ok, "{out}");
    assert!(gone.is_empty(), "nothing removed: {gone}");
    assert!(
        out.contains("two machines") && out.contains("correct master2's address"),
        "{out}"
    );
    // master1 named, but master1 is elsewhere.
    let (ok, out, gone) = remove(d.path(), "master1", "https://10.0.0.20:2380");
    assert!(!ok && gone.is_empty(), "{out}");
}
