//! The terminal subsystem: `TerminalActor` manages sessions, each one a
//! `SessionActor` of its own (supervised, so a fault in one session never
//! touches another), on top of a PTY-free screen model (`screen`), a clean
//! output log (`output`), a command book (`commands`) and the key-name
//! parser (`keys`).
//!
//! Requests for one session ([`SessionRequest`]: run, poll, screen, output,
//! keys, describe) can also skip the manager: [`SessionTable`] holds the
//! session addresses, so a caller sends straight to the session's actor and
//! saves a hop between threads each way (`Supervisor::ask_session`).

pub mod commands;
pub mod integration;
pub mod keys;
pub mod output;
pub mod recording;
pub mod screen;
pub mod session;
pub mod spec;
pub mod types;
pub mod waiting;
pub mod watch;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix::prelude::*;

pub use commands::{CommandStatus, CommandSummary, Completion, PromptHint};
pub use output::OutputChunk;
pub use recording::RecordingInfo;
pub use screen::{Cursor, ScreenSnapshot};
pub use spec::TerminalConfig;
pub use types::{
    CommandResult, IntegrationMode, OpenSpec, OutputRange, SessionInfo, SessionKind, SessionStatus,
    SshTarget,
};

use session::SessionActor;

use crate::error::{ActorError, ActorResult};
use crate::supervisor::Health;

/// Longest wait a caller may ask for on one call.
pub const MAX_WAIT: Duration = Duration::from_secs(600);
/// Largest output a caller may ask for on one call.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// The terminal manager actor.
pub struct TerminalActor {
    health: Arc<Health>,
    config: TerminalConfig,
    sessions: HashMap<String, Addr<SessionActor>>,
    /// The same addresses, for callers that send to a session directly.
    table: SessionTable,
    opening: usize,
    arbiters: Vec<Arbiter>,
    next_arbiter: usize,
}

impl TerminalActor {
    /// A manager with `config`, reporting its lifecycle into `health`.
    pub fn new(config: TerminalConfig, health: Arc<Health>) -> TerminalActor {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get().clamp(1, 4))
            .unwrap_or(2);
        TerminalActor {
            health,
            config,
            sessions: HashMap::new(),
            table: SessionTable::default(),
            opening: 0,
            arbiters: (0..workers).map(|_| Arbiter::new()).collect(),
            next_arbiter: 0,
        }
    }

    fn session(&self, id: &str) -> ActorResult<Addr<SessionActor>> {
        self.sessions.get(id).cloned().ok_or_else(|| no_session(id))
    }
}

impl TerminalActor {
    /// Keeps the session addresses in `table` too (the supervisor hands the
    /// same table to callers of `ask_session`).
    pub fn sharing(mut self, table: SessionTable) -> TerminalActor {
        self.table = table;
        self
    }
}

/// The addresses of the open sessions, shared between the manager (which
/// adds and removes them) and callers that send a [`SessionRequest`] to a
/// session directly.
#[derive(Debug, Clone, Default)]
pub struct SessionTable {
    sessions: Arc<RwLock<HashMap<String, Addr<SessionActor>>>>,
}

impl SessionTable {
    fn insert(&self, id: &str, addr: &Addr<SessionActor>) {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        map.insert(id.to_string(), addr.clone());
    }

    fn remove(&self, id: &str) {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }

    fn clear(&self) {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        map.clear();
    }

    fn get(&self, id: &str) -> ActorResult<Addr<SessionActor>> {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        map.get(id).cloned().ok_or_else(|| no_session(id))
    }

    /// Sends `msg` to its session's actor and waits for the answer.
    pub async fn ask<M>(&self, msg: M) -> ActorResult<M::Reply>
    where
        M: SessionRequest,
        SessionActor: Handler<M::Inner>,
    {
        let (id, inner) = msg.into_session()?;
        let addr = self.get(&id)?;
        addr.send(inner).await.map_err(|e| mailbox(&id, e))?
    }
}

/// A manager message that is really for one session: what the session
/// actor gets instead, after the manager's checks.
pub trait SessionRequest: Send + 'static {
    /// The answer.
    type Reply: Send + 'static;
    /// The session actor's message.
    type Inner: Message<Result = ActorResult<Self::Reply>> + Send + 'static;
    /// The session's id and its message, or why the request is refused.
    fn into_session(self) -> ActorResult<(String, Self::Inner)>;
}

fn no_session(id: &str) -> ActorError {
    ActorError::NotFound(format!(
        "no session {id:?}; session_list shows the open ones"
    ))
}

