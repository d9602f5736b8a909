//! Traceroute: probes with TTL 1, 2, 3… until the destination answers, each
//! router on the way identified by its "time exceeded". Three ways to
//! probe: ICMP echo (raw or unprivileged ICMP socket), UDP datagrams and
//! TCP connects; UDP and TCP read the routers' answers from the socket
//! error queue (`IP_RECVERR`), as tracepath does, so they need no
//! privilege. A few hops are probed at once; hops are reported in order,
//! each as soon as it and the hops before it are done.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::ping::{Stopped, millis};
use super::prober::IcmpProber;
use super::sock::{Answer, IcmpKind, Probed, open_icmp, tcp_probe, udp_probe};
use super::target::{IpVersion, RESOLVE_TIMEOUT_MS};
use crate::dns::{DnsActor, ReverseName};
use crate::error::{ActorError, ActorResult};
use crate::supervisor::Subsystem;

/// The highest TTL a traceroute may reach.
pub const MAX_HOPS: u8 = 64;
/// The most probes per hop.
pub const MAX_QUERIES: u8 = 10;
/// The longest a probe waits for its answer, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 10_000;
/// Hops probed at the same time.
pub const WINDOW: usize = 4;
/// The first UDP port (incremented per probe unless a port is given).
pub const UDP_BASE_PORT: u16 = 33434;
/// The TCP port unless told otherwise.
pub const DEFAULT_TCP_PORT: u16 = 80;
/// How long one hop's name lookup may take, in milliseconds.
pub const REVERSE_TIMEOUT_MS: u64 = 1_500;

/// How to probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceProtocol {
    /// ICMP when this process may use it, else UDP.
    #[default]
    Auto,
    /// ICMP echo requests.
    Icmp,
    /// UDP datagrams (to port 33434 and up, or to `port`).
    Udp,
    /// TCP connects (to port 80, or `port`).
    Tcp,
}

/// The sockets a traceroute used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TraceMethod {
    /// ICMP echo through a raw socket (needs `CAP_NET_RAW`).
    IcmpRaw,
    /// ICMP echo through an unprivileged ICMP socket; errors from the error queue.
    IcmpUnprivileged,
    /// UDP datagrams; errors from the error queue (no privilege needed).
    Udp,
    /// TCP connects; errors from the error queue (no privilege needed).
    Tcp,
}

/// What became of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStatus {
    /// A router answered "time exceeded": it is this hop.
    TimeExceeded,
    /// The destination answered (echo reply, port unreachable from the
    /// destination, TCP connection accepted or refused).
    Reached,
    /// Destination unreachable, reported by `address` (or this host).
    Unreachable,
    /// No answer within `timeout_ms`.
    Timeout,
    /// Any other failure; `reason` says what.
    Error,
}

/// One probe of a hop.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TraceProbe {
    /// What became of the probe.
    pub status: ProbeStatus,
    /// Who answered; null for timeouts.
    pub address: Option<String>,
    /// The answerer's name (reverse DNS or /etc/hosts), when asked for and known.
    pub hostname: Option<String>,
    /// Round-trip time in milliseconds; null for timeouts.
    pub rtt_ms: Option<f64>,
    /// Details: how the destination answered, or why it is unreachable.
    pub reason: Option<String>,
}

/// One hop: the probes sent with one TTL.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TraceHop {
    /// The TTL (hop number, from 1).
    pub ttl: u8,
    /// Each probe, in the order sent.
    pub probes: Vec<TraceProbe>,
    /// True when the destination answered at this hop.
    pub reached: bool,
}

impl TraceHop {
    /// One line as traceroute(8) would print it.
    pub fn describe(&self) -> String {
        let mut line = format!("{:>2}", self.ttl);
        let mut last: Option<&str> = None;
        for probe in &self.probes {
            match (&probe.address, probe.rtt_ms) {
                (Some(address), rtt) => {
                    if last != Some(address.as_str()) {
                        match &probe.hostname {
                            Some(name) => line.push_str(&format!(" {name} ({address})")),
                            None => line.push_str(&format!(" {address}")),
                        }
                        last = Some(address.as_str());
                    }
                    if let Some(rtt) = rtt {
                        line.push_str(&format!(" {rtt:.3} ms"));
                    }
                    if probe.status == ProbeStatus::Unreachable {
                        line.push_str(" !");
                    }
                }
                (None, _) => line.push_str(" *"),
            }
        }
        if self.reached {
            line.push_str(" (reached)");
        }
        line
    }
}

