//! `ip_addresses`: the machine's interfaces with their IPv4/IPv6 addresses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::net::{Interface, ListAddresses};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `ip_addresses` tool.
pub struct IpAddresses;

/// `ip_addresses` arguments.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpAddressesInput {}

/// What `ip_addresses` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IpAddressesOutput {
    /// Every interface with its addresses (loopback and link-local included).
    pub interfaces: Vec<Interface>,
}

impl Tool for IpAddresses {
    const NAME: &'static str = "ip_addresses";
    const TITLE: &'static str = "IP addresses";
    const DESCRIPTION: &'static str = "Lists this machine's network interfaces with each \
        IPv4 and IPv6 address, its prefix length and scope (host, link, site or global), \
        loopback and link-local addresses included. Reports one progress step per interface.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/net/addresses";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = IpAddressesInput;
    type Output = IpAddressesOutput;

    fn call(ctx: ToolContext, _input: IpAddressesInput) -> ToolFuture<IpAddressesOutput> {
        Box::pin(async move {
            let interfaces = ctx.subsystems.net.ask(ListAddresses {}).await?;
            let total = interfaces.len() as f64;
            for (n, iface) in interfaces.iter().enumerate() {
                ctx.progress.report(
                    (n + 1) as f64,
                    Some(total),
                    format!("{}: {} address(es)", iface.name, iface.addresses.len()),
                );
            }
            Ok(IpAddressesOutput { interfaces })
        })
    }
}
