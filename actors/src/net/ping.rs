//! Ping: ICMP echo (unprivileged ICMP socket, or raw socket with
//! `CAP_NET_RAW`) or TCP connect, `count` probes `interval_ms` apart, each
//! waiting `timeout_ms` for its answer; per-probe results as they arrive
//! and min/avg/max/stddev at the end. Bounded in every dimension and
//! stopped by a cancellation token.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::prober::IcmpProber;
use super::sock::{Answer, IcmpKind, Probed, open_icmp, tcp_probe};
use super::target::{IpVersion, RESOLVE_TIMEOUT_MS};
use crate::error::{ActorError, ActorResult};

/// The most probes one ping sends.
pub const MAX_COUNT: u32 = 100;
/// The shortest interval between probes, in milliseconds.
pub const MIN_INTERVAL_MS: u64 = 200;
/// The longest interval between probes, in milliseconds.
pub const MAX_INTERVAL_MS: u64 = 10_000;
/// The longest a probe waits for its answer, in milliseconds.
pub const MAX_TIMEOUT_MS: u64 = 10_000;
/// The longest a whole ping may be planned to take (count × interval +
/// timeout), in milliseconds.
pub const MAX_PING_MS: u64 = 300_000;
/// The TCP port of a TCP ping unless told otherwise.
pub const DEFAULT_TCP_PORT: u16 = 443;

/// How to ping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PingProtocol {
    /// ICMP when this process may use it, else TCP connect.
    #[default]
    Auto,
    /// ICMP echo only.
    Icmp,
    /// TCP connect to `port`.
    Tcp,
}

/// The socket a ping used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PingMethod {
    /// ICMP echo through a raw socket (needs `CAP_NET_RAW`).
    IcmpRaw,
    /// ICMP echo through an unprivileged ICMP socket (`net.ipv4.ping_group_range`).
    IcmpUnprivileged,
    /// TCP connect (SYN, answered by SYN-ACK or RST).
    TcpConnect,
}

/// Why a run ended before every probe was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// The caller cancelled it (MCP `notifications/cancelled`, or the client went away).
    Cancelled,
    /// The run's total deadline passed.
    Deadline,
}

/// What became of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyStatus {
    /// The host answered (ICMP echo reply, or TCP connection accepted).
    Reply,
    /// No answer within `timeout_ms`.
    Timeout,
    /// Destination unreachable; `reason` says why (ICMP code or local error).
    Unreachable,
    /// TCP: the host answered with a reset (the port is closed).
    Refused,
    /// A router said the TTL ran out on the way.
    TimeExceeded,
    /// Any other failure; `reason` says what.
    Error,
}

/// One probe's result.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PingReply {
    /// Sequence number, from 1.
    pub seq: u32,
    /// What became of the probe.
    pub status: ReplyStatus,
    /// Round-trip time in milliseconds (microsecond precision); null when
    /// nothing came back.
    pub rtt_ms: Option<f64>,
    /// TTL (IPv4) or hop limit (IPv6) of the reply, when the socket reports
    /// it (ICMP); null for TCP.
    pub ttl: Option<u8>,
    /// Who answered (the target, or the router reporting an error).
    pub from: Option<String>,
    /// Why it was not a reply (`host unreachable`, `connection refused`…).
    pub reason: Option<String>,
}

impl PingReply {
    /// One line as ping(8) would print it.
    pub fn describe(&self) -> String {
        let mut line = format!("seq={} {}", self.seq, status_word(self.status));
        if let Some(from) = &self.from {
            line.push_str(&format!(" from {from}"));
        }
        if let Some(ttl) = self.ttl {
            line.push_str(&format!(" ttl={ttl}"));
        }
        if let Some(rtt) = self.rtt_ms {
            line.push_str(&format!(" time={rtt:.3} ms"));
        }
        if let Some(reason) = &self.reason {
            line.push_str(&format!(" ({reason})"));
        }
        line
    }
}

