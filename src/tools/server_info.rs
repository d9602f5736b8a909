//! `server_info`: name, version, MCP versions, uptime, tools and the state of
//! every subsystem.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::SubsystemStatus;

use super::{Annotations, HttpMethod, Scope, TOOLS, Tool, ToolContext, ToolFuture};
use crate::mcp::SUPPORTED_PROTOCOL_VERSIONS;

/// The `server_info` tool.
pub struct ServerInfo;

/// `server_info` takes no arguments.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerInfoInput {}

/// What `server_info` answers.
// (The names are borrowed from the binary: no copies to make and free on
// every call. Doc comments here are schema descriptions.)
#[derive(Debug, Serialize, JsonSchema)]
pub struct ServerInfoOutput {
    /// Always `termbridge`.
    pub name: &'static str,
    /// The server's version.
    pub version: &'static str,
    /// MCP protocol versions this server speaks, newest first.
    pub mcp_protocol_versions: &'static [&'static str],
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// Names of the tools this server offers.
    pub tools: Vec<&'static str>,
    /// Each subsystem's state and restart count.
    pub subsystems: Vec<SubsystemStatus>,
}

impl Tool for ServerInfo {
    const NAME: &'static str = "server_info";
    const TITLE: &'static str = "Server information";
    const DESCRIPTION: &'static str = "Returns termbridge's name and version, the MCP protocol \
        versions it speaks, its uptime, the tools it offers and the state of each subsystem \
        (running or restarting, with restart counts). Call it first to check the connection.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/info";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = ServerInfoInput;
    type Output = ServerInfoOutput;

    fn call(ctx: ToolContext, _input: ServerInfoInput) -> ToolFuture<ServerInfoOutput> {
        Box::pin(async move {
            Ok(ServerInfoOutput {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
                mcp_protocol_versions: SUPPORTED_PROTOCOL_VERSIONS,
                uptime_seconds: ctx.subsystems.uptime().as_secs(),
                tools: TOOLS.iter().map(|t| t.name).collect(),
                subsystems: ctx.subsystems.status(),
            })
        })
    }
}
