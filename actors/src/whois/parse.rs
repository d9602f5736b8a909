//! Reading whois answers: decoding the bytes, finding the referral to the
//! next server, and picking out the common fields.
//!
//! Whois has no format; answers are `Key: value` lines in a few families
//! (ICANN registries and registrars, RIPE-style `key: value` objects, ARIN,
//! Nominet's indented blocks). Fields are taken from the first line that
//! carries them, exactly as written (dates are not reformatted).

use schemars::JsonSchema;
use serde::Serialize;

use super::servers::Server;

/// How an answer's bytes were turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum TextEncoding {
    /// Valid UTF-8 (ASCII included).
    #[serde(rename = "utf-8")]
    Utf8,
    /// Not UTF-8: read as ISO-8859-1, one character per byte, so no byte is lost.
    #[serde(rename = "latin-1")]
    Latin1,
}

/// Decodes an answer: UTF-8 when it is (a character cut by the size limit
/// is dropped), else ISO-8859-1.
pub fn decode(bytes: &[u8], truncated: bool) -> (String, TextEncoding) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), TextEncoding::Utf8),
        Err(e) if truncated && e.error_len().is_none() => (
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
            TextEncoding::Utf8,
        ),
        Err(_) => (
            bytes.iter().map(|&b| b as char).collect(),
            TextEncoding::Latin1,
        ),
    }
}

/// `Key: value` lines of an answer, in order, keys lower-cased. Lines in an
/// indented block under a key without a value (`Name servers:` then one
/// server per line) are values of that key. Comments (`%`, `#`) are skipped
/// and reading stops at the ICANN `>>> Last update` line (legal text follows).
pub fn entries(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        i += 1;
        if trimmed.starts_with(">>>") {
            break;
        }
        if trimmed.is_empty() || trimmed.starts_with('%') || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = split_key(trimmed) else {
            continue;
        };
        if !value.is_empty() {
            out.push((key, value.to_string()));
            continue;
        }
        let indent = indent_of(line);
        while i < lines.len() && !lines[i].trim().is_empty() && indent_of(lines[i]) > indent {
            let inner = lines[i].trim();
            match split_key(inner) {
                Some((inner_key, inner_value)) if !inner_value.is_empty() => {
                    out.push((inner_key, inner_value.to_string()))
                }
                Some(_) => {}
                None => out.push((key.clone(), inner.to_string())),
            }
            i += 1;
        }
    }
    out
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `Key: value` → (`key`, `value`) when the part before the first colon
/// looks like a field name.
fn split_key(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let looks_like_key = !key.is_empty()
        && key.len() <= 48
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_./()'".contains(c));
    if !looks_like_key {
        return None;
    }
    let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
    Some((key.to_ascii_lowercase(), value.trim()))
}

/// Keys that name the next server, strongest first.
const REFERRAL_KEYS: &[&str] = &[
    "refer",
    "referralserver",
    "registrar whois server",
    "whois server",
    "whois",
];

/// The referral an answer carries (the value as written), if any.
pub fn find_referral(text: &str) -> Option<String> {
    let entries = entries(text);
    REFERRAL_KEYS.iter().find_map(|key| {
        entries
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
    })
}

/// The server a referral names, or why it cannot be followed.
pub fn referral_server(value: &str) -> Result<Server, String> {
    let token = value.split_whitespace().next().unwrap_or_default();
    let lower = token.to_ascii_lowercase();
    if lower.starts_with("rwhois://") {
        return Err("it is an RWhois server, a different protocol".to_string());
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err("it is a web address, not a whois server".to_string());
    }
    let bare = if lower.starts_with("whois://") {
        &token["whois://".len()..]
    } else {
        token
    };
    // `whois.example.net/` and `whois.example.net.` name the same server.
    let bare = bare.trim_end_matches('/').trim_end_matches('.');
    Server::parse(bare).ok_or_else(|| "it is not a host name or address".to_string())
}

