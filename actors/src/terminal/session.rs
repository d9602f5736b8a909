//! SessionActor: one terminal session. Owns the PTY and the child process,
//! feeds every byte to the screen model and the clean output log, tracks the
//! commands typed by `session_run`, and answers queries about them.
//!
//! Three small tasks talk to the PTY so the actor never blocks: a reader
//! (reads and hands chunks over, nothing else; its `send` waits for mailbox
//! room, which is the backpressure), a writer (all input, query replies and
//! resizes, in order) and a waiter (the child's exit status). They hold only
//! a weak address, so a session whose manager let go of it stops.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use super::commands::{
    CommandBook, CommandStatus, CommandSummary, Completion, PromptHint, bound_output,
    strip_echo_and_prompt,
};
use super::integration::{IntegrationFiles, ShellFlavor, flavor};
use super::keys::{bracketed_paste, parse_key};
use super::output::{Osc133Kind, OutputChunk, OutputEvent, OutputLog};
use super::recording::Recorder;
use super::screen::{Screen, ScreenSnapshot};
use super::spec::{Definition, launch};
use super::types::{
    CommandResult, IntegrationMode, OutputRange, SessionInfo, SessionKind, SessionStatus, rfc3339,
};
use super::waiting::{foreground, hint_from_text, looks_like_prompt, session_members};
use super::watch::{CatchUp, MAX_WATCHERS, RECENT_COMMANDS, ScreenPaint, Watchers, Watching};
use crate::error::{ActorError, ActorResult};
use crate::supervisor::shielded;

/// How often a session with work in flight looks at its terminal.
const TICK: Duration = Duration::from_millis(50);
/// Output quiet this long before asking "is it waiting for input?".
const QUIET_FOR_INPUT_CHECK: Duration = Duration::from_millis(150);
/// Output quiet this long, with a prompt on the cursor line, ends a command
/// when there is no shell integration.
const QUIET_FOR_COMPLETION: Duration = Duration::from_millis(400);
/// How long to wait for integration markers before falling back.
const INTEGRATION_GRACE: Duration = Duration::from_secs(5);
/// Without integration, how long a shell may stay quiet without showing
/// a prompt-shaped line before it is taken as ready anyway.
const NO_PROMPT_GRACE: Duration = Duration::from_secs(3);
/// After the child exits, how long to wait for the PTY to drain.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(300);
/// How often a watcher that fell behind is looked at (see `watch`).
const WATCH_RETRY: Duration = Duration::from_millis(100);
/// Largest `text` for one `session_send_keys`.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Largest command for `session_run`.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

enum WriterOp {
    Bytes(Vec<u8>),
    Resize(u16, u16),
}

/// The running program of a session.
struct Proc {
    input: mpsc::UnboundedSender<WriterOp>,
    /// A duplicate of the master, to ask the kernel about the foreground.
    master: OwnedFd,
    pts: PathBuf,
    pid: u32,
    _files: Option<IntegrationFiles>,
}

/// One terminal session.
pub struct SessionActor {
    id: String,
    definition: Definition,
    created_at: String,
    restarted: bool,
    status: SessionStatus,
    exit_code: Option<i32>,
    generation: u64,
    proc: Option<Proc>,
    screen: Screen,
    log: OutputLog,
    book: CommandBook,
    status_tx: HashMap<String, watch::Sender<CommandStatus>>,
    exit_tx: watch::Sender<Option<i32>>,
    integration_expected: bool,
    integration_seen: bool,
    /// A prompt marker (OSC 133 A/B) arrived since the process started.
    prompt_marked: bool,
    ready: bool,
    cwd: Option<String>,
    last_output: Instant,
    spawned_at: Instant,
    child_exit: Option<i32>,
    pty_eof: bool,
    last_finished: Option<String>,
    tick: Option<SpawnHandle>,
    prompt_text: Option<String>,
    /// Set once the program first reached a prompt, asked for input or exited.
    startup: watch::Sender<Startup>,
    /// When the tick last looked at the terminal.
    last_check: Instant,
    /// Where to record (file, size limit), when recorded; the recorder
    /// itself exists once the session launched.
    recording: Option<(PathBuf, u64)>,
    recorder: Option<Recorder>,
    /// Live viewers of the session (see `watch`).
    watchers: Watchers,
    /// The pending look at watchers that are behind.
    watch_retry: Option<SpawnHandle>,
}

/// How far a freshly started program got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Startup {
    /// Still loading (rc files, ssh login…).
    Starting,
    /// At a prompt: commands can be typed.
    Ready,
    /// Waiting for input before any prompt (host-key question, password).
    AwaitingInput(PromptHint),
    /// The program ended.
    Exited,
}

impl SessionActor {
    /// A session for `definition`; the process starts when the actor does.
    pub fn new(id: String, definition: Definition, log_bytes: usize) -> SessionActor {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let screen = Screen::new(definition.rows, definition.cols, definition.scrollback);
        SessionActor {
            id,
            created_at: rfc3339(now),
            restarted: false,
            status: SessionStatus::Running,
            exit_code: None,
            generation: 0,
            proc: None,
            screen,
            log: OutputLog::with_capacity(log_bytes),
            book: CommandBook::default(),
            status_tx: HashMap::new(),
            exit_tx: watch::channel(None).0,
            integration_expected: false,
            integration_seen: false,
            prompt_marked: false,
            ready: false,
            cwd: None,
            last_output: Instant::now(),
            spawned_at: Instant::now(),
            child_exit: None,
            pty_eof: false,
            last_finished: None,
            tick: None,
            prompt_text: None,
            startup: watch::channel(Startup::Starting).0,
            last_check: Instant::now(),
            recording: None,
            recorder: None,
            watchers: Watchers::default(),
            watch_retry: None,
            definition,
        }
    }

