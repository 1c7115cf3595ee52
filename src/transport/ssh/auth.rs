//! Authentication helpers of the SSH transport: keyboard-interactive with one password, the
//! RSA signature hash a server takes, the words of a refusal, and the private key read once.

use super::*;

/// keyboard-interactive with one password: every prompt that does not echo (PAM's
/// "Password: ") is answered with it, prompts that echo with an empty line. A second round that
/// asks for a password again is PAM's retry after a wrong one: not answered (the password is
/// sent once), the login is refused. `Err(reason)` = refused.
pub(super) async fn keyboard_interactive(
    handle: &mut client::Handle<Client>,
    user: &str,
    password: &str,
) -> Result<Result<(), String>, russh::Error> {
    use client::KeyboardInteractiveAuthResponse as R;
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await?;
    let mut answered = false;
    // A server that keeps sending empty rounds is not followed forever.
    for _ in 0..8 {
        match reply {
            R::Success => return Ok(Ok(())),
            R::Failure {
                remaining_methods,
                partial_success,
            } => {
                let what = if answered {
                    "the password was not accepted (keyboard-interactive)"
                } else {
                    "keyboard-interactive ended without asking for a password"
                };
                return Ok(Err(rejection(what, &remaining_methods, partial_success)));
            }
            R::InfoRequest { prompts, .. } => {
                let secret = prompts.iter().any(|p| !p.echo);
                if secret && answered {
                    return Ok(Err(
                        "the password was not accepted (keyboard-interactive asked again)".into(),
                    ));
                }
                answered |= secret;
                let responses = prompts
                    .iter()
                    .map(|p| {
                        if p.echo {
                            String::new()
                        } else {
                            password.to_string()
                        }
                    })
                    .collect();
                reply = handle
                    .authenticate_keyboard_interactive_respond(responses)
                    .await?;
            }
        }
    }
    Ok(Err("keyboard-interactive did not finish".into()))
}

/// The signature hash for an RSA key: the best one the server announces (`server-sig-algs`), or
/// SHA-1 for old servers that announce none. `None` for other key types.
pub(super) async fn rsa_hash(
    handle: &client::Handle<Client>,
    algorithm: Algorithm,
) -> Result<Option<HashAlg>, russh::Error> {
    if !algorithm.is_rsa() {
        return Ok(None);
    }
    Ok(handle.best_supported_rsa_hash().await?.flatten())
}

pub(super) fn rejection(what: &str, methods: &MethodSet, partial_success: bool) -> String {
    let methods: Vec<&str> = methods.iter().map(<&str>::from).collect();
    if partial_success {
        format!(
            "the server wants a further authentication step ({}), which kha-tui does not support",
            methods.join(", ")
        )
    } else if methods.is_empty() {
        what.to_string()
    } else {
        format!("{what} (the server accepts: {})", methods.join(", "))
    }
}

/// Reads and, with its passphrase, decrypts a private key file; `None` for other auth kinds.
pub(super) async fn load_key(auth: &Auth) -> Result<Option<Arc<PrivateKey>>, TransportError> {
    let Auth::KeyFile { path, passphrase } = auth else {
        return Ok(None);
    };
    let (p, pass) = (path.clone(), passphrase.clone());
    let result = tokio::task::spawn_blocking(move || {
        let loaded = russh::keys::load_secret_key(&p, pass.as_deref());
        // A failure with a passphrase on an encrypted key: the passphrase is wrong.
        let wrong_passphrase = loaded.is_err()
            && pass.is_some()
            && matches!(
                russh::keys::load_secret_key(&p, None),
                Err(russh::keys::Error::KeyIsEncrypted)
            );
        (loaded, wrong_passphrase)
    })
    .await;
    let (loaded, wrong_passphrase) =
        result.map_err(|e| TransportError::Other(format!("loading the key failed: {e}")))?;
    let display = path.display().to_string();
    match loaded {
        Ok(key) => Ok(Some(Arc::new(key))),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            Err(TransportError::KeyEncrypted { path: display })
        }
        Err(_) if wrong_passphrase => Err(TransportError::KeyUnreadable {
            path: display,
            reason: "the passphrase is wrong".into(),
        }),
        Err(e) => Err(TransportError::KeyUnreadable {
            path: display,
            reason: e.to_string(),
        }),
    }
}
