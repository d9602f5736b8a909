//! NetActor: the network subsystem: interface addresses, the public
//! address (over DNS), ping and traceroute.
//!
//! Host names are resolved by the DnsActor (a typed message, see
//! [`target`]), so one resolver configuration serves every tool. Ping and
//! traceroute run as futures on the actor's arbiter without blocking its
//! mailbox; each is bounded (counts, intervals, a total deadline), checked
//! against the configured deny-list, reports progress through a channel
//! in its message and stops when its cancellation token fires.

mod addresses;
mod icmp;
mod ping;
mod prober;
mod public;
mod sock;
mod target;
mod trace;

use std::sync::Arc;
use std::time::Instant;

use actix::{Actor, Context, Handler, Message, ResponseActFuture, Supervised};

pub use addresses::{AddressFamily, AddressScope, IfAddress, Interface, list_interfaces};
pub use ping::{
    DEFAULT_TCP_PORT as PING_DEFAULT_TCP_PORT, MAX_COUNT, MAX_INTERVAL_MS, MAX_PING_MS,
    MAX_TIMEOUT_MS as PING_MAX_TIMEOUT_MS, MIN_INTERVAL_MS, Ping, PingMethod, PingProtocol,
    PingReply, PingResult, PingSummary, ReplyStatus, Stopped,
};
pub use public::{FindPublicAddress, PublicAddress, PublicIpConfig};
pub use target::{IpNet, IpVersion};
pub use trace::{
    MAX_HOPS, MAX_QUERIES, ProbeStatus, TraceHop, TraceMethod, TraceProbe, TraceProtocol,
    TraceResult, Traceroute,
};

use crate::dns::DnsActor;
use crate::error::ActorResult;
use crate::supervisor::{Health, Subsystem, guarded, guarded_future};

/// Settings of the network subsystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetConfig {
    /// Networks ping and traceroute refuse to probe (default: none).
    pub deny: Vec<IpNet>,
    /// How the public address is found.
    pub public_ip: PublicIpConfig,
}

/// The network subsystem actor.
pub struct NetActor {
    health: Arc<Health>,
    config: NetConfig,
    dns: Subsystem<DnsActor>,
}

impl NetActor {
    /// A new actor reporting its lifecycle into `health`, resolving names
    /// through `dns`.
    pub fn new(health: Arc<Health>, config: NetConfig, dns: Subsystem<DnsActor>) -> Self {
        NetActor {
            health,
            config,
            dns,
        }
    }
}

impl Actor for NetActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        self.health.mark_running();
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> actix::Running {
        self.health.mark_down();
        actix::Running::Stop
    }
}

impl Supervised for NetActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.health.count_restart();
    }
}

/// List the machine's network interfaces and their addresses.
#[derive(Debug, Clone, Default, Message)]
#[rtype(result = "ActorResult<Vec<Interface>>")]
pub struct ListAddresses {}

impl Handler<ListAddresses> for NetActor {
    type Result = ActorResult<Vec<Interface>>;

    fn handle(&mut self, _msg: ListAddresses, ctx: &mut Self::Context) -> Self::Result {
        guarded(ctx, "listing interfaces", list_interfaces)
    }
}

impl Handler<FindPublicAddress> for NetActor {
    type Result = ResponseActFuture<Self, ActorResult<PublicAddress>>;

    fn handle(&mut self, msg: FindPublicAddress, _ctx: &mut Self::Context) -> Self::Result {
        let dns = self.dns.clone();
        let config = self.config.public_ip.clone();
        guarded_future(self, "finding the public address", async move {
            public::find(&dns, &config, msg).await
        })
    }
}

impl Handler<Ping> for NetActor {
    type Result = ResponseActFuture<Self, ActorResult<PingResult>>;

    fn handle(&mut self, msg: Ping, _ctx: &mut Self::Context) -> Self::Result {
        let dns = self.dns.clone();
        let deny = self.config.deny.clone();
        guarded_future(self, "a ping", async move {
            let started = Instant::now();
            msg.check()?;
            let host = msg.host.clone();
            let target = target::resolve_target(&dns, &host, msg.ip_version, &deny).await?;
            ping::run(msg, host, target.ip, started).await
        })
    }
}

impl Handler<Traceroute> for NetActor {
    type Result = ResponseActFuture<Self, ActorResult<TraceResult>>;

    fn handle(&mut self, msg: Traceroute, _ctx: &mut Self::Context) -> Self::Result {
        let dns = self.dns.clone();
        let deny = self.config.deny.clone();
        guarded_future(self, "a traceroute", async move {
            let started = Instant::now();
            msg.check()?;
            let host = msg.host.clone();
            let target = target::resolve_target(&dns, &host, msg.ip_version, &deny).await?;
            trace::run(msg, dns, host, target.ip, started).await
        })
    }
}

crate::fault_injection!(NetActor, "the net subsystem");