    /// Records the session into `file` (bounded by `limit` bytes) when given.
    pub fn with_recording(mut self, recording: Option<(PathBuf, u64)>) -> SessionActor {
        self.recording = recording;
        self
    }

    /// Starts the program. Called once by the manager right after the actor
    /// starts, and by restart.
    fn spawn_process(&mut self, ctx: &mut Context<Self>) -> ActorResult<()> {
        let plan = launch(&self.definition, &self.id)?;
        let (pty, pts) = pty_process::open()
            .map_err(|e| ActorError::Internal(format!("cannot open a PTY: {e}")))?;
        pty.resize(pty_process::Size::new(
            self.definition.rows,
            self.definition.cols,
        ))
        .map_err(|e| ActorError::Internal(format!("cannot size the PTY: {e}")))?;
        let mut command = pty_process::Command::new(&plan.program)
            .args(&plan.args)
            .current_dir(&self.definition.cwd);
        // The server's own settings (TERMBRIDGE_TOKEN above all) stay out
        // of the programs it starts.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TERMBRIDGE_") {
                command = command.env_remove(k);
            }
        }
        for (k, v) in &plan.env {
            command = command.env(k, v);
        }
        let mut child = command.spawn(pts).map_err(|e| {
            ActorError::InvalidInput(format!("cannot start {:?}: {e}", plan.program))
        })?;
        let pid = child.id().unwrap_or(0);
        let pts_path = std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap_or_default();
        let master = pty
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| ActorError::Internal(format!("cannot duplicate the PTY: {e}")))?;
        let (mut reader, mut writer) = pty.into_split();
        self.generation += 1;
        let generation = self.generation;
        let weak = ctx.address().downgrade();

        // Reader: read, hand over, nothing else.
        let to_actor = weak.clone();
        actix::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break, // EOF, or EIO once the child side closed
                    Ok(n) => {
                        let Some(addr) = to_actor.upgrade() else {
                            return;
                        };
                        let chunk = PtyOutput {
                            generation,
                            bytes: buf[..n].to_vec(),
                        };
                        if addr.send(chunk).await.is_err() {
                            return;
                        }
                    }
                }
            }
            if let Some(addr) = to_actor.upgrade() {
                addr.do_send(PtyClosed { generation });
            }
        });

        // Writer: every byte to the program goes through here, in order.
        let (input, mut ops) = mpsc::unbounded_channel::<WriterOp>();
        actix::spawn(async move {
            while let Some(op) = ops.recv().await {
                match op {
                    WriterOp::Bytes(bytes) => {
                        if writer.write_all(&bytes).await.is_err() {
                            break;
                        }
                        let _ = writer.flush().await;
                    }
                    WriterOp::Resize(rows, cols) => {
                        let _ = writer.resize(pty_process::Size::new(rows, cols));
                    }
                }
            }
        });

        // Waiter: the exit status.
        let to_actor = weak;
        actix::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => exit_code_of(status),
                Err(_) => -1,
            };
            if let Some(addr) = to_actor.upgrade() {
                addr.do_send(ChildExited { generation, code });
            }
        });

        self.integration_expected = self.definition.integration == IntegrationMode::Auto
            && match self.definition.kind {
                SessionKind::Shell => flavor(&self.definition.argv[0]) != ShellFlavor::Other,
                SessionKind::Ssh => true,
                SessionKind::Command => false,
            };
        self.proc = Some(Proc {
            input,
            master,
            pts: pts_path,
            pid,
            _files: plan.files,
        });
        self.status = SessionStatus::Running;
        self.exit_code = None;
        self.exit_tx.send_replace(None);
        self.child_exit = None;
        self.pty_eof = false;
        self.ready = false;
        self.integration_seen = false;
        self.prompt_marked = false;
        self.startup.send_replace(Startup::Starting);
        self.spawned_at = Instant::now();
        self.last_output = Instant::now();
        self.ensure_tick(ctx);
        Ok(())
    }

    fn write(&self, bytes: Vec<u8>) {
        if let Some(proc) = &self.proc {
            let _ = proc.input.send(WriterOp::Bytes(bytes));
        }
    }

    fn set_status(&mut self, id: &str, status: CommandStatus) {
        if let Some(record) = self.book.get_mut(id) {
            record.status = status;
        }
        if let Some(tx) = self.status_tx.get(id) {
            tx.send_replace(status);
        }
        self.publish_command(id);
    }

    /// Tells the watchers about command `id`'s state.
    fn publish_command(&mut self, id: &str) {
        if !self.watchers.is_empty()
            && let Some(record) = self.book.get(id)
        {
            self.watchers.command(record.summary());
        }
    }

    /// Tells the watchers the session's state, when it changed.
    fn publish_session(&mut self) {
        if !self.watchers.is_empty() {
            let info = self.info();
            self.watchers.session(&info);
        }
    }

    /// Everything a watcher that fell behind needs.
    fn catch_up(&self) -> CatchUp {
        CatchUp {
            paint: ScreenPaint::of(self.screen.vt100()),
            session: self.info(),
            commands: self.recent_commands(),
        }
    }

    /// While a watcher is behind, looks again every `WATCH_RETRY` whether
    /// it has room for its catch-up: once the program is quiet no output
    /// would trigger it.
    fn retry_watchers_later(&mut self, ctx: &mut Context<Self>) {
        if self.watch_retry.is_some() || !self.watchers.any_behind() {
            return;
        }
        self.watch_retry = Some(ctx.run_later(WATCH_RETRY, |act, ctx| {
            act.watch_retry = None;
            let mut watchers = std::mem::take(&mut act.watchers);
            watchers.retry_behind(|| act.catch_up());
            act.watchers = watchers;
            act.retry_watchers_later(ctx);
        }));
    }

    fn recent_commands(&self) -> Vec<CommandSummary> {
        self.book
            .recent(RECENT_COMMANDS)
            .map(|r| r.summary())
            .collect()
    }

    fn finish(
        &mut self,
        id: &str,
        status: CommandStatus,
        exit_code: Option<i32>,
        end: u64,
        how: Option<Completion>,
    ) {
        self.book.finish(id, status, exit_code, end, how);
        if let Some(record) = self.book.get_mut(id) {
            record.cwd = self.cwd.clone();
            if record.output_start.is_none() {
                record.output_start = Some(end);
            }
        }
        self.last_finished = Some(id.to_string());
        if let Some(tx) = self.status_tx.remove(id) {
            tx.send_replace(status);
        }
        self.publish_command(id);
    }

    fn integration_active(&self) -> bool {
        self.integration_seen
    }

    /// Runs the periodic check while there is something to watch.
    fn ensure_tick(&mut self, ctx: &mut Context<Self>) {
        if self.tick.is_none() && self.proc.is_some() {
            self.tick = Some(ctx.run_interval(TICK, |act, ctx| act.on_tick(ctx)));
        }
    }

    fn stop_tick(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.tick.take() {
            ctx.cancel_future(handle);
        }
    }

    fn on_output(&mut self, bytes: &[u8], ctx: &mut Context<Self>) {
        self.last_output = Instant::now();
        if let Some(recorder) = &mut self.recorder {
            recorder.output(bytes);
        }
        let replies = self.screen.process(bytes);
        if !replies.is_empty() {
            self.write(replies);
        }
        if !self.watchers.is_empty() {
            let mut watchers = std::mem::take(&mut self.watchers);
            watchers.output(bytes, || self.catch_up());
            self.watchers = watchers;
            self.retry_watchers_later(ctx);
        }
        let _ = self.screen.take_events();
        let events = self.log.feed(bytes);
        for event in events {
            match event.event {
                OutputEvent::Osc133 { kind } => self.on_marker(kind, event.offset),
                OutputEvent::Cwd(path) => {
                    if let Some(id) = &self.last_finished
                        && self.book.active().is_none()
                    {
                        let id = id.clone();
                        if let Some(r) = self.book.get_mut(&id) {
                            r.cwd = Some(path.clone());
                        }
                    }
                    self.cwd = Some(path);
                }
                OutputEvent::Title(_) => {}
            }
        }
        self.type_next_if_ready();
        if self.book.has_unfinished() {
            self.ensure_tick(ctx);
        }
        self.publish_session();
    }

    fn on_marker(&mut self, kind: Osc133Kind, offset: u64) {
        match kind {
            Osc133Kind::PromptStart | Osc133Kind::CommandStart => {
                // A marked prompt proves the hooks work end to end; a lone
                // C marker (PS0) does not.
                self.integration_seen = true;
                self.prompt_marked = true;
                // Readline redraws the prompt (markers included) while it
                // echoes a multi-line paste: only a prompt drawn when no
                // command runs means the shell waits for the next one.
                if self.book.active().is_none() {
                    self.set_ready();
                }
            }
            Osc133Kind::CommandExecuted => {
                if let Some(id) = self.book.active_id() {
                    if let Some(r) = self.book.get_mut(&id)
                        && (r.output_start.is_none() || r.strip_echo)
                    {
                        r.output_start = Some(offset);
                        r.strip_echo = false;
                    }
                    if self.book.get(&id).map(|r| r.status) == Some(CommandStatus::AwaitingInput) {
                        self.set_status(&id, CommandStatus::Running);
                    }
                }
            }
            Osc133Kind::CommandFinished { exit_code } => {
                self.integration_seen = true;
                // bash's PROMPT_COMMAND and zsh's precmd report "the last
                // status" once before the very first prompt: that D ends
                // none of our commands (one typed early is still unread).
                if !self.prompt_marked {
                    return;
                }
                if let Some(id) = self.book.active_id() {
                    self.finish(
                        &id,
                        CommandStatus::Completed,
                        exit_code,
                        offset,
                        Some(Completion::ShellIntegration),
                    );
                }
            }
        }
    }

    /// Types the oldest waiting command when the shell is at a prompt.
    fn type_next_if_ready(&mut self) {
        if !self.ready || self.book.active().is_some() || self.status != SessionStatus::Running {
            return;
        }
        let Some(next) = self
            .book
            .next_pending()
            .map(|r| (r.id.clone(), r.text.clone()))
        else {
            return;
        };
        let (id, text) = next;
        let mut bytes = if text.contains('\n') && self.screen.bracketed_paste() {
            bracketed_paste(&text)
        } else {
            text.replace("\r\n", "\n").replace('\n', "\r").into_bytes()
        };
        bytes.push(b'\r');
        let start = self.log.end();
        if let Some(r) = self.book.get_mut(&id) {
            r.typed = true;
            r.started_at = Some(Instant::now());
            // With integration the output starts at the C marker; until it
            // comes (and without integration) it starts here, after the echo.
            r.output_start = Some(start);
            r.strip_echo = true;
            r.prompt_hint = None;
        }
        self.set_status(&id, CommandStatus::Running);
        self.ready = false;
        self.prompt_text = None;
        self.write(bytes);
    }

    fn on_tick(&mut self, ctx: &mut Context<Self>) {
        let unfinished = self.book.unfinished_ids();
        if unfinished.is_empty() && (self.ready || self.status != SessionStatus::Running) {
            self.stop_tick(ctx);
            return;
        }
        if self.status != SessionStatus::Running {
            return;
        }
        let quiet = self.last_output.elapsed();
        // Everything below needs a quiet terminal; while output flows, the
        // tick costs nothing. The longer it stays quiet, the less often we
        // look (each look reads /proc).
        if quiet < QUIET_FOR_INPUT_CHECK {
            self.type_next_if_ready();
            return;
        }
        let gap = match quiet.as_secs() {
            0 => TICK,
            1..=9 => Duration::from_millis(250),
            _ => Duration::from_secs(1),
        };
        if self.last_check.elapsed() < gap {
            return;
        }
        self.last_check = Instant::now();
        let cursor_line = self.cursor_line();
        let at_prompt_shape = looks_like_prompt(&cursor_line);
        // Readiness without markers.
        if !self.ready {
            let waited = self.spawned_at.elapsed();
            let fallback = !self.integration_expected
                || (waited >= INTEGRATION_GRACE && !self.integration_seen);
            // Shells and ssh logins show a prompt when they are ready; a bare
            // program (`command` sessions) may never print one.
            // On a loaded machine rc files can take seconds: silence alone
            // never means "ready" for a shell that has printed nothing yet.
            let prompt_needed = self.definition.kind != SessionKind::Command;
            let printed = self.log.end() > 0 || !self.log.pending_line().trim().is_empty();
            let looks_ready =
                at_prompt_shape || !prompt_needed || (printed && quiet >= NO_PROMPT_GRACE);
            if fallback
                && looks_ready
                && quiet >= Duration::from_millis(300)
                && self.leader_in_foreground()
                && !fg_reading_question(self.proc.as_ref(), at_prompt_shape)
            {
                self.set_ready();
            }
        }
        let fg = self
            .proc
            .as_ref()
            .and_then(|p| foreground(p.master.as_fd(), &p.pts));
        let leader_fg =
            fg.is_some_and(|f| Some(f.pgrp as u32) == self.proc.as_ref().map(|p| p.pid));
        if let Some(id) = self.book.active_id() {
            if !self.integration_active()
                && quiet >= QUIET_FOR_COMPLETION
                && at_prompt_shape
                && leader_fg
            {
                let end = self.log.end();
                self.finish(
                    &id,
                    CommandStatus::Completed,
                    None,
                    end,
                    Some(Completion::Quiescence),
                );
                self.set_ready();
            } else if quiet >= QUIET_FOR_INPUT_CHECK {
                self.check_awaiting(&id, fg, leader_fg, at_prompt_shape);
            }
        } else if !self.ready && quiet >= QUIET_FOR_INPUT_CHECK {
            // Not at a prompt yet (ssh login, host-key question…): report the
            // waiting commands as awaiting input when the terminal asks.
            if let Some(f) = fg
                && f.reading
                && (!leader_fg || !at_prompt_shape)
            {
                let hint = hint_from_text(&self.last_lines(), f.echo_off && f.canonical);
                self.prompt_text = Some(self.last_lines().join("\n").trim().to_string());
                self.startup.send_if_modified(|s| {
                    let changed = *s != Startup::AwaitingInput(hint);
                    if *s != Startup::Ready {
                        *s = Startup::AwaitingInput(hint);
                    }
                    changed
                });
                for id in unfinished {
                    self.mark_awaiting(&id, hint);
                }
            }
        }
        self.type_next_if_ready();
        self.publish_session();
    }

    fn check_awaiting(
        &mut self,
        id: &str,
        fg: Option<super::waiting::Foreground>,
        leader_fg: bool,
        at_prompt_shape: bool,
    ) {
        let Some(f) = fg else { return };
        // The shell itself reading at what looks like its prompt is the end
        // of the command (decided by markers or quiescence), not a question.
        // With integration, its line editor (non-canonical mode) gives it away.
        let shell_prompt = leader_fg
            && if self.integration_active() {
                !f.canonical
            } else {
                at_prompt_shape
            };
        let waiting = (f.reading && !shell_prompt)
            || (f.polling && (self.screen.alt_screen() || self.pager_on_screen()));
        let current = self.book.get(id).map(|r| r.status);
        if waiting {
            let hint = if f.pager {
                PromptHint::Pager
            } else if f.polling && !f.reading {
                if self.pager_on_screen() {
                    PromptHint::Pager
                } else {
                    PromptHint::Other
                }
            } else {
                hint_from_text(&self.last_lines(), f.echo_off && f.canonical)
            };
            self.mark_awaiting(id, hint);
        } else if current == Some(CommandStatus::AwaitingInput) {
            self.set_status(id, CommandStatus::Running);
        }
    }

    fn set_ready(&mut self) {
        self.ready = true;
        self.startup.send_replace(Startup::Ready);
    }

    fn mark_awaiting(&mut self, id: &str, hint: PromptHint) {
        let text = self.last_lines().join("\n").trim().to_string();
        if let Some(r) = self.book.get_mut(id) {
            r.prompt_hint = Some(hint);
        }
        self.prompt_text = Some(text);
        if self.book.get(id).map(|r| r.status) != Some(CommandStatus::AwaitingInput) {
            self.set_status(id, CommandStatus::AwaitingInput);
        }
    }

    fn pager_on_screen(&self) -> bool {
        hint_from_text(&self.last_lines(), false) == PromptHint::Pager
    }

    fn leader_in_foreground(&self) -> bool {
        let Some(p) = &self.proc else { return false };
        nix::unistd::tcgetpgrp(p.master.as_fd()).is_ok_and(|g| g.as_raw() as u32 == p.pid)
    }

    /// The text of the cursor's row.
    fn cursor_line(&self) -> String {
        let snap = self.screen.snapshot(0);
        snap.lines
            .get(snap.cursor.row as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// The last non-blank rows up to the cursor (the prompt a program shows).
    fn last_lines(&self) -> Vec<String> {
        let snap = self.screen.snapshot(0);
        let upto = (snap.cursor.row as usize + 1).min(snap.lines.len());
        let mut lines: Vec<String> = snap.lines[..upto].to_vec();
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let from = lines.len().saturating_sub(3);
        lines[from..].to_vec()
    }

    fn on_child_exit(&mut self, code: i32, ctx: &mut Context<Self>) {
        self.child_exit = Some(code);
        if self.pty_eof {
            self.finalize_exit(ctx);
        } else {
            let generation = self.generation;
            ctx.run_later(DRAIN_AFTER_EXIT, move |act, ctx| {
                if act.generation == generation && act.status == SessionStatus::Running {
                    act.finalize_exit(ctx);
                }
            });
        }
    }

    fn finalize_exit(&mut self, ctx: &mut Context<Self>) {
        if self.status == SessionStatus::Exited {
            return;
        }
        let code = self.child_exit;
        self.status = SessionStatus::Exited;
        self.exit_code = code;
        let end = self.log.end() + self.log.pending_line().len() as u64;
        for id in self.book.unfinished_ids() {
            self.finish(
                &id,
                CommandStatus::SessionExited,
                code,
                end,
                Some(Completion::SessionExit),
            );
        }
        // Processes the session started in the background die with it.
        if let Some(proc) = &self.proc {
            kill_session(proc.pid, nix::sys::signal::Signal::SIGKILL);
        }
        self.proc = None;
        self.stop_tick(ctx);
        if let Some(recorder) = &mut self.recorder {
            recorder.flush();
        }
        self.startup.send_replace(Startup::Exited);
        self.exit_tx.send_replace(code.or(Some(-1)));
        self.publish_session();
    }

    fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            name: self.definition.name.clone(),
            kind: self.definition.kind,
            status: self.status,
            exit_code: self.exit_code,
            cols: self.definition.cols,
            rows: self.definition.rows,
            title: self.screen.title().to_string(),
            cwd: self.cwd.clone(),
            created_at: self.created_at.clone(),
            restarted: self.restarted,
            command: self.definition.argv.clone(),
            pid: self.proc.as_ref().map(|p| p.pid),
            shell_integration: self.integration_seen,
            read_only: self.definition.read_only,
            running_command: self
                .book
                .unfinished_ids()
                .first()
                .and_then(|id| self.book.get(id))
                .map(|r| r.text.clone()),
            ready: self.ready || self.book.active().is_some(),
            prompt_hint: match *self.startup.borrow() {
                Startup::AwaitingInput(hint) if !self.ready => Some(hint),
                _ => None,
            },
            last_command: self.book.last().map(|r| r.summary()),
            recording: self.recorder.as_ref().map(Recorder::info),
        }
    }

    fn result(&self, id: &str, max_bytes: usize) -> ActorResult<CommandResult> {
        let r = self.book.get(id).ok_or_else(|| {
            ActorError::NotFound(format!("no command {id} in session {}", self.id))
        })?;
        let mut dropped = 0;
        let (output, truncated, cursor) = match r.output_start {
            Some(from) => {
                let to = r
                    .output_end
                    .unwrap_or_else(|| self.log.end() + self.log.pending_line().len() as u64);
                let chunk = self.log.slice(from, to.max(from));
                dropped = chunk.dropped;
                let mut text = chunk.text;
                if r.strip_echo {
                    text = strip_echo_and_prompt(&text, &r.text);
                }
                if r.completion == Some(Completion::Quiescence) {
                    // Drop the prompt the shell printed after the output.
                    if let Some(cut) = text.rfind('\n')
                        && looks_like_prompt(&text[cut + 1..])
                    {
                        text.truncate(cut + 1);
                    }
                }
                if r.status.is_final() && text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                let (bounded, cut) = bound_output(&text, max_bytes, chunk.from);
                (
                    bounded,
                    cut,
                    Some(OutputRange {
                        from: chunk.from,
                        to,
                    }),
                )
            }
            None => (String::new(), false, None),
        };
        Ok(CommandResult {
            command_id: r.id.clone(),
            command: r.text.clone(),
            status: r.status,
            exit_code: r.exit_code,
            output,
            output_truncated: truncated,
            output_dropped: dropped,
            output_cursor: cursor,
            prompt_hint: if r.status == CommandStatus::AwaitingInput {
                r.prompt_hint
            } else {
                None
            },
            prompt_text: if r.status == CommandStatus::AwaitingInput {
                self.prompt_text.clone()
            } else {
                None
            },
            completion: r.completion,
            cwd: r.cwd.clone(),
            duration_ms: r.duration_ms(),
        })
    }

    /// Waits until command `id` is final or awaits input, at most `wait`.
    fn wait_for(
        &mut self,
        id: String,
        wait: Duration,
        max_bytes: usize,
        interrupt_on_timeout: bool,
    ) -> ResponseActFuture<Self, ActorResult<CommandResult>> {
        let status = self.book.get(&id).map(|r| r.status);
        let rx = match status {
            Some(s) if s.is_final() => None,
            Some(s) => Some(
                self.status_tx
                    .entry(id.clone())
                    .or_insert_with(|| watch::channel(s).0)
                    .subscribe(),
            ),
            None => {
                return Box::pin(fut::ready(Err(ActorError::NotFound(format!(
                    "no command {id} in session {}",
                    self.id
                )))));
            }
        };
        let waited = async move {
            let Some(mut rx) = rx else { return true };
            tokio::time::timeout(
                wait,
                rx.wait_for(|s| s.is_final() || *s == CommandStatus::AwaitingInput),
            )
            .await
            .is_ok()
        };
        Box::pin(waited.into_actor(self).map(move |settled, act, _ctx| {
            if !settled && interrupt_on_timeout {
                let still_running = act
                    .book
                    .get(&id)
                    .is_some_and(|r| r.status == CommandStatus::Running && r.typed);
                if still_running {
                    act.write(vec![0x03]);
                    let end = act.log.end() + act.log.pending_line().len() as u64;
                    act.finish(&id, CommandStatus::TimedOut, None, end, None);
                }
            }
            act.result(&id, max_bytes)
        }))
    }

    fn check_writable(&self) -> ActorResult<()> {
        if self.definition.read_only {
            return Err(ActorError::Forbidden(format!(
                "session {} is read-only: it takes no input",
                self.id
            )));
        }
        self.check_running()
    }

    fn check_running(&self) -> ActorResult<()> {
        match self.status {
            SessionStatus::Running if self.proc.is_some() => Ok(()),
            SessionStatus::Restarting => Err(ActorError::Unavailable(format!(
                "session {} is restarting, retry in a moment",
                self.id
            ))),
            _ => Err(ActorError::Conflict(format!(
                "session {} has exited{}; read its screen and output, restart or close it",
                self.id,
                self.exit_code
                    .map(|c| format!(" with code {c}"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// Ends the process: SIGHUP to its whole session, SIGKILL after `grace`.
    fn terminate(&mut self, grace: Duration) -> ResponseActFuture<Self, Option<i32>> {
        let Some(proc) = &self.proc else {
            return Box::pin(fut::ready(self.exit_code));
        };
        let pid = proc.pid;
        kill_session(pid, nix::sys::signal::Signal::SIGHUP);
        let mut exited = self.exit_tx.subscribe();
        Box::pin(
            async move {
                let hup = tokio::time::timeout(grace, exited.wait_for(|c| c.is_some()))
                    .await
                    .is_ok();
                if !hup {
                    kill_session(pid, nix::sys::signal::Signal::SIGKILL);
                    let _ = tokio::time::timeout(
                        Duration::from_secs(5),
                        exited.wait_for(|c| c.is_some()),
                    )
                    .await;
                }
                // Whatever the shell left running on that terminal goes too;
                // answer only once it is gone (bounded).
                let deadline = Instant::now() + Duration::from_secs(3);
                loop {
                    kill_session(pid, nix::sys::signal::Signal::SIGKILL);
                    if session_members(pid as i32).is_empty() || Instant::now() >= deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                *exited.borrow()
            }
            .into_actor(self)
            .map(move |code, act, _| code.or(act.exit_code)),
        )
    }
}

/// Whether something in the foreground is asking a question (reading the
/// terminal away from a prompt).
fn fg_reading_question(proc: Option<&Proc>, at_prompt_shape: bool) -> bool {
    let Some(p) = proc else { return false };
    foreground(p.master.as_fd(), &p.pts)
        .is_some_and(|f| f.reading && f.canonical && !at_prompt_shape)
}

/// The error a caller gets when the handler panicked (the actor restarts).
fn fault() -> ActorError {
    ActorError::Unavailable("the session hit an internal fault and is restarting; retry".into())
}

/// Exit code as shells report it: the code, or 128 + signal number.
fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Sends `signal` to every process of the terminal session led by `pid`.
fn kill_session(pid: u32, signal: nix::sys::signal::Signal) {
    let leader = pid as i32;
    if leader <= 1 {
        return;
    }
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(leader), signal);
    for member in session_members(leader) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(member), signal);
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Big mailboxes would only hide backpressure from the reader.
        ctx.set_mailbox_capacity(64);
        self.ensure_tick(ctx);
    }
}

impl actix::Supervised for SessionActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        log::warn!("session {} actor restarted after a fault", self.id);
        self.restarted = true;
        self.tick = None;
        self.watch_retry = None;
    }
}

// ---- messages from the PTY tasks ----

#[derive(Message)]
#[rtype(result = "()")]
struct PtyOutput {
    generation: u64,
    bytes: Vec<u8>,
}

impl Handler<PtyOutput> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: PtyOutput, ctx: &mut Self::Context) {
        if msg.generation == self.generation {
            // Hostile output must not take the session down for good: a
            // panic in the parsers restarts the actor (state kept).
            shielded(self, ctx, "processing terminal output", |act, ctx| {
                act.on_output(&msg.bytes, ctx)
            });
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct PtyClosed {
    generation: u64,
}

impl Handler<PtyClosed> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: PtyClosed, ctx: &mut Self::Context) {
        if msg.generation == self.generation {
            self.pty_eof = true;
            if self.child_exit.is_some() {
                self.finalize_exit(ctx);
            }
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct ChildExited {
    generation: u64,
    code: i32,
}

impl Handler<ChildExited> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: ChildExited, ctx: &mut Self::Context) {
        if msg.generation == self.generation {
            self.on_child_exit(msg.code, ctx);
        }
    }
}

// ---- the session's own API (sent by the terminal manager) ----

/// Start the process (sent once by the manager after starting the actor)
/// and wait up to `wait` for it to reach a prompt, ask for input or exit.
#[derive(Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Launch {
    /// Longest wait for the first prompt.
    pub wait: Duration,
}

impl Handler<Launch> for SessionActor {
    type Result = ResponseActFuture<Self, ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Launch, ctx: &mut Self::Context) -> Self::Result {
        if let Some((file, limit)) = &self.recording
            && self.recorder.is_none()
        {
            let (cols, rows) = (self.definition.cols, self.definition.rows);
            match Recorder::create(file, cols, rows, *limit) {
                Ok(recorder) => self.recorder = Some(recorder),
                Err(e) => {
                    return Box::pin(fut::ready(Err(ActorError::Internal(format!(
                        "cannot create the recording {}: {e}",
                        file.display()
                    )))));
                }
            }
        }
        if let Err(e) = self.spawn_process(ctx) {
            return Box::pin(fut::ready(Err(e)));
        }
        self.info_once_started(msg.wait)
    }
}