fn status_word(status: ReplyStatus) -> &'static str {
    match status {
        ReplyStatus::Reply => "reply",
        ReplyStatus::Timeout => "timeout",
        ReplyStatus::Unreachable => "unreachable",
        ReplyStatus::Refused => "refused",
        ReplyStatus::TimeExceeded => "time exceeded",
        ReplyStatus::Error => "error",
    }
}

/// Totals over the probes.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PingSummary {
    /// Probes whose outcome is listed in `replies`.
    pub sent: u32,
    /// Probes answered with status `reply`.
    pub received: u32,
    /// Percentage of probes without a `reply` (0 to 100, two decimals).
    pub loss_pct: f64,
    /// Shortest RTT of the replies, in ms; null without replies.
    pub min_ms: Option<f64>,
    /// Mean RTT of the replies, in ms.
    pub avg_ms: Option<f64>,
    /// Longest RTT of the replies, in ms.
    pub max_ms: Option<f64>,
    /// Standard deviation (population) of the replies' RTTs, in ms.
    pub stddev_ms: Option<f64>,
}

/// Ping a host.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "ActorResult<PingResult>")]
pub struct Ping {
    /// Host name or IP address.
    pub host: String,
    /// Probes to send (1 to 100).
    pub count: u32,
    /// Milliseconds between probes (200 to 10000).
    pub interval_ms: u64,
    /// Milliseconds a probe waits for its answer (1 to 10000).
    pub timeout_ms: u64,
    /// ICMP, TCP, or ICMP with TCP as fallback.
    pub protocol: PingProtocol,
    /// TCP port (TCP and the auto fallback only); 443 by default.
    pub port: Option<u16>,
    /// IP version.
    pub ip_version: IpVersion,
    /// Receives each probe's result as soon as it is known.
    pub progress: Option<UnboundedSender<PingReply>>,
    /// Stops the run; the answer then holds the probes done so far.
    pub cancel: CancellationToken,
}

/// What a ping found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PingResult {
    /// The host as given.
    pub host: String,
    /// The address pinged.
    pub address: String,
    /// `icmp` or `tcp`: what was sent.
    pub protocol: String,
    /// The socket used.
    pub method: PingMethod,
    /// Why this method: what was tried and what the system allows.
    pub method_reason: String,
    /// TCP port (TCP pings only).
    pub port: Option<u16>,
    /// Every probe's result, by sequence number.
    pub replies: Vec<PingReply>,
    /// Totals.
    pub summary: PingSummary,
    /// Set when the run ended early: `cancelled` or `deadline`.
    pub stopped: Option<Stopped>,
    /// Milliseconds the whole run took (name resolution included).
    pub duration_ms: u64,
}

impl Ping {
    /// Checks the numbers; the error names the field.
    pub fn check(&self) -> ActorResult<()> {
        let invalid = |message: String| Err(ActorError::InvalidInput(message));
        if self.count == 0 || self.count > MAX_COUNT {
            return invalid(format!(
                "count: must be between 1 and {MAX_COUNT}, got {}",
                self.count
            ));
        }
        if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&self.interval_ms) {
            return invalid(format!(
                "interval_ms: must be between {MIN_INTERVAL_MS} and {MAX_INTERVAL_MS}, got {}",
                self.interval_ms
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return invalid(format!(
                "timeout_ms: must be between 1 and {MAX_TIMEOUT_MS}, got {}",
                self.timeout_ms
            ));
        }
        if self.schedule_ms() > MAX_PING_MS {
            return invalid(format!(
                "count × interval_ms + timeout_ms is {} ms; one ping may take at most {MAX_PING_MS} ms",
                self.schedule_ms()
            ));
        }
        if self.protocol == PingProtocol::Icmp && self.port.is_some() {
            return invalid(
                "port: only for protocol \"tcp\" (or \"auto\" falling back to TCP)".into(),
            );
        }
        if self.port == Some(0) {
            return invalid("port: must be between 1 and 65535".into());
        }
        Ok(())
    }

    fn schedule_ms(&self) -> u64 {
        u64::from(self.count.saturating_sub(1)) * self.interval_ms + self.timeout_ms
    }

    /// The longest the run may take, name resolution included.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(RESOLVE_TIMEOUT_MS + self.schedule_ms() + 1_000)
    }
}

