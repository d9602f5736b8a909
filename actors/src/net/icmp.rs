//! ICMP and ICMPv6 packets as ping and traceroute need them: echo requests
//! to send, and the echo replies and error messages (time exceeded,
//! destination unreachable…) that come back, parsed from what a raw or an
//! unprivileged (datagram) ICMP socket hands over. Pure functions on bytes,
//! so they are tested without a network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of ICMP.
const PROTO_ICMP: u8 = 1;
/// IP "next header" number of ICMPv6.
const PROTO_ICMPV6: u8 = 58;

/// ICMP message types used here.
pub mod types {
    /// ICMP echo reply.
    pub const V4_ECHO_REPLY: u8 = 0;
    /// ICMP destination unreachable.
    pub const V4_UNREACHABLE: u8 = 3;
    /// ICMP echo request.
    pub const V4_ECHO_REQUEST: u8 = 8;
    /// ICMP time exceeded.
    pub const V4_TIME_EXCEEDED: u8 = 11;
    /// ICMP parameter problem.
    pub const V4_PARAMETER_PROBLEM: u8 = 12;
    /// ICMPv6 destination unreachable.
    pub const V6_UNREACHABLE: u8 = 1;
    /// ICMPv6 packet too big.
    pub const V6_PACKET_TOO_BIG: u8 = 2;
    /// ICMPv6 time exceeded.
    pub const V6_TIME_EXCEEDED: u8 = 3;
    /// ICMPv6 parameter problem.
    pub const V6_PARAMETER_PROBLEM: u8 = 4;
    /// ICMPv6 echo request.
    pub const V6_ECHO_REQUEST: u8 = 128;
    /// ICMPv6 echo reply.
    pub const V6_ECHO_REPLY: u8 = 129;
}

/// What an ICMP error message says, in words people know from ping(8) and
/// traceroute(8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcmpError {
    /// TTL / hop limit reached zero at a router (what traceroute looks for).
    TimeExceeded,
    /// Destination unreachable; `port` is true for "port unreachable" (the
    /// destination itself answered a UDP probe).
    Unreachable {
        /// Why, as ping(8) words it (`host unreachable`, `communication
        /// administratively prohibited`…).
        reason: String,
        /// True for port unreachable.
        port: bool,
    },
    /// Any other error message (packet too big, parameter problem…).
    Other {
        /// A description with type and code.
        reason: String,
    },
}

impl IcmpError {
    /// Classifies an ICMP (`v6 == false`) or ICMPv6 error by type and code.
    pub fn classify(v6: bool, icmp_type: u8, code: u8) -> IcmpError {
        use types::*;
        match (v6, icmp_type) {
            (false, V4_TIME_EXCEEDED) if code == 0 => IcmpError::TimeExceeded,
            (false, V4_TIME_EXCEEDED) => IcmpError::Other {
                reason: "fragment reassembly time exceeded".into(),
            },
            (true, V6_TIME_EXCEEDED) if code == 0 => IcmpError::TimeExceeded,
            (true, V6_TIME_EXCEEDED) => IcmpError::Other {
                reason: "fragment reassembly time exceeded".into(),
            },
            (false, V4_UNREACHABLE) => IcmpError::Unreachable {
                reason: v4_unreachable_reason(code),
                port: code == 3,
            },
            (true, V6_UNREACHABLE) => IcmpError::Unreachable {
                reason: v6_unreachable_reason(code),
                port: code == 4,
            },
            (false, V4_PARAMETER_PROBLEM) | (true, V6_PARAMETER_PROBLEM) => IcmpError::Other {
                reason: format!("parameter problem (code {code})"),
            },
            (true, V6_PACKET_TOO_BIG) => IcmpError::Other {
                reason: "packet too big".into(),
            },
            (v6, t) => IcmpError::Other {
                reason: format!("ICMP{} type {t} code {code}", if v6 { "v6" } else { "" }),
            },
        }
    }
}

