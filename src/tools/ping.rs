//! `ping`: ICMP echo or TCP connect to a host, with each reply as a
//! progress step while it runs and statistics at the end.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::net::{IpVersion, Ping, PingProtocol, PingResult};
use tokio::sync::mpsc;

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `ping` tool.
pub struct PingTool;

/// `ping` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PingInput {
    /// Host name or IPv4/IPv6 address to ping. Names are resolved through
    /// the server's resolver configuration (the `dns_servers` setting or the
    /// system's, plus /etc/hosts).
    pub host: String,
    /// Probes to send (1 to 100).
    #[serde(default = "default_count")]
    #[schemars(range(min = 1, max = 100))]
    pub count: u32,
    /// Milliseconds between probes (200 to 10000).
    #[serde(default = "default_interval_ms")]
    #[schemars(range(min = 200, max = 10000))]
    pub interval_ms: u64,
    /// Milliseconds each probe waits for its answer (1 to 10000).
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1, max = 10000))]
    pub timeout_ms: u64,
    /// `auto` (ICMP when this server may send it, else TCP connect), `icmp`
    /// or `tcp`. The answer says which was used and why.
    #[serde(default)]
    pub protocol: PingProtocol,
    /// TCP port for `tcp` (and the `auto` fallback); 443 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// `auto` (IPv4 when the host has an IPv4 address, else IPv6), `4` or `6`.
    #[serde(default)]
    pub ip_version: IpVersion,
}

fn default_count() -> u32 {
    4
}

fn default_interval_ms() -> u64 {
    1000
}

fn default_timeout_ms() -> u64 {
    1000
}

impl Tool for PingTool {
    const NAME: &'static str = "ping";
    const TITLE: &'static str = "Ping";
    const DESCRIPTION: &'static str = "Pings a host like ping(8): `count` ICMP echo requests \
        (or TCP connects) `interval_ms` apart. Returns each probe (seq, status reply/timeout/\
        unreachable/refused/time_exceeded/error, rtt_ms, ttl, who answered, the ICMP reason) and \
        a summary (sent, received, loss_pct, min/avg/max/stddev in ms). `protocol: auto` uses an \
        unprivileged ICMP socket or a raw socket when the system allows, else a TCP connect to \
        `port` (443); `method` and `method_reason` say which and why. With a progressToken, \
        every probe is a progress notification as it completes; notifications/cancelled stops \
        the ping and the answer holds the probes done (stopped: cancelled). Bounded: count ≤ \
        100, interval ≥ 200 ms, one ping ≤ 300 s.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/net/ping";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    type Input = PingInput;
    type Output = PingResult;

    fn call(ctx: ToolContext, input: PingInput) -> ToolFuture<PingResult> {
        Box::pin(async move {
            let (replies, mut replies_rx) = mpsc::unbounded_channel();
            let total = f64::from(input.count);
            let msg = Ping {
                host: input.host,
                count: input.count,
                interval_ms: input.interval_ms,
                timeout_ms: input.timeout_ms,
                protocol: input.protocol,
                port: input.port,
                ip_version: input.ip_version,
                progress: ctx.progress.wanted().then_some(replies),
                cancel: ctx.cancel.clone(),
            };
            // The actor enforces the ping's own deadline; this one only
            // guards against a subsystem that stopped answering.
            let wait = msg.deadline() + Duration::from_secs(5);
            let ask = ctx.subsystems.net.ask_within(msg, wait);
            tokio::pin!(ask);
            let mut done = 0.0;
            let answer = loop {
                tokio::select! {
                    Some(reply) = replies_rx.recv() => {
                        done += 1.0;
                        ctx.progress.report(done, Some(total), reply.describe());
                    }
                    answer = &mut ask => break answer,
                }
            };
            while let Ok(reply) = replies_rx.try_recv() {
                done += 1.0;
                ctx.progress.report(done, Some(total), reply.describe());
            }
            Ok(answer?)
        })
    }
}