/// Key fields of a whois answer, where present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct WhoisFields {
    /// The domain name the answer is about, lower-case.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub domain_name: Option<String>,
    /// The registrar's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub registrar: Option<String>,
    /// Creation (registration) date, as written by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub created: Option<String>,
    /// Last update date, as written by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub updated: Option<String>,
    /// Expiry date, as written by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub expires: Option<String>,
    /// Name servers, lower-case without the final dot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name_servers: Vec<String>,
    /// Status codes (`clientTransferProhibited`, `ASSIGNED PA`…), without
    /// the explanatory links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// The registrant's organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub registrant_organization: Option<String>,
    /// The organisation holding a network or AS number.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub organization: Option<String>,
    /// An IP network's range (`192.0.2.0 - 192.0.2.255`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub net_range: Option<String>,
    /// An IP network's CIDR blocks (`192.0.2.0/24`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cidr: Vec<String>,
    /// An IP network's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub net_name: Option<String>,
    /// Country code (upper-case).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub country: Option<String>,
    /// AS numbers originating the network (`AS64500`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub origin_as: Vec<String>,
    /// The AS number an answer is about (`AS64500`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub as_number: Option<String>,
    /// The AS name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub as_name: Option<String>,
}

const DOMAIN_NAME: &[&str] = &["domain name", "domain", "domainname"];
const REGISTRAR: &[&str] = &["registrar", "sponsoring registrar", "registrar name"];
const CREATED: &[&str] = &[
    "creation date",
    "created",
    "created on",
    "created date",
    "registered on",
    "registration date",
    "registration time",
    "domain registration date",
    "regdate",
    "registered",
];
const UPDATED: &[&str] = &[
    "updated date",
    "updated",
    "last updated",
    "last updated on",
    "last-modified",
    "last modified",
    "changed",
    "last update",
    "modified",
];
const EXPIRES: &[&str] = &[
    "registry expiry date",
    "registrar registration expiration date",
    "expiry date",
    "expiration date",
    "expires",
    "expires on",
    "expire date",
    "paid-till",
    "renewal date",
    "expiration time",
];
const NAME_SERVERS: &[&str] = &[
    "name server",
    "name servers",
    "nameserver",
    "nameservers",
    "nserver",
];
const STATUS: &[&str] = &["domain status", "status", "state"];
const REGISTRANT_ORG: &[&str] = &[
    "registrant organization",
    "registrant organisation",
    "registrant org",
    "registrant",
];
const ORGANIZATION: &[&str] = &["orgname", "org-name", "organization", "org name", "owner"];
const NET_RANGE: &[&str] = &["netrange", "inetnum", "inet6num"];
const CIDR: &[&str] = &["cidr"];
const NET_NAME: &[&str] = &["netname", "net-name"];
const COUNTRY: &[&str] = &["country"];
const ORIGIN_AS: &[&str] = &["originas", "origin"];
const AS_NUMBER: &[&str] = &["asnumber", "aut-num"];
const AS_NAME: &[&str] = &["asname", "as-name"];

