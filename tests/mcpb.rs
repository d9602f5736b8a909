//! The MCP bundle: scripts/build-mcpb.sh builds a `.mcpb` around the
//! (debug) binary and validates it with the official `@anthropic-ai/mcpb`
//! CLI; its manifest's tools are the server's tools/list; and the bundled
//! binary, started the way a host starts it, serves MCP over stdio.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::child::LineChild;
use common::{TOKEN, TestServer};
use serde_json::{Value, json};

/// Builds the bundle into `dir`; returns its path.
fn build_bundle(dir: &Path) -> PathBuf {
    let out = dir.join("termbridge-test.mcpb");
    let run = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-mcpb.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_termbridge")])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run scripts/build-mcpb.sh");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "build-mcpb.sh failed:\n{stderr}");
    assert!(
        stderr.contains("Manifest schema validation passes!"),
        "the official CLI did not validate the manifest:\n{stderr}"
    );
    let printed = String::from_utf8_lossy(&run.stdout);
    assert_eq!(printed.trim().lines().last(), Some(out.to_str().unwrap()));
    out
}

fn unzip(bundle: &Path, into: &Path) {
    let status = Command::new("unzip")
        .arg("-q")
        .arg(bundle)
        .arg("-d")
        .arg(into)
        .status()
        .expect("run unzip");
    assert!(status.success());
}

async fn served_tools(server: &TestServer) -> Vec<Value> {
    let (status, answer) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(status, 200);
    answer["result"]["tools"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_bundle_is_built_validated_and_lists_the_servers_tools() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = build_bundle(dir.path());
    let unpacked = dir.path().join("unpacked");
    unzip(&bundle, &unpacked);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();

    // The manifest's tools are the server's tools/list: same names, same
    // descriptions, same order.
    let server = TestServer::start();
    let served = served_tools(&server).await;
    let listed = manifest["tools"].as_array().unwrap();
    assert_eq!(listed.len(), served.len());
    for (m, s) in listed.iter().zip(&served) {
        assert_eq!(m["name"], s["name"]);
        assert_eq!(m["description"], s["description"], "{}", s["name"]);
    }

    // A binary server with user config for port and token; nothing but
    // the binary runs.
    assert_eq!(manifest["manifest_version"], "0.4");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    let server_entry = &manifest["server"];
    assert_eq!(server_entry["type"], "binary");
    assert_eq!(server_entry["entry_point"], "server/termbridge");
    let config = &server_entry["mcp_config"];
    assert_eq!(config["command"], "${__dirname}/server/termbridge");
    let text = config.to_string();
    for runtime in ["docker", "node", "npx", "python", "uvx"] {
        assert!(!text.contains(runtime), "{runtime} in {text}");
    }
    let user = &manifest["user_config"];
    assert_eq!(user["port"]["type"], "number");
    assert_eq!(user["port"]["default"], 1985);
    assert_eq!(user["token"]["type"], "string");
    assert_eq!(user["token"]["sensitive"], true);
    assert!(text.contains("${user_config.port}") && text.contains("${user_config.token}"));

    // Start the bundled binary as a host would, with the placeholders
    // filled in, against a running server.
    let binary = unpacked.join("server/termbridge");
    let fill = |s: &str| {
        s.replace("${__dirname}", unpacked.to_str().unwrap())
            .replace("${user_config.port}", &server.port.to_string())
            .replace("${user_config.token}", TOKEN)
    };
    let mut command = Command::new(fill(config["command"].as_str().unwrap()));
    assert_eq!(
        Path::new(&fill(config["command"].as_str().unwrap())),
        binary
    );
    for arg in config["args"].as_array().unwrap() {
        command.arg(fill(arg.as_str().unwrap()));
    }
    for (k, v) in config["env"].as_object().unwrap() {
        command.env(k, fill(v.as_str().unwrap()));
    }
    let mut host = LineChild::spawn(command);
    let init = host.request(
        json!(0),
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "mcpb-host", "version": "1"}}),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "termbridge", "{init}");
    let listed = host.request(json!(1), "tools/list", json!({}));
    assert_eq!(
        listed["result"]["tools"].as_array().unwrap().len(),
        served.len()
    );
}