/// Trace the route to a host.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "ActorResult<TraceResult>")]
pub struct Traceroute {
    /// Host name or IP address.
    pub host: String,
    /// The highest TTL to try (1 to 64).
    pub max_hops: u8,
    /// How to probe.
    pub protocol: TraceProtocol,
    /// UDP: a fixed destination port (default: 33434 and up, one per probe);
    /// TCP: the port (default 80). Not for ICMP.
    pub port: Option<u16>,
    /// Probes per hop (1 to 10).
    pub queries_per_hop: u8,
    /// Milliseconds a probe waits for its answer (1 to 10000).
    pub timeout_ms: u64,
    /// Look up each hop's name.
    pub resolve_hostnames: bool,
    /// IP version.
    pub ip_version: IpVersion,
    /// Receives each hop as soon as it and the hops before it are done.
    pub progress: Option<UnboundedSender<TraceHop>>,
    /// Stops the run; the answer then holds the hops done so far.
    pub cancel: CancellationToken,
}

/// What a traceroute found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TraceResult {
    /// The host as given.
    pub host: String,
    /// The address traced to.
    pub address: String,
    /// `icmp`, `udp` or `tcp`: what was sent.
    pub protocol: String,
    /// The sockets used.
    pub method: TraceMethod,
    /// Why this method: what was tried and what the system allows.
    pub method_reason: String,
    /// UDP: the (first) destination port; TCP: the port; null for ICMP.
    pub port: Option<u16>,
    /// True when the destination answered.
    pub reached: bool,
    /// The hops, from TTL 1, up to the destination (or `max_hops`, or
    /// a hop that reported the destination unreachable).
    pub hops: Vec<TraceHop>,
    /// Set when the run ended early: `cancelled` or `deadline`.
    pub stopped: Option<Stopped>,
    /// Milliseconds the whole run took.
    pub duration_ms: u64,
}

