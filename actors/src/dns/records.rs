//! DNS records as callers see them: owner, type, TTL as served, the usual
//! presentation text (as in a zone file or `dig`) and typed fields for the
//! common types.

use hickory_resolver::proto::rr::{RData, Record};
use schemars::JsonSchema;
use serde::Serialize;

use super::names::type_name;

/// One resource record.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DnsRecord {
    /// Owner name, fully qualified with the final dot (`www.example.com.`).
    pub name: String,
    /// Record type (`A`, `MX`, `TYPE65534`…).
    #[serde(rename = "type")]
    pub record_type: String,
    /// Time to live in seconds, exactly as the server sent it.
    pub ttl: u32,
    /// The record data in presentation format, as a zone file or `dig` shows
    /// it (`10 mail.example.com.`, `"v=spf1 -all"`).
    pub data: String,
    /// The data as typed fields, for A, AAAA, CNAME, NS, PTR, DNAME, ANAME,
    /// MX, SOA, SRV, CAA, TXT, HINFO, SSHFP, TLSA and NAPTR records; absent
    /// for other types (use `data`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "RecordFields")]
    pub fields: Option<RecordFields>,
}

/// The typed fields of a record; which shape applies follows from the
/// record's `type`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RecordFields {
    /// A and AAAA.
    Address {
        /// The IPv4 or IPv6 address.
        address: String,
    },
    /// MX.
    Mx {
        /// Preference: lower values are tried first.
        preference: u16,
        /// The mail exchanger, fully qualified.
        exchange: String,
    },
    /// SOA.
    Soa {
        /// Primary name server of the zone.
        mname: String,
        /// Mailbox of the person responsible, as a name (`hostmaster.example.com.`).
        rname: String,
        /// Zone serial number.
        serial: u32,
        /// Seconds between secondary refreshes.
        refresh: u32,
        /// Seconds before a failed refresh is retried.
        retry: u32,
        /// Seconds after which a secondary stops answering without a refresh.
        expire: u32,
        /// Negative-caching TTL in seconds.
        minimum: u32,
    },
    /// SRV.
    Srv {
        /// Priority: lower values are tried first.
        priority: u16,
        /// Relative weight among records of the same priority.
        weight: u16,
        /// The service's port.
        port: u16,
        /// The host offering the service, fully qualified (`.` = not offered).
        target: String,
    },
    /// CAA.
    Caa {
        /// The flags byte (128 = issuer critical).
        flags: u8,
        /// The issuer-critical flag.
        critical: bool,
        /// The property tag (`issue`, `issuewild`, `iodef`…).
        tag: String,
        /// The property value (invalid UTF-8 replaced).
        value: String,
    },
    /// TXT.
    Txt {
        /// The character strings of the record, in order (invalid UTF-8 replaced).
        strings: Vec<String>,
    },
    /// HINFO.
    Hinfo {
        /// CPU type.
        cpu: String,
        /// Operating system.
        os: String,
    },
    /// SSHFP.
    Sshfp {
        /// Key algorithm number (1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519…).
        algorithm: u8,
        /// Fingerprint type number (1 SHA-1, 2 SHA-256).
        fingerprint_type: u8,
        /// The fingerprint, lower-case hex.
        fingerprint: String,
    },
    /// TLSA.
    Tlsa {
        /// Certificate usage number (0–3).
        cert_usage: u8,
        /// Selector number (0 full certificate, 1 public key).
        selector: u8,
        /// Matching type number (0 exact, 1 SHA-256, 2 SHA-512).
        matching_type: u8,
        /// Certificate association data, lower-case hex.
        cert_data: String,
    },
    /// NAPTR.
    Naptr {
        /// Order: lower values are processed first.
        order: u16,
        /// Preference among records of the same order.
        preference: u16,
        /// Flags (`S`, `A`, `U`, `P`).
        flags: String,
        /// Service parameters (`SIP+D2U`…).
        services: String,
        /// Substitution expression.
        regexp: String,
        /// Replacement name, fully qualified.
        replacement: String,
    },
    /// CNAME, NS, PTR, DNAME and ANAME: one domain name.
    Target {
        /// The name the record points to, fully qualified.
        target: String,
    },
}

/// Converts a record from the wire.
pub fn to_dns_record(record: &Record) -> DnsRecord {
    let (data, fields) = present(&record.data);
    DnsRecord {
        name: record.name.to_ascii(),
        record_type: type_name(record.record_type()),
        ttl: record.ttl,
        data,
        fields,
    }
}

fn target(name: &hickory_resolver::proto::rr::Name) -> (String, Option<RecordFields>) {
    let text = name.to_ascii();
    (text.clone(), Some(RecordFields::Target { target: text }))
}