/// Describe the session.
#[derive(Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Describe;

impl Handler<Describe> for SessionActor {
    type Result = ActorResult<SessionInfo>;

    fn handle(&mut self, _msg: Describe, _ctx: &mut Self::Context) -> Self::Result {
        Ok(self.info())
    }
}

/// The visible screen and optionally some scrollback.
#[derive(Message)]
#[rtype(result = "ActorResult<ScreenSnapshot>")]
pub struct Snapshot {
    /// Scrollback lines wanted.
    pub scrollback: usize,
}

impl Handler<Snapshot> for SessionActor {
    type Result = ActorResult<ScreenSnapshot>;

    fn handle(&mut self, msg: Snapshot, ctx: &mut Self::Context) -> Self::Result {
        shielded(self, ctx, "reading the screen", |act, _| {
            act.screen.snapshot(msg.scrollback)
        })
        .ok_or_else(fault)
    }
}

/// A page of the clean output log.
#[derive(Message)]
#[rtype(result = "ActorResult<OutputChunk>")]
pub struct Read {
    /// Offset to read from.
    pub since: u64,
    /// At most this many bytes.
    pub max_bytes: usize,
}

impl Handler<Read> for SessionActor {
    type Result = ActorResult<OutputChunk>;

    fn handle(&mut self, msg: Read, ctx: &mut Self::Context) -> Self::Result {
        shielded(self, ctx, "reading the output log", |act, _| {
            act.log.read(msg.since, msg.max_bytes)
        })
        .ok_or_else(fault)
    }
}

