//! Name resolution for the other subsystems: a host name to its addresses
//! ([`ResolveHost`], for ping and traceroute) and an address to its name
//! ([`ReverseName`], for traceroute hops). Both ask the same servers as
//! `dns_lookup` does by default (the configured `dns_servers`, else the
//! system's), so one resolver configuration serves every tool; unlike
//! `dns_lookup` they also read `/etc/hosts` (so `localhost` works) and
//! follow CNAMEs, as a program connecting somewhere would.

use std::net::IpAddr;
use std::time::Duration;

use actix::{Handler, Message, ResponseActFuture};
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts, ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::{Resolver, TokioResolver};

use super::{DnsActor, DnsConfig, NameRules, check_domain_name, default_servers, io_text};
use crate::error::{ActorError, ActorResult};
use crate::supervisor::guarded_future;

/// The longest a resolution may be given.
pub const MAX_RESOLVE_TIMEOUT_MS: u64 = 30_000;

/// Which addresses a caller wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    /// IPv4 first, IPv6 when the name has no IPv4 address.
    #[default]
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

impl Family {
    fn strategy(self) -> LookupIpStrategy {
        match self {
            Family::Any => LookupIpStrategy::Ipv4thenIpv6,
            Family::V4 => LookupIpStrategy::Ipv4Only,
            Family::V6 => LookupIpStrategy::Ipv6Only,
        }
    }

    fn record_name(self) -> &'static str {
        match self {
            Family::Any => "address (A or AAAA record)",
            Family::V4 => "IPv4 address (A record)",
            Family::V6 => "IPv6 address (AAAA record)",
        }
    }
}

/// Resolve a host name (or take an IP address as it is).
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<Vec<IpAddr>>")]
pub struct ResolveHost {
    /// A host name (absolute; no search domains) or an IP address.
    pub host: String,
    /// Which addresses are wanted.
    pub family: Family,
    /// Time budget in milliseconds.
    pub timeout_ms: u64,
}

/// The name of an address: from `/etc/hosts` (as the C library answers),
/// else its PTR record; `None` when it has none or the servers did not
/// answer in time.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<Option<String>>")]
pub struct ReverseName {
    /// The address.
    pub address: IpAddr,
    /// Time budget in milliseconds.
    pub timeout_ms: u64,
}

impl Handler<ResolveHost> for DnsActor {
    type Result = ResponseActFuture<Self, ActorResult<Vec<IpAddr>>>;

    fn handle(&mut self, msg: ResolveHost, _ctx: &mut Self::Context) -> Self::Result {
        let config = self.config.clone();
        guarded_future(self, "resolving a host name", resolve_host(msg, config))
    }
}

impl Handler<ReverseName> for DnsActor {
    type Result = ResponseActFuture<Self, ActorResult<Option<String>>>;

    fn handle(&mut self, msg: ReverseName, _ctx: &mut Self::Context) -> Self::Result {
        let config = self.config.clone();
        guarded_future(self, "a reverse lookup", reverse_name(msg, config))
    }
}

/// A resolver over the configured (or system) servers with `/etc/hosts`,
/// no cache, and one attempt per server within `timeout`. Also returns the
/// servers' description for error messages.
fn resolver(
    config: &DnsConfig,
    family: Family,
    timeout: Duration,
) -> ActorResult<(TokioResolver, String)> {
    // Without servers the hosts file still answers; the reason is kept for
    // the error message of a name it does not know.
    let (servers, described) = match default_servers(config) {
        Ok(servers) => {
            let text = servers
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            (servers, text)
        }
        Err(e) => (Vec::new(), e.to_string()),
    };
    let name_servers = servers
        .iter()
        .map(|server| {
            let connection = |mut c: ConnectionConfig| {
                c.port = server.port();
                c
            };
            NameServerConfig::new(
                server.ip(),
                true,
                vec![
                    connection(ConnectionConfig::udp()),
                    connection(ConnectionConfig::tcp()),
                ],
            )
        })
        .collect();
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 1;
    options.cache_size = 0;
    options.ndots = 0;
    options.use_hosts_file = ResolveHosts::Always;
    options.ip_strategy = family.strategy();
    options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    let resolver = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(name_servers),
        TokioRuntimeProvider::default(),
    )
    .with_options(options)
    .build()
    .map_err(|e| ActorError::Internal(format!("cannot build a resolver: {e}")))?;
    Ok((resolver, described))
}

fn check_timeout(timeout_ms: u64) -> ActorResult<Duration> {
    if timeout_ms == 0 || timeout_ms > MAX_RESOLVE_TIMEOUT_MS {
        return Err(ActorError::InvalidInput(format!(
            "timeout_ms: must be between 1 and {MAX_RESOLVE_TIMEOUT_MS}, got {timeout_ms}"
        )));
    }
    Ok(Duration::from_millis(timeout_ms))
}

