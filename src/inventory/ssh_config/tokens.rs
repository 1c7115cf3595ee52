//! OpenSSH's `~` and `%` token expansion for path options (IdentityFile, UserKnownHostsFile), as
//! ssh_config(5) "TOKENS" describes it. The parser crate leaves `%` tokens as written.

use std::path::Path;

/// What the tokens stand for, for one node.
#[derive(Debug, Clone)]
pub struct TokenContext {
    /// `%d`: the local user's home directory (also what `~` stands for).
    pub home: String,
    /// `%h`: the remote host name (HostName after substitution).
    pub host: String,
    /// `%n`: the host as given (the node's name).
    pub original_host: String,
    /// `%p`
    pub port: u16,
    /// `%r`: the remote user.
    pub remote_user: String,
    /// `%u`: the local user.
    pub local_user: String,
    /// `%i`: the local user id.
    pub uid: u32,
    /// `%l`: the local host name, `%L` its first label.
    pub local_host: String,
}

/// Expands `~` (at the start) and the `%` tokens; an unknown token is an error naming it.
pub fn expand(raw: &str, cx: &TokenContext) -> Result<String, String> {
    let tilde = match raw.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{}", cx.home.trim_end_matches('/'), rest)
        }
        _ => raw.to_string(),
    };
    let mut out = String::with_capacity(tilde.len());
    let mut chars = tilde.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('d') => out.push_str(&cx.home),
            Some('h') => out.push_str(&cx.host),
            Some('n') => out.push_str(&cx.original_host),
            Some('p') => out.push_str(&cx.port.to_string()),
            Some('r') => out.push_str(&cx.remote_user),
            Some('u') => out.push_str(&cx.local_user),
            Some('i') => out.push_str(&cx.uid.to_string()),
            Some('l') => out.push_str(&cx.local_host),
            Some('L') => out.push_str(cx.local_host.split('.').next().unwrap_or("")),
            Some(t) => {
                return Err(format!(
                    "the token %{t} in {raw:?} is not supported by kha-tui"
                ));
            }
            None => return Err(format!("{raw:?} ends with a lone %")),
        }
    }
    Ok(out)
}

/// The local user's name, id, home and host name, as OpenSSH would take them.
pub fn local_context() -> (String, u32, String, String) {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into());
    let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    (user, uid, home, host)
}

/// `~/x` → `$HOME/x`; other paths unchanged.
pub fn tilde(path: &str, home: &Path) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest).display().to_string(),
        None if path == "~" => home.display().to_string(),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> TokenContext {
        TokenContext {
            home: "/home/op".into(),
            host: "10.1.2.3".into(),
            original_host: "master1".into(),
            port: 2222,
            remote_user: "admin".into(),
            local_user: "op".into(),
            uid: 1000,
            local_host: "desk.example".into(),
        }
    }

    #[test]
    fn expands_tilde_and_tokens() {
        assert_eq!(
            expand("~/.ssh/%n_%r@%h:%p", &cx()).unwrap(),
            "/home/op/.ssh/master1_admin@10.1.2.3:2222"
        );
        assert_eq!(
            expand("%d/%u/%i/%L/100%%", &cx()).unwrap(),
            "/home/op/op/1000/desk/100%"
        );
        // `~user` is not the operator's home.
        assert_eq!(expand("~bob/k", &cx()).unwrap(), "~bob/k");
    }

    #[test]
    fn refuses_unknown_tokens() {
        let e = expand("/k/%C", &cx()).unwrap_err();
        assert!(e.contains("%C"), "{e}");
        assert!(expand("/k/%", &cx()).is_err());
    }
}
