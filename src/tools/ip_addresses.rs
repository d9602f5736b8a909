//! `ip_addresses`: the machine's interfaces with their IPv4/IPv6 addresses,
//! and, when asked, its public address as the Internet sees it (over DNS).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::net::{FindPublicAddress, Interface, ListAddresses, PublicAddress};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `ip_addresses` tool.
pub struct IpAddresses;

/// `ip_addresses` arguments.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpAddressesInput {
    /// Also find this machine's public IPv4/IPv6 address: a DNS question
    /// (`myip.opendns.com` A and AAAA by default) whose answer is the
    /// address the question came from.
    #[serde(default)]
    pub include_public: bool,
    /// The resolver to ask for the public address, `ip` or `ip:port`
    /// (default: the configured ones, resolver1.opendns.com over IPv4 and
    /// IPv6). Implies `include_public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
}

/// What `ip_addresses` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IpAddressesOutput {
    /// Every interface with its addresses (loopback and link-local included).
    pub interfaces: Vec<Interface>,
    /// The public addresses and how they were found (only with
    /// `include_public`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<PublicAddress>,
}

impl Tool for IpAddresses {
    const NAME: &'static str = "ip_addresses";
    const TITLE: &'static str = "IP addresses";
    const DESCRIPTION: &'static str = "Lists this machine's network interfaces with each \
        IPv4 and IPv6 address, its prefix length and scope (host, link, site or global), \
        loopback and link-local addresses included. With `include_public`, also finds the \
        public IPv4/IPv6 address over DNS (`myip.opendns.com` at resolver1.opendns.com by \
        default, or the `resolver` given) and says how (`public.method`); a question that \
        fails is listed in `public.errors`. Reports one progress step per interface (and one \
        for the public address).";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/net/addresses";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = IpAddressesInput;
    type Output = IpAddressesOutput;

    fn call(ctx: ToolContext, input: IpAddressesInput) -> ToolFuture<IpAddressesOutput> {
        Box::pin(async move {
            let interfaces = ctx.subsystems.net.ask(ListAddresses {}).await?;
            let include_public = input.include_public || input.resolver.is_some();
            let total = (interfaces.len() + usize::from(include_public)) as f64;
            for (n, iface) in interfaces.iter().enumerate() {
                ctx.progress.report(
                    (n + 1) as f64,
                    Some(total),
                    format!("{}: {} address(es)", iface.name, iface.addresses.len()),
                );
            }
            let public = if include_public {
                let found = ctx
                    .subsystems
                    .net
                    .ask_within(
                        FindPublicAddress {
                            resolver: input.resolver,
                        },
                        Duration::from_secs(15),
                    )
                    .await?;
                ctx.progress.report(
                    total,
                    Some(total),
                    format!(
                        "public: IPv4 {}, IPv6 {}",
                        found.ipv4.as_deref().unwrap_or("unknown"),
                        found.ipv6.as_deref().unwrap_or("unknown")
                    ),
                );
                Some(found)
            } else {
                None
            };
            Ok(IpAddressesOutput { interfaces, public })
        })
    }
}