/// Type a command and wait for it.
#[derive(Message)]
#[rtype(result = "ActorResult<CommandResult>")]
pub struct Run {
    /// The command text (may span lines).
    pub command: String,
    /// How long to wait before answering `running`.
    pub wait: Duration,
    /// Bound on the returned output.
    pub max_output_bytes: usize,
    /// Idempotency key.
    pub request_id: Option<String>,
    /// Queue behind a running command instead of refusing.
    pub queue: bool,
    /// Send Ctrl-C when the wait ends and answer `timed_out`.
    pub interrupt_on_timeout: bool,
}

impl Handler<Run> for SessionActor {
    type Result = ResponseActFuture<Self, ActorResult<CommandResult>>;

    fn handle(&mut self, msg: Run, ctx: &mut Self::Context) -> Self::Result {
        if let Some(rid) = &msg.request_id
            && let Some(existing) = self.book.by_request(rid)
        {
            if existing.text != msg.command {
                return Box::pin(fut::ready(Err(ActorError::Conflict(format!(
                    "request_id {rid:?} was already used for a different command ({}) in the last 10 minutes",
                    existing.id
                )))));
            }
            let id = existing.id.clone();
            return self.wait_for(id, msg.wait, msg.max_output_bytes, false);
        }
        if let Err(e) = self.check_writable() {
            return Box::pin(fut::ready(Err(e)));
        }
        if !msg.queue
            && let Some(active) = self.book.unfinished_ids().first()
        {
            return Box::pin(fut::ready(Err(ActorError::Conflict(format!(
                "command {active} is still running in session {}; wait for it with session_command, \
                     interrupt it with session_send_keys Ctrl-C, or pass queue: true",
                self.id
            )))));
        }
        let id = self.book.accept(msg.command, msg.request_id);
        self.status_tx
            .insert(id.clone(), watch::channel(CommandStatus::Running).0);
        self.publish_command(&id);
        self.type_next_if_ready();
        self.ensure_tick(ctx);
        self.publish_session();
        self.wait_for(id, msg.wait, msg.max_output_bytes, msg.interrupt_on_timeout)
    }
}

