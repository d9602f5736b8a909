//! Checking what callers type: domain names, record types, server addresses.
//!
//! Every error names the input field and says what is wrong, because the
//! message goes back to an agent that has to fix its call.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use hickory_resolver::proto::rr::{Name, RecordType};

use crate::error::{ActorError, ActorResult};

/// The longest domain name in text form, without the final dot (RFC 1035).
pub const MAX_NAME_LEN: usize = 253;
/// The longest label (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;
/// The port a DNS server listens on unless told otherwise.
pub const DNS_PORT: u16 = 53;

/// Which characters a name may hold besides letters, digits, `-` and `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRules {
    /// DNS owner names: `_` (as in `_sip._tcp`) and a `*` label are allowed.
    Dns,
    /// Host names as registries know them: letters, digits, `-` only.
    Host,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ActorError {
    ActorError::InvalidInput(format!("{field}: {message}"))
}

/// Checks a domain name and returns its ASCII form without the final dot
/// (Unicode names are converted to punycode). `"."` (the root) comes back
/// as the empty string and only under [`NameRules::Dns`].
pub fn check_domain_name(field: &str, raw: &str, rules: NameRules) -> ActorResult<String> {
    if raw.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if let Some(c) = raw.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            field,
            format!("{raw:?} contains {c:?}; a domain name has no spaces or control characters"),
        ));
    }
    if raw == "." {
        return match rules {
            NameRules::Dns => Ok(String::new()),
            NameRules::Host => Err(invalid(field, "\".\" (the DNS root) is not a domain name")),
        };
    }
    let ascii = if raw.is_ascii() {
        raw.to_string()
    } else {
        let name = Name::from_utf8(raw).map_err(|e| {
            invalid(
                field,
                format!("{raw:?} is not a valid internationalized domain name: {e}"),
            )
        })?;
        name.to_ascii()
    };
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
    if ascii.len() > MAX_NAME_LEN {
        return Err(invalid(
            field,
            format!(
                "the name is {} characters long; a domain name has at most {MAX_NAME_LEN}",
                ascii.len()
            ),
        ));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(invalid(
                field,
                format!("{raw:?} has an empty label (a leading dot or two dots in a row)"),
            ));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(invalid(
                field,
                format!(
                    "label {label:?} is {} characters long; a label has at most {MAX_LABEL_LEN}",
                    label.len()
                ),
            ));
        }
        if rules == NameRules::Dns && label == "*" {
            continue;
        }
        let allowed = |c: char| {
            c.is_ascii_alphanumeric() || c == '-' || (rules == NameRules::Dns && c == '_')
        };
        if let Some(c) = label.chars().find(|&c| !allowed(c)) {
            let what = match rules {
                NameRules::Dns => "letters, digits, '-', '_' and '.'",
                NameRules::Host => "letters, digits, '-' and '.'",
            };
            return Err(invalid(
                field,
                format!("{raw:?} contains {c:?}; a domain name may only hold {what}"),
            ));
        }
    }
    Ok(ascii.to_string())
}

/// Parses a record type name (`A`, `mx`, `TYPE65`…). Meta types that are not
/// lookups (zone transfers, OPT, TSIG) are refused.
pub fn parse_record_type(raw: &str) -> ActorResult<RecordType> {
    let upper = raw.trim().to_ascii_uppercase();
    let parsed = match upper.strip_prefix("TYPE") {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u16>().ok().map(RecordType::from)
        }
        _ => RecordType::from_str(&upper).ok(),
    };
    let Some(record_type) = parsed else {
        return Err(invalid(
            "record_type",
            format!(
                "unknown record type {raw:?}; use A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, \
                 PTR, another type name such as HTTPS, TLSA or SSHFP, or TYPEnnn"
            ),
        ));
    };
    match record_type {
        RecordType::AXFR | RecordType::IXFR => Err(invalid(
            "record_type",
            format!("{raw:?} is a zone transfer, which dns_lookup does not do"),
        )),
        RecordType::OPT | RecordType::TSIG | RecordType::ZERO => Err(invalid(
            "record_type",
            format!("{raw:?} is a meta type that cannot be looked up"),
        )),
        other => Ok(other),
    }
}