/// The reason of an ICMP destination unreachable (type 3) by code.
pub fn v4_unreachable_reason(code: u8) -> String {
    match code {
        0 => "network unreachable",
        1 => "host unreachable",
        2 => "protocol unreachable",
        3 => "port unreachable",
        4 => "fragmentation needed",
        5 => "source route failed",
        6 => "destination network unknown",
        7 => "destination host unknown",
        8 => "source host isolated",
        9 => "network administratively prohibited",
        10 => "host administratively prohibited",
        11 => "network unreachable for type of service",
        12 => "host unreachable for type of service",
        13 => "communication administratively prohibited",
        14 => "host precedence violation",
        15 => "precedence cutoff in effect",
        other => return format!("destination unreachable (code {other})"),
    }
    .to_string()
}

/// The reason of an ICMPv6 destination unreachable (type 1) by code.
pub fn v6_unreachable_reason(code: u8) -> String {
    match code {
        0 => "no route to destination",
        1 => "communication administratively prohibited",
        2 => "beyond scope of source address",
        3 => "address unreachable",
        4 => "port unreachable",
        5 => "source address failed ingress/egress policy",
        6 => "reject route to destination",
        other => return format!("destination unreachable (code {other})"),
    }
    .to_string()
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request. For IPv4 the checksum is filled in (raw sockets need
/// it; the kernel recomputes it for datagram sockets); for IPv6 the kernel
/// always computes it.
pub fn echo_request(v6: bool, ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let kind = if v6 {
        types::V6_ECHO_REQUEST
    } else {
        types::V4_ECHO_REQUEST
    };
    let mut packet = Vec::with_capacity(8 + payload.len());
    packet.extend_from_slice(&[kind, 0, 0, 0]);
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(payload);
    if !v6 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// What came back for one of our echo requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An echo reply.
    Reply {
        /// Identifier (ignored for datagram sockets: the kernel owns it).
        ident: u16,
        /// Sequence number.
        seq: u16,
        /// TTL from the IPv4 header, when the packet carried it (raw IPv4).
        ttl: Option<u8>,
        /// Who sent it (raw IPv4: from the IP header).
        from: Option<IpAddr>,
    },
    /// An error message about one of our echo requests.
    Error {
        /// Identifier of the echo request it quotes.
        ident: u16,
        /// Sequence number of the echo request it quotes.
        seq: u16,
        /// Where the quoted request was going, when the quote says.
        original_dest: Option<IpAddr>,
        /// The error's type.
        icmp_type: u8,
        /// The error's code.
        code: u8,
        /// Who sent it (raw IPv4: from the IP header).
        from: Option<IpAddr>,
    },
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*buf.get(at)?, *buf.get(at + 1)?]))
}

/// Parses what a raw IPv4 ICMP socket reads: IPv4 header, then ICMP.
/// Returns `None` for anything that is not an echo reply or an error about
/// an echo request (our own outgoing requests on loopback included).
pub fn parse_v4_raw(buf: &[u8]) -> Option<Parsed> {
    let (header, icmp) = split_v4(buf)?;
    if header.protocol != PROTO_ICMP {
        return None;
    }
    let from = Some(IpAddr::V4(header.source));
    match parse_v4_icmp(icmp)? {
        Parsed::Reply { ident, seq, .. } => Some(Parsed::Reply {
            ident,
            seq,
            ttl: Some(header.ttl),
            from,
        }),
        Parsed::Error {
            ident,
            seq,
            original_dest,
            icmp_type,
            code,
            ..
        } => Some(Parsed::Error {
            ident,
            seq,
            original_dest,
            icmp_type,
            code,
            from,
        }),
    }
}

struct V4Header {
    ttl: u8,
    protocol: u8,
    source: Ipv4Addr,
    destination: Ipv4Addr,
}