/// The state of a command, waiting up to `wait` for it to settle.
#[derive(Message)]
#[rtype(result = "ActorResult<CommandResult>")]
pub struct Poll {
    /// Command id.
    pub command_id: String,
    /// Longest wait.
    pub wait: Duration,
    /// Bound on the returned output.
    pub max_output_bytes: usize,
}

impl Handler<Poll> for SessionActor {
    type Result = ResponseActFuture<Self, ActorResult<CommandResult>>;

    fn handle(&mut self, msg: Poll, _ctx: &mut Self::Context) -> Self::Result {
        self.wait_for(msg.command_id, msg.wait, msg.max_output_bytes, false)
    }
}

/// Type text and keys.
#[derive(Message)]
#[rtype(result = "ActorResult<usize>")]
pub struct Type {
    /// Literal text (bracketed paste when multi-line and the program asked for it).
    pub text: Option<String>,
    /// Named keys, after the text.
    pub keys: Vec<String>,
}

impl Handler<Type> for SessionActor {
    type Result = ActorResult<usize>;

    fn handle(&mut self, msg: Type, ctx: &mut Self::Context) -> Self::Result {
        self.check_writable()?;
        let mut bytes = Vec::new();
        if let Some(text) = &msg.text {
            if text.len() > MAX_INPUT_BYTES {
                return Err(ActorError::InvalidInput(format!(
                    "text is longer than {MAX_INPUT_BYTES} bytes"
                )));
            }
            if text.contains('\n') && self.screen.bracketed_paste() {
                bytes.extend(bracketed_paste(text));
            } else {
                bytes.extend_from_slice(text.as_bytes());
            }
        }
        if msg.keys.len() > 256 {
            return Err(ActorError::InvalidInput("at most 256 keys per call".into()));
        }
        let app_cursor = self.screen.application_cursor();
        for key in &msg.keys {
            let seq = parse_key(key, app_cursor)
                .map_err(|e| ActorError::InvalidInput(format!("keys: {e}")))?;
            bytes.extend(seq);
        }
        let n = bytes.len();
        // Whatever was waiting for input has it now.
        for id in self.book.unfinished_ids() {
            if self.book.get(&id).map(|r| r.status) == Some(CommandStatus::AwaitingInput) {
                self.set_status(&id, CommandStatus::Running);
            }
        }
        self.last_output = Instant::now();
        self.write(bytes);
        self.ensure_tick(ctx);
        Ok(n)
    }
}

