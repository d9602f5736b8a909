//! `traceroute`: the routers on the way to a host, one progress step per
//! hop while it runs.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::net::{IpVersion, TraceProtocol, TraceResult, Traceroute};
use tokio::sync::mpsc;

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `traceroute` tool.
pub struct TracerouteTool;

/// `traceroute` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TracerouteInput {
    /// Host name or IPv4/IPv6 address to trace the route to.
    pub host: String,
    /// The highest TTL (hop count) to try (1 to 64).
    #[serde(default = "default_max_hops")]
    #[schemars(range(min = 1, max = 64))]
    pub max_hops: u8,
    /// `auto` (ICMP when this server may send it, else UDP), `icmp`, `udp`
    /// or `tcp`. UDP and TCP need no privilege (routers' answers are read
    /// from the socket error queue, as tracepath does).
    #[serde(default)]
    pub protocol: TraceProtocol,
    /// UDP: a fixed destination port (default 33434 and up, one per probe);
    /// TCP: the port (default 80). Not for ICMP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Probes per hop (1 to 10).
    #[serde(default = "default_queries")]
    #[schemars(range(min = 1, max = 10))]
    pub queries_per_hop: u8,
    /// Milliseconds each probe waits for its answer (1 to 10000).
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1, max = 10000))]
    pub timeout_ms: u64,
    /// Look up each hop's name (reverse DNS through the server's resolver
    /// configuration, and /etc/hosts).
    #[serde(default = "default_true")]
    pub resolve_hostnames: bool,
    /// `auto` (IPv4 when the host has an IPv4 address, else IPv6), `4` or `6`.
    #[serde(default)]
    pub ip_version: IpVersion,
}

fn default_max_hops() -> u8 {
    30
}

fn default_queries() -> u8 {
    3
}

fn default_timeout_ms() -> u64 {
    1000
}

fn default_true() -> bool {
    true
}

impl Tool for TracerouteTool {
    const NAME: &'static str = "traceroute";
    const TITLE: &'static str = "Traceroute";
    const DESCRIPTION: &'static str = "Traces the route to a host like traceroute(8): probes \
        with TTL 1, 2, 3… until the destination answers. Returns every hop in order with each \
        probe's status (time_exceeded from a router, reached, unreachable with the ICMP reason, \
        timeout), responding address, hostname and rtt_ms, and `reached: true` when the \
        destination answered. `protocol`: `auto` (ICMP if allowed, else UDP), `icmp`, `udp` or \
        `tcp`; UDP and TCP need no privilege. `method` and `method_reason` say which sockets \
        were used and why. With a progressToken, every hop is a progress notification as soon \
        as it is known; notifications/cancelled stops the trace and the answer holds the hops \
        done (stopped: cancelled). Bounded: max_hops ≤ 64, queries_per_hop ≤ 10, timeout_ms ≤ \
        10000.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/net/traceroute";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    type Input = TracerouteInput;
    type Output = TraceResult;

    fn call(ctx: ToolContext, input: TracerouteInput) -> ToolFuture<TraceResult> {
        Box::pin(async move {
            let (hops, mut hops_rx) = mpsc::unbounded_channel();
            let total = f64::from(input.max_hops);
            let msg = Traceroute {
                host: input.host,
                max_hops: input.max_hops,
                protocol: input.protocol,
                port: input.port,
                queries_per_hop: input.queries_per_hop,
                timeout_ms: input.timeout_ms,
                resolve_hostnames: input.resolve_hostnames,
                ip_version: input.ip_version,
                progress: ctx.progress.wanted().then_some(hops),
                cancel: ctx.cancel.clone(),
            };
            // The actor enforces the trace's own deadline; this one only
            // guards against a subsystem that stopped answering.
            let wait = msg.deadline() + Duration::from_secs(5);
            let ask = ctx.subsystems.net.ask_within(msg, wait);
            tokio::pin!(ask);
            // Progress counts hops; the total is max_hops, the most there
            // can be (a trace that arrives earlier simply ends sooner).
            let report = |hop: termbridge_actors::net::TraceHop| {
                ctx.progress
                    .report(f64::from(hop.ttl), Some(total), hop.describe());
            };
            let answer = loop {
                tokio::select! {
                    Some(hop) = hops_rx.recv() => report(hop),
                    answer = &mut ask => break answer,
                }
            };
            while let Ok(hop) = hops_rx.try_recv() {
                report(hop);
            }
            Ok(answer?)
        })
    }
}