/// A probe engine chosen for one ping.
enum Engine {
    Icmp(IcmpProber),
    Tcp(SocketAddr),
}

impl Engine {
    async fn probe(&self, seq: u32, timeout: Duration) -> Probed {
        match self {
            Engine::Icmp(prober) => prober.probe(seq as u16, None, timeout).await,
            Engine::Tcp(addr) => tcp_probe(*addr, None, timeout).await,
        }
    }

    async fn pump(&self) -> std::io::Error {
        match self {
            Engine::Icmp(prober) => prober.pump().await,
            Engine::Tcp(_) => futures::future::pending().await,
        }
    }
}

/// Picks ICMP or TCP as asked and allowed; says which and why.
fn choose(msg: &Ping, ip: IpAddr) -> ActorResult<(Engine, PingMethod, String, Option<u16>)> {
    let tcp = |reason: String| {
        let port = msg.port.unwrap_or(DEFAULT_TCP_PORT);
        (
            Engine::Tcp(SocketAddr::new(ip, port)),
            PingMethod::TcpConnect,
            reason,
            Some(port),
        )
    };
    if msg.protocol == PingProtocol::Tcp {
        let port = msg.port.unwrap_or(DEFAULT_TCP_PORT);
        return Ok(tcp(format!("TCP connect to port {port}, as asked")));
    }
    match open_icmp(ip.is_ipv6()) {
        Ok((channel, reason)) => {
            let method = match channel.kind() {
                IcmpKind::Raw => PingMethod::IcmpRaw,
                IcmpKind::Datagram => PingMethod::IcmpUnprivileged,
            };
            Ok((
                Engine::Icmp(IcmpProber::new(channel, ip)),
                method,
                reason,
                None,
            ))
        }
        Err(denied) if msg.protocol == PingProtocol::Auto => {
            let port = msg.port.unwrap_or(DEFAULT_TCP_PORT);
            Ok(tcp(format!(
                "{}; falling back to a TCP connect to port {port}",
                denied.reason
            )))
        }
        Err(denied) => Err(ActorError::Forbidden(format!(
            "{}; use protocol \"tcp\" (or \"auto\")",
            denied.reason
        ))),
    }
}

/// Milliseconds with microsecond precision.
pub fn millis(d: Duration) -> f64 {
    (d.as_nanos() as f64 / 1_000.0).round() / 1_000.0
}