/// Change the terminal size.
#[derive(Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct SetSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl Handler<SetSize> for SessionActor {
    type Result = ActorResult<SessionInfo>;

    fn handle(&mut self, msg: SetSize, _ctx: &mut Self::Context) -> Self::Result {
        if !(2..=1000).contains(&msg.cols) || !(2..=500).contains(&msg.rows) {
            return Err(ActorError::InvalidInput(format!(
                "cols must be 2..=1000 and rows 2..=500, got {}x{}",
                msg.cols, msg.rows
            )));
        }
        self.check_running()?;
        self.definition.cols = msg.cols;
        self.definition.rows = msg.rows;
        self.screen.resize(msg.rows, msg.cols);
        if let Some(recorder) = &mut self.recorder {
            recorder.resize(msg.cols, msg.rows);
        }
        if let Some(proc) = &self.proc {
            let _ = proc.input.send(WriterOp::Resize(msg.rows, msg.cols));
        }
        self.publish_session();
        Ok(self.info())
    }
}

/// End the process (SIGHUP, then SIGKILL after `grace`); answers the exit code.
#[derive(Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Terminate {
    /// Time between SIGHUP and SIGKILL.
    pub grace: Duration,
}

impl Handler<Terminate> for SessionActor {
    type Result = ResponseActFuture<Self, ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Terminate, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(self.terminate(msg.grace).map(|_, act, ctx| {
            act.finalize_exit(ctx);
            Ok(act.info())
        }))
    }
}

