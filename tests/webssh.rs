//! Drop-in for WebSSH users: termbridge behind the exact gateway wrapper
//! WebSSH's Claude Desktop extension runs (ContextForge `mcpgateway.wrapper`
//! 0.9.0, installed by scripts/setup-test-env.sh), and retries that never
//! run a command twice.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::{TestServer, client};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn gateway_python() -> PathBuf {
    PathBuf::from(
        std::env::var_os("TERMBRIDGE_TEST_GATEWAY_PYTHON").unwrap_or_else(|| {
            panic!("TERMBRIDGE_TEST_GATEWAY_PYTHON is not set: run the tests with scripts/test.sh")
        }),
    )
}

/// The wrapper as Claude Desktop runs it: stdio in and out, env config.
struct Wrapper {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Wrapper {
    fn start(url: &str, token: &str) -> Wrapper {
        let mut child = Command::new(gateway_python())
            .args(["-m", "mcpgateway.wrapper"])
            .env("MCP_SERVER_URL", url)
            .env("MCP_AUTH", format!("Bearer {token}"))
            // The default 60 s tool-call timeout, as the extension ships it.
            .env("MCP_WRAPPER_LOG_LEVEL", "OFF")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcpgateway.wrapper");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Wrapper {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Reads answers until every id in `ids` has its own; fails on any
    /// stray line (an error with id "bridge", or an unexpected id).
    fn answers(&mut self, ids: &[i64], within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        let mut got: Vec<Value> = Vec::new();
        while got.len() < ids.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no answer for all of {ids:?} within {within:?}; got {got:?}")
            });
            let message: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
            let id = message["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("stray line from the wrapper: {line}"));
            assert!(ids.contains(&id), "unexpected id in {line}");
            assert!(message.get("error").is_none(), "error answer: {line}");
            got.push(message);
        }
        got.sort_by_key(|m| m["id"].as_i64());
        got
    }
}

impl Drop for Wrapper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

fn structured(answer: &Value) -> &Value {
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    &answer["result"]["structuredContent"]
}

fn handshake(wrapper: &mut Wrapper) {
    wrapper.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "claude-ai", "version": "0.1.0"}}}),
    );
    let init = wrapper.answers(&[1], Duration::from_secs(60));
    assert_eq!(init[0]["result"]["serverInfo"]["name"], "termbridge");
    wrapper.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
}

#[test]
fn the_webssh_gateway_wrapper_drives_termbridge_unchanged() {
    let server = TestServer::start();
    let mut wrapper = Wrapper::start(&server.url, &server.token);
    handshake(&mut wrapper);
    wrapper.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    wrapper.send(call(3, "server_info", json!({})));
    wrapper.send(call(4, "session_open", json!({"name": "from-webssh"})));
    let answers = wrapper.answers(&[2, 3, 4], Duration::from_secs(60));
    let tools = answers[0]["result"]["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t["name"] == "session_run"));
    assert_eq!(structured(&answers[1])["name"], "termbridge");
    let session = structured(&answers[2])["id"].as_str().unwrap().to_string();
    // Several calls in flight at once come back each with its own id.
    wrapper.send(call(
        5,
        "session_run",
        json!({"session_id": session, "command": "echo one"}),
    ));
    wrapper.send(call(6, "ip_addresses", json!({})));
    wrapper.send(call(7, "session_list", json!({})));
    wrapper.send(call(
        8,
        "session_run",
        json!({"session_id": "s_missing", "command": "true"}),
    ));
    let answers = wrapper.answers(&[5, 6, 7, 8], Duration::from_secs(60));
    assert_eq!(structured(&answers[0])["output"], "one");
    assert!(structured(&answers[1])["interfaces"].is_array());
    assert_eq!(
        structured(&answers[2])["sessions"][0]["name"],
        "from-webssh"
    );
    // A tool-level problem is a result with isError, never a bridge error.
    assert_eq!(answers[3]["result"]["isError"], true);
    wrapper.send(call(9, "session_close", json!({"session_id": session})));
    let closed = wrapper.answers(&[9], Duration::from_secs(60));
    assert_eq!(structured(&closed[0])["status"], "exited");
}

#[test]
fn a_90_second_session_run_over_sse_is_not_sent_twice() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("runs");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let upstream = server.at("").trim_start_matches("http://").to_string();
    let (proxy, posts) = runtime.block_on(flaky_proxy(upstream, "sleep 90", None));
    let mut wrapper = Wrapper::start(&proxy, &server.token);
    handshake(&mut wrapper);
    wrapper.send(call(2, "session_open", json!({})));
    let session = structured(&wrapper.answers(&[2], Duration::from_secs(60))[0])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let command = format!("echo run >> {}; sleep 90; echo finished", marker.display());
    wrapper.send(call(
        3,
        "session_run",
        json!({"session_id": session, "command": command, "timeout_ms": 120000}),
    ));
    let done = wrapper.answers(&[3], Duration::from_secs(150));
    let result = structured(&done[0]);
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["output"], "finished");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "run\n",
        "the command ran more than once"
    );
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1,
        "the wrapper re-sent the call"
    );
}