/// Forwards a session request through the manager (the manager's handler).
fn forward_request<M>(actor: &TerminalActor, msg: M) -> ResponseFuture<ActorResult<M::Reply>>
where
    M: SessionRequest,
    SessionActor: Handler<M::Inner>,
{
    match msg.into_session() {
        Ok((id, inner)) => forward(actor, &id, inner),
        Err(e) => Box::pin(async move { Err(e) }),
    }
}

impl Actor for TerminalActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.health.mark_running();
        if let Some(idle) = self.config.idle_timeout {
            let every = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
            ctx.run_interval(every, move |act, ctx| act.close_idle(idle, ctx));
        }
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        self.health.mark_down();
        Running::Stop
    }
}

impl Supervised for TerminalActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.health.count_restart();
        self.opening = 0;
    }
}

impl TerminalActor {
    fn close_idle(&mut self, idle: Duration, ctx: &mut Context<Self>) {
        for (id, addr) in self.sessions.clone() {
            let grace = self.config.close_grace;
            let me = ctx.address();
            actix::spawn(async move {
                if let Ok(Ok(since)) = addr.send(session::IdleFor).await
                    && since >= idle
                {
                    log::info!("closing session {id}: idle for {} s", since.as_secs());
                    let _ = me
                        .send(Close {
                            session_id: id,
                            grace: Some(grace),
                        })
                        .await;
                }
            });
        }
    }
}

fn mailbox(id: &str, e: MailboxError) -> ActorError {
    match e {
        MailboxError::Closed => ActorError::Unavailable(format!(
            "session {id} is restarting after a fault; retry in a moment"
        )),
        MailboxError::Timeout => {
            ActorError::Timeout(format!("session {id} did not answer in time"))
        }
    }
}

/// Forwards a message to a session actor and answers with its reply.
fn forward<M, R>(actor: &TerminalActor, id: &str, msg: M) -> ResponseFuture<ActorResult<R>>
where
    SessionActor: Handler<M>,
    M: Message<Result = ActorResult<R>> + Send + 'static,
    R: Send + 'static,
{
    let addr = match actor.session(id) {
        Ok(addr) => addr,
        Err(e) => return Box::pin(async move { Err(e) }),
    };
    let id = id.to_string();
    Box::pin(async move { addr.send(msg).await.map_err(|e| mailbox(&id, e))? })
}

/// Open a new session.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Open {
    /// What to start.
    pub spec: OpenSpec,
}

impl Handler<Open> for TerminalActor {
    type Result = ResponseActFuture<Self, ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Open, _ctx: &mut Self::Context) -> Self::Result {
        if self.sessions.len() + self.opening >= self.config.max_sessions {
            let err = ActorError::LimitReached(format!(
                "{} sessions are open, the configured maximum; close one first",
                self.config.max_sessions
            ));
            return Box::pin(fut::ready(Err(err)));
        }
        let definition = match spec::define(&msg.spec, &self.config) {
            Ok(d) => d,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let id = format!("s_{}", commands::hex_id());
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter += 1;
        let log_bytes = self.config.output_log_bytes;
        let wait = Duration::from_millis(msg.spec.wait_ready_ms.unwrap_or(10_000).min(60_000));
        let session_id = id.clone();
        let recording = msg.spec.record.unwrap_or(self.config.record).then(|| {
            (
                self.config.recordings_dir.join(format!("{id}.cast")),
                self.config.max_recording_bytes,
            )
        });
        let addr = actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
            SessionActor::new(session_id, definition, log_bytes).with_recording(recording)
        });
        self.opening += 1;
        let launching = addr.clone();
        Box::pin(
            async move { launching.send(session::Launch { wait }).await }
                .into_actor(self)
                .map(move |answer, act, _| {
                    act.opening = act.opening.saturating_sub(1);
                    let info = answer.map_err(|e| mailbox(&id, e))??;
                    act.table.insert(&id, &addr);
                    act.sessions.insert(id, addr);
                    Ok(info)
                }),
        )
    }
}

/// List every session.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<Vec<SessionInfo>>")]
pub struct List;

impl Handler<List> for TerminalActor {
    type Result = ResponseFuture<ActorResult<Vec<SessionInfo>>>;

    fn handle(&mut self, _msg: List, _ctx: &mut Self::Context) -> Self::Result {
        let addrs: Vec<_> = self.sessions.values().cloned().collect();
        Box::pin(async move {
            let answers =
                futures::future::join_all(addrs.iter().map(|a| a.send(session::Describe))).await;
            let mut sessions: Vec<SessionInfo> = answers
                .into_iter()
                .filter_map(|a| a.ok().and_then(|r| r.ok()))
                .collect();
            sessions.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            Ok(sessions)
        })
    }
}

/// One session's description.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct DescribeSession {
    /// Session id.
    pub session_id: String,
}

