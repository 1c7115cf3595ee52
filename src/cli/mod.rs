//! Pieces of the command line that are not the TUI: the headless event printer and secrets
//! read from the operator.

pub mod apply;
pub mod args;
pub mod backup;
pub mod certs;
pub mod day2;
pub mod fix;
pub mod headless;
pub mod ssh_setup;
mod ssh_setup_cli;
pub mod ssh_setup_key;

use std::path::Path;

/// Reads a password from a 0600 file (first line). Refuses files others can read.
pub fn password_from_file(path: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    anyhow::ensure!(
        meta.mode() & 0o077 == 0,
        "{} can be read by others (mode {:o}); chmod 600 it",
        path.display(),
        meta.mode() & 0o777
    );
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

/// Asks for a secret on the terminal without echoing it.
pub fn ask_secret(prompt: &str) -> anyhow::Result<String> {
    use std::io::{BufRead as _, Write as _};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let echo_off = std::process::Command::new("stty")
        .arg("-echo")
        .stdin(tty.try_clone()?)
        .status()?
        .success();
    let mut w = tty.try_clone()?;
    write!(w, "{prompt}")?;
    w.flush()?;
    let mut line = String::new();
    std::io::BufReader::new(tty.try_clone()?).read_line(&mut line)?;
    if echo_off {
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .stdin(tty.try_clone()?)
            .status();
    }
    writeln!(w)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
