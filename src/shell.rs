//! Quoting for the POSIX shell: every operator value that reaches a command line goes through here.

/// Quotes `s` as one shell word with single quotes; safe for any byte content.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;
    use std::process::Command;

    #[test]
    fn plain_words_stay_plain() {
        assert_eq!(quote("10.0.0.1"), "10.0.0.1");
        assert_eq!(
            quote("/etc/kubernetes/admin.conf"),
            "/etc/kubernetes/admin.conf"
        );
    }

    #[test]
    fn hostile_values_round_trip_through_a_real_shell() {
        for v in [
            "",
            "a b",
            "it's",
            "$(touch /tmp/x)",
            "`id`",
            "a;b|c&d",
            "new\nline",
            "'\"\\",
        ] {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(v)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), v, "value {v:?}");
        }
    }
}
