//! Where a probe may go: the target host resolved through the DnsActor (one
//! resolver configuration for every tool), its IP version chosen, and the
//! configured deny-list of networks checked.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dns::{DnsActor, Family, ResolveHost};
use crate::error::{ActorError, ActorResult};
use crate::supervisor::Subsystem;

/// How long resolving a target's name may take, in milliseconds.
pub const RESOLVE_TIMEOUT_MS: u64 = 5_000;

/// Which IP version to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IpVersion {
    /// IPv4 when the host has an IPv4 address, else IPv6.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// IPv4 only.
    #[serde(rename = "4")]
    V4,
    /// IPv6 only.
    #[serde(rename = "6")]
    V6,
}

impl IpVersion {
    fn family(self) -> Family {
        match self {
            IpVersion::Auto => Family::Any,
            IpVersion::V4 => Family::V4,
            IpVersion::V6 => Family::V6,
        }
    }
}

/// A network: an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`;
/// a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// True when `ip` is inside this network (IPv4-mapped IPv6 addresses
    /// count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        let bad = || {
            format!(
                "{text:?} is not a network: expected ADDRESS/PREFIX such as 10.0.0.0/8 or \
                 2001:db8::/32, or a single address"
            )
        };
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Refuses `ip` when a denied network holds it.
pub fn check_allowed(ip: IpAddr, deny: &[IpNet]) -> ActorResult<()> {
    match deny.iter().find(|net| net.contains(ip)) {
        Some(net) => Err(ActorError::InvalidInput(format!(
            "host: {ip} is in {net}, a network termbridge is configured not to probe \
             ([net] deny)"
        ))),
        None => Ok(()),
    }
}

/// Refuses addresses no probe can go to.
fn check_unicast(ip: IpAddr) -> ActorResult<()> {
    let why = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(
            "an IPv6 link-local address, which needs an interface scope termbridge does not take",
        ),
        _ => None,
    };
    match why {
        Some(why) => Err(ActorError::InvalidInput(format!(
            "host: {ip} is {why}; give a unicast address or a host name"
        ))),
        None => Ok(()),
    }
}

/// A resolved, allowed target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The address to probe.
    pub ip: IpAddr,
}

/// Resolves `host` through the DnsActor, picks an address of the wanted
/// version, and checks it against `deny`.
pub async fn resolve_target(
    dns: &Subsystem<DnsActor>,
    host: &str,
    version: IpVersion,
    deny: &[IpNet],
) -> ActorResult<Target> {
    let host = host.trim();
    if host.is_empty() {
        return Err(ActorError::InvalidInput("host: must not be empty".into()));
    }
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = ip.to_canonical();
            match (version, ip) {
                (IpVersion::V4, IpAddr::V6(_)) => {
                    return Err(ActorError::InvalidInput(format!(
                        "host: {ip} is an IPv6 address but ip_version is \"4\""
                    )));
                }
                (IpVersion::V6, IpAddr::V4(_)) => {
                    return Err(ActorError::InvalidInput(format!(
                        "host: {ip} is an IPv4 address but ip_version is \"6\""
                    )));
                }
                _ => ip,
            }
        }
        Err(_) => {
            let addresses = dns
                .ask_within(
                    ResolveHost {
                        host: host.to_string(),
                        family: version.family(),
                        timeout_ms: RESOLVE_TIMEOUT_MS,
                    },
                    std::time::Duration::from_millis(RESOLVE_TIMEOUT_MS + 2_000),
                )
                .await?;
            addresses
                .first()
                .copied()
                .ok_or_else(|| ActorError::InvalidInput(format!("host: {host:?} has no address")))?
        }
    };
    check_unicast(ip)?;
    check_allowed(ip, deny)?;
    Ok(Target { ip })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let net: IpNet = "198.51.100.0/24".parse().unwrap();
        assert!(net.contains("198.51.100.7".parse().unwrap()));
        assert!(net.contains("::ffff:198.51.100.7".parse().unwrap()));
        assert!(!net.contains("198.51.101.7".parse().unwrap()));
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.1".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        for bad in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "example.com/8",
            "10.0.0.0/x",
            "",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn denied_and_non_unicast_targets_are_refused_with_reasons() {
        let deny: Vec<IpNet> = vec!["203.0.113.0/24".parse().unwrap()];
        assert_eq!(
            check_allowed("203.0.113.9".parse().unwrap(), &deny),
            Err(ActorError::InvalidInput(
                "host: 203.0.113.9 is in 203.0.113.0/24, a network termbridge is configured \
                 not to probe ([net] deny)"
                    .into()
            ))
        );
        assert!(check_allowed("127.0.0.1".parse().unwrap(), &deny).is_ok());
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "ff02::1",
            "fe80::1",
        ] {
            assert!(check_unicast(bad.parse().unwrap()).is_err(), "{bad}");
        }
        assert!(check_unicast("::1".parse().unwrap()).is_ok());
    }
}
