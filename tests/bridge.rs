//! `termbridge bridge`: the stdio <-> streamable HTTP proxy against a real
//! server. The official Python SDK stdio client drives it through a server
//! restart; by hand: notifications forwarded (the server's 202), retries
//! while the server is down, an error before the client's timeout when it
//! stays down, and — through a proxy that loses answers — a `session_run`
//! re-sent with the request_id the bridge gave it is typed once, while a
//! call that cannot be repeated safely is not re-sent.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::child::LineChild;
use common::{TOKEN, TestServer, py_script, python};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn mcp_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/mcp")
}

/// `termbridge bridge --url URL` with the token in the environment and
/// debug logs of the bridge on stderr.
fn bridge(url: &str, extra: &[&str]) -> LineChild {
    let mut args = vec!["bridge", "--url", url];
    args.extend_from_slice(extra);
    LineChild::termbridge(
        &args,
        &[
            ("TERMBRIDGE_TOKEN", TOKEN),
            ("RUST_LOG", "termbridge::bridge=debug,info"),
        ],
    )
}

fn initialize(child: &mut LineChild) -> Value {
    let answer = child.request(
        json!(0),
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "bridge-test", "version": "1"}}),
    );
    assert_eq!(
        answer["result"]["serverInfo"]["name"], "termbridge",
        "{answer}"
    );
    child.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    answer
}

fn tool(child: &mut LineChild, id: &str, name: &str, arguments: Value) -> Value {
    child.request(
        json!(id),
        "tools/call",
        json!({"name": name, "arguments": arguments}),
    )
}

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn official_python_sdk_through_the_bridge_survives_a_server_restart() {
    let port = free_port();
    let mut server = Some(TestServer::start_on(port, |_| {}));
    let dir = tempfile::tempdir().unwrap();
    let errlog = dir.path().join("bridge.log");
    let mut script = Command::new(python())
        .arg(py_script("mcp_stdio_check.py"))
        .args(["--command", env!("CARGO_BIN_EXE_termbridge")])
        .args([
            "--arg=bridge",
            "--arg=--url",
            &format!("--arg={}", mcp_url(port)),
        ])
        .args(["--env", &format!("TERMBRIDGE_TOKEN={TOKEN}")])
        .args(["--env", "RUST_LOG=termbridge::bridge=debug,info"])
        .args(["--errlog", errlog.to_str().unwrap(), "--restart"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mcp_stdio_check.py");
    let mut stdin = script.stdin.take().unwrap();
    let mut lines = BufReader::new(script.stdout.take().unwrap()).lines();
    let mut summary = None;
    for line in lines.by_ref() {
        let message: Value = serde_json::from_str(&line.unwrap()).unwrap();
        match message["phase"].as_str() {
            Some("restart") => {
                // The server goes away (its sessions with it) and comes
                // back on the same port; the client must not notice.
                drop(server.take());
                server = Some(TestServer::start_on(port, |_| {}));
                stdin.write_all(b"go\n").unwrap();
                stdin.flush().unwrap();
            }
            Some("done") => summary = Some(message["summary"].clone()),
            _ => panic!("unexpected line {message}"),
        }
    }
    let out = script.wait_with_output().unwrap();
    let log = std::fs::read_to_string(&errlog).unwrap_or_default();
    assert!(
        out.status.success(),
        "the SDK client through the bridge failed:\n{}\nbridge log:\n{log}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = summary.expect("a summary");
    assert_eq!(summary["serverName"], "termbridge");
    assert!(
        summary["run"]["progress"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert_eq!(summary["cancel"]["stopped"], "cancelled");
    assert_eq!(summary["after_restart"]["run"]["exit_code"], 3);
    // Notifications went through and the server answered 2xx (202).
    for what in [
        "notifications/initialized forwarded: HTTP 202",
        "notifications/roots/list_changed forwarded: HTTP 202",
        "notifications/cancelled forwarded: HTTP 202",
    ] {
        assert!(log.contains(what), "bridge log lacks {what:?}:\n{log}");
    }
    assert!(
        log.contains("did not know our session"),
        "no re-initialization after the restart:\n{log}"
    );
}

#[test]
fn notifications_get_the_servers_2xx_and_nothing_goes_back_to_the_client() {
    let server = TestServer::start();
    let mut child = bridge(&server.at("/mcp"), &[]);
    initialize(&mut child);
    child.wait_stderr("notifications/initialized forwarded: HTTP 202");
    child.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 12345, "reason": "nothing runs"}}),
    );
    child.wait_stderr("notifications/cancelled forwarded: HTTP 202");
    // Nothing was written for the notifications: the next line answers this.
    child.send(&json!({"jsonrpc": "2.0", "id": "after", "method": "ping"}));
    let next = child.next_json();
    assert_eq!(next, json!({"jsonrpc": "2.0", "id": "after", "result": {}}));
    // The token never appears on the command line.
    child.drain_stderr();
    assert!(!child.stderr_seen.iter().any(|l| l.contains(TOKEN)));
}

#[test]
fn progress_arrives_over_sse_before_the_result() {
    let server = TestServer::start();
    let mut child = bridge(&server.at("/mcp"), &[]);
    initialize(&mut child);
    let sid =
        tool(&mut child, "open", "session_open", json!({}))["result"]["structuredContent"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    child.send(
        &json!({"jsonrpc": "2.0", "id": "run", "method": "tools/call", "params": {
        "name": "session_run", "_meta": {"progressToken": "pt"},
        "arguments": {"session_id": sid, "command": "sleep 1.2; echo via-bridge"}}}),
    );
    let (before, answer) = child.until_response(&json!("run"));
    assert!(!before.is_empty(), "no progress before the result");
    for note in &before {
        assert_eq!(note["method"], "notifications/progress", "{note}");
        assert_eq!(note["params"]["progressToken"], "pt");
    }
    let result = &answer["result"]["structuredContent"];
    assert_eq!(result["status"], "completed", "{answer}");
    assert_eq!(result["output"], "via-bridge");
}

#[test]
fn the_bridge_retries_until_the_server_listens() {
    let port = free_port();
    let mut child = bridge(&mcp_url(port), &[]);
    child.send(
        &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "bridge-test", "version": "1"}}}),
    );
    // Nothing listens yet: the bridge says it retries.
    child.wait_stderr("retrying in");
    let _server = TestServer::start_on(port, |_| {});
    let (_, answer) = child.until_response(&json!(0));
    assert_eq!(
        answer["result"]["protocolVersion"], "2025-06-18",
        "{answer}"
    );
    let listed = child.request(json!(1), "tools/list", json!({}));
    assert_eq!(
        listed["result"]["tools"].as_array().unwrap().len(),
        termbridge::tools::TOOLS.len()
    );
}

