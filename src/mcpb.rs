//! The MCP bundle (`.mcpb`) manifest, generated from the tool registry.
//!
//! `scripts/build-mcpb.sh` writes it next to the `termbridge` binary and
//! packs both with the official `mcpb` CLI. The bundle's server is the
//! binary itself, run as `termbridge bridge` against the local server on
//! the configured port, with the configured token (or, when the token is
//! left empty, the token file of the user's config directory): no Docker,
//! no Node at run time. The `tools` list is the server's `tools/list`
//! (names and descriptions), so it cannot drift from what the server offers.

use serde_json::{Value, json};

use crate::tools::TOOLS;

/// The MCPB manifest version written (the current one of the MCPB spec).
pub const MANIFEST_VERSION: &str = "0.4";

/// The platform name MCPB uses for the machine this binary was built for.
pub fn platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    }
}

/// The manifest for a bundle holding this binary as `server/termbridge`.
pub fn manifest() -> Value {
    let tools: Vec<Value> = TOOLS
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description}))
        .collect();
    json!({
        "manifest_version": MANIFEST_VERSION,
        "name": "termbridge",
        "display_name": "termbridge",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Drive terminals (local shells, SSH) and network tools (DNS, whois, ping, traceroute) on this machine.",
        "long_description": "Connects Claude to a running `termbridge serve` on this machine and shares its \
            terminal sessions: open shells and ssh logins, run commands with exit codes and bounded output, \
            read the screen of full-screen programs, and look up DNS, whois, addresses, ping and traceroute. \
            Start the server first (`termbridge serve`, or the systemd/launchd units in contrib/); the token \
            is printed by `termbridge token`. Leave the token empty to read it from the token file.",
        "author": {"name": "termbridge developers"},
        "license": "MIT OR Apache-2.0",
        "keywords": ["terminal", "shell", "ssh", "dns", "whois", "ping", "traceroute"],
        "server": {
            "type": "binary",
            "entry_point": "server/termbridge",
            "mcp_config": {
                "command": "${__dirname}/server/termbridge",
                "args": ["bridge", "--url", "http://127.0.0.1:${user_config.port}/mcp"],
                "env": {"TERMBRIDGE_TOKEN": "${user_config.token}"}
            }
        },
        "tools": tools,
        "user_config": {
            "port": {
                "type": "number",
                "title": "Port",
                "description": "The port `termbridge serve` listens on (127.0.0.1).",
                "default": 1985,
                "min": 1,
                "max": 65535,
                "required": false
            },
            "token": {
                "type": "string",
                "title": "Bearer token",
                "description": "The server's token (`termbridge token`). Leave empty to read the token file of your termbridge config directory.",
                "sensitive": true,
                "required": false,
                "default": ""
            }
        },
        "compatibility": {"platforms": [platform()]}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lists_every_tool_and_runs_the_bridge() {
        let m = manifest();
        assert_eq!(m["server"]["type"], "binary");
        assert_eq!(m["tools"].as_array().unwrap().len(), TOOLS.len());
        let args = m["server"]["mcp_config"]["args"].as_array().unwrap();
        assert_eq!(args[0], "bridge");
        assert!(
            m["server"]["mcp_config"]["command"]
                .as_str()
                .unwrap()
                .ends_with(m["server"]["entry_point"].as_str().unwrap())
        );
    }
}