/// Replace the process with a fresh one from the same definition.
#[derive(Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Respawn {
    /// Time between SIGHUP and SIGKILL for the old process.
    pub grace: Duration,
    /// Longest wait for the new process's first prompt.
    pub wait: Duration,
}

impl Handler<Respawn> for SessionActor {
    type Result = ResponseActFuture<Self, ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Respawn, _ctx: &mut Self::Context) -> Self::Result {
        if self.status == SessionStatus::Restarting {
            return Box::pin(fut::ready(Err(ActorError::Conflict(format!(
                "session {} is already restarting",
                self.id
            )))));
        }
        self.status = SessionStatus::Restarting;
        let wait = msg.wait;
        Box::pin(self.terminate(msg.grace).then(move |_, act, ctx| {
            act.finalize_exit_for_restart(ctx);
            act.screen = Screen::new(
                act.definition.rows,
                act.definition.cols,
                act.definition.scrollback,
            );
            act.restarted = true;
            if let Some(recorder) = &mut act.recorder {
                recorder.reset();
            }
            match act.spawn_process(ctx) {
                Ok(()) => {
                    // Watchers start over with the new program's screen.
                    if !act.watchers.is_empty() {
                        let catch_up = act.catch_up();
                        act.watchers.restart(catch_up);
                    }
                    act.info_once_started(wait)
                }
                Err(e) => Box::pin(fut::ready(Err(e))),
            }
        }))
    }
}