#[test]
fn a_server_that_stays_down_gets_an_error_before_the_clients_timeout() {
    let port = free_port();
    let mut child = bridge(&mcp_url(port), &["--retry-secs", "1"]);
    let answer = child.request(json!("x"), "tools/list", json!({}));
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("unreachable"), "{message}");
    assert!(message.contains(&port.to_string()), "{message}");
}

#[test]
fn a_wrong_url_gets_a_json_rpc_error_naming_the_status() {
    let server = TestServer::start();
    let mut child = bridge(&server.at("/not-mcp"), &[]);
    let answer = child.request(json!(3), "tools/list", json!({}));
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 404"),
        "{answer}"
    );
}

#[test]
fn only_http_urls_are_taken() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(["bridge", "--url", "https://127.0.0.1:1985/mcp"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only http:// URLs"));
}

#[test]
fn a_wrong_token_is_reported_to_the_client() {
    let server = TestServer::start();
    let mut child = LineChild::termbridge(
        &[
            "bridge",
            "--url",
            &server.at("/mcp"),
            "--token-env",
            "MY_TB_TOKEN",
        ],
        &[("MY_TB_TOKEN", "wrong-token-0123456789")],
    );
    let answer = child.request(json!(1), "tools/list", json!({}));
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("401"), "{answer}");
    assert!(
        message.contains("MY_TB_TOKEN") || message.contains("token"),
        "{message}"
    );
}