async fn resolve_host(msg: ResolveHost, config: DnsConfig) -> ActorResult<Vec<IpAddr>> {
    let timeout = check_timeout(msg.timeout_ms)?;
    let host = msg.host.trim();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip.to_canonical()]);
    }
    let ascii = check_domain_name("host", host, NameRules::Host)?;
    let name = Name::from_ascii(format!("{ascii}.")).map_err(|e| {
        ActorError::InvalidInput(format!("host: {host:?} is not a valid host name: {e}"))
    })?;
    let (resolver, servers) = resolver(&config, msg.family, timeout)?;
    let wanted = msg.family.record_name();
    let answer = tokio::time::timeout(timeout, resolver.lookup_ip(name)).await;
    let lookup = match answer {
        Err(_) => {
            return Err(ActorError::Timeout(format!(
                "no DNS answer for {ascii:?} within {} ms (asked {servers})",
                timeout.as_millis()
            )));
        }
        Ok(Ok(lookup)) => lookup,
        Ok(Err(error)) => return Err(resolve_error(&ascii, wanted, &servers, error)),
    };
    let addresses: Vec<IpAddr> = lookup
        .iter()
        .map(|ip| ip.to_canonical())
        .filter(|ip| match msg.family {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        })
        .collect();
    if addresses.is_empty() {
        return Err(ActorError::InvalidInput(format!(
            "host: {ascii:?} has no {wanted} (asked {servers})"
        )));
    }
    Ok(addresses)
}

fn resolve_error(host: &str, wanted: &str, servers: &str, error: NetError) -> ActorError {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            response_code: ResponseCode::NXDomain,
            ..
        })) => ActorError::InvalidInput(format!(
            "host: {host:?} does not exist (NXDOMAIN from {servers})"
        )),
        NetError::Dns(DnsError::NoRecordsFound(_)) => {
            ActorError::InvalidInput(format!("host: {host:?} has no {wanted} (asked {servers})"))
        }
        NetError::Timeout => ActorError::Timeout(format!(
            "no DNS answer for {host:?} in time (asked {servers})"
        )),
        NetError::Io(e) => ActorError::Upstream(format!(
            "resolving {host:?} failed: {} (asked {servers})",
            io_text(&e)
        )),
        NetError::NoConnections => ActorError::Upstream(format!(
            "resolving {host:?} failed: no DNS server could be reached ({servers})"
        )),
        other => ActorError::Upstream(format!(
            "resolving {host:?} failed: {other} (asked {servers})"
        )),
    }
}

async fn reverse_name(msg: ReverseName, config: DnsConfig) -> ActorResult<Option<String>> {
    let timeout = check_timeout(msg.timeout_ms)?;
    if let Some(name) = hosts_file_name(msg.address) {
        return Ok(Some(name));
    }
    let (resolver, _) = resolver(&config, Family::Any, timeout)?;
    match tokio::time::timeout(timeout, resolver.reverse_lookup(msg.address)).await {
        Ok(Ok(lookup)) => {
            // Several PTR names: the alphabetically first, so answers are stable.
            let mut names: Vec<String> = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::PTR(ptr) => {
                        let text = ptr.0.to_string();
                        Some(text.strip_suffix('.').unwrap_or(&text).to_string())
                    }
                    _ => None,
                })
                .collect();
            names.sort();
            Ok(names.into_iter().next())
        }
        // No name, no answer in time: the hop simply has no name.
        Ok(Err(_)) | Err(_) => Ok(None),
    }
}

/// The name `/etc/hosts` gives `ip`: the first name on the first line with
/// that address, as the C library answers (hickory keeps one of a line's
/// names, not always the same one).
fn hosts_file_name(ip: IpAddr) -> Option<String> {
    let text = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts_name_in(&text, ip)
}

fn hosts_name_in(text: &str, ip: IpAddr) -> Option<String> {
    text.lines().find_map(|line| {
        let mut fields = line.split('#').next()?.split_whitespace();
        let address: IpAddr = fields.next()?.parse().ok()?;
        if address.to_canonical() != ip.to_canonical() {
            return None;
        }
        fields.next().map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_file_names_an_address_by_its_first_line_and_name() {
        let text = "# comment 127.0.0.1 nope\n127.0.0.1 localhost runsc vm\n\
                    127.0.0.1 second\n::1 ip6-localhost ip6-loopback # both\n";
        let name = |ip: &str| hosts_name_in(text, ip.parse().unwrap());
        assert_eq!(name("127.0.0.1").as_deref(), Some("localhost"));
        assert_eq!(name("::1").as_deref(), Some("ip6-localhost"));
        assert_eq!(name("127.0.0.2"), None);
    }
}