/// Splits an IPv4 packet into its header fields and payload.
fn split_v4(buf: &[u8]) -> Option<(V4Header, &[u8])> {
    let first = *buf.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    if header_len < 20 || buf.len() < header_len {
        return None;
    }
    let header = V4Header {
        ttl: buf[8],
        protocol: buf[9],
        source: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        destination: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
    };
    Some((header, &buf[header_len..]))
}

/// Parses an ICMP message without IP header (datagram sockets; raw after
/// the header is removed).
pub fn parse_v4_icmp(icmp: &[u8]) -> Option<Parsed> {
    let icmp_type = *icmp.first()?;
    let code = *icmp.get(1)?;
    match icmp_type {
        types::V4_ECHO_REPLY => Some(Parsed::Reply {
            ident: u16_at(icmp, 4)?,
            seq: u16_at(icmp, 6)?,
            ttl: None,
            from: None,
        }),
        types::V4_UNREACHABLE | types::V4_TIME_EXCEEDED | types::V4_PARAMETER_PROBLEM => {
            // 8 bytes of ICMP header, then the offending IP header and at
            // least 8 bytes of its payload: our echo request's header.
            let (quoted, quoted_icmp) = split_v4(icmp.get(8..)?)?;
            if quoted.protocol != PROTO_ICMP || *quoted_icmp.first()? != types::V4_ECHO_REQUEST {
                return None;
            }
            Some(Parsed::Error {
                ident: u16_at(quoted_icmp, 4)?,
                seq: u16_at(quoted_icmp, 6)?,
                original_dest: Some(IpAddr::V4(quoted.destination)),
                icmp_type,
                code,
                from: None,
            })
        }
        _ => None,
    }
}

/// Parses an ICMPv6 message (raw and datagram sockets both hand it over
/// without the IPv6 header).
pub fn parse_v6_icmp(icmp: &[u8]) -> Option<Parsed> {
    let icmp_type = *icmp.first()?;
    let code = *icmp.get(1)?;
    match icmp_type {
        types::V6_ECHO_REPLY => Some(Parsed::Reply {
            ident: u16_at(icmp, 4)?,
            seq: u16_at(icmp, 6)?,
            ttl: None,
            from: None,
        }),
        types::V6_UNREACHABLE
        | types::V6_PACKET_TOO_BIG
        | types::V6_TIME_EXCEEDED
        | types::V6_PARAMETER_PROBLEM => {
            // 8 bytes of ICMPv6 header, then the offending IPv6 header (40
            // bytes) and the start of its payload: our echo request.
            let quoted = icmp.get(8..)?;
            if quoted.len() < 48 || quoted[0] >> 4 != 6 || quoted[6] != PROTO_ICMPV6 {
                return None;
            }
            let mut dest = [0u8; 16];
            dest.copy_from_slice(&quoted[24..40]);
            let echo = &quoted[40..];
            if echo[0] != types::V6_ECHO_REQUEST {
                return None;
            }
            Some(Parsed::Error {
                ident: u16_at(echo, 4)?,
                seq: u16_at(echo, 6)?,
                original_dest: Some(IpAddr::V6(Ipv6Addr::from(dest))),
                icmp_type,
                code,
                from: None,
            })
        }
        _ => None,
    }
}

