//! `dns_lookup`: ask a DNS server one question, get its answer: response
//! code, records with TTLs as served and typed fields; reverse lookups for IP
//! addresses.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::dns::{self, DnsProtocol, Lookup, LookupAnswer};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `dns_lookup` tool.
pub struct DnsLookup;

/// `dns_lookup` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsLookupInput {
    /// The domain name to look up (`www.example.com`; Unicode names are sent
    /// as punycode; names are absolute, no search domains are appended), or
    /// an IPv4/IPv6 address for a reverse lookup.
    pub name: String,
    /// Record type: A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR, or any
    /// other type name (HTTPS, TLSA, SSHFP, NAPTR…) or `TYPEnnn`; any case.
    /// When `name` is an IP address, `A` (the default) means PTR.
    #[serde(default = "default_record_type")]
    pub record_type: String,
    /// The DNS server to ask: `ip` or `ip:port` (IPv6 as `[addr]:port`),
    /// port 53 by default. Without it, the configured `dns_servers` or the
    /// system's resolvers are asked in turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `udp` (a truncated answer is asked again over TCP) or `tcp`.
    #[serde(default)]
    pub protocol: DnsProtocol,
    /// How long to wait for an answer, in milliseconds (1 to 60000).
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1, max = 60000))]
    pub timeout_ms: u64,
}

fn default_record_type() -> String {
    "A".to_string()
}

fn default_timeout_ms() -> u64 {
    dns::DEFAULT_TIMEOUT_MS
}

impl Tool for DnsLookup {
    const NAME: &'static str = "dns_lookup";
    const TITLE: &'static str = "DNS lookup";
    const DESCRIPTION: &'static str = "Asks a DNS server one question, like `dig`: any common \
        record type (A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR and more), a reverse \
        lookup when `name` is an IP address, a chosen server (`ip` or `ip:port`) over UDP or \
        TCP. Returns the response code (NoError, NXDomain, ServFail, Refused…), every record \
        with its TTL as served, its presentation text and typed fields (MX preference and \
        exchange, SOA serial and timers, SRV priority/weight/port/target, CAA flags/tag/value…), \
        and the time taken. NXDOMAIN and empty answers are answers, not errors; a server that \
        stays silent gives a timeout error.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/dns/lookup";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    type Input = DnsLookupInput;
    type Output = LookupAnswer;

    fn call(ctx: ToolContext, input: DnsLookupInput) -> ToolFuture<LookupAnswer> {
        Box::pin(async move {
            // The actor enforces the lookup's own deadline; this one only
            // guards against a subsystem that stopped answering.
            let wait = Duration::from_millis(input.timeout_ms.min(dns::MAX_TIMEOUT_MS))
                + Duration::from_secs(5);
            let answer = ctx
                .subsystems
                .dns
                .ask_within(
                    Lookup {
                        name: input.name,
                        record_type: input.record_type,
                        server: input.server,
                        protocol: input.protocol,
                        timeout_ms: input.timeout_ms,
                    },
                    wait,
                )
                .await?;
            Ok(answer)
        })
    }
}
