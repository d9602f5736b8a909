//! Local interface addresses: every interface with its IPv4 and IPv6
//! addresses, prefix lengths and scopes (loopback and link-local included).

use std::collections::BTreeMap;
use std::net::IpAddr;

use nix::net::if_::InterfaceFlags;
use nix::sys::socket::SockaddrStorage;
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::{ActorError, ActorResult};

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Interface {
    /// Interface name as the OS knows it (`lo`, `eth0`, `en0`…).
    pub name: String,
    /// OS interface index, when known.
    pub index: Option<u32>,
    /// True for the loopback interface.
    pub loopback: bool,
    /// Addresses on this interface, IPv4 first.
    pub addresses: Vec<IfAddress>,
}

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct IfAddress {
    /// The address in its usual text form (no prefix).
    pub address: String,
    /// `ipv4` or `ipv6`.
    pub family: AddressFamily,
    /// Network prefix length in bits (e.g. 24, 64, 128).
    pub prefix_len: u8,
    /// Reach of the address: `host` (loopback), `link`, `site`, `global`.
    pub scope: AddressScope,
}

/// IP version of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddressFamily {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// Where an address is valid, named as `ip addr` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddressScope {
    /// Only on this host (loopback).
    Host,
    /// Only on the attached link (169.254/16, fe80::/10).
    Link,
    /// Site-local (deprecated fec0::/10).
    Site,
    /// Everything else, private ranges included (as Linux reports them).
    Global,
}

/// The scope Linux would give `ip`.
pub fn scope_of(ip: &IpAddr) -> AddressScope {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => AddressScope::Host,
        IpAddr::V4(v4) if v4.is_link_local() => AddressScope::Link,
        IpAddr::V4(_) => AddressScope::Global,
        IpAddr::V6(v6) if v6.is_loopback() => AddressScope::Host,
        IpAddr::V6(v6) => match v6.segments()[0] & 0xffc0 {
            0xfe80 => AddressScope::Link,
            0xfec0 => AddressScope::Site,
            _ => AddressScope::Global,
        },
    }
}

/// Number of leading one bits in a netmask.
fn prefix_len(netmask: &IpAddr) -> u8 {
    let ones = match netmask {
        IpAddr::V4(m) => u32::from(*m).leading_ones(),
        IpAddr::V6(m) => u128::from(*m).leading_ones(),
    };
    // A netmask has at most 128 bits, so this never truncates.
    ones as u8
}

/// The IP address in a socket address from `getifaddrs`, if it is one.
fn ip_of(addr: Option<&SockaddrStorage>) -> Option<IpAddr> {
    let addr = addr?;
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

/// Lists every interface with its addresses, sorted by interface index.
///
/// Reads `getifaddrs(3)` directly: the `if-addrs` crate skips IPv6
/// link-local addresses, which people look for on purpose.
pub fn list_interfaces() -> ActorResult<Vec<Interface>> {
    let found = nix::ifaddrs::getifaddrs()
        .map_err(|e| ActorError::Internal(format!("cannot list interfaces: {e}")))?;
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    for entry in found {
        let name = entry.interface_name.clone();
        let iface = by_name.entry(name.clone()).or_insert_with(|| Interface {
            index: nix::net::if_::if_nametoindex(name.as_str()).ok(),
            loopback: entry.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            name,
            addresses: Vec::new(),
        });
        let Some(ip) = ip_of(entry.address.as_ref()) else {
            continue; // link-layer (MAC) entries and the like
        };
        let prefix = ip_of(entry.netmask.as_ref())
            .map(|mask| prefix_len(&mask))
            .unwrap_or(if ip.is_ipv4() { 32 } else { 128 });
        iface.addresses.push(IfAddress {
            address: ip.to_string(),
            family: if ip.is_ipv4() {
                AddressFamily::Ipv4
            } else {
                AddressFamily::Ipv6
            },
            prefix_len: prefix,
            scope: scope_of(&ip),
        });
    }
    let mut interfaces: Vec<Interface> = by_name.into_values().collect();
    for iface in &mut interfaces {
        iface.addresses.sort_by_key(|a| a.family);
    }
    interfaces.sort_by_key(|i| (i.index.unwrap_or(u32::MAX), i.name.clone()));
    Ok(interfaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_linux_naming() {
        let cases = [
            ("127.0.0.1", AddressScope::Host),
            ("169.254.3.4", AddressScope::Link),
            ("192.0.2.2", AddressScope::Global),
            ("::1", AddressScope::Host),
            ("fe80::1", AddressScope::Link),
            ("febf::1", AddressScope::Link),
            ("fec0::1", AddressScope::Site),
            ("2001:db8::1", AddressScope::Global),
            ("fd00::2", AddressScope::Global),
        ];
        for (ip, scope) in cases {
            assert_eq!(scope_of(&ip.parse().unwrap()), scope, "{ip}");
        }
    }

    #[test]
    fn prefix_len_counts_mask_bits() {
        assert_eq!(prefix_len(&"255.255.255.0".parse().unwrap()), 24);
        assert_eq!(prefix_len(&"255.0.0.0".parse().unwrap()), 8);
        assert_eq!(prefix_len(&"ffff:ffff:ffff:ffff::".parse().unwrap()), 64);
        assert_eq!(
            prefix_len(&"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()),
            128
        );
    }

    #[test]
    fn loopback_is_listed_with_both_families() {
        let interfaces = list_interfaces().unwrap();
        let lo = interfaces.iter().find(|i| i.loopback).expect("loopback");
        assert!(lo.addresses.iter().any(|a| a.address == "127.0.0.1"
            && a.prefix_len == 8
            && a.scope == AddressScope::Host));
    }
}