/// A loopback proxy in front of the server that counts the requests
/// containing `trigger`. Each client connection carries one request (it
/// answers with `Connection: close`). With `arrived`, the first such request
/// is forwarded and, once `arrived` exists (the server has started the
/// work), both connections are dropped without an answer, as a flaky
/// network would; everything else passes through.
async fn flaky_proxy(
    server: String,
    trigger: &'static str,
    arrived: Option<PathBuf>,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        let mut dropped = false;
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let request = read_request(&mut inbound).await;
            let text = String::from_utf8_lossy(&request).to_string();
            if text.contains(trigger) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            let mut upstream = tokio::net::TcpStream::connect(&server).await.unwrap();
            let forwarded = text.replacen("\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1);
            upstream.write_all(forwarded.as_bytes()).await.unwrap();
            if let Some(arrived) = arrived
                .as_ref()
                .filter(|_| !dropped && text.contains(trigger))
            {
                dropped = true;
                let deadline = Instant::now() + Duration::from_secs(30);
                while !arrived.exists() && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                drop(upstream);
                drop(inbound);
                continue;
            }
            // Stream the answer through (SSE events arrive as they are sent).
            let _ = tokio::io::copy(&mut upstream, &mut inbound).await;
        }
    });
    (url, seen)
}

/// Reads one HTTP/1.1 request with a Content-Length body.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return buf;
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_and_the_gateway_retry_run_the_command_once() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("runs");
    let (proxy, seen) = flaky_proxy(
        server.at("").trim_start_matches("http://").to_string(),
        "session_run",
        Some(marker.clone()),
    )
    .await;
    let session = server.shell().await;
    let command = format!(
        "echo run >> {}; sleep 1; echo real result",
        marker.display()
    );
    let marker_for_wrapper = marker.clone();
    let token = server.token.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let mut wrapper = Wrapper::start(&proxy, &token);
        handshake(&mut wrapper);
        wrapper.send(call(
            2,
            "session_run",
            json!({"session_id": session, "command": command}),
        ));
        let answer = wrapper.answers(&[2], Duration::from_secs(120)).remove(0);
        drop(marker_for_wrapper);
        answer
    })
    .await
    .unwrap();
    let result = structured(&answer);
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["output"], "real result");
    assert!(
        seen.load(Ordering::SeqCst) >= 2,
        "the wrapper never retried"
    );
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "run\n",
        "the retry ran the command again"
    );
}

#[tokio::test]
async fn identical_calls_share_one_execution_and_new_ids_run_again() {
    let server = TestServer::start();
    let session = server.shell().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("runs");
    let body = call(
        41,
        "session_run",
        json!({"session_id": session,
        "command": format!("echo run >> {}; sleep 0.5; echo ok", marker.display())}),
    );
    // No Mcp-Session-Id, no protocol header: a gateway's stateless POSTs.
    let post = || async {
        let response = client()
            .post(server.at("/mcp/"))
            .header("Authorization", server.bearer())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()
    };
    let (a, b) = tokio::join!(post(), post());
    assert_eq!(a, b);
    let c = post().await;
    assert_eq!(c, a, "a retry after the answer gets the same answer");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\n");
    let mut again = body.clone();
    again["id"] = json!(42);
    let response: Value = client()
        .post(server.at("/mcp/"))
        .header("Authorization", server.bearer())
        .json(&again)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["result"]["structuredContent"]["output"], "ok");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\nrun\n");
}

#[tokio::test]
async fn host_docker_internal_is_accepted_and_other_hosts_are_not() {
    let server = TestServer::start();
    for (host, status) in [
        ("host.docker.internal:1985", 200),
        ("host.docker.internal", 200),
        ("evil.example", 403),
        ("evil.example:1985", 403),
    ] {
        let response = client()
            .post(server.at("/mcp/"))
            .header("Authorization", server.bearer())
            .header("Host", host)
            .header(
                "Accept",
                "application/json, application/x-ndjson, text/event-stream",
            )
            .header("Content-Type", "application/json; charset=utf-8")
            .body(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{host}");
    }
}
