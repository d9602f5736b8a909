//! The official MCP Python SDK client against a real server: initialize with
//! each protocol version, list tools, call them, validate structuredContent
//! against each tool's outputSchema (tests/py/mcp_client_check.py).

mod common;

use std::process::Command;

use common::{TestServer, py_script, python};
use serde_json::Value;

fn check_with_sdk(version: &str) -> Value {
    let server = TestServer::start();
    let out = Command::new(python())
        .arg(py_script("mcp_client_check.py"))
        .args(["--url", &server.at("/mcp")])
        .args(["--token", &server.token])
        .args(["--protocol-version", version])
        .args(["--call", "server_info", "--call", "ip_addresses"])
        .output()
        .expect("run mcp_client_check.py");
    assert!(
        out.status.success(),
        "the official SDK client failed with protocol {version}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON summary line")
}

#[test]
fn official_python_client_with_2025_06_18() {
    let summary = check_with_sdk("2025-06-18");
    assert_eq!(summary["protocolVersion"], "2025-06-18");
    assert_eq!(summary["calls"]["server_info"]["name"], "termbridge");
    assert!(summary["calls"]["ip_addresses"]["interfaces"].is_array());
}

#[test]
fn official_python_client_with_2025_11_25() {
    let summary = check_with_sdk("2025-11-25");
    assert_eq!(summary["protocolVersion"], "2025-11-25");
    let tools: Vec<&str> = summary["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tools.contains(&"server_info") && tools.contains(&"ip_addresses"));
}