impl Traceroute {
    /// Checks the numbers; the error names the field.
    pub fn check(&self) -> ActorResult<()> {
        let invalid = |message: String| Err(ActorError::InvalidInput(message));
        if self.max_hops == 0 || self.max_hops > MAX_HOPS {
            return invalid(format!(
                "max_hops: must be between 1 and {MAX_HOPS}, got {}",
                self.max_hops
            ));
        }
        if self.queries_per_hop == 0 || self.queries_per_hop > MAX_QUERIES {
            return invalid(format!(
                "queries_per_hop: must be between 1 and {MAX_QUERIES}, got {}",
                self.queries_per_hop
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return invalid(format!(
                "timeout_ms: must be between 1 and {MAX_TIMEOUT_MS}, got {}",
                self.timeout_ms
            ));
        }
        if self.port.is_some() && matches!(self.protocol, TraceProtocol::Icmp | TraceProtocol::Auto)
        {
            return invalid("port: only for protocol \"udp\" or \"tcp\"".into());
        }
        if self.port == Some(0) {
            return invalid("port: must be between 1 and 65535".into());
        }
        Ok(())
    }

    /// The longest the run may take, name resolution included.
    pub fn deadline(&self) -> Duration {
        let rounds = u64::from(self.max_hops).div_ceil(WINDOW as u64);
        let lookups = if self.resolve_hostnames {
            REVERSE_TIMEOUT_MS
        } else {
            0
        };
        Duration::from_millis(RESOLVE_TIMEOUT_MS + rounds * (self.timeout_ms + lookups) + 1_000)
    }
}

enum Engine {
    Icmp(IcmpProber),
    Udp {
        target: IpAddr,
        port: u16,
        fixed: bool,
    },
    Tcp(SocketAddr),
}

impl Engine {
    async fn probe(&self, ttl: u8, index: u16, timeout: Duration) -> Probed {
        match self {
            Engine::Icmp(prober) => prober.probe(index, Some(ttl), timeout).await,
            Engine::Udp {
                target,
                port,
                fixed,
            } => {
                let port = if *fixed {
                    *port
                } else {
                    port.wrapping_add(index)
                };
                udp_probe(SocketAddr::new(*target, port), ttl, timeout).await
            }
            Engine::Tcp(addr) => tcp_probe(*addr, Some(ttl), timeout).await,
        }
    }

    async fn pump(&self) -> std::io::Error {
        match self {
            Engine::Icmp(prober) => prober.pump().await,
            _ => futures::future::pending().await,
        }
    }
}

type Chosen = (Engine, TraceMethod, String, Option<u16>, &'static str);

fn choose(msg: &Traceroute, ip: IpAddr) -> ActorResult<Chosen> {
    let udp = |reason: String| {
        let port = msg.port.unwrap_or(UDP_BASE_PORT);
        let fixed = msg.port.is_some();
        (
            Engine::Udp {
                target: ip,
                port,
                fixed,
            },
            TraceMethod::Udp,
            format!(
                "{reason}UDP datagrams to port {port}{}; routers' answers read from the socket \
                 error queue (IP_RECVERR), as tracepath does, which needs no privilege",
                if fixed { "" } else { " and up" }
            ),
            Some(port),
            "udp",
        )
    };
    match msg.protocol {
        TraceProtocol::Udp => Ok(udp(String::new())),
        TraceProtocol::Tcp => {
            let port = msg.port.unwrap_or(DEFAULT_TCP_PORT);
            Ok((
                Engine::Tcp(SocketAddr::new(ip, port)),
                TraceMethod::Tcp,
                format!(
                    "TCP connects to port {port}; routers' answers read from the socket error \
                     queue (IP_RECVERR), which needs no privilege"
                ),
                Some(port),
                "tcp",
            ))
        }
        TraceProtocol::Icmp | TraceProtocol::Auto => match open_icmp(ip.is_ipv6()) {
            Ok((channel, reason)) => {
                let method = match channel.kind() {
                    IcmpKind::Raw => TraceMethod::IcmpRaw,
                    IcmpKind::Datagram => TraceMethod::IcmpUnprivileged,
                };
                Ok((
                    Engine::Icmp(IcmpProber::new(channel, ip)),
                    method,
                    reason,
                    None,
                    "icmp",
                ))
            }
            Err(denied) if msg.protocol == TraceProtocol::Auto => {
                Ok(udp(format!("{}; falling back to ", denied.reason)))
            }
            Err(denied) => Err(ActorError::Forbidden(format!(
                "{}; use protocol \"udp\" or \"tcp\" (or \"auto\")",
                denied.reason
            ))),
        },
    }
}

fn probe_of(probed: Probed) -> TraceProbe {
    let rtt_ms = probed.rtt.map(millis);
    let (status, address, reason) = match probed.answer {
        Answer::Reply { from, how, .. } => {
            (ProbeStatus::Reached, Some(from), Some(how.to_string()))
        }
        Answer::Refused { from } => (
            ProbeStatus::Reached,
            Some(from),
            Some("connection refused".to_string()),
        ),
        Answer::TimeExceeded { from } => (ProbeStatus::TimeExceeded, Some(from), None),
        Answer::Unreachable { from, reason } => (ProbeStatus::Unreachable, from, Some(reason)),
        Answer::Error { from, reason } => (ProbeStatus::Error, from, Some(reason)),
        Answer::Timeout => (ProbeStatus::Timeout, None, None),
    };
    TraceProbe {
        status,
        address: address.map(|ip| ip.to_string()),
        hostname: None,
        rtt_ms: if status == ProbeStatus::Timeout {
            None
        } else {
            rtt_ms
        },
        reason,
    }
}

/// Probes one hop and names its answerers.
async fn hop(engine: &Engine, dns: &Subsystem<DnsActor>, msg: &Traceroute, ttl: u8) -> TraceHop {
    let timeout = Duration::from_millis(msg.timeout_ms);
    let queries = u16::from(msg.queries_per_hop);
    let probes = join_all((0..queries).map(|q| {
        let index = (u16::from(ttl) - 1) * queries + q;
        engine.probe(ttl, index, timeout)
    }))
    .await;
    let mut probes: Vec<TraceProbe> = probes.into_iter().map(probe_of).collect();
    if msg.resolve_hostnames {
        let addresses: BTreeSet<String> = probes.iter().filter_map(|p| p.address.clone()).collect();
        let names = join_all(addresses.into_iter().map(|address| async move {
            let ip: IpAddr = address.parse().ok()?;
            let name = dns
                .ask_within(
                    ReverseName {
                        address: ip,
                        timeout_ms: REVERSE_TIMEOUT_MS,
                    },
                    Duration::from_millis(REVERSE_TIMEOUT_MS + 1_000),
                )
                .await
                .ok()
                .flatten()?;
            Some((address, name))
        }))
        .await;
        for (address, name) in names.into_iter().flatten() {
            for probe in probes
                .iter_mut()
                .filter(|p| p.address.as_deref() == Some(&address))
            {
                probe.hostname = Some(name.clone());
            }
        }
    }
    let reached = probes.iter().any(|p| p.status == ProbeStatus::Reached);
    TraceHop {
        ttl,
        probes,
        reached,
    }
}

/// True when tracing further is pointless: the destination answered, or
/// every answer at this hop said it cannot be reached.
fn last_hop(hop: &TraceHop) -> bool {
    if hop.reached {
        return true;
    }
    let answered: Vec<&TraceProbe> = hop
        .probes
        .iter()
        .filter(|p| p.status != ProbeStatus::Timeout)
        .collect();
    !answered.is_empty()
        && answered
            .iter()
            .all(|p| p.status == ProbeStatus::Unreachable)
}

/// Runs a checked traceroute to a resolved address.
pub async fn run(
    msg: Traceroute,
    dns: Subsystem<DnsActor>,
    host: String,
    ip: IpAddr,
    started: Instant,
) -> ActorResult<TraceResult> {
    let (engine, method, method_reason, port, protocol) = choose(&msg, ip)?;
    let deadline = started + msg.deadline();
    let pump = engine.pump();
    tokio::pin!(pump);
    let hops_stream = futures::stream::iter(1..=msg.max_hops)
        .map(|ttl| hop(&engine, &dns, &msg, ttl))
        .buffered(WINDOW);
    tokio::pin!(hops_stream);
    let mut hops = Vec::new();
    let mut stopped = None;
    loop {
        tokio::select! {
            biased;
            _ = msg.cancel.cancelled() => {
                stopped = Some(Stopped::Cancelled);
                break;
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                stopped = Some(Stopped::Deadline);
                break;
            }
            error = &mut pump => {
                return Err(ActorError::Internal(format!("reading ICMP answers failed: {error}")));
            }
            next = hops_stream.next() => {
                let Some(hop) = next else { break };
                if let Some(progress) = &msg.progress {
                    let _ = progress.send(hop.clone());
                }
                let last = last_hop(&hop);
                hops.push(hop);
                if last {
                    break;
                }
            }
        }
    }
    let reached = hops.last().is_some_and(|h| h.reached);
    Ok(TraceResult {
        host,
        address: ip.to_string(),
        protocol: protocol.to_string(),
        method,
        method_reason,
        port,
        reached,
        hops,
        stopped,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Traceroute {
        Traceroute {
            host: "127.0.0.1".into(),
            max_hops: 30,
            protocol: TraceProtocol::Auto,
            port: None,
            queries_per_hop: 3,
            timeout_ms: 1000,
            resolve_hostnames: true,
            ip_version: IpVersion::Auto,
            progress: None,
            cancel: CancellationToken::new(),
        }
    }

    #[test]
    fn limits_are_checked_with_the_field_named() {
        let mut t = trace();
        t.max_hops = 65;
        assert_eq!(
            t.check(),
            Err(ActorError::InvalidInput(
                "max_hops: must be between 1 and 64, got 65".into()
            ))
        );
        let mut t = trace();
        t.queries_per_hop = 0;
        assert!(t.check().is_err());
        let mut t = trace();
        t.timeout_ms = 10_001;
        assert!(t.check().is_err());
        let mut t = trace();
        t.port = Some(53);
        assert_eq!(
            t.check(),
            Err(ActorError::InvalidInput(
                "port: only for protocol \"udp\" or \"tcp\"".into()
            ))
        );
        t.protocol = TraceProtocol::Udp;
        assert!(t.check().is_ok());
        assert!(trace().check().is_ok());
    }

    #[test]
    fn the_deadline_covers_every_window_of_hops() {
        // 5 s to resolve; 30 hops in windows of 4 = 8 rounds of (timeout + name lookups).
        assert_eq!(
            trace().deadline(),
            Duration::from_millis(5_000 + 8 * (1_000 + 1_500) + 1_000)
        );
        let mut t = trace();
        t.resolve_hostnames = false;
        t.max_hops = 1;
        assert_eq!(t.deadline(), Duration::from_millis(5_000 + 1_000 + 1_000));
    }

    fn probe(status: ProbeStatus, address: Option<&str>, rtt: Option<f64>) -> TraceProbe {
        TraceProbe {
            status,
            address: address.map(str::to_string),
            hostname: None,
            rtt_ms: rtt,
            reason: None,
        }
    }

    #[test]
    fn hops_end_the_trace_when_reached_or_all_unreachable() {
        let router = TraceHop {
            ttl: 1,
            probes: vec![
                probe(ProbeStatus::TimeExceeded, Some("198.51.100.1"), Some(0.1)),
                probe(ProbeStatus::Timeout, None, None),
            ],
            reached: false,
        };
        assert!(!last_hop(&router));
        assert_eq!(router.describe(), " 1 198.51.100.1 0.100 ms *");
        let blocked = TraceHop {
            ttl: 2,
            probes: vec![
                probe(ProbeStatus::Unreachable, Some("198.51.100.6"), Some(0.2)),
                probe(ProbeStatus::Timeout, None, None),
            ],
            reached: false,
        };
        assert!(last_hop(&blocked));
        let silent = TraceHop {
            ttl: 3,
            probes: vec![probe(ProbeStatus::Timeout, None, None)],
            reached: false,
        };
        assert!(!last_hop(&silent));
    }
}