impl SessionActor {
    /// The session's info once its program reached a prompt, asked a
    /// question or exited — or `wait` passed.
    fn info_once_started(
        &mut self,
        wait: Duration,
    ) -> ResponseActFuture<Self, ActorResult<SessionInfo>> {
        let mut startup = self.startup.subscribe();
        let waited = async move {
            let _ = tokio::time::timeout(wait, startup.wait_for(|s| *s != Startup::Starting)).await;
        };
        Box::pin(waited.into_actor(self).map(|_, act, _| Ok(act.info())))
    }

    fn finalize_exit_for_restart(&mut self, ctx: &mut Context<Self>) {
        let code = self.child_exit;
        let end = self.log.end() + self.log.pending_line().len() as u64;
        for id in self.book.unfinished_ids() {
            self.finish(
                &id,
                CommandStatus::SessionExited,
                code,
                end,
                Some(Completion::SessionExit),
            );
        }
        self.proc = None;
        self.stop_tick(ctx);
    }
}

/// Test-only: make the actor's handler panic, to prove supervision.
#[cfg(feature = "fault-injection")]
#[derive(Message)]
#[rtype(result = "ActorResult<()>")]
pub struct InjectPanic;

#[cfg(feature = "fault-injection")]
impl Handler<InjectPanic> for SessionActor {
    type Result = ActorResult<()>;

    fn handle(&mut self, _msg: InjectPanic, ctx: &mut Self::Context) -> Self::Result {
        crate::supervisor::guarded(ctx, "injected session fault", || {
            panic!("fault injected into session {}", self.id)
        })
    }
}

/// Write what was recorded so far and say where the recording is.
#[derive(Message)]
#[rtype(result = "ActorResult<Option<PathBuf>>")]
pub struct FlushRecording;

impl Handler<FlushRecording> for SessionActor {
    type Result = ActorResult<Option<PathBuf>>;

    fn handle(&mut self, _msg: FlushRecording, _ctx: &mut Self::Context) -> Self::Result {
        Ok(self.recorder.as_mut().map(|r| {
            r.flush();
            r.path().to_path_buf()
        }))
    }
}

/// Watch the session live (see `watch`).
#[derive(Message)]
#[rtype(result = "ActorResult<Watching>")]
pub struct Watch;

impl Handler<Watch> for SessionActor {
    type Result = ActorResult<Watching>;

    fn handle(&mut self, _msg: Watch, _ctx: &mut Self::Context) -> Self::Result {
        let session = self.info();
        let events = self.watchers.add(&session).ok_or_else(|| {
            ActorError::Conflict(format!(
                "session {} already has {MAX_WATCHERS} viewers",
                self.id
            ))
        })?;
        Ok(Watching {
            paint: ScreenPaint::of(self.screen.vt100()),
            commands: self.recent_commands(),
            session,
            events,
        })
    }
}

/// How long the session has been idle (no input, no output).
#[derive(Message)]
#[rtype(result = "ActorResult<Duration>")]
pub struct IdleFor;

impl Handler<IdleFor> for SessionActor {
    type Result = ActorResult<Duration>;

    fn handle(&mut self, _msg: IdleFor, _ctx: &mut Self::Context) -> Self::Result {
        // A command still running (even a silent one) is not idleness.
        if self.book.has_unfinished() {
            return Ok(Duration::ZERO);
        }
        Ok(self.last_output.elapsed())
    }
}
