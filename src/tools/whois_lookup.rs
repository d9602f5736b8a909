//! `whois_lookup`: who holds a domain name, IP address or AS number — every
//! server of the referral chain with its raw answer, and the key fields.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::whois::{self, WhoisAnswer, WhoisLookup as Lookup};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `whois_lookup` tool.
pub struct WhoisLookup;

/// `whois_lookup` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhoisLookupInput {
    /// A domain name (`example.com`; Unicode names are sent as punycode), an
    /// IPv4 or IPv6 address, or an AS number written `AS64500`.
    pub query: String,
    /// The whois server to ask first, `host` or `host:port` (port 43 by
    /// default). Without it, termbridge's server list picks one by the
    /// domain's suffix, or its IP or AS registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Follow referrals (registry → registrar, IANA → regional registry) and
    /// return every hop.
    #[serde(default = "default_follow_referrals")]
    pub follow_referrals: bool,
    /// Time budget for the whole chain, in milliseconds (1 to 120000).
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1, max = 120000))]
    pub timeout_ms: u64,
}

fn default_follow_referrals() -> bool {
    true
}

fn default_timeout_ms() -> u64 {
    whois::DEFAULT_TIMEOUT_MS
}

impl Tool for WhoisLookup {
    const NAME: &'static str = "whois_lookup";
    const TITLE: &'static str = "Whois lookup";
    const DESCRIPTION: &'static str = "Looks up who holds a domain name, IP address or AS \
        number (AS64500) over whois. Starts at the server termbridge's server list names for \
        it, follows referrals (registry → registrar, IANA → regional registry) and returns the \
        whole chain: each server with its raw answer, so nothing is hidden. Also parses the \
        common fields of the last answer where present: registrar, created/updated/expiry \
        dates, name servers, status, registrant organisation, and for networks the range, \
        CIDR, net name, country and origin AS. Answers are capped at 256 KiB per server; \
        referral loops are detected.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/whois";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
    type Input = WhoisLookupInput;
    type Output = WhoisAnswer;

    fn call(ctx: ToolContext, input: WhoisLookupInput) -> ToolFuture<WhoisAnswer> {
        Box::pin(async move {
            // The actor enforces the lookup's own deadline; this one only
            // guards against a subsystem that stopped answering.
            let wait = Duration::from_millis(input.timeout_ms.min(whois::MAX_TIMEOUT_MS))
                + Duration::from_secs(5);
            let answer = ctx
                .subsystems
                .whois
                .ask_within(
                    Lookup {
                        query: input.query,
                        server: input.server,
                        follow_referrals: input.follow_referrals,
                        timeout_ms: input.timeout_ms,
                    },
                    wait,
                )
                .await?;
            Ok(answer)
        })
    }
}