/// The sequence number of the echo request an error-queue entry quotes
/// (the kernel hands back our own ICMP header).
pub fn quoted_seq(original: &[u8]) -> Option<u16> {
    u16_at(original, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071's example words sum to 0xddf2; the checksum is its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
        // A packet with its checksum filled in sums to zero.
        let packet = echo_request(false, 0x1234, 7, b"abc");
        assert_eq!(checksum(&packet), 0);
    }

    #[test]
    fn echo_requests_carry_ident_and_sequence() {
        let v4 = echo_request(false, 0xbeef, 0x0102, b"xy");
        assert_eq!(&v4[..2], &[8, 0]);
        assert_eq!(&v4[4..8], &[0xbe, 0xef, 0x01, 0x02]);
        assert_eq!(&v4[8..], b"xy");
        let v6 = echo_request(true, 1, 2, b"");
        assert_eq!(v6, vec![128, 0, 0, 0, 0, 1, 0, 2]);
    }

    fn v4_header(protocol: u8, ttl: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, protocol, 0, 0];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend_from_slice(payload);
        h
    }

    #[test]
    fn raw_v4_echo_reply_gives_ttl_and_source() {
        let mut reply = echo_request(false, 9, 3, b"data");
        reply[0] = 0;
        let packet = v4_header(1, 62, [203, 0, 113, 10], [198, 51, 100, 2], &reply);
        assert_eq!(
            parse_v4_raw(&packet),
            Some(Parsed::Reply {
                ident: 9,
                seq: 3,
                ttl: Some(62),
                from: Some("203.0.113.10".parse().unwrap())
            })
        );
        // Our own request looping back is not a reply.
        let request = v4_header(
            1,
            64,
            [127, 0, 0, 1],
            [127, 0, 0, 1],
            &echo_request(false, 9, 3, b""),
        );
        assert_eq!(parse_v4_raw(&request), None);
    }

    #[test]
    fn raw_v4_time_exceeded_quotes_our_request() {
        let original = v4_header(
            1,
            1,
            [198, 51, 100, 2],
            [203, 0, 113, 10],
            &echo_request(false, 77, 5, b"")[..8],
        );
        let mut icmp = vec![11, 0, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&original);
        let packet = v4_header(1, 64, [198, 51, 100, 1], [198, 51, 100, 2], &icmp);
        assert_eq!(
            parse_v4_raw(&packet),
            Some(Parsed::Error {
                ident: 77,
                seq: 5,
                original_dest: Some("203.0.113.10".parse().unwrap()),
                icmp_type: 11,
                code: 0,
                from: Some("198.51.100.1".parse().unwrap())
            })
        );
        // Truncated quotes are ignored, not misread.
        assert_eq!(parse_v4_raw(&packet[..packet.len() - 4]), None);
    }

    #[test]
    fn v6_errors_quote_the_ipv6_header_and_echo() {
        let mut quoted = vec![0x60, 0, 0, 0, 0, 8, 58, 1];
        quoted.extend_from_slice(&"2001:db8:1::2".parse::<Ipv6Addr>().unwrap().octets());
        quoted.extend_from_slice(&"2001:db8:3::10".parse::<Ipv6Addr>().unwrap().octets());
        quoted.extend_from_slice(&echo_request(true, 5, 6, b""));
        let mut icmp = vec![1, 3, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&quoted);
        assert_eq!(
            parse_v6_icmp(&icmp),
            Some(Parsed::Error {
                ident: 5,
                seq: 6,
                original_dest: Some("2001:db8:3::10".parse().unwrap()),
                icmp_type: 1,
                code: 3,
                from: None
            })
        );
        assert_eq!(
            parse_v6_icmp(&[129, 0, 0, 0, 0, 5, 0, 6]),
            Some(Parsed::Reply {
                ident: 5,
                seq: 6,
                ttl: None,
                from: None
            })
        );
        assert_eq!(parse_v6_icmp(&[128, 0, 0, 0, 0, 5, 0, 6]), None);
    }

    #[test]
    fn errors_are_classified_with_ping_words() {
        assert_eq!(IcmpError::classify(false, 11, 0), IcmpError::TimeExceeded);
        assert_eq!(IcmpError::classify(true, 3, 0), IcmpError::TimeExceeded);
        assert_eq!(
            IcmpError::classify(false, 3, 13),
            IcmpError::Unreachable {
                reason: "communication administratively prohibited".into(),
                port: false
            }
        );
        assert_eq!(
            IcmpError::classify(true, 1, 4),
            IcmpError::Unreachable {
                reason: "port unreachable".into(),
                port: true
            }
        );
        assert_eq!(
            IcmpError::classify(false, 3, 1),
            IcmpError::Unreachable {
                reason: "host unreachable".into(),
                port: false
            }
        );
    }
}
