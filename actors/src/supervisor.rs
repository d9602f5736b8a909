//! The supervisor: starts every subsystem actor, restarts the ones that stop,
//! and tells callers how each is doing.
//!
//! Subsystem actors run on one dedicated arbiter thread so that work in them
//! never competes with the HTTP workers' event loops. Each runs under
//! `actix::Supervisor`, which restarts an actor when it stops; handlers turn a
//! panic into a stop (see [`guarded`]) because actix does not restart an actor
//! that panicked. While an actor is down, [`Subsystem::ask`] answers
//! `Unavailable` ("restarting, retry") instead of hanging.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Arbiter, Handler, MailboxError, Message};
use schemars::JsonSchema;
use serde::Serialize;

use crate::dns::{DnsActor, DnsConfig};
use crate::docs::{DocsActor, DocsConfig};
use crate::error::{ActorError, ActorResult};
use crate::net::{NetActor, NetConfig};
use crate::terminal::session::SessionActor;
use crate::terminal::{SessionRequest, SessionTable, TerminalActor, TerminalConfig};
use crate::whois::{WhoisActor, WhoisConfig};

/// How long a caller waits for a subsystem to take a message and answer,
/// unless the message itself carries a longer deadline.
pub const DEFAULT_ASK_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings the subsystems need at start.
#[derive(Debug, Clone)]
pub struct SubsystemsConfig {
    /// Network tools: deny-list, public address lookup.
    pub net: NetConfig,
    /// DNS: the default servers.
    pub dns: DnsConfig,
    /// Whois: the server list and answer size limit.
    pub whois: WhoisConfig,
    /// Terminal sessions.
    pub terminal: TerminalConfig,
    /// Documentation search: extra directories, man pages.
    pub docs: DocsConfig,
    /// Most operations in flight per network subsystem (net, dns, whois).
    pub max_network_operations: usize,
}

/// Default for [`SubsystemsConfig::max_network_operations`].
pub const DEFAULT_MAX_NETWORK_OPERATIONS: usize = 64;

impl Default for SubsystemsConfig {
    fn default() -> Self {
        SubsystemsConfig {
            net: NetConfig::default(),
            dns: DnsConfig::default(),
            whois: WhoisConfig::default(),
            terminal: TerminalConfig::default(),
            docs: DocsConfig::default(),
            max_network_operations: DEFAULT_MAX_NETWORK_OPERATIONS,
        }
    }
}

/// Whether a subsystem is taking messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubsystemState {
    /// Started and taking messages.
    Running,
    /// Stopped after a fault; the supervisor is bringing it back.
    Restarting,
}

/// One subsystem's state as `server_info` reports it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubsystemStatus {
    /// The subsystem's name (`net`, `dns`, `terminal`…).
    pub name: String,
    /// Whether it is taking messages.
    pub state: SubsystemState,
    /// How many times it was restarted since the server started.
    pub restarts: u64,
}

/// Shared between a subsystem actor and its handle: the actor updates it from
/// its lifecycle hooks, the handle reads it for `server_info`.
#[derive(Debug, Default)]
pub struct Health {
    state: AtomicU8,
    restarts: AtomicU64,
    /// Test-only: keeps reporting `Restarting` until this instant, to make
    /// the (normally instant) restart window observable.
    held_down_until: std::sync::Mutex<Option<Instant>>,
}

impl Health {
    const RUNNING: u8 = 0;
    const RESTARTING: u8 = 1;

    /// Called from `Actor::started`.
    pub fn mark_running(&self) {
        self.state.store(Self::RUNNING, Ordering::SeqCst);
    }

    /// Called from `Actor::stopping`: until `started` runs again, calls fail fast.
    pub fn mark_down(&self) {
        self.state.store(Self::RESTARTING, Ordering::SeqCst);
    }

    /// Called from `Supervised::restarting`.
    pub fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::SeqCst);
    }

    /// The current state.
    pub fn state(&self) -> SubsystemState {
        let held = self
            .held_down_until
            .lock()
            .map(|until| until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false);
        if held {
            return SubsystemState::Restarting;
        }
        match self.state.load(Ordering::SeqCst) {
            Self::RUNNING => SubsystemState::Running,
            _ => SubsystemState::Restarting,
        }
    }

    /// Test-only: report `Restarting` for `how_long`, as a slow restart would.
    pub fn hold_down(&self, how_long: Duration) {
        if let Ok(mut until) = self.held_down_until.lock() {
            *until = Some(Instant::now() + how_long);
        }
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::SeqCst)
    }
}