/// Picks the common fields out of one answer.
pub fn parse_fields(text: &str) -> WhoisFields {
    let entries = entries(text);
    let first = |keys: &[&str]| {
        entries
            .iter()
            .find(|(k, v)| keys.contains(&k.as_str()) && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let all = |keys: &[&str]| {
        entries
            .iter()
            .filter(|(k, v)| keys.contains(&k.as_str()) && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let mut name_servers = Vec::new();
    for value in all(NAME_SERVERS) {
        if let Some(host) = value.split_whitespace().next() {
            push_unique(
                &mut name_servers,
                host.trim_end_matches('.').to_ascii_lowercase(),
            );
        }
    }
    let mut status = Vec::new();
    for value in all(STATUS) {
        let kept: Vec<&str> = value
            .split_whitespace()
            .filter(|w| !w.starts_with("http://") && !w.starts_with("https://"))
            .collect();
        if !kept.is_empty() {
            push_unique(&mut status, kept.join(" "));
        }
    }
    let mut cidr = Vec::new();
    for value in all(CIDR) {
        for block in value.split([',', ' ']).filter(|b| !b.is_empty()) {
            push_unique(&mut cidr, block.to_string());
        }
    }
    let mut origin_as = Vec::new();
    for value in all(ORIGIN_AS) {
        for asn in value.split([',', ' ']).filter_map(as_number) {
            push_unique(&mut origin_as, asn);
        }
    }
    WhoisFields {
        domain_name: first(DOMAIN_NAME).map(|d| d.to_ascii_lowercase()),
        registrar: first(REGISTRAR),
        created: first(CREATED),
        updated: first(UPDATED),
        expires: first(EXPIRES),
        name_servers,
        status,
        registrant_organization: first(REGISTRANT_ORG),
        organization: first(ORGANIZATION),
        net_range: first(NET_RANGE),
        cidr,
        net_name: first(NET_NAME),
        country: first(COUNTRY).map(|c| c.to_ascii_uppercase()),
        origin_as,
        as_number: first(AS_NUMBER).and_then(|v| as_number(&v)),
        as_name: first(AS_NAME),
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// `AS64500`, `as64500` or `64500` as `AS64500`.
fn as_number(text: &str) -> Option<String> {
    let text = text.trim();
    let digits = text
        .strip_prefix("AS")
        .or_else(|| text.strip_prefix("as"))
        .unwrap_or(text);
    let number: u32 = digits.parse().ok()?;
    Some(format!("AS{number}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_keeps_every_byte() {
        assert_eq!(
            decode(b"plain", false),
            ("plain".into(), TextEncoding::Utf8)
        );
        assert_eq!(
            decode(&[b'c', b'a', b'f', 0xe9], false),
            ("café".into(), TextEncoding::Latin1)
        );
        // "é" is two bytes in UTF-8; cut after the first one by the limit.
        assert_eq!(
            decode(&[b'c', b'a', b'f', 0xc3], true),
            ("caf".into(), TextEncoding::Utf8)
        );
        assert_eq!(decode(&[b'c', 0xc3], false).1, TextEncoding::Latin1);
    }

    #[test]
    fn referrals_of_each_family() {
        assert_eq!(
            find_referral(
                "% IANA\nrefer:        whois.verisign-grs.com\n\ndomain: COM\nwhois: whois.verisign-grs.com\n"
            ),
            Some("whois.verisign-grs.com".into())
        );
        assert_eq!(
            find_referral("NetRange: x\nReferralServer:  whois://whois.ripe.net\n"),
            Some("whois://whois.ripe.net".into())
        );
        assert_eq!(
            find_referral(
                "   Domain Name: EXAMPLE.COM\r\n   Registrar WHOIS Server: whois.markmonitor.com\r\n"
            ),
            Some("whois.markmonitor.com".into())
        );
        assert_eq!(
            find_referral("Registrar WHOIS Server:\nDomain Name: X\n"),
            None
        );
        // After the ICANN footer nothing counts.
        assert_eq!(
            find_referral(">>> Last update <<<\nWhois Server: evil.example\n"),
            None
        );
    }

    #[test]
    fn referral_targets() {
        assert_eq!(
            referral_server("whois://whois.ripe.net").unwrap().address(),
            "whois.ripe.net:43"
        );
        assert_eq!(
            referral_server("127.0.0.2:4343 (test)").unwrap().address(),
            "127.0.0.2:4343"
        );
        assert_eq!(
            referral_server("rwhois://rwhois.example.net:4321").unwrap_err(),
            "it is an RWhois server, a different protocol"
        );
        assert_eq!(
            referral_server("https://rdap.example.net/").unwrap_err(),
            "it is a web address, not a whois server"
        );
        assert!(referral_server("bad$host!").is_err());
        assert_eq!(
            referral_server("Whois.Example.NET.").unwrap().address(),
            "whois.example.net:43"
        );
        assert_eq!(
            referral_server("whois://whois.example.net/")
                .unwrap()
                .address(),
            "whois.example.net:43"
        );
    }

    #[test]
    fn icann_registrar_fields() {
        let text = "Domain Name: EXAMPLE.TEST\r\n\
            Registrar WHOIS Server: whois.registrar.test\r\n\
            Updated Date: 2024-08-14T07:01:38Z\r\n\
            Creation Date: 1995-08-14T04:00:00Z\r\n\
            Registrar Registration Expiration Date: 2025-08-13T04:00:00Z\r\n\
            Registrar: Example Registrar, Inc.\r\n\
            Domain Status: clientDeleteProhibited https://icann.org/epp#clientDeleteProhibited\r\n\
            Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited\r\n\
            Registrant Organization: Example Holdings Ltd\r\n\
            Registrant Country: GB\r\n\
            Name Server: NS1.EXAMPLE.TEST\r\n\
            Name Server: ns2.example.test.\r\n\
            >>> Last update of WHOIS database: 2024-09-01T00:00:00Z <<<\r\n\
            Status: in the legal text\r\n";
        let fields = parse_fields(text);
        assert_eq!(
            fields,
            WhoisFields {
                domain_name: Some("example.test".into()),
                registrar: Some("Example Registrar, Inc.".into()),
                created: Some("1995-08-14T04:00:00Z".into()),
                updated: Some("2024-08-14T07:01:38Z".into()),
                expires: Some("2025-08-13T04:00:00Z".into()),
                name_servers: vec!["ns1.example.test".into(), "ns2.example.test".into()],
                status: vec![
                    "clientDeleteProhibited".into(),
                    "clientTransferProhibited".into()
                ],
                registrant_organization: Some("Example Holdings Ltd".into()),
                ..WhoisFields::default()
            }
        );
    }

    #[test]
    fn nominet_blocks() {
        let text = "\n    Domain name:\n        example.co.uk\n\n    Registrant:\n        Example Ltd\n\n    Registrar:\n        Example Registrar Ltd [Tag = EXAMPLE]\n        URL: https://registrar.example\n\n    Relevant dates:\n        Registered on: 26-Jun-1996\n        Expiry date:  26-Jun-2026\n        Last updated:  25-May-2024\n\n    Name servers:\n        ns1.example.co.uk         192.0.2.1\n        ns2.example.co.uk\n";
        let fields = parse_fields(text);
        assert_eq!(fields.domain_name.as_deref(), Some("example.co.uk"));
        assert_eq!(
            fields.registrant_organization.as_deref(),
            Some("Example Ltd")
        );
        assert_eq!(
            fields.registrar.as_deref(),
            Some("Example Registrar Ltd [Tag = EXAMPLE]")
        );
        assert_eq!(fields.created.as_deref(), Some("26-Jun-1996"));
        assert_eq!(fields.expires.as_deref(), Some("26-Jun-2026"));
        assert_eq!(fields.updated.as_deref(), Some("25-May-2024"));
        assert_eq!(
            fields.name_servers,
            vec!["ns1.example.co.uk", "ns2.example.co.uk"]
        );
    }

    #[test]
    fn ip_and_asn_fields() {
        let arin = "# ARIN WHOIS data\nNetRange:       192.0.2.0 - 192.0.2.255\nCIDR:           192.0.2.0/25, 192.0.2.128/25\nNetName:        TEST-NET-1\nOriginAS:       AS64500, AS64501\nOrganization:   Example Networks (EXNET)\nCountry:        us\n";
        let fields = parse_fields(arin);
        assert_eq!(fields.net_range.as_deref(), Some("192.0.2.0 - 192.0.2.255"));
        assert_eq!(fields.cidr, vec!["192.0.2.0/25", "192.0.2.128/25"]);
        assert_eq!(fields.net_name.as_deref(), Some("TEST-NET-1"));
        assert_eq!(fields.origin_as, vec!["AS64500", "AS64501"]);
        assert_eq!(
            fields.organization.as_deref(),
            Some("Example Networks (EXNET)")
        );
        assert_eq!(fields.country.as_deref(), Some("US"));
        let ripe = "% RIPE\n\naut-num:        AS64500\nas-name:        EXAMPLE-AS\norg:            ORG-EX1-RIPE\n\ninet6num:       2001:db8::/32\nnetname:        EXAMPLE-V6\nstatus:         ALLOCATED-BY-RIR\n";
        let fields = parse_fields(ripe);
        assert_eq!(fields.as_number.as_deref(), Some("AS64500"));
        assert_eq!(fields.as_name.as_deref(), Some("EXAMPLE-AS"));
        assert_eq!(fields.net_range.as_deref(), Some("2001:db8::/32"));
        assert_eq!(fields.status, vec!["ALLOCATED-BY-RIR"]);
        assert_eq!(as_number("64500").as_deref(), Some("AS64500"));
    }
}