fn reply_of(seq: u32, probed: Probed) -> PingReply {
    let rtt_ms = probed.rtt.map(millis);
    let (status, ttl, from, reason) = match probed.answer {
        Answer::Reply { from, ttl, .. } => (ReplyStatus::Reply, ttl, Some(from), None),
        Answer::Refused { from } => (
            ReplyStatus::Refused,
            None,
            Some(from),
            Some("connection refused".to_string()),
        ),
        Answer::TimeExceeded { from } => (
            ReplyStatus::TimeExceeded,
            None,
            Some(from),
            Some("time to live exceeded".to_string()),
        ),
        Answer::Unreachable { from, reason } => {
            (ReplyStatus::Unreachable, None, from, Some(reason))
        }
        Answer::Error { from, reason } => (ReplyStatus::Error, None, from, Some(reason)),
        Answer::Timeout => (ReplyStatus::Timeout, None, None, None),
    };
    PingReply {
        seq,
        status,
        // Only replies have a meaningful round trip for the statistics;
        // errors keep theirs too (it says how far away the reporter is).
        rtt_ms: if status == ReplyStatus::Timeout {
            None
        } else {
            rtt_ms
        },
        ttl,
        from: from.map(|ip| ip.to_string()),
        reason,
    }
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Totals over `replies`.
pub fn summarize(replies: &[PingReply]) -> PingSummary {
    let sent = replies.len() as u32;
    let rtts: Vec<f64> = replies
        .iter()
        .filter(|r| r.status == ReplyStatus::Reply)
        .filter_map(|r| r.rtt_ms)
        .collect();
    let received = replies
        .iter()
        .filter(|r| r.status == ReplyStatus::Reply)
        .count() as u32;
    let loss_pct = if sent == 0 {
        0.0
    } else {
        round(f64::from(sent - received) * 100.0 / f64::from(sent), 2)
    };
    let (min_ms, avg_ms, max_ms, stddev_ms) = if rtts.is_empty() {
        (None, None, None, None)
    } else {
        let n = rtts.len() as f64;
        let mean = rtts.iter().sum::<f64>() / n;
        let variance = rtts.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (
            rtts.iter().copied().reduce(f64::min),
            Some(round(mean, 3)),
            rtts.iter().copied().reduce(f64::max),
            Some(round(variance.sqrt(), 3)),
        )
    };
    PingSummary {
        sent,
        received,
        loss_pct,
        min_ms,
        avg_ms,
        max_ms,
        stddev_ms,
    }
}

/// Runs a checked ping against a resolved address.
pub async fn run(msg: Ping, host: String, ip: IpAddr, started: Instant) -> ActorResult<PingResult> {
    let (engine, method, method_reason, port) = choose(&msg, ip)?;
    let deadline = started + msg.deadline();
    let interval = Duration::from_millis(msg.interval_ms);
    let timeout = Duration::from_millis(msg.timeout_ms);
    let first = Instant::now();
    let pump = engine.pump();
    tokio::pin!(pump);
    let mut pending: FuturesUnordered<LocalBoxFuture<'_, (u32, Probed)>> = FuturesUnordered::new();
    let mut launched = 0u32;
    let mut replies = Vec::new();
    let mut stopped = None;
    loop {
        if launched == msg.count && pending.is_empty() {
            break;
        }
        let next_at = first + interval * launched;
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
            Some((seq, probed)) = pending.next(), if !pending.is_empty() => {
                let reply = reply_of(seq, probed);
                if let Some(progress) = &msg.progress {
                    let _ = progress.send(reply.clone());
                }
                replies.push(reply);
            }
            _ = tokio::time::sleep_until(next_at.into()), if launched < msg.count => {
                launched += 1;
                let seq = launched;
                let engine = &engine;
                pending.push(Box::pin(async move { (seq, engine.probe(seq, timeout).await) }));
            }
        }
    }
    drop(pending);
    replies.sort_by_key(|r| r.seq);
    let summary = summarize(&replies);
    Ok(PingResult {
        host,
        address: ip.to_string(),
        protocol: match method {
            PingMethod::TcpConnect => "tcp",
            _ => "icmp",
        }
        .to_string(),
        method,
        method_reason,
        port,
        replies,
        summary,
        stopped,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping(count: u32, interval_ms: u64, timeout_ms: u64) -> Ping {
        Ping {
            host: "127.0.0.1".into(),
            count,
            interval_ms,
            timeout_ms,
            protocol: PingProtocol::Auto,
            port: None,
            ip_version: IpVersion::Auto,
            progress: None,
            cancel: CancellationToken::new(),
        }
    }

    #[test]
    fn limits_are_checked_with_the_field_named() {
        let cases = [
            (
                ping(0, 1000, 1000),
                "count: must be between 1 and 100, got 0",
            ),
            (
                ping(101, 1000, 1000),
                "count: must be between 1 and 100, got 101",
            ),
            (
                ping(4, 199, 1000),
                "interval_ms: must be between 200 and 10000, got 199",
            ),
            (
                ping(4, 1000, 0),
                "timeout_ms: must be between 1 and 10000, got 0",
            ),
            (
                ping(100, 10_000, 1000),
                "count × interval_ms + timeout_ms is 991000 ms; one ping may take at most 300000 ms",
            ),
        ];
        for (msg, expected) in cases {
            assert_eq!(msg.check(), Err(ActorError::InvalidInput(expected.into())));
        }
        assert!(ping(100, 200, 1000).check().is_ok());
        let mut icmp_with_port = ping(1, 1000, 1000);
        icmp_with_port.protocol = PingProtocol::Icmp;
        icmp_with_port.port = Some(80);
        assert!(icmp_with_port.check().is_err());
    }

    #[test]
    fn the_deadline_covers_resolution_and_the_whole_schedule() {
        // 5 s to resolve, (count − 1) × interval + timeout, 1 s to spare.
        assert_eq!(
            ping(3, 200, 500).deadline(),
            Duration::from_millis(5_000 + 900 + 1_000)
        );
        assert_eq!(
            ping(100, 2_000, 10_000).deadline(),
            Duration::from_millis(5_000 + 99 * 2_000 + 10_000 + 1_000)
        );
    }

    #[tokio::test]
    async fn a_cancelled_ping_ends_with_the_probes_done() {
        // TCP to a listener on loopback: no privilege needed.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut msg = ping(100, 200, 1000);
        msg.protocol = PingProtocol::Tcp;
        msg.port = Some(port);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        msg.progress = Some(tx);
        let cancel = msg.cancel.clone();
        let run = run(
            msg,
            "127.0.0.1".into(),
            "127.0.0.1".parse().unwrap(),
            Instant::now(),
        );
        tokio::pin!(run);
        // Cancel once the first reply is in.
        let result = loop {
            tokio::select! {
                Some(reply) = rx.recv() => {
                    assert_eq!(reply.status, ReplyStatus::Reply);
                    cancel.cancel();
                }
                result = &mut run => break result.unwrap(),
            }
        };
        assert_eq!(result.stopped, Some(Stopped::Cancelled));
        assert!(!result.replies.is_empty() && result.replies.len() < 100);
        assert_eq!(result.summary.sent as usize, result.replies.len());
    }

    fn reply(seq: u32, status: ReplyStatus, rtt: Option<f64>) -> PingReply {
        PingReply {
            seq,
            status,
            rtt_ms: rtt,
            ttl: None,
            from: None,
            reason: None,
        }
    }

    #[test]
    fn summary_counts_only_replies() {
        let replies = vec![
            reply(1, ReplyStatus::Reply, Some(1.0)),
            reply(2, ReplyStatus::Reply, Some(3.0)),
            reply(3, ReplyStatus::Timeout, None),
            reply(4, ReplyStatus::Refused, Some(0.5)),
        ];
        let summary = summarize(&replies);
        assert_eq!(summary.sent, 4);
        assert_eq!(summary.received, 2);
        assert_eq!(summary.loss_pct, 50.0);
        assert_eq!(summary.min_ms, Some(1.0));
        assert_eq!(summary.max_ms, Some(3.0));
        assert_eq!(summary.avg_ms, Some(2.0));
        assert_eq!(summary.stddev_ms, Some(1.0));
        let none = summarize(&[reply(1, ReplyStatus::Timeout, None)]);
        assert_eq!(
            (none.loss_pct, none.min_ms, none.stddev_ms),
            (100.0, None, None)
        );
    }

    #[test]
    fn replies_read_like_ping_output() {
        let mut r = reply(3, ReplyStatus::Reply, Some(0.042));
        r.from = Some("127.0.0.1".into());
        r.ttl = Some(64);
        assert_eq!(
            r.describe(),
            "seq=3 reply from 127.0.0.1 ttl=64 time=0.042 ms"
        );
        let mut u = reply(4, ReplyStatus::Unreachable, Some(1.5));
        u.from = Some("198.51.100.1".into());
        u.reason = Some("host unreachable".into());
        assert_eq!(
            u.describe(),
            "seq=4 unreachable from 198.51.100.1 time=1.500 ms (host unreachable)"
        );
        assert_eq!(millis(Duration::from_nanos(41_600)), 0.042);
    }
}
