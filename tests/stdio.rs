//! `termbridge stdio`: MCP on stdin/stdout, driven by the official Python
//! SDK stdio client (tests/py/mcp_stdio_check.py) and by hand: only
//! JSON-RPC on stdout, progress before the result, requests served
//! concurrently, cancellation, and a clean exit at end of input that
//! closes the sessions it opened.

mod common;

use std::process::Command;

use common::child::LineChild;
use common::{py_script, python};
use serde_json::{Value, json};

/// Environment that keeps the token file and recordings out of $HOME.
fn isolated(dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        (
            "TERMBRIDGE_CONFIG_DIR".into(),
            dir.join("config").display().to_string(),
        ),
        (
            "TERMBRIDGE_DATA_DIR".into(),
            dir.join("data").display().to_string(),
        ),
    ]
}

fn stdio_child(dir: &std::path::Path) -> LineChild {
    let env = isolated(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    LineChild::termbridge(&["stdio"], &env)
}

fn initialize(child: &mut LineChild) -> Value {
    let answer = child.request(
        json!(0),
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "stdio-test", "version": "1"}}),
    );
    child.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    answer
}

fn tool(child: &mut LineChild, id: i64, name: &str, arguments: Value) -> Value {
    let answer = child.request(
        json!(id),
        "tools/call",
        json!({"name": name, "arguments": arguments}),
    );
    assert_eq!(answer["result"]["isError"], false, "{name}: {answer}");
    answer["result"]["structuredContent"].clone()
}

#[test]
fn official_python_sdk_drives_termbridge_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(python());
    command.arg(py_script("mcp_stdio_check.py")).args([
        "--command",
        env!("CARGO_BIN_EXE_termbridge"),
        "--arg",
        "stdio",
    ]);
    for (k, v) in isolated(dir.path()) {
        command.args(["--env", &format!("{k}={v}")]);
    }
    let out = command.output().expect("run mcp_stdio_check.py");
    assert!(
        out.status.success(),
        "the official SDK stdio client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    let summary = &last["summary"];
    assert_eq!(summary["serverName"], "termbridge");
    assert_eq!(
        summary["tools"].as_array().unwrap().len(),
        termbridge::tools::TOOLS.len()
    );
    assert_eq!(summary["run"]["exit_code"], 3);
    assert!(
        summary["run"]["progress"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert_eq!(summary["cancel"]["stopped"], "cancelled");
}

#[test]
fn stdout_is_json_rpc_only_with_progress_before_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = stdio_child(dir.path());
    let init = initialize(&mut child);
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(init["result"]["serverInfo"]["name"], "termbridge");
    // Logs go to stderr.
    child.wait_stderr("serving MCP on stdin/stdout");
    let listed = child.request(json!(1), "tools/list", json!({}));
    assert_eq!(
        listed["result"],
        *termbridge::mcp::tools_list(),
        "the same tools/list as over HTTP"
    );
    let session = tool(&mut child, 2, "session_open", json!({}));
    let sid = session["id"].as_str().unwrap().to_string();

    // A long command with a progress token, and a ping sent after it: the
    // ping is answered while the command still runs.
    child.send(
        &json!({"jsonrpc": "2.0", "id": "run", "method": "tools/call", "params": {
        "name": "session_run", "_meta": {"progressToken": 7},
        "arguments": {"session_id": sid, "command": "sleep 1.2; echo done-$((6*7))"}}}),
    );
    // The first progress line says the command was sent.
    let first = child.next_json();
    assert_eq!(first["method"], "notifications/progress", "{first}");
    assert_eq!(first["params"]["progressToken"], 7);
    child.send(&json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}));
    let (before, pong) = child.until_response(&json!("p"));
    assert_eq!(pong["result"], json!({}));
    assert!(
        before
            .iter()
            .all(|m| m["method"] == "notifications/progress"),
        "{before:?}"
    );
    let (progress, result) = child.until_response(&json!("run"));
    let structured = &result["result"]["structuredContent"];
    assert_eq!(structured["status"], "completed", "{result}");
    assert_eq!(structured["output"], "done-42");
    let mut values = vec![first["params"]["progress"].as_f64().unwrap()];
    for note in before.iter().chain(&progress) {
        assert_eq!(note["method"], "notifications/progress");
        assert_eq!(note["params"]["progressToken"], 7);
        values.push(note["params"]["progress"].as_f64().unwrap());
    }
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");

    // Protocol faults get JSON-RPC errors, on stdout, one line each.
    child.send_line("this is not json");
    let fault = child.next_json();
    assert_eq!(fault["error"]["code"], -32700);
    assert_eq!(fault["id"], Value::Null);
    let unknown = child.request(json!(9), "no/such/method", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    child.close_stdin();
    assert!(child.wait_exit().success());
}

#[test]
fn end_of_input_closes_the_sessions_it_opened_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = stdio_child(dir.path());
    initialize(&mut child);
    let mut pids = Vec::new();
    for id in 1..=2 {
        let session = tool(&mut child, id, "session_open", json!({}));
        pids.push(session["pid"].as_u64().unwrap() as i32);
    }
    for pid in &pids {
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
    child.close_stdin();
    let status = child.wait_exit();
    assert!(status.success(), "{status}");
    child.drain_stderr();
    for pid in &pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "shell {pid} outlived termbridge stdio; stderr:\n{}",
            child.stderr_seen.join("\n")
        );
    }
}

#[test]
fn a_cancelled_request_stops_and_a_request_at_eof_is_still_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = stdio_child(dir.path());
    initialize(&mut child);
    child.send(
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "ping", "_meta": {"progressToken": "t"},
        "arguments": {"host": "127.0.0.1", "count": 20, "interval_ms": 200}}}),
    );
    let note = child.next_json();
    assert_eq!(note["method"], "notifications/progress", "{note}");
    child.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 5, "reason": "enough"}}),
    );
    let (_, answer) = child.until_response(&json!(5));
    let result = &answer["result"]["structuredContent"];
    assert_eq!(result["stopped"], "cancelled", "{answer}");
    assert!(result["replies"].as_array().unwrap().len() < 20);
    // A request whose line is followed by end of input is still answered.
    child.send(&json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
        "params": {"name": "server_info", "arguments": {}}}));
    child.close_stdin();
    let (_, info) = child.until_response(&json!(6));
    assert_eq!(info["result"]["structuredContent"]["name"], "termbridge");
    assert!(child.wait_exit().success());
}
