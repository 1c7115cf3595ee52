//! preflight-pair.sh under bash with stand-in `ip`, `ping` and `python3` on PATH: when the ARP
//! probe (python3) fails, the VIP's answer is still said (unknown, with python3's reason), so
//! preflight shows a failed vip-free check instead of none.

use std::process::Command;

use kha_tui::assets::scripts;
use kha_tui::engine::CheckStatus;
use kha_tui::engine::preflight::Facts;
use kha_tui::engine::preflight_pair;
use kha_tui::inventory::{self, validate};

const FAKE_IP: &str = "#!/bin/bash\necho \"$4 dev eth1 src 10.0.0.10 uid 0\"\n";
const FAKE_PING: &str = "#!/bin/bash\nexit 1\n";
const FAKE_PYTHON3: &str = "#!/bin/bash\ncat >/dev/null\necho 'Traceback (most recent call last):' >&2\necho 'PermissionError: [Errno 1] Operation not permitted' >&2\nexit 1\n";

#[test]
fn a_failed_arp_probe_still_says_the_vip_answer_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, text) in [
        ("ip", FAKE_IP),
        ("ping", FAKE_PING),
        ("python3", FAKE_PYTHON3),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        Command::new("chmod").arg("+x").arg(&p).status().unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{}\n{}", scripts::LIB, scripts::PREFLIGHT_PAIR))
        .env("PATH", path)
        .env("KHA_VIP", "10.0.0.5")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("vip_answer=unknown\n"), "{text}");
    assert!(
        text.contains(
            "vip_probe_error=python3 failed: PermissionError: [Errno 1] Operation not permitted\n"
        ),
        "{text}"
    );
    assert!(text.contains("vrrp_adverts=unknown\n"), "{text}");

    let mut f = inventory::parse(inventory::EXAMPLE).unwrap();
    f.load_balancer.vip = "10.0.0.5".into();
    f.load_balancer.backup_address = "10.0.0.9".into();
    let c = validate::check(&f).unwrap().0;
    let r = preflight_pair::check_lb(&c, &c.lb, &Facts::parse(&text, 0.0));
    let free = r.iter().find(|x| x.check == "vip-free").unwrap();
    assert_eq!(free.status, CheckStatus::Fail, "{}", free.found);
    assert!(
        free.found.contains("Operation not permitted"),
        "{}",
        free.found
    );
}