/// Parses a DNS server address: `ip` or `ip:port`, IPv4 or IPv6
/// (`[v6]:port`); the port defaults to 53.
pub fn parse_server(raw: &str) -> ActorResult<SocketAddr> {
    let addr = if let Ok(addr) = SocketAddr::from_str(raw) {
        addr
    } else if let Ok(ip) = IpAddr::from_str(raw) {
        SocketAddr::new(ip, DNS_PORT)
    } else {
        return Err(invalid(
            "server",
            format!(
                "{raw:?} is not an IP address or IP:port (examples: 9.9.9.9, 9.9.9.9:53, \
                 2620:fe::fe, [2620:fe::fe]:53)"
            ),
        ));
    };
    if addr.port() == 0 {
        return Err(invalid("server", format!("{raw:?} has port 0")));
    }
    if addr.ip().is_unspecified() || addr.ip().is_multicast() {
        return Err(invalid(
            "server",
            format!("{raw:?} is not a unicast address a DNS server can have"),
        ));
    }
    Ok(addr)
}

/// The presentation name of a record type (`TYPE65534` for unknown ones).
pub fn type_name(record_type: RecordType) -> String {
    match record_type {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(result: ActorResult<impl std::fmt::Debug>) -> String {
        match result {
            Err(ActorError::InvalidInput(message)) => message,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn names_are_normalized() {
        let dns = NameRules::Dns;
        assert_eq!(
            check_domain_name("name", "Example.COM.", dns).unwrap(),
            "Example.COM"
        );
        assert_eq!(
            check_domain_name("name", "_sip._tcp.example.com", dns).unwrap(),
            "_sip._tcp.example.com"
        );
        assert_eq!(
            check_domain_name("name", "*.example.com", dns).unwrap(),
            "*.example.com"
        );
        assert_eq!(check_domain_name("name", ".", dns).unwrap(), "");
        assert_eq!(
            check_domain_name("name", "bücher.example", dns).unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            check_domain_name("query", "münchen.de", NameRules::Host).unwrap(),
            "xn--mnchen-3ya.de"
        );
    }

    #[test]
    fn bad_names_say_why() {
        let dns = NameRules::Dns;
        assert_eq!(
            err(check_domain_name("name", "", dns)),
            "name: must not be empty"
        );
        assert_eq!(
            err(check_domain_name("name", "a b.com", dns)),
            "name: \"a b.com\" contains ' '; a domain name has no spaces or control characters"
        );
        assert_eq!(
            err(check_domain_name("name", "a..com", dns)),
            "name: \"a..com\" has an empty label (a leading dot or two dots in a row)"
        );
        let long_label = "a".repeat(64);
        assert_eq!(
            err(check_domain_name("name", &format!("{long_label}.com"), dns)),
            format!("name: label \"{long_label}\" is 64 characters long; a label has at most 63")
        );
        let long_name = vec!["abcdefghi"; 26].join(".");
        assert_eq!(long_name.len(), 259);
        assert_eq!(
            err(check_domain_name("name", &long_name, dns)),
            "name: the name is 259 characters long; a domain name has at most 253"
        );
        assert_eq!(
            err(check_domain_name("name", "exa$mple.com", dns)),
            "name: \"exa$mple.com\" contains '$'; a domain name may only hold letters, digits, '-', '_' and '.'"
        );
        assert_eq!(
            err(check_domain_name(
                "query",
                "_x.example.com",
                NameRules::Host
            )),
            "query: \"_x.example.com\" contains '_'; a domain name may only hold letters, digits, '-' and '.'"
        );
    }

    #[test]
    fn record_types() {
        assert_eq!(parse_record_type("mx").unwrap(), RecordType::MX);
        assert_eq!(parse_record_type("TYPE65").unwrap(), RecordType::HTTPS);
        assert_eq!(
            parse_record_type("type65534").unwrap(),
            RecordType::Unknown(65534)
        );
        assert_eq!(type_name(RecordType::Unknown(65534)), "TYPE65534");
        assert!(
            err(parse_record_type("BOGUS"))
                .starts_with("record_type: unknown record type \"BOGUS\"")
        );
        assert!(
            err(parse_record_type("TYPE70000")).starts_with("record_type: unknown record type")
        );
        assert_eq!(
            err(parse_record_type("axfr")),
            "record_type: \"axfr\" is a zone transfer, which dns_lookup does not do"
        );
    }

    #[test]
    fn servers() {
        assert_eq!(
            parse_server("9.9.9.9").unwrap(),
            "9.9.9.9:53".parse().unwrap()
        );
        assert_eq!(
            parse_server("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert_eq!(parse_server("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert!(
            err(parse_server("dns.google"))
                .starts_with("server: \"dns.google\" is not an IP address")
        );
        assert_eq!(
            err(parse_server("127.0.0.1:0")),
            "server: \"127.0.0.1:0\" has port 0"
        );
        assert!(err(parse_server("0.0.0.0")).contains("not a unicast address"));
    }
}