impl Handler<DescribeSession> for TerminalActor {
    type Result = ResponseFuture<ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: DescribeSession, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for DescribeSession {
    type Reply = SessionInfo;
    type Inner = session::Describe;

    fn into_session(self) -> ActorResult<(String, session::Describe)> {
        Ok((self.session_id, session::Describe))
    }
}

/// Watch a session live: its screen now, then its output and changes.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<watch::Watching>")]
pub struct WatchSession {
    /// Session id.
    pub session_id: String,
}

impl Handler<WatchSession> for TerminalActor {
    type Result = ResponseFuture<ActorResult<watch::Watching>>;

    fn handle(&mut self, msg: WatchSession, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for WatchSession {
    type Reply = watch::Watching;
    type Inner = session::Watch;

    fn into_session(self) -> ActorResult<(String, session::Watch)> {
        Ok((self.session_id, session::Watch))
    }
}

/// The screen of a session.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<ScreenSnapshot>")]
pub struct Screen {
    /// Session id.
    pub session_id: String,
    /// Scrollback lines to include.
    pub scrollback: usize,
}

impl Handler<Screen> for TerminalActor {
    type Result = ResponseFuture<ActorResult<ScreenSnapshot>>;

    fn handle(&mut self, msg: Screen, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for Screen {
    type Reply = ScreenSnapshot;
    type Inner = session::Snapshot;

    fn into_session(self) -> ActorResult<(String, session::Snapshot)> {
        let snapshot = session::Snapshot {
            scrollback: self.scrollback,
        };
        Ok((self.session_id, snapshot))
    }
}

/// A page of a session's clean output.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<OutputChunk>")]
pub struct Output {
    /// Session id.
    pub session_id: String,
    /// Offset to read from.
    pub since: u64,
    /// At most this many bytes.
    pub max_bytes: usize,
}

impl Handler<Output> for TerminalActor {
    type Result = ResponseFuture<ActorResult<OutputChunk>>;

    fn handle(&mut self, msg: Output, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for Output {
    type Reply = OutputChunk;
    type Inner = session::Read;

    fn into_session(self) -> ActorResult<(String, session::Read)> {
        let read = session::Read {
            since: self.since,
            max_bytes: self.max_bytes.min(MAX_OUTPUT_BYTES),
        };
        Ok((self.session_id, read))
    }
}

/// Type a command into a session and wait for its result.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<CommandResult>")]
pub struct RunCommand {
    /// Session id.
    pub session_id: String,
    /// The command.
    pub command: String,
    /// How long to wait before answering `running`.
    pub wait: Duration,
    /// Bound on the output returned.
    pub max_output_bytes: usize,
    /// Idempotency key.
    pub request_id: Option<String>,
    /// Queue behind a running command.
    pub queue: bool,
    /// Ctrl-C when the wait ends.
    pub interrupt_on_timeout: bool,
}

impl Handler<RunCommand> for TerminalActor {
    type Result = ResponseFuture<ActorResult<CommandResult>>;

    fn handle(&mut self, msg: RunCommand, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for RunCommand {
    type Reply = CommandResult;
    type Inner = session::Run;

    fn into_session(self) -> ActorResult<(String, session::Run)> {
        if self.command.trim().is_empty() {
            return Err(ActorError::InvalidInput("command is empty".into()));
        }
        if self.command.len() > session::MAX_COMMAND_BYTES {
            return Err(ActorError::InvalidInput(format!(
                "command is longer than {} bytes",
                session::MAX_COMMAND_BYTES
            )));
        }
        let run = session::Run {
            command: self.command,
            wait: self.wait.min(MAX_WAIT),
            max_output_bytes: self.max_output_bytes.clamp(64, MAX_OUTPUT_BYTES),
            request_id: self.request_id,
            queue: self.queue,
            interrupt_on_timeout: self.interrupt_on_timeout,
        };
        Ok((self.session_id, run))
    }
}

/// The state of a command, waiting up to `wait` for it to settle.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<CommandResult>")]
pub struct GetCommand {
    /// Session id.
    pub session_id: String,
    /// Command id.
    pub command_id: String,
    /// Longest wait.
    pub wait: Duration,
    /// Bound on the output returned.
    pub max_output_bytes: usize,
}

impl Handler<GetCommand> for TerminalActor {
    type Result = ResponseFuture<ActorResult<CommandResult>>;

    fn handle(&mut self, msg: GetCommand, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for GetCommand {
    type Reply = CommandResult;
    type Inner = session::Poll;

    fn into_session(self) -> ActorResult<(String, session::Poll)> {
        let poll = session::Poll {
            command_id: self.command_id,
            wait: self.wait.min(MAX_WAIT),
            max_output_bytes: self.max_output_bytes.clamp(64, MAX_OUTPUT_BYTES),
        };
        Ok((self.session_id, poll))
    }
}

/// Type text and named keys.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<usize>")]
pub struct SendKeys {
    /// Session id.
    pub session_id: String,
    /// Literal text.
    pub text: Option<String>,
    /// Named keys typed after the text.
    pub keys: Vec<String>,
}

impl Handler<SendKeys> for TerminalActor {
    type Result = ResponseFuture<ActorResult<usize>>;

    fn handle(&mut self, msg: SendKeys, _ctx: &mut Self::Context) -> Self::Result {
        forward_request(self, msg)
    }
}

impl SessionRequest for SendKeys {
    type Reply = usize;
    type Inner = session::Type;

    fn into_session(self) -> ActorResult<(String, session::Type)> {
        let typed = session::Type {
            text: self.text,
            keys: self.keys,
        };
        Ok((self.session_id, typed))
    }
}

/// Resize a session's terminal.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Resize {
    /// Session id.
    pub session_id: String,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl Handler<Resize> for TerminalActor {
    type Result = ResponseFuture<ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Resize, _ctx: &mut Self::Context) -> Self::Result {
        forward(
            self,
            &msg.session_id,
            session::SetSize {
                cols: msg.cols,
                rows: msg.rows,
            },
        )
    }
}

/// Where a session's recording is, with everything recorded so far
/// written to it; `None` when the session is not recorded.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<Option<std::path::PathBuf>>")]
pub struct RecordingFile {
    /// Session id.
    pub session_id: String,
}

impl Handler<RecordingFile> for TerminalActor {
    type Result = ResponseFuture<ActorResult<Option<std::path::PathBuf>>>;

    fn handle(&mut self, msg: RecordingFile, _ctx: &mut Self::Context) -> Self::Result {
        forward(self, &msg.session_id, session::FlushRecording)
    }
}

/// Restart a session's process (same definition, same id).
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Restart {
    /// Session id.
    pub session_id: String,
}

impl Handler<Restart> for TerminalActor {
    type Result = ResponseFuture<ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Restart, _ctx: &mut Self::Context) -> Self::Result {
        let grace = self.config.close_grace;
        forward(
            self,
            &msg.session_id,
            session::Respawn {
                grace,
                wait: Duration::from_secs(10),
            },
        )
    }
}

/// Close a session: end its process and forget it.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<SessionInfo>")]
pub struct Close {
    /// Session id.
    pub session_id: String,
    /// Time between SIGHUP and SIGKILL (default from config).
    pub grace: Option<Duration>,
}

impl Handler<Close> for TerminalActor {
    type Result = ResponseActFuture<Self, ActorResult<SessionInfo>>;

    fn handle(&mut self, msg: Close, _ctx: &mut Self::Context) -> Self::Result {
        let addr = match self.session(&msg.session_id) {
            Ok(a) => a,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let grace = msg.grace.unwrap_or(self.config.close_grace);
        let id = msg.session_id;
        let started = Instant::now();
        Box::pin(
            async move { addr.send(session::Terminate { grace }).await }
                .into_actor(self)
                .map(move |answer, act, _| {
                    act.sessions.remove(&id);
                    act.table.remove(&id);
                    log::debug!(
                        "session {id} closed in {} ms",
                        started.elapsed().as_millis()
                    );
                    answer.map_err(|e| mailbox(&id, e))?
                }),
        )
    }
}

/// Close every session (server shutdown); answers how many were closed.
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<usize>")]
pub struct CloseAll;

impl Handler<CloseAll> for TerminalActor {
    type Result = ResponseActFuture<Self, ActorResult<usize>>;

    fn handle(&mut self, _msg: CloseAll, _ctx: &mut Self::Context) -> Self::Result {
        let grace = self.config.close_grace;
        let sessions: Vec<Addr<SessionActor>> = self.sessions.values().cloned().collect();
        let n = sessions.len();
        Box::pin(
            async move {
                futures::future::join_all(
                    sessions
                        .iter()
                        .map(|addr| addr.send(session::Terminate { grace })),
                )
                .await;
            }
            .into_actor(self)
            .map(move |_, act, _| {
                act.sessions.clear();
                act.table.clear();
                Ok(n)
            }),
        )
    }
}

/// Test-only: make one session's actor panic.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<()>")]
pub struct InjectSessionPanic {
    /// Session id.
    pub session_id: String,
}

#[cfg(feature = "fault-injection")]
impl Handler<InjectSessionPanic> for TerminalActor {
    type Result = ResponseFuture<ActorResult<()>>;

    fn handle(&mut self, msg: InjectSessionPanic, _ctx: &mut Self::Context) -> Self::Result {
        forward(self, &msg.session_id, session::InjectPanic)
    }
}

crate::fault_injection!(TerminalActor, "the terminal subsystem");