/// A handle to one supervised subsystem actor.
pub struct Subsystem<A: Actor> {
    name: &'static str,
    addr: Addr<A>,
    health: Arc<Health>,
    /// Bounds the operations in flight (network subsystems); `None` = unbounded.
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

impl<A: Actor> Clone for Subsystem<A> {
    fn clone(&self) -> Self {
        Subsystem {
            name: self.name,
            addr: self.addr.clone(),
            health: self.health.clone(),
            permits: self.permits.clone(),
        }
    }
}

impl<A: Actor> Subsystem<A> {
    /// Sends `msg` and waits for the answer, at most `DEFAULT_ASK_TIMEOUT`.
    pub async fn ask<M, R>(&self, msg: M) -> ActorResult<R>
    where
        A: Handler<M>,
        A::Context: actix::dev::ToEnvelope<A, M>,
        M: Message<Result = ActorResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        self.ask_within(msg, DEFAULT_ASK_TIMEOUT).await
    }

    /// Sends `msg` and waits for the answer at most `timeout`.
    pub async fn ask_within<M, R>(&self, msg: M, timeout: Duration) -> ActorResult<R>
    where
        A: Handler<M>,
        A::Context: actix::dev::ToEnvelope<A, M>,
        M: Message<Result = ActorResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        if self.health.state() != SubsystemState::Running {
            return Err(self.restarting_error());
        }
        // Held until the answer: at most `permits` operations at once.
        let _permit = match &self.permits {
            Some(permits) => Some(permits.clone().try_acquire_owned().map_err(|_| {
                ActorError::LimitReached(format!(
                    "too many {} operations in flight; retry when some have finished",
                    self.name
                ))
            })?),
            None => None,
        };
        match self.addr.send(msg).timeout(timeout).await {
            Ok(answer) => answer,
            Err(MailboxError::Closed) => Err(self.restarting_error()),
            Err(MailboxError::Timeout) => Err(ActorError::Timeout(format!(
                "the {} subsystem did not answer within {} ms",
                self.name,
                timeout.as_millis()
            ))),
        }
    }

    /// `Ok` while the subsystem runs; the error `ask` gives otherwise.
    fn ensure_running(&self) -> ActorResult<()> {
        if self.health.state() == SubsystemState::Running {
            Ok(())
        } else {
            Err(self.restarting_error())
        }
    }

    fn restarting_error(&self) -> ActorError {
        ActorError::Unavailable(format!(
            "the {} subsystem is restarting, retry in a moment",
            self.name
        ))
    }

    /// This subsystem's state for `server_info`.
    pub fn status(&self) -> SubsystemStatus {
        SubsystemStatus {
            name: self.name.to_string(),
            state: self.health.state(),
            restarts: self.health.restarts(),
        }
    }
}

/// Starts `make` under an `actix::Supervisor` on `arbiter`.
fn supervise<A, F>(name: &'static str, arbiter: &Arbiter, make: F) -> Subsystem<A>
where
    A: Actor<Context = actix::Context<A>> + actix::Supervised,
    F: FnOnce(Arc<Health>) -> A + Send + 'static,
{
    let health = Arc::new(Health::default());
    let for_actor = health.clone();
    let addr = actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| make(for_actor));
    Subsystem {
        name,
        addr,
        health,
        permits: None,
    }
}

impl<A: Actor> Subsystem<A> {
    /// Allows at most `n` operations in flight; more get `LimitReached`.
    fn limited(mut self, n: usize) -> Self {
        self.permits = Some(Arc::new(tokio::sync::Semaphore::new(n.max(1))));
        self
    }
}

/// Every subsystem of the server, started and watched.
pub struct Supervisor {
    /// Interfaces, ping, traceroute.
    pub net: Subsystem<NetActor>,
    /// Terminal sessions.
    pub terminal: Subsystem<TerminalActor>,
    /// The terminal sessions' addresses, kept by the terminal manager (see
    /// [`Supervisor::ask_session`]).
    sessions: SessionTable,
    /// DNS lookups.
    pub dns: Subsystem<DnsActor>,
    /// Whois lookups.
    pub whois: Subsystem<WhoisActor>,
    /// Documentation search.
    pub docs: Subsystem<DocsActor>,
    started_at: Instant,
    arbiter: Arbiter,
}

impl Supervisor {
    /// Starts every subsystem actor. Must be called inside an actix system.
    pub fn start(config: SubsystemsConfig) -> Supervisor {
        let arbiter = Arbiter::new();
        let dns_config = config.dns;
        let limit = config.max_network_operations;
        let dns = supervise("dns", &arbiter, move |health| {
            DnsActor::new(health, dns_config)
        })
        .limited(limit);
        // The net subsystem resolves host names through the dns one.
        let (net_config, net_dns) = (config.net, dns.clone());
        let net = supervise("net", &arbiter, move |health| {
            NetActor::new(health, net_config, net_dns)
        })
        .limited(limit);
        let whois_config = config.whois;
        let whois = supervise("whois", &arbiter, move |health| {
            WhoisActor::new(health, whois_config)
        })
        .limited(limit);
        let terminal_config = config.terminal;
        let sessions = SessionTable::default();
        let table = sessions.clone();
        let terminal = supervise("terminal", &arbiter, move |health| {
            TerminalActor::new(terminal_config, health).sharing(table)
        });
        let docs_config = config.docs;
        let docs = supervise("docs", &arbiter, move |health| {
            DocsActor::new(health, docs_config)
        });
        Supervisor {
            net,
            terminal,
            sessions,
            dns,
            whois,
            docs,
            started_at: Instant::now(),
            arbiter,
        }
    }

