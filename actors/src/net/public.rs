//! This machine's public IPv4/IPv6 address as the Internet sees it, found
//! over DNS: resolvers such as OpenDNS answer a special name
//! (`myip.opendns.com`) with the address the question came from. The
//! questions go through the DnsActor, like every other DNS question.

use std::net::SocketAddr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use crate::dns::{DnsActor, DnsProtocol, Lookup, parse_server};
use crate::error::ActorResult;
use crate::supervisor::Subsystem;

/// The name asked by default.
pub const DEFAULT_NAME: &str = "myip.opendns.com";
/// The resolvers asked by default: resolver1.opendns.com over IPv4 and IPv6.
pub const DEFAULT_RESOLVERS: [&str; 2] = ["208.67.222.222:53", "[2620:119:35::35]:53"];
/// How long each question may take, in milliseconds.
pub const TIMEOUT_MS: u64 = 3_000;

/// Settings of the public address lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIpConfig {
    /// The name whose A/AAAA answer is the asker's address.
    pub name: String,
    /// The resolvers answering it: A is asked of the first IPv4 one (else
    /// the first), AAAA of the first IPv6 one (else the first).
    pub resolvers: Vec<SocketAddr>,
}

impl Default for PublicIpConfig {
    fn default() -> Self {
        PublicIpConfig {
            name: DEFAULT_NAME.to_string(),
            resolvers: DEFAULT_RESOLVERS
                .iter()
                .map(|s| s.parse().expect("default resolvers parse"))
                .collect(),
        }
    }
}

/// Find the public addresses.
#[derive(Debug, Clone, Default, actix::Message)]
#[rtype(result = "ActorResult<PublicAddress>")]
pub struct FindPublicAddress {
    /// Ask this resolver (`ip` or `ip:port`) for both A and AAAA instead of
    /// the configured ones.
    pub resolver: Option<String>,
}

/// The public addresses and how they were found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PublicAddress {
    /// The public IPv4 address; null when it could not be found.
    pub ipv4: Option<String>,
    /// The public IPv6 address; null when there is none or it could not be found.
    pub ipv6: Option<String>,
    /// How: the questions asked and of whom.
    pub method: String,
    /// What went wrong with a question, if anything (one line each).
    pub errors: Vec<String>,
}

/// The resolver for A (`v6 == false`) or AAAA questions.
fn pick(resolvers: &[SocketAddr], v6: bool) -> Option<SocketAddr> {
    resolvers
        .iter()
        .find(|r| r.is_ipv6() == v6)
        .or_else(|| resolvers.first())
        .copied()
}

/// Asks the questions; a failed question is an entry in `errors`, not a
/// failure of the whole lookup.
pub async fn find(
    dns: &Subsystem<DnsActor>,
    config: &PublicIpConfig,
    msg: FindPublicAddress,
) -> ActorResult<PublicAddress> {
    let resolvers = match &msg.resolver {
        Some(raw) => vec![parse_server(raw).map_err(|e| {
            crate::ActorError::InvalidInput(e.to_string().replacen("server:", "resolver:", 1))
        })?],
        None => config.resolvers.clone(),
    };
    let a = pick(&resolvers, false);
    let aaaa = pick(&resolvers, true);
    let ask = |record_type: &'static str, server: Option<SocketAddr>| {
        let name = config.name.clone();
        async move {
            let server = server?;
            let answer = dns
                .ask_within(
                    Lookup {
                        name,
                        record_type: record_type.to_string(),
                        server: Some(server.to_string()),
                        protocol: DnsProtocol::Udp,
                        timeout_ms: TIMEOUT_MS,
                    },
                    Duration::from_millis(TIMEOUT_MS + 2_000),
                )
                .await;
            Some((record_type, server, answer))
        }
    };
    let (v4, v6) = futures::join!(ask("A", a), ask("AAAA", aaaa));
    let mut errors = Vec::new();
    let mut asked = Vec::new();
    let mut found = |result: Option<(&str, SocketAddr, ActorResult<crate::dns::LookupAnswer>)>| {
        let (record_type, server, answer) = result?;
        asked.push(format!("{record_type} of {server}"));
        match answer {
            Ok(answer) => {
                let address = answer
                    .records
                    .iter()
                    .find(|r| r.record_type == record_type)
                    .map(|r| r.data.clone());
                if address.is_none() {
                    errors.push(format!(
                        "{record_type} of {server}: no address in the answer ({})",
                        answer.response_code
                    ));
                }
                address
            }
            Err(e) => {
                errors.push(format!("{record_type} of {server}: {e}"));
                None
            }
        }
    };
    let ipv4 = found(v4);
    let ipv6 = found(v6);
    Ok(PublicAddress {
        ipv4,
        ipv6,
        method: format!("DNS: {} asked as {}", config.name, asked.join(" and ")),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goes_to_an_ipv4_resolver_and_aaaa_to_an_ipv6_one() {
        let both = PublicIpConfig::default().resolvers;
        assert_eq!(
            pick(&both, false),
            Some("208.67.222.222:53".parse().unwrap())
        );
        assert_eq!(
            pick(&both, true),
            Some("[2620:119:35::35]:53".parse().unwrap())
        );
        let one: Vec<SocketAddr> = vec!["127.0.0.1:5353".parse().unwrap()];
        assert_eq!(pick(&one, true), Some(one[0]));
        assert_eq!(pick(&[], true), None);
    }
}
