//! One SSH connection to a node ([`SshSession`]): commands on fresh channels, their output and
//! exit status, uploads, and the long-lived streams of the root shell.

use super::*;

/// Where a command's output lines go.
pub(super) enum Sink<'a> {
    Channel(&'a mpsc::Sender<Output>),
    /// For uploads: keeps (at most this many) lines for the error message.
    Collect(&'a mut Vec<Output>, usize),
}

impl Sink<'_> {
    async fn push(&mut self, line: Output) {
        match self {
            // A receiver that went away is not our problem: keep draining the channel.
            Sink::Channel(tx) => {
                let _ = tx.send(line).await;
            }
            Sink::Collect(lines, max) => {
                if lines.len() < *max {
                    lines.push(line);
                }
            }
        }
    }
}

/// `$?` for a process killed by `signal` (Linux numbers); `None` if the number is unknown.
pub(super) fn signal_exit_code(signal: &Sig) -> Option<u32> {
    let number = match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(name) => match name.as_str() {
            "USR2" => 12,
            "BUS" => 7,
            "TRAP" => 5,
            "XCPU" => 24,
            "XFSZ" => 25,
            "SYS" => 31,
            _ => return None,
        },
    };
    Some(128 + number)
}

/// The shell command for an atomic upload: a temporary file next to `path` (written with umask
/// 077, so never readable by others, even before the chmod), then `mv` over `path`. Every path is
/// quoted; a relative path gets `./` so that no name can look like an option.
pub(super) fn upload_command(path: &str, mode: u32, nonce: u64) -> Result<String, TransportError> {
    if mode > 0o7777 {
        return Err(TransportError::Other(format!(
            "invalid file mode {mode:o} for {path}"
        )));
    }
    let (dir, name) = match path.rfind('/') {
        Some(i) => (path[..=i].to_string(), &path[i + 1..]),
        None => ("./".to_string(), path),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(TransportError::Other(format!(
            "upload path {path:?} does not name a file"
        )));
    }
    let target = format!("{dir}{name}");
    let tmp = quote(&format!("{dir}.{name}.kha-tmp-{nonce:016x}"));
    let target = quote(&target);
    Ok(format!(
        "umask 077; cat > {tmp} && chmod {mode:o} {tmp} && mv -f {tmp} {target} || {{ rm -f {tmp}; exit 1; }}"
    ))
}

impl SshSession {
    /// A new session channel on this connection, within the time limits of the command under way.
    async fn open_channel(&self) -> Result<russh::Channel<client::Msg>, TransportError> {
        let t = self.timeouts;
        tokio::time::timeout(t.idle.min(t.command), self.handle.channel_open_session())
            .await
            .map_err(|_| TransportError::IdleTimeout {
                secs: t.idle.as_secs(),
            })?
            .map_err(|e| TransportError::Disconnected(e.to_string()))
    }

    /// Runs one command on a fresh channel. See [`Session::exec`].
    async fn run(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        sink: &mut Sink<'_>,
    ) -> Result<ExitStatus, TransportError> {
        let t = self.timeouts;
        let started = Instant::now();
        let command_deadline = started + t.command;
        let lost = |e: russh::Error| TransportError::Disconnected(e.to_string());

        let (mut rx, tx) = self.open_channel().await?.split();
        tx.exec(true, command).await.map_err(lost)?;

        // Milliseconds since `started` of the last stdin progress, for the idle timer.
        let stdin_progress = AtomicU64::new(0);
        let elapsed_ms = || started.elapsed().as_millis() as u64;
        let mut writer = pin!(async {
            for chunk in stdin.as_deref().unwrap_or_default().chunks(STDIN_CHUNK) {
                tx.data_bytes(chunk.to_vec()).await?;
                stdin_progress.store(elapsed_ms(), Ordering::Relaxed);
            }
            tx.eof().await
        });
        let mut writing = true;

        let mut stdout = LineSplitter::default();
        let mut stderr = LineSplitter::default();
        let mut status: Option<ExitStatus> = None;
        let mut last_activity = Instant::now();
        let mut idle_deadline = last_activity + t.idle;
        let mut closed = false;

        let outcome: Result<(), TransportError> = loop {
            tokio::select! {
                biased;
                msg = rx.wait() => {
                    match msg {
                        Some(ChannelMsg::Data { data }) => {
                            for line in stdout.push(&data) {
                                sink.push(Output::Stdout(line)).await;
                            }
                        }
                        Some(ChannelMsg::ExtendedData { data, ext }) => {
                            if ext == 1 {
                                for line in stderr.push(&data) {
                                    sink.push(Output::Stderr(line)).await;
                                }
                            }
                        }
                        Some(ChannelMsg::ExitStatus { exit_status }) => {
                            status = Some(ExitStatus(Some(exit_status)));
                        }
                        Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                            status = Some(ExitStatus(signal_exit_code(&signal_name)));
                        }
                        Some(ChannelMsg::Failure) => {
                            break Err(TransportError::Other(
                                "the server refused to run the command".into(),
                            ));
                        }
                        // OpenSSH sends EOF before exit-status: keep reading until Close.
                        Some(ChannelMsg::Close) => {
                            closed = true;
                            break Ok(());
                        }
                        None => {
                            closed = true;
                            break match status {
                                Some(_) => Ok(()),
                                None => Err(TransportError::Disconnected(
                                    "the connection closed while the command ran".into(),
                                )),
                            };
                        }
                        Some(_) => continue,
                    }
                    last_activity = Instant::now();
                    idle_deadline = last_activity
                        + if status.is_some() { t.idle.min(AFTER_EXIT) } else { t.idle };
                }
                result = &mut writer, if writing => {
                    writing = false;
                    // A command that exits without reading all of stdin makes the write fail;
                    // its exit status tells what happened.
                    let _ = result;
                }
                _ = sleep_until(idle_deadline) => {
                    let progress =
                        started + Duration::from_millis(stdin_progress.load(Ordering::Relaxed));
                    let active = last_activity.max(progress);
                    if status.is_none() && Instant::now() < active + t.idle {
                        idle_deadline = active + t.idle;
                        continue;
                    }
                    break match status {
                        Some(_) => Ok(()),
                        None => Err(TransportError::IdleTimeout { secs: t.idle.as_secs() }),
                    };
                }
                _ = sleep_until(command_deadline) => {
                    break match status {
                        Some(_) => Ok(()),
                        None => Err(TransportError::CommandTimeout { secs: t.command.as_secs() }),
                    };
                }
            }
        };