/// A TCP proxy in front of the server that can lose the answer to the
/// next request containing a given text: the request reaches the server,
/// the connection is then cut before the answer gets back.
struct LossyProxy {
    port: u16,
    lose_next: Arc<Mutex<Option<String>>>,
    /// How many requests contained each watched text.
    seen: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

impl LossyProxy {
    fn start(upstream: u16, watch: &[&str]) -> LossyProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let lose_next: Arc<Mutex<Option<String>>> = Default::default();
        let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::new(Mutex::new(
            watch.iter().map(|w| (w.to_string(), 0)).collect(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let (lose, counts) = (lose_next.clone(), seen.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let serial = Arc::new(AtomicUsize::new(0));
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    let (lose, counts) = (lose.clone(), counts.clone());
                    serial.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(proxy_connection(client, upstream, lose, counts));
                }
            });
        });
        LossyProxy {
            port,
            lose_next,
            seen,
            stop,
        }
    }

    fn lose_answer_to_next(&self, text: &str) {
        *self.lose_next.lock().unwrap() = Some(text.to_string());
    }

    fn seen(&self, text: &str) -> usize {
        self.seen.lock().unwrap()[text]
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn proxy_connection(
    mut client: tokio::net::TcpStream,
    upstream: u16,
    lose: Arc<Mutex<Option<String>>>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
) {
    let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let mut sent = Vec::new();
    let mut counted: HashMap<String, usize> = HashMap::new();
    let mut losing = false;
    let mut from_client = vec![0u8; 64 * 1024];
    let mut from_server = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            n = client.read(&mut from_client) => {
                let Ok(n @ 1..) = n else { return };
                sent.extend_from_slice(&from_client[..n]);
                let text = String::from_utf8_lossy(&sent).into_owned();
                {
                    let mut totals = counts.lock().unwrap();
                    for (needle, total) in totals.iter_mut() {
                        let now = text.matches(needle.as_str()).count();
                        let before = counted.insert(needle.clone(), now).unwrap_or(0);
                        *total += now - before;
                    }
                }
                {
                    let mut armed = lose.lock().unwrap();
                    if armed.as_deref().is_some_and(|t| text.contains(t)) {
                        *armed = None;
                        losing = true;
                    }
                }
                if server.write_all(&from_client[..n]).await.is_err() {
                    return;
                }
            }
            n = server.read(&mut from_server) => {
                let Ok(n @ 1..) = n else { return };
                if losing {
                    // The server answered; the client never hears it.
                    return;
                }
                if client.write_all(&from_server[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[test]
fn a_lost_session_run_answer_is_re_sent_with_its_request_id_and_typed_once() {
    let server = TestServer::start();
    let proxy = LossyProxy::start(
        server.port,
        &["\"name\":\"session_run\"", "session_send_keys"],
    );
    let mut child = bridge(&mcp_url(proxy.port), &[]);
    initialize(&mut child);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typed.txt");
    let open = tool(&mut child, "open", "session_open", json!({}));
    let sid = open["result"]["structuredContent"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // No request_id from the client: the bridge adds one before sending.
    proxy.lose_answer_to_next("\"name\":\"session_run\"");
    let command = format!("echo once >> {}", file.display());
    let answer = tool(
        &mut child,
        "run",
        "session_run",
        json!({"session_id": sid, "command": command}),
    );
    let result = &answer["result"]["structuredContent"];
    assert_eq!(result["status"], "completed", "{answer}");
    assert_eq!(
        proxy.seen("\"name\":\"session_run\""),
        2,
        "the first answer was lost, so the bridge sent it again"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "once\n",
        "typed exactly once"
    );
    child.wait_stderr("retrying in");

    // session_send_keys has no request_id: after a lost answer the bridge
    // does not send it again, and says the call may or may not have run.
    proxy.lose_answer_to_next("session_send_keys");
    let keys = tool(
        &mut child,
        "keys",
        "session_send_keys",
        json!({"session_id": sid, "text": format!("echo keys >> {}", file.display()), "keys": ["Enter"]}),
    );
    let message = keys["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("may or may not have run"), "{keys}");
    assert_eq!(proxy.seen("session_send_keys"), 1, "not re-sent");
}