/// Presentation text and typed fields of one record's data.
fn present(data: &RData) -> (String, Option<RecordFields>) {
    match data {
        RData::A(a) => {
            let text = a.0.to_string();
            (text.clone(), Some(RecordFields::Address { address: text }))
        }
        RData::AAAA(aaaa) => {
            let text = aaaa.0.to_string();
            (text.clone(), Some(RecordFields::Address { address: text }))
        }
        RData::CNAME(name) => target(&name.0),
        RData::NS(name) => target(&name.0),
        RData::PTR(name) => target(&name.0),
        RData::ANAME(name) => target(&name.0),
        RData::MX(mx) => {
            let exchange = mx.exchange.to_ascii();
            (
                format!("{} {exchange}", mx.preference),
                Some(RecordFields::Mx {
                    preference: mx.preference,
                    exchange,
                }),
            )
        }
        RData::SOA(soa) => {
            let (mname, rname) = (soa.mname.to_ascii(), soa.rname.to_ascii());
            // Unsigned 32-bit on the wire; hickory keeps these three as i32.
            let (refresh, retry, expire) =
                (soa.refresh as u32, soa.retry as u32, soa.expire as u32);
            (
                format!(
                    "{mname} {rname} {} {refresh} {retry} {expire} {}",
                    soa.serial, soa.minimum
                ),
                Some(RecordFields::Soa {
                    mname,
                    rname,
                    serial: soa.serial,
                    refresh,
                    retry,
                    expire,
                    minimum: soa.minimum,
                }),
            )
        }
        RData::SRV(srv) => {
            let target = srv.target.to_ascii();
            (
                format!("{} {} {} {target}", srv.priority, srv.weight, srv.port),
                Some(RecordFields::Srv {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target,
                }),
            )
        }
        RData::CAA(caa) => {
            let flags = caa.flags();
            (
                format!("{flags} {} {}", caa.tag, quote(&caa.value)),
                Some(RecordFields::Caa {
                    flags,
                    critical: caa.issuer_critical,
                    tag: caa.tag.clone(),
                    value: String::from_utf8_lossy(&caa.value).into_owned(),
                }),
            )
        }
        RData::TXT(txt) => {
            let data = txt
                .txt_data
                .iter()
                .map(|s| quote(s))
                .collect::<Vec<_>>()
                .join(" ");
            let strings = txt
                .txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            (data, Some(RecordFields::Txt { strings }))
        }
        RData::HINFO(hinfo) => (
            format!("{} {}", quote(&hinfo.cpu), quote(&hinfo.os)),
            Some(RecordFields::Hinfo {
                cpu: String::from_utf8_lossy(&hinfo.cpu).into_owned(),
                os: String::from_utf8_lossy(&hinfo.os).into_owned(),
            }),
        ),
        RData::SSHFP(sshfp) => {
            let algorithm = u8::from(sshfp.algorithm);
            let fingerprint_type = u8::from(sshfp.fingerprint_type);
            let fingerprint = hex(&sshfp.fingerprint);
            (
                format!("{algorithm} {fingerprint_type} {fingerprint}"),
                Some(RecordFields::Sshfp {
                    algorithm,
                    fingerprint_type,
                    fingerprint,
                }),
            )
        }
        RData::TLSA(tlsa) => {
            let cert_usage = u8::from(tlsa.cert_usage);
            let selector = u8::from(tlsa.selector);
            let matching_type = u8::from(tlsa.matching);
            let cert_data = hex(&tlsa.cert_data);
            (
                format!("{cert_usage} {selector} {matching_type} {cert_data}"),
                Some(RecordFields::Tlsa {
                    cert_usage,
                    selector,
                    matching_type,
                    cert_data,
                }),
            )
        }
        RData::NAPTR(naptr) => {
            let replacement = naptr.replacement.to_ascii();
            (
                format!(
                    "{} {} {} {} {} {replacement}",
                    naptr.order,
                    naptr.preference,
                    quote(&naptr.flags),
                    quote(&naptr.services),
                    quote(&naptr.regexp)
                ),
                Some(RecordFields::Naptr {
                    order: naptr.order,
                    preference: naptr.preference,
                    flags: String::from_utf8_lossy(&naptr.flags).into_owned(),
                    services: String::from_utf8_lossy(&naptr.services).into_owned(),
                    regexp: String::from_utf8_lossy(&naptr.regexp).into_owned(),
                    replacement,
                }),
            )
        }
        // RFC 3597 generic form for data hickory does not decode.
        RData::Unknown { rdata, .. } => (
            format!("\\# {} {}", rdata.anything.len(), hex(&rdata.anything)),
            None,
        ),
        other => (other.to_string(), None),
    }
}

/// A `<character-string>` in presentation format: quoted, with `"` and `\`
/// escaped and bytes outside printable ASCII as `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_quotes_backslashes_and_binary() {
        assert_eq!(quote(b"v=spf1 -all"), "\"v=spf1 -all\"");
        assert_eq!(quote(b"say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
        assert_eq!(quote(&[b'a', 0x00, 0xff]), "\"a\\000\\255\"");
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }
}