    /// Sends a request for one terminal session straight to that session's
    /// actor, not through the terminal manager: a hop between threads less
    /// each way (`session_run` waits on it). Same checks, errors and bound
    /// as `terminal.ask_within`.
    pub async fn ask_session<M>(&self, msg: M, timeout: Duration) -> ActorResult<M::Reply>
    where
        M: SessionRequest,
        SessionActor: Handler<M::Inner>,
    {
        self.terminal.ensure_running()?;
        match tokio::time::timeout(timeout, self.sessions.ask(msg)).await {
            Ok(answer) => answer,
            Err(_) => Err(ActorError::Timeout(format!(
                "the terminal subsystem did not answer within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    /// The state of every subsystem, in a stable order.
    pub fn status(&self) -> Vec<SubsystemStatus> {
        vec![
            self.net.status(),
            self.terminal.status(),
            self.dns.status(),
            self.whois.status(),
            self.docs.status(),
        ]
    }

    /// Time since the subsystems were started.
    pub fn uptime(&self) -> Duration {
        self.started_at.elapsed()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.arbiter.stop();
    }
}

/// Runs a synchronous handler body; if it panics, stops the actor (so its
/// supervisor restarts it) and answers `Internal` instead of killing the
/// caller's future.
pub fn guarded<A, T>(
    ctx: &mut actix::Context<A>,
    what: &str,
    work: impl FnOnce() -> ActorResult<T>,
) -> ActorResult<T>
where
    A: Actor<Context = actix::Context<A>>,
{
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(answer) => answer,
        Err(_) => {
            log::error!("{what} panicked; restarting its actor");
            actix::ActorContext::stop(ctx);
            Err(ActorError::Internal(format!(
                "{what} failed inside termbridge; the subsystem is restarting"
            )))
        }
    }
}

/// Runs an async handler body without blocking the actor's mailbox (answer
/// a handler's `ResponseActFuture` with it); if the body panics, stops the
/// actor (so its supervisor restarts it) and answers `Internal`.
pub fn guarded_future<A, T>(
    actor: &A,
    what: &'static str,
    work: impl std::future::Future<Output = ActorResult<T>> + 'static,
) -> actix::ResponseActFuture<A, ActorResult<T>>
where
    A: Actor<Context = actix::Context<A>>,
    T: 'static,
{
    use actix::{ActorFutureExt, WrapFuture};
    use futures::FutureExt;
    Box::pin(AssertUnwindSafe(work).catch_unwind().into_actor(actor).map(
        move |result, _actor, ctx| match result {
            Ok(answer) => answer,
            Err(_) => {
                log::error!("{what} panicked; restarting its actor");
                actix::ActorContext::stop(ctx);
                Err(ActorError::Internal(format!(
                    "{what} failed inside termbridge; the subsystem is restarting"
                )))
            }
        },
    ))
}

/// Runs a synchronous handler body that needs the actor and its context;
/// if it panics, stops the actor (its supervisor restarts it) and answers
/// `None`. Use it where [`guarded`]'s closure would need the context too.
pub fn shielded<A, T>(
    actor: &mut A,
    ctx: &mut actix::Context<A>,
    what: &str,
    work: impl FnOnce(&mut A, &mut actix::Context<A>) -> T,
) -> Option<T>
where
    A: Actor<Context = actix::Context<A>>,
{
    match catch_unwind(AssertUnwindSafe(|| work(actor, ctx))) {
        Ok(answer) => Some(answer),
        Err(_) => {
            log::error!("{what} panicked; restarting its actor");
            actix::ActorContext::stop(ctx);
            None
        }
    }
}

/// Test-only: make a subsystem actor's handler panic, optionally keeping it
/// reported as restarting for a while, to prove supervision end to end.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "ActorResult<()>")]
pub struct InjectFault {
    /// Keep reporting `Restarting` this long after the fault.
    pub hold_down: Duration,
}

/// Implements [`InjectFault`] for a subsystem actor with a `health` field.
#[macro_export]
#[doc(hidden)]
macro_rules! fault_injection {
    ($actor:ty, $what:expr) => {
        #[cfg(feature = "fault-injection")]
        impl actix::Handler<$crate::supervisor::InjectFault> for $actor {
            type Result = $crate::error::ActorResult<()>;

            fn handle(
                &mut self,
                msg: $crate::supervisor::InjectFault,
                ctx: &mut Self::Context,
            ) -> Self::Result {
                self.health.hold_down(msg.hold_down);
                $crate::supervisor::guarded(ctx, $what, || panic!("fault injected into {}", $what))
            }
        }
    };
}