        if let Some(line) = stdout.finish() {
            sink.push(Output::Stdout(line)).await;
        }
        if let Some(line) = stderr.finish() {
            sink.push(Output::Stderr(line)).await;
        }
        if !closed {
            // Timed out, refused, or the command is done but something holds its output open.
            // Best effort: OpenSSH delivers the signal to the remote shell; without a pty,
            // closing the channel does not kill anything.
            if status.is_none() {
                let _ = tx.signal(Sig::TERM).await;
            }
            let _ = tx.close().await;
        }
        outcome?;
        Ok(status.unwrap_or(ExitStatus(None)))
    }
}

impl Session for SshSession {
    async fn exec(
        &mut self,
        command: &str,
        stdin: Option<Vec<u8>>,
        out: mpsc::Sender<Output>,
    ) -> Result<ExitStatus, TransportError> {
        self.run(command, stdin, &mut Sink::Channel(&out)).await
    }

    async fn upload(
        &mut self,
        path: &str,
        content: &[u8],
        mode: u32,
    ) -> Result<(), TransportError> {
        let command = upload_command(path, mode, rand::random())?;
        let mut lines = Vec::new();
        let status = self
            .run(
                &command,
                Some(content.to_vec()),
                &mut Sink::Collect(&mut lines, 20),
            )
            .await?;
        if status.success() {
            return Ok(());
        }
        let stderr: Vec<String> = lines
            .into_iter()
            .filter_map(|l| match l {
                Output::Stderr(l) => Some(l),
                Output::Stdout(_) => None,
            })
            .collect();
        let code = status
            .0
            .map_or("no exit status".to_string(), |c| format!("exit {c}"));
        Err(TransportError::Other(format!(
            "upload of {path} failed ({code}): {}",
            stderr.join("; ")
        )))
    }

    async fn open_stream(
        &mut self,
        command: &str,
    ) -> Result<Option<CommandStream>, TransportError> {
        let (mut rx, tx) = self.open_channel().await?.split();
        tx.exec(true, command)
            .await
            .map_err(|e| TransportError::Disconnected(e.to_string()))?;
        let (input, mut input_rx) = mpsc::channel::<Vec<u8>>(16);
        let (events_tx, events) = mpsc::channel::<StreamEvent>(1024);
        // The reader's end: only then is the channel closed from this side, so that a command
        // that does something when its stdin ends (the root shell removes its work directory)
        // still has its exit status heard.
        let (read_done, read_done_rx) = tokio::sync::oneshot::channel::<()>();
        // Writing and reading are two tasks: a write waits while the remote side's window is
        // full, and the remote side may be waiting for us to read its output.
        tokio::spawn(async move {
            while let Some(bytes) = input_rx.recv().await {
                for chunk in bytes.chunks(STDIN_CHUNK) {
                    if tx.data_bytes(chunk.to_vec()).await.is_err() {
                        return;
                    }
                }
            }
            let _ = tx.eof().await;
            let _ = read_done_rx.await;
            let _ = tx.close().await;
        });
        tokio::spawn(async move {
            let _read_done = read_done;
            let mut stdout = LineSplitter::default();
            let mut stderr = LineSplitter::default();
            loop {
                let lines: Vec<StreamEvent> = match rx.wait().await {
                    Some(ChannelMsg::Data { data }) => stdout
                        .push(&data)
                        .into_iter()
                        .map(|l| StreamEvent::Line(Output::Stdout(l)))
                        .collect(),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => stderr
                        .push(&data)
                        .into_iter()
                        .map(|l| StreamEvent::Line(Output::Stderr(l)))
                        .collect(),
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        vec![StreamEvent::Exited(ExitStatus(Some(exit_status)))]
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        vec![StreamEvent::Exited(ExitStatus(signal_exit_code(
                            &signal_name,
                        )))]
                    }
                    Some(ChannelMsg::Close) | Some(ChannelMsg::Failure) | None => {
                        let mut last = Vec::new();
                        if let Some(l) = stdout.finish() {
                            last.push(StreamEvent::Line(Output::Stdout(l)));
                        }
                        if let Some(l) = stderr.finish() {
                            last.push(StreamEvent::Line(Output::Stderr(l)));
                        }
                        last.push(StreamEvent::Closed);
                        for e in last {
                            let _ = events_tx.send(e).await;
                        }
                        return;
                    }
                    Some(_) => continue,
                };
                for e in lines {
                    if events_tx.send(e).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Some(CommandStream { input, events }))
    }

    fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
    }

    fn host_key(&self) -> Option<String> {
        self.host_key.clone()
    }

    async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}
