//! Hostile input against a real server: malformed and deeply nested JSON,
//! wrong JSON types, huge strings and bodies, invalid UTF-8, shell
//! metacharacters, path traversal, unknown ids, routes and methods, and a
//! flood of wrong tokens.
//!
//! Every answer must be the documented error (README "Errors",
//! `src/errors.rs`, `src/mcp/mod.rs`): the status AND the error code are
//! checked, and no answer may be a 5xx.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{TOKEN, TestServer, client};
use futures::StreamExt;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The request body limit (README: bodies over 1 MiB get 413).
const BODY_LIMIT: usize = 1024 * 1024;

/// One HTTP answer, kept whole for assertions and messages.
struct Answer {
    status: u16,
    headers: HeaderMap,
    raw: Vec<u8>,
    body: Value,
}

impl Answer {
    fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        if text.len() > 600 {
            let head: String = text.chars().take(600).collect();
            format!("{head}… ({} bytes)", text.len())
        } else {
            text.into_owned()
        }
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let raw = response.bytes().await.expect("a whole body").to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let answer = Answer {
        status,
        headers,
        raw,
        body,
    };
    assert!(
        answer.status < 500,
        "a 5xx answer: {} {}",
        answer.status,
        answer.text()
    );
    answer
}

/// A request with the right token.
fn authed(server: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, server.at(path))
        .header("Authorization", server.bearer())
}

/// POSTs raw bytes as JSON to `path` with the token.
async fn post_bytes(server: &TestServer, path: &str, body: impl Into<Vec<u8>>) -> Answer {
    send(
        authed(server, Method::POST, path)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .body(body.into()),
    )
    .await
}

async fn post_json(server: &TestServer, path: &str, body: &Value) -> Answer {
    post_bytes(server, path, serde_json::to_vec(body).unwrap()).await
}

async fn get(server: &TestServer, path: &str) -> Answer {
    send(authed(server, Method::GET, path)).await
}

/// MCP `tools/call` of `name` with `arguments`.
async fn call_tool(server: &TestServer, name: &str, arguments: Value) -> Answer {
    post_json(
        server,
        "/mcp",
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": name, "arguments": arguments}}),
    )
    .await
}

/// Asserts a REST error: status, `{"error":{"code","message"}}`, JSON type.
#[track_caller]
fn rest_error(answer: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert_eq!(
        answer.body["error"]["code"],
        code,
        "{what}: {}",
        answer.text()
    );
    let message = answer.body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: no message: {}", answer.text());
    let content_type = answer
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
}

/// The message of a REST error.
fn message(answer: &Answer) -> &str {
    answer.body["error"]["message"].as_str().unwrap_or_default()
}

/// Asserts a JSON-RPC protocol error with `code` (id null unless given).
#[track_caller]
fn rpc_error(answer: &Answer, status: u16, code: i64, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert_eq!(answer.body["jsonrpc"], "2.0", "{what}: {}", answer.text());
    assert_eq!(
        answer.body["error"]["code"],
        code,
        "{what}: {}",
        answer.text()
    );
}

/// Asserts an MCP tool error: a result with `isError: true` whose text
/// starts with `code (status):`. Returns the text.
#[track_caller]
fn tool_error<'a>(answer: &'a Answer, code: &str, status: u16, what: &str) -> &'a str {
    assert_eq!(answer.status, 200, "{what}: {}", answer.text());
    assert_eq!(
        answer.body["result"]["isError"],
        true,
        "{what}: {}",
        answer.text()
    );
    let text = answer.body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with(&format!("{code} ({status}): ")),
        "{what}: {text}"
    );
    text
}

/// One raw HTTP/1.1 exchange over TCP (for bytes reqwest will not send).
/// Returns the status and the (de-chunked) body.
async fn raw_http(port: u16, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // The server may answer and close before it read everything (a request
    // head that is too large): then writing fails or the read ends with a
    // reset after the answer.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    if let Err(e) = read {
        assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset && !answer.is_empty(),
            "no answer: {e}"
        );
    }
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&answer)));
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let mut body = answer[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut plain = Vec::new();
        let mut rest = &body[..];
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            plain.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = plain;
    }
    assert!(status < 500, "a 5xx answer: {head}");
    (status, body)
}

/// A raw GET of `target` (bytes as they are) with the token.
fn raw_get(target: &[u8]) -> Vec<u8> {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    request
}

/// Asserts a raw answer is the documented REST error.
#[track_caller]
fn raw_error(answer: &(u16, Vec<u8>), status: u16, code: &str, what: &str) {
    let body: Value = serde_json::from_slice(&answer.1).unwrap_or(Value::Null);
    assert_eq!(
        (answer.0, &body["error"]["code"]),
        (status, &json!(code)),
        "{what}: {}",
        String::from_utf8_lossy(&answer.1)
    );
}

/// The server still serves a normal call.
async fn still_up(server: &TestServer) {
    let answer = get(server, "/api/v1/info").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.body["name"], "termbridge");
}

/// Tool routes that take a JSON body.
const BODY_ROUTES: &[&str] = &[
    "/api/v1/sessions",
    "/api/v1/dns/lookup",
    "/api/v1/whois",
    "/api/v1/sessions/s_0123456789abcdef/commands",
    "/api/v1/sessions/s_0123456789abcdef/input",
];

fn nested(depth: usize, open: &str, inner: &str, close: &str) -> String {
    let mut text = String::with_capacity(depth * (open.len() + close.len()) + inner.len());
    for _ in 0..depth {
        text.push_str(open);
    }
    text.push_str(inner);
    for _ in 0..depth {
        text.push_str(close);
    }
    text
}

#[tokio::test]
async fn malformed_json_is_400_on_rest_and_a_parse_error_on_mcp() {
    let server = TestServer::start();
    let deep_arrays = nested(100_000, "[", "1", "]");
    let deep_objects = nested(100_000, "{\"a\":", "1", "}");
    let deep_unclosed = "[".repeat(100_000);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", b"{\"name\": \"exam".to_vec()),
        ("truncated after a key", b"{\"name\":".to_vec()),
        (
            "trailing garbage",
            b"{\"name\": \"example.com\"} trailing".to_vec(),
        ),
        (
            "two objects",
            b"{\"name\": \"a\"}{\"name\": \"b\"}".to_vec(),
        ),
        ("trailing comma", b"{\"name\": \"a\",}".to_vec()),
        ("single quotes", b"{'name': 'a'}".to_vec()),
        ("bare word", b"nul".to_vec()),
        ("NUL byte", b"\0".to_vec()),
        ("NUL inside", b"{\"name\": \"a\0b\"}".to_vec()),
        ("lone surrogate", br#"{"name": "\ud800"}"#.to_vec()),
        ("bad escape", br#"{"name": "\q"}"#.to_vec()),
        ("NaN", b"{\"timeout_ms\": NaN}".to_vec()),
        ("100 000 nested arrays", deep_arrays.clone().into_bytes()),
        ("100 000 nested objects", deep_objects.clone().into_bytes()),
        (
            "100 000 unclosed arrays",
            deep_unclosed.clone().into_bytes(),
        ),
        (
            "deep value in a field",
            format!("{{\"name\": {deep_arrays}}}").into_bytes(),
        ),
    ];
    for (what, body) in &bodies {
        for route in BODY_ROUTES {
            let answer = post_bytes(&server, route, body.clone()).await;
            rest_error(&answer, 400, "invalid_input", &format!("{what} to {route}"));
            assert!(
                message(&answer).contains("not valid JSON"),
                "{what} to {route}: {}",
                answer.text()
            );
        }
        let answer = post_bytes(&server, "/mcp", body.clone()).await;
        rpc_error(&answer, 400, -32700, &format!("{what} to /mcp"));
        assert_eq!(answer.body["id"], Value::Null, "{what}");
    }
    // Deep nesting inside an otherwise valid JSON-RPC request.
    for deep in [&deep_arrays, &deep_objects] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"dns_lookup","arguments":{{"name":{deep}}}}}}}"#
        );
        let answer = post_bytes(&server, "/mcp", body).await;
        rpc_error(&answer, 400, -32700, "deep arguments");
        // In a 2025-03-26 batch too.
        let answer = post_bytes(&server, "/mcp", format!("[{deep}]")).await;
        rpc_error(&answer, 400, -32700, "deep batch");
    }
    // Bodies that are JSON but not an object.
    for (body, kind) in [
        ("5", "a number"),
        ("\"x\"", "a string"),
        ("[]", "an array"),
        ("null", "null"),
        ("true", "a boolean"),
    ] {
        for route in BODY_ROUTES {
            let answer = post_bytes(&server, route, body).await;
            rest_error(&answer, 400, "invalid_input", &format!("{body} to {route}"));
            assert!(
                message(&answer).contains(&format!("must be a JSON object, got {kind}")),
                "{}",
                answer.text()
            );
        }
    }
    still_up(&server).await;
}

/// A tool with a REST route and fields to give values of the wrong type.
struct Typed {
    tool: &'static str,
    route: &'static str,
    /// Valid arguments the wrong value is put into.
    base: Value,
    /// Field and wrong values.
    fields: Vec<(&'static str, Vec<Value>)>,
}

fn typed_cases() -> Vec<Typed> {
    let sid = "s_0123456789abcdef";
    vec![
        Typed {
            tool: "dns_lookup",
            route: "/api/v1/dns/lookup",
            base: json!({"name": "example.com"}),
            fields: vec![
                (
                    "name",
                    vec![json!(5), json!(true), json!(null), json!([]), json!({})],
                ),
                (
                    "record_type",
                    vec![json!(1), json!(["A"]), json!({}), json!(false)],
                ),
                (
                    "server",
                    vec![json!(53), json!(["127.0.0.1"]), json!({}), json!(true)],
                ),
                (
                    "protocol",
                    vec![json!(1), json!("pigeon"), json!([]), json!(null)],
                ),
                (
                    "timeout_ms",
                    vec![json!("1000"), json!(-1), json!(1.5), json!([]), json!(1e30)],
                ),
                ("bogus", vec![json!(1)]),
            ],
        },
        Typed {
            tool: "whois_lookup",
            route: "/api/v1/whois",
            base: json!({"query": "example.com"}),
            fields: vec![
                ("query", vec![json!(1), json!([]), json!(null), json!({})]),
                (
                    "server",
                    vec![json!(43), json!(["whois.example"]), json!({})],
                ),
                (
                    "follow_referrals",
                    vec![json!("yes"), json!(1), json!(null)],
                ),
                ("timeout_ms", vec![json!("x"), json!(-5), json!(2.5)]),
                ("bogus", vec![json!(1)]),
            ],
        },
        Typed {
            tool: "session_open",
            route: "/api/v1/sessions",
            base: json!({}),
            fields: vec![
                (
                    "kind",
                    vec![json!(1), json!("telnet"), json!([]), json!(null)],
                ),
                (
                    "command",
                    vec![json!("ls"), json!(5), json!([1, 2]), json!({"a": 1})],
                ),
                (
                    "ssh",
                    vec![
                        json!("host"),
                        json!(5),
                        json!([]),
                        json!({"host": 5}),
                        json!({"host": "h", "port": "22"}),
                        json!({"host": "h", "port": 70000}),
                        json!({"host": "h", "options": "A=b"}),
                        json!({"host": "h", "bogus": 1}),
                    ],
                ),
                ("profile", vec![json!(5), json!([])]),
                ("name", vec![json!(5), json!([]), json!({})]),
                ("cwd", vec![json!(1), json!(["/"])]),
                (
                    "env",
                    vec![json!([]), json!("A=b"), json!({"A": 1}), json!({"A": null})],
                ),
                (
                    "cols",
                    vec![json!(-1), json!("80"), json!(70000), json!(1.5)],
                ),
                ("rows", vec![json!(-1), json!("24"), json!(70000)]),
                ("scrollback", vec![json!(-1), json!("x")]),
                ("shell_integration", vec![json!("maybe"), json!(1)]),
                ("wait_ready_ms", vec![json!(-1), json!("x")]),
                ("bogus", vec![json!(1)]),
            ],
        },
        Typed {
            tool: "session_run",
            route: "/api/v1/sessions/s_0123456789abcdef/commands",
            base: json!({"session_id": sid, "command": "true"}),
            fields: vec![
                ("command", vec![json!(1), json!([]), json!(null), json!({})]),
                ("timeout_ms", vec![json!("x"), json!(-1)]),
                ("max_output_bytes", vec![json!("x"), json!(-1)]),
                ("request_id", vec![json!(5), json!([])]),
                ("queue", vec![json!("yes"), json!(1)]),
                ("interrupt_on_timeout", vec![json!("no")]),
                ("bogus", vec![json!(1)]),
            ],
        },
        Typed {
            tool: "session_send_keys",
            route: "/api/v1/sessions/s_0123456789abcdef/input",
            base: json!({"session_id": sid}),
            fields: vec![
                ("text", vec![json!(5), json!(["a"])]),
                (
                    "keys",
                    vec![json!("Enter"), json!([1]), json!({}), json!([["Enter"]])],
                ),
            ],
        },
        Typed {
            tool: "session_resize",
            route: "/api/v1/sessions/s_0123456789abcdef/resize",
            base: json!({"session_id": sid, "cols": 80, "rows": 24}),
            fields: vec![
                ("cols", vec![json!("80"), json!(-1), json!(70000)]),
                ("rows", vec![json!(null), json!(2.5)]),
            ],
        },
    ]
}

#[tokio::test]
async fn wrong_json_types_are_invalid_input_on_rest_and_tool_errors_on_mcp() {
    let server = TestServer::start();
    let mut checked = 0;
    for case in typed_cases() {
        for (field, values) in &case.fields {
            for value in values {
                let mut arguments = case.base.clone();
                arguments[*field] = value.clone();
                let what = format!("{} {field}={value}", case.tool);
                // REST takes the session from the path, not the body.
                let mut body = arguments.clone();
                body.as_object_mut().unwrap().remove("session_id");
                let answer = post_json(&server, case.route, &body).await;
                rest_error(&answer, 400, "invalid_input", &what);
                assert!(
                    message(&answer).starts_with(&format!("invalid arguments for {}", case.tool)),
                    "{what}: {}",
                    answer.text()
                );
                let answer = call_tool(&server, case.tool, arguments).await;
                tool_error(&answer, "invalid_input", 400, &what);
                checked += 1;
            }
        }
        // The session id itself, over MCP.
        if case.base.get("session_id").is_some() {
            for value in [json!(5), json!(null), json!(["s_1"]), json!({})] {
                let mut arguments = case.base.clone();
                arguments["session_id"] = value.clone();
                let answer = call_tool(&server, case.tool, arguments).await;
                tool_error(
                    &answer,
                    "invalid_input",
                    400,
                    &format!("{} session_id={value}", case.tool),
                );
            }
        }
        // Arguments that are not an object.
        for arguments in [json!(5), json!("x"), json!([]), json!(true)] {
            let answer = call_tool(&server, case.tool, arguments.clone()).await;
            let text = tool_error(
                &answer,
                "invalid_input",
                400,
                &format!("{} arguments={arguments}", case.tool),
            );
            assert!(text.contains("expected a JSON object"), "{text}");
        }
    }
    assert!(checked > 80, "only {checked} cases");

    // Query strings of GET tools.
    let sid = "s_0123456789abcdef";
    for (path, tool) in [
        (
            format!("/api/v1/sessions/{sid}/output?since=abc"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/output?since=-1"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/output?max_bytes=1.5"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/output?since=1&since=2"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/output?bogus=1"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/screen?scrollback=x"),
            "session_screen",
        ),
        (
            format!("/api/v1/sessions/{sid}/screen?scrollback=99999999999999999999999"),
            "session_screen",
        ),
        (
            format!("/api/v1/sessions/{sid}/commands/c_1?wait_ms=soon"),
            "session_command",
        ),
        (
            format!("/api/v1/sessions/{sid}/commands/c_1?max_output_bytes=-5"),
            "session_command",
        ),
        ("/api/v1/sessions?all=true".to_string(), "session_list"),
        ("/api/v1/info?verbose".to_string(), "server_info"),
    ] {
        let answer = get(&server, &path).await;
        rest_error(&answer, 400, "invalid_input", &path);
        assert!(
            message(&answer).starts_with(&format!("invalid arguments for {tool}")),
            "{path}: {}",
            answer.text()
        );
    }

    // Protocol-level faults of tools/call: -32602 (src/mcp/mod.rs).
    for params in [
        json!({"name": 5}),
        json!({"name": null}),
        json!({"name": ["dns_lookup"]}),
        json!({"name": {"tool": "dns_lookup"}}),
        json!({"arguments": {}}),
        json!([]),
        json!(["dns_lookup", {}]),
        json!({"name": "no_such_tool"}),
        json!({"name": "dns_lookup\u{0}"}),
        json!({"name": "../dns_lookup"}),
    ] {
        let answer = post_json(
            &server,
            "/mcp",
            &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}),
        )
        .await;
        rpc_error(&answer, 200, -32602, &format!("params {params}"));
        assert_eq!(answer.body["id"], 7);
    }
    // Params of the wrong JSON type make an invalid request: -32600.
    for params in [json!(5), json!("x"), json!(true)] {
        let answer = post_json(
            &server,
            "/mcp",
            &json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": params}),
        )
        .await;
        rpc_error(&answer, 400, -32600, &format!("params {params}"));
        assert_eq!(answer.body["id"], 8);
    }
    still_up(&server).await;
}

/// A JSON body built by `make` around a filler string sized so the whole
/// body is `size` bytes.
fn body_of_size(size: usize, make: impl Fn(&str) -> Value) -> Vec<u8> {
    let base = serde_json::to_vec(&make("")).unwrap().len();
    assert!(size > base);
    let filler = "x".repeat(size - base);
    let body = serde_json::to_vec(&make(&filler)).unwrap();
    assert_eq!(body.len(), size);
    body
}

/// A body just under the limit: 1 MiB minus a bit.
fn almost_a_mib(make: impl Fn(&str) -> Value) -> Vec<u8> {
    body_of_size(BODY_LIMIT - 100, make)
}

#[tokio::test]
async fn huge_strings_get_precise_errors_and_bodies_over_a_mib_get_413() {
    let server = TestServer::start();
    let sid = server.shell().await;
    type Make = Box<dyn Fn(&str) -> Value>;
    let s = sid.clone();
    let cases: Vec<(String, Make, &str, &str)> = vec![
        (
            format!("/api/v1/sessions/{sid}/commands"),
            Box::new(|x| json!({"command": x})),
            "session_run",
            "command is longer than 65536 bytes",
        ),
        (
            format!("/api/v1/sessions/{sid}/input"),
            Box::new(|x| json!({"text": x})),
            "session_send_keys",
            "text is longer than 65536 bytes",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(|x| json!({"name": x})),
            "session_open",
            "name is longer than 128 bytes",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(|x| json!({"cwd": x})),
            "session_open",
            "cwd is longer than 4096 bytes",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(|x| json!({"env": {"BIG": x}})),
            "session_open",
            "env.BIG is longer than 32768 bytes",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(|x| json!({"kind": "command", "command": ["echo", x]})),
            "session_open",
            "command argument is longer than 32768 bytes",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(|x| json!({"kind": "ssh", "ssh": {"host": x}})),
            "session_open",
            "ssh.host",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(|x| json!({"kind": "ssh", "ssh": {"host": "localhost", "user": x}})),
            "session_open",
            "ssh.user",
        ),
        (
            "/api/v1/sessions".into(),
            Box::new(
                |x| json!({"kind": "ssh", "ssh": {"host": "localhost", "options": [format!("User={x}")]}}),
            ),
            "session_open",
            "ssh.options value is longer than 1024 bytes",
        ),
        (
            "/api/v1/dns/lookup".into(),
            Box::new(|x| json!({"name": x})),
            "dns_lookup",
            "name",
        ),
        (
            "/api/v1/dns/lookup".into(),
            Box::new(|x| json!({"name": "example.com", "record_type": x})),
            "dns_lookup",
            "record_type",
        ),
        (
            "/api/v1/dns/lookup".into(),
            Box::new(|x| json!({"name": "example.com", "server": x})),
            "dns_lookup",
            "server",
        ),
        (
            "/api/v1/whois".into(),
            Box::new(|x| json!({"query": x})),
            "whois_lookup",
            "query",
        ),
        (
            "/api/v1/whois".into(),
            Box::new(|x| json!({"query": "example.com", "server": x})),
            "whois_lookup",
            "server",
        ),
    ];
    let mut longest_message = 0;
    for (route, make, tool, expected) in &cases {
        let body = almost_a_mib(make);
        let answer = post_bytes(&server, route, body).await;
        rest_error(
            &answer,
            400,
            "invalid_input",
            &format!("huge {expected} to {route}"),
        );
        assert!(
            message(&answer).contains(expected),
            "{route}: {}",
            answer.text()
        );
        longest_message = longest_message.max(message(&answer).len());
        // The same over MCP (the JSON-RPC envelope adds a few bytes).
        let mut arguments = make(&"x".repeat(BODY_LIMIT - 1000));
        if route.contains(&s) {
            arguments["session_id"] = json!(s);
        }
        let answer = call_tool(&server, tool, arguments).await;
        let text = tool_error(
            &answer,
            "invalid_input",
            400,
            &format!("huge {expected} over MCP"),
        );
        assert!(text.contains(expected), "{text}");
        assert!(text.len() <= 1100, "{} bytes over MCP", text.len());
    }
    println!("longest error message for a huge input: {longest_message} bytes");
    // Messages quote the input, but never more than 1 KiB of it.
    assert!(longest_message <= 1024, "{longest_message}");
    // Exactly the limit is read (and refused for its content, not its size).
    let body = body_of_size(BODY_LIMIT, |x| json!({"name": x}));
    let answer = post_bytes(&server, "/api/v1/dns/lookup", body).await;
    rest_error(&answer, 400, "invalid_input", "exactly 1 MiB");

    // Over the limit: 413, declared or chunked, REST and MCP.
    for route in BODY_ROUTES.iter().chain(["/mcp", "/api/v1/info"].iter()) {
        let body = body_of_size(BODY_LIMIT + 1, |x| json!({"name": x}));
        let answer = post_bytes(&server, route, body.clone()).await;
        rest_error(
            &answer,
            413,
            "payload_too_large",
            &format!("1 MiB + 1 to {route}"),
        );
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(100_000).map(|c| Ok(c.to_vec())).collect();
        let answer = send(
            authed(&server, Method::POST, route)
                .header("Content-Type", "application/json")
                .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))),
        )
        .await;
        let what = format!("chunked 1 MiB + 1 to {route}");
        if *route == "/api/v1/info" {
            // A GET-only route: the method is wrong before the body matters.
            assert!(
                matches!(answer.status, 405 | 413),
                "{what}: {}",
                answer.text()
            );
        } else {
            rest_error(&answer, 413, "payload_too_large", &what);
        }
    }
    let big_rpc = body_of_size(2 * BODY_LIMIT, |x| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "session_run", "arguments": {"session_id": s, "command": x}}})
    });
    let answer = post_bytes(&server, "/mcp", big_rpc).await;
    rest_error(&answer, 413, "payload_too_large", "2 MiB JSON-RPC");

    // A very long request line is refused without a 5xx (raw: reqwest
    // will not build such a URL).
    for length in [20_000, 200_000] {
        let target = format!("/api/v1/sessions/{sid}/output?since={}", "1".repeat(length));
        let answer = raw_http(server.port, &raw_get(target.as_bytes())).await;
        assert!(
            (400..500).contains(&answer.0),
            "query of {length} bytes: {} {}",
            answer.0,
            String::from_utf8_lossy(&answer.1)
        );
    }
    // The session was never typed into: no command ran.
    let listed = server.get("/api/v1/sessions").await.1;
    assert_eq!(listed["sessions"][0]["running_command"], Value::Null);
    assert_eq!(server.close(&sid).await.0, 200);
    still_up(&server).await;
}

#[tokio::test]
async fn invalid_utf8_in_bodies_paths_and_query_strings() {
    let server = TestServer::start();
    let bodies: Vec<&[u8]> = vec![
        b"{\"name\": \"\xff\xfe.com\"}",
        b"{\"name\": \"a\xc3\"}",
        b"{\"query\": \"\xed\xa0\x80\"}",
        b"{\"name\xff\": \"a\"}",
        b"\xff\xfe{}",
        b"{\"command\": \"echo \xc0\xaf\"}",
    ];
    for body in &bodies {
        for route in BODY_ROUTES {
            let answer = post_bytes(&server, route, body.to_vec()).await;
            rest_error(
                &answer,
                400,
                "invalid_input",
                &format!("{body:?} to {route}"),
            );
        }
        let mut rpc = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"dns_lookup","arguments":"#.to_vec();
        rpc.extend_from_slice(body);
        rpc.extend_from_slice(b"}}");
        let answer = post_bytes(&server, "/mcp", rpc).await;
        rpc_error(&answer, 400, -32700, &format!("{body:?} to /mcp"));
        let answer = post_bytes(&server, "/mcp", body.to_vec()).await;
        rpc_error(&answer, 400, -32700, &format!("bare {body:?} to /mcp"));
    }
    // A method name with invalid UTF-8.
    let answer = post_bytes(
        &server,
        "/mcp",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/\xfflist\"}".to_vec(),
    )
    .await;
    rpc_error(&answer, 400, -32700, "method with invalid UTF-8");

    // Percent-encoded invalid UTF-8 in query strings: never a valid value.
    let sid = "s_0123456789abcdef";
    for (path, tool) in [
        (
            format!("/api/v1/sessions/{sid}/output?since=%FF%FE"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/output?%FF=1"),
            "session_output",
        ),
        (
            format!("/api/v1/sessions/{sid}/screen?scrollback=1%C3"),
            "session_screen",
        ),
        ("/api/v1/info?x=%C0%AF".to_string(), "server_info"),
        ("/api/v1/sessions?%ED%A0%80".to_string(), "session_list"),
    ] {
        let answer = get(&server, &path).await;
        rest_error(&answer, 400, "invalid_input", &path);
        assert!(
            message(&answer).starts_with(&format!("invalid arguments for {tool}")),
            "{path}: {}",
            answer.text()
        );
    }
    // Percent-encoded invalid UTF-8 in a path parameter: just an unknown id.
    for path in [
        "/api/v1/sessions/%FF%FE/screen",
        "/api/v1/sessions/s_%C3/output",
        "/api/v1/sessions/%ED%A0%80/commands/c_%FF",
    ] {
        let answer = get(&server, path).await;
        rest_error(&answer, 404, "not_found", path);
    }
    // Raw (unencoded) bytes above 0x7f in the request target.
    for target in [
        &b"/api/v1/sessions/s_\xff\xfe/screen"[..],
        b"/api/v1/info?x=\xff",
        b"/api/v1/sessions/\xc3/output?since=\xc3",
    ] {
        let answer = raw_http(server.port, &raw_get(target)).await;
        let what = String::from_utf8_lossy(target).into_owned();
        // Either the HTTP parser refuses the request line (400) or the
        // tool does (400 for the query, 404 for the unknown session).
        assert!(
            matches!(answer.0, 400 | 404),
            "{what}: {} {}",
            answer.0,
            String::from_utf8_lossy(&answer.1)
        );
        if answer.0 == 404 {
            raw_error(&answer, 404, "not_found", &what);
        }
    }
    // Invalid UTF-8 in the token is no token.
    let mut request = b"GET /api/v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n".to_vec();
    let answer = raw_http(server.port, &request).await;
    raw_error(&answer, 401, "unauthorized", "token with invalid UTF-8");
    // And in the MCP session header: no such session, or none at all.
    let rpc = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    request = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ".to_vec();
    request.extend_from_slice(TOKEN.as_bytes());
    request
        .extend_from_slice(b"\r\nContent-Type: application/json\r\nMcp-Session-Id: \xff\xfe\r\n");
    request.extend_from_slice(
        format!("Content-Length: {}\r\nConnection: close\r\n\r\n", rpc.len()).as_bytes(),
    );
    request.extend_from_slice(rpc);
    let answer = raw_http(server.port, &request).await;
    assert!(
        matches!(answer.0, 200 | 400 | 404),
        "session header with invalid UTF-8: {} {}",
        answer.0,
        String::from_utf8_lossy(&answer.1)
    );
    still_up(&server).await;
}

/// Shell payloads that would create `marker` if any shell ever ran them.
fn payloads(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("x;touch {m}"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("x|touch {m}"),
        format!("x||touch {m}"),
        format!("x&&touch {m}"),
        format!("x&touch {m}"),
        format!("x\ntouch {m}"),
        format!("x\rtouch {m}"),
        format!("x'; touch {m}; '"),
        format!("x\"; touch {m}; \""),
        format!("x>{m}"),
        format!("x$(IFS=_;cmd=touch_{m};$cmd)"),
        format!("-oProxyCommand=touch {m}"),
    ]
}

/// Waits (bounded) until the session has exited.
async fn until_exited(server: &TestServer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = server.get("/api/v1/sessions").await.1;
        let session = listed["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("session {id} vanished: {listed}"));
        if session["status"] == "exited" {
            return session;
        }
        assert!(Instant::now() < deadline, "never exited: {session}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shell_metacharacters_in_hosts_and_names_never_reach_a_shell() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let marker: PathBuf = dir.path().join("pwned");
    let payloads = payloads(&marker);
    let mut opened = Vec::new();

    for p in &payloads {
        // DNS: names, types and servers are refused as such.
        for arguments in [
            json!({"name": p}),
            json!({"name": format!("example.com{p}")}),
            json!({"name": "example.com", "record_type": p}),
            json!({"name": "example.com", "server": p}),
            json!({"name": "example.com", "server": format!("127.0.0.1:53{p}")}),
        ] {
            let answer = post_json(&server, "/api/v1/dns/lookup", &arguments).await;
            rest_error(&answer, 400, "invalid_input", &format!("dns {arguments}"));
            let answer = call_tool(&server, "dns_lookup", arguments.clone()).await;
            tool_error(&answer, "invalid_input", 400, &format!("dns {arguments}"));
        }
        // Whois: queries and servers.
        for arguments in [
            json!({"query": p}),
            json!({"query": format!("example.com{p}")}),
            json!({"query": "example.com", "server": p}),
            json!({"query": "example.com", "server": format!("whois.example{p}")}),
        ] {
            let answer = post_json(&server, "/api/v1/whois", &arguments).await;
            rest_error(&answer, 400, "invalid_input", &format!("whois {arguments}"));
            let answer = call_tool(&server, "whois_lookup", arguments.clone()).await;
            tool_error(&answer, "invalid_input", 400, &format!("whois {arguments}"));
        }
        // ssh: host, user, identity file, profile and option keys are refused.
        for spec in [
            json!({"kind": "ssh", "ssh": {"host": p}}),
            json!({"kind": "ssh", "ssh": {"host": format!("127.0.0.1{p}")}}),
            json!({"kind": "ssh", "ssh": {"host": "127.0.0.1", "user": p}}),
            json!({"kind": "ssh", "ssh": {"host": "127.0.0.1", "identity_file": p}}),
            json!({"kind": "ssh", "profile": p}),
            json!({"kind": "ssh", "ssh": {"host": "127.0.0.1", "options": [format!("{p}=1")]}}),
            json!({"cwd": p}),
            json!({"env": {p.as_str(): "1"}}),
        ] {
            let answer = post_json(&server, "/api/v1/sessions", &spec).await;
            rest_error(
                &answer,
                400,
                "invalid_input",
                &format!("session_open {spec}"),
            );
            let answer = call_tool(&server, "session_open", spec.clone()).await;
            tool_error(
                &answer,
                "invalid_input",
                400,
                &format!("session_open {spec}"),
            );
        }
    }
    // ssh options that make the local client run commands are refused,
    // whatever their case.
    let m = marker.display();
    for option in [
        format!("ProxyCommand=touch {m}"),
        format!("proxycommand=touch {m}"),
        format!("LocalCommand=touch {m}"),
        "PermitLocalCommand=yes".to_string(),
        format!("KnownHostsCommand=touch {m}"),
        format!("Match=exec \"touch {m}\""),
        "Include=/etc/passwd".to_string(),
        format!("User=x\ntouch {m}"),
        format!("ProxyJump=x\rtouch {m}"),
    ] {
        let spec = json!({"kind": "ssh", "ssh": {"host": "127.0.0.1", "options": [option]}});
        let answer = post_json(&server, "/api/v1/sessions", &spec).await;
        rest_error(&answer, 400, "invalid_input", &format!("option {option:?}"));
    }
    // Option values are data for ssh (no shell between us and it): these
    // pass our checks, ssh gets them as argv, fails to reach port 1 and
    // exits. Nothing may run them.
    for value in [
        format!("Hostname=$(touch {m})"),
        format!("User=`touch {m}`"),
        format!("ProxyJump=x$(touch {m})"),
        format!("SetEnv=X=$(touch {m})"),
        format!("ControlPath=;touch {m}"),
        format!("IdentityAgent=|touch {m}"),
    ] {
        let spec = json!({"kind": "ssh", "name": "hostile-ssh", "shell_integration": "off",
            "wait_ready_ms": 0,
            "ssh": {"host": "127.0.0.1", "port": 1, "options": ["BatchMode=yes", value]}});
        let answer = post_json(&server, "/api/v1/sessions", &spec).await;
        assert_eq!(answer.status, 200, "{value}: {}", answer.text());
        opened.push(answer.body["id"].as_str().unwrap().to_string());
    }
    // Names are data: stored and shown exactly as given.
    for name in payloads
        .iter()
        .filter(|p| !p.contains(['\n', '\r']))
        .take(4)
    {
        let session = server
            .open_session(
                json!({"name": name, "kind": "command", "command": ["true"], "wait_ready_ms": 0}),
            )
            .await;
        assert_eq!(session["name"], name.as_str());
        opened.push(session["id"].as_str().unwrap().to_string());
    }
    let shell = server
        .open_session(json!({"name": format!("$(touch {m});`touch {m}`|x")}))
        .await;
    let shell_id = shell["id"].as_str().unwrap().to_string();
    let result = server.run(&shell_id, "echo ok").await;
    assert_eq!(result["output"], "ok");
    opened.push(shell_id);
    // Names with line breaks are refused.
    for p in payloads.iter().filter(|p| p.contains(['\n', '\r'])) {
        let answer = post_json(&server, "/api/v1/sessions", &json!({"name": p})).await;
        rest_error(&answer, 400, "invalid_input", &format!("name {p:?}"));
    }
    // argv of a command session is data too: echo prints it literally.
    let argv: Vec<&str> = std::iter::once("echo")
        .chain(payloads.iter().map(String::as_str))
        .collect();
    let session = server
        .open_session(json!({"kind": "command", "command": argv, "wait_ready_ms": 0}))
        .await;
    let id = session["id"].as_str().unwrap().to_string();
    let exited = until_exited(&server, &id).await;
    assert_eq!(exited["exit_code"], 0, "{exited}");
    let output = server
        .get(&format!("/api/v1/sessions/{id}/output?max_bytes=100000"))
        .await
        .1;
    let text = output["text"].as_str().unwrap();
    for p in payloads.iter().filter(|p| !p.contains(['\n', '\r'])) {
        assert!(
            text.contains(p.as_str()),
            "{p:?} not printed literally: {text:?}"
        );
    }
    opened.push(id);

    // Close everything (their processes are gone once close answers),
    // then look for the marker.
    for id in &opened {
        let (status, body) = server.close(id).await;
        assert_eq!(status, 200, "close {id}: {body}");
    }
    assert!(
        !marker.exists(),
        "a payload reached a shell: {} exists",
        marker.display()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    still_up(&server).await;
}

#[tokio::test]
async fn path_traversal_unknown_ids_routes_and_methods_are_json_errors() {
    let server = TestServer::start();
    let sid = server.shell().await;
    // Traversal and odd segments in the session id: an unknown session.
    for path in [
        "/api/v1/sessions/..%2F..%2Fetc/screen",
        "/api/v1/sessions/..%2f..%2fetc%2fpasswd/output",
        "/api/v1/sessions/%2e%2e/screen",
        "/api/v1/sessions/%2E%2E%2F%2E%2E%2Fetc%2Fshadow/screen",
        "/api/v1/sessions/%252e%252e%252f/screen",
        "/api/v1/sessions/%2F/screen",
        "/api/v1/sessions/a%00b/screen",
        "/api/v1/sessions/%00/output",
        "/api/v1/sessions/s_0123456789abcdef/screen",
        "/api/v1/sessions/s_0123456789abcdef/commands/c_0123456789abcdef",
        "/api/v1/sessions/s_x/commands/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/v1/sessions/%20/screen",
        "/api/v1/sessions/..%5C..%5Cwindows/screen",
    ] {
        let answer = get(&server, path).await;
        rest_error(&answer, 404, "not_found", path);
    }
    // Unknown command ids of a real session.
    for command in ["c_0123456789abcdef", "..%2F..%2Fetc%2Fpasswd", "%00", "%FF"] {
        let path = format!("/api/v1/sessions/{sid}/commands/{command}");
        let answer = get(&server, &path).await;
        rest_error(&answer, 404, "not_found", &path);
    }
    // Unknown session over every session tool, REST and MCP.
    let ghost = "s_0123456789abcdef";
    for (method, path, body) in [
        (
            Method::GET,
            format!("/api/v1/sessions/{ghost}/screen"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{ghost}/output"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{ghost}/commands"),
            Some(json!({"command": "true"})),
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{ghost}/commands/c_1"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{ghost}/input"),
            Some(json!({"text": "x"})),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{ghost}/resize"),
            Some(json!({"cols": 80, "rows": 24})),
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{ghost}/restart"),
            Some(json!({})),
        ),
        (Method::DELETE, format!("/api/v1/sessions/{ghost}"), None),
    ] {
        let mut request = authed(&server, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = send(request).await;
        rest_error(&answer, 404, "not_found", &format!("{method} {path}"));
    }
    for (tool, arguments) in [
        ("session_screen", json!({"session_id": ghost})),
        ("session_output", json!({"session_id": "../../etc/passwd"})),
        (
            "session_run",
            json!({"session_id": "s_\u{0}", "command": "true"}),
        ),
        (
            "session_command",
            json!({"session_id": ghost, "command_id": "c_1"}),
        ),
        (
            "session_command",
            json!({"session_id": sid, "command_id": "../c_1"}),
        ),
        (
            "session_send_keys",
            json!({"session_id": ghost, "text": "x"}),
        ),
        (
            "session_resize",
            json!({"session_id": ghost, "cols": 80, "rows": 24}),
        ),
        ("session_restart", json!({"session_id": ghost})),
        ("session_close", json!({"session_id": ghost})),
    ] {
        let answer = call_tool(&server, tool, arguments.clone()).await;
        tool_error(&answer, "not_found", 404, &format!("{tool} {arguments}"));
    }
    // Unknown routes, also with traversal the client leaves alone.
    for path in [
        "/api/v1/nope",
        "/api",
        "/api/v1",
        "/api/v2/info",
        "/API/V1/INFO",
        "/api/v1//sessions",
        "/api/v1/sessions/",
        "/api/v1/info/",
        "/api/v1/sessions/a/b/c/d",
        "/api/v1/net/addresses/..%2F..%2Finfo",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/mcp/x",
        "/etc/passwd",
    ] {
        let answer = get(&server, path).await;
        rest_error(&answer, 404, "not_found", path);
    }
    for target in [
        &b"/api/v1/sessions/../../../etc/passwd"[..],
        b"/../../etc/passwd",
        b"/api/v1/net/../../../../etc/passwd",
        b"/api/v1/sessions/..%2F..%2F/screen/../../..",
        b"/api/v1/sessions/s_\x00/screen",
    ] {
        let answer = raw_http(server.port, &raw_get(target)).await;
        let what = String::from_utf8_lossy(target).into_owned();
        if answer.0 == 400 && target.contains(&0) {
            // The HTTP parser refuses a NUL in the request line.
            continue;
        }
        raw_error(&answer, 404, "not_found", &what);
    }
    // Wrong methods on known routes.
    for (method, path) in [
        (Method::PUT, "/api/v1/info"),
        (Method::DELETE, "/api/v1/info"),
        (Method::POST, "/api/v1/info"),
        (Method::PATCH, "/api/v1/sessions"),
        (Method::DELETE, "/api/v1/sessions"),
        (Method::GET, "/api/v1/dns/lookup"),
        (Method::PUT, "/api/v1/whois"),
        (Method::POST, "/api/v1/sessions/s_x/screen"),
        (Method::PUT, "/api/v1/sessions/s_x/commands"),
        (Method::GET, "/api/v1/sessions/s_x"),
        (Method::OPTIONS, "/api/v1/sessions"),
        (Method::GET, "/api/v1/sessions/s_x/input"),
    ] {
        let answer = send(authed(&server, method.clone(), path)).await;
        rest_error(
            &answer,
            405,
            "method_not_allowed",
            &format!("{method} {path}"),
        );
    }
    // GET /mcp is 405 by the MCP spec (no server-initiated stream).
    let answer = send(authed(&server, Method::GET, "/mcp")).await;
    assert_eq!(answer.status, 405, "GET /mcp: {}", answer.text());
    // The real session is untouched by all this.
    let result = server.run(&sid, "echo still here").await;
    assert_eq!(result["output"], "still here");
    assert_eq!(server.close(&sid).await.0, 200);
}

#[tokio::test]
async fn other_methods_on_mcp_are_405_with_a_json_error() {
    let server = TestServer::start();
    for path in ["/mcp", "/mcp/"] {
        for method in [Method::PUT, Method::PATCH, Method::OPTIONS, Method::HEAD] {
            let answer = send(
                authed(&server, method.clone(), path)
                    .header("Content-Type", "application/json")
                    .body("{}"),
            )
            .await;
            let what = format!("{method} {path}");
            assert_eq!(answer.status, 405, "{what}: {}", answer.text());
            if method == Method::HEAD {
                continue; // no body by definition
            }
            // The documented error body: the REST shape, or a JSON-RPC error.
            let rest = answer.body["error"]["code"] == "method_not_allowed";
            let rpc = answer.body["jsonrpc"] == "2.0" && answer.body["error"]["code"].is_i64();
            assert!(rest || rpc, "{what}: not a JSON error: {:?}", answer.text());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_wrong_token_requests_are_all_401() {
    const REQUESTS: usize = 10_000;
    const CONCURRENCY: usize = 32;
    let server = TestServer::start();
    let http = client();
    let wrong_tokens = [
        "Bearer wrong-token-0123456789abcdef".to_string(),
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        format!("Bearer {TOKEN}x"),
        format!("Bearer x{TOKEN}"),
        format!("Bearer {}", TOKEN.to_uppercase()),
        "Bearer ".to_string(),
        format!("Basic {TOKEN}"),
        format!("Token {TOKEN}"),
        TOKEN.to_string(),
    ];
    let statuses = futures::stream::iter(0..REQUESTS)
        .map(|n| {
            let http = http.clone();
            let token = wrong_tokens[n % wrong_tokens.len()].clone();
            let url = |p: &str| server.at(p);
            let request = match n % 5 {
                0 => http.get(url("/api/v1/info")),
                1 => http
                    .post(url("/api/v1/sessions"))
                    .json(&json!({"kind": "command", "command": ["touch", "/tmp/nope"]})),
                2 => http
                    .post(url("/mcp"))
                    .json(&json!({"jsonrpc": "2.0", "id": n, "method": "tools/list"})),
                3 => http.delete(url("/api/v1/sessions/s_0123456789abcdef")),
                _ => http.get(url("/api/v1/no/such/route")),
            };
            async move {
                let response = request
                    .header("Authorization", token)
                    .send()
                    .await
                    .expect("an answer");
                let status = response.status().as_u16();
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().to_string());
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (n, status, challenge, body)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(statuses.len(), REQUESTS);
    let mut by_status = std::collections::BTreeMap::new();
    for (n, status, challenge, body) in &statuses {
        *by_status.entry(*status).or_insert(0usize) += 1;
        assert_eq!(*status, 401, "request {n}: {body}");
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer realm="termbridge", error="invalid_token""#),
            "request {n}"
        );
        assert_eq!(body["error"]["code"], "unauthorized", "request {n}: {body}");
        assert_eq!(
            body["error"]["message"], "the bearer token is not valid",
            "request {n}"
        );
    }
    println!("{REQUESTS} wrong-token requests: {by_status:?}");
    // Nothing was opened, and the right token still works at once.
    let (status, listed) = server.get("/api/v1/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(listed["sessions"], json!([]));
    still_up(&server).await;
}

/// Waits (bounded) until the bundled document `doc_id` can be read: the
/// docs subsystem indexes its sources in the background at start.
async fn until_doc_readable(server: &TestServer, doc_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = get(server, &format!("/api/v1/docs/{doc_id}")).await;
        if answer.status == 200 {
            return answer.body;
        }
        assert!(
            answer.status == 404 && Instant::now() < deadline,
            "{doc_id} never readable: {}",
            answer.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn docs_read_refuses_path_traversal() {
    let server = TestServer::start();
    let control = until_doc_readable(&server, "terminal").await;
    assert!(control["text"].as_str().unwrap().contains("session_run"));
    let secret_marks = ["root:x:0:0", "[workspace]", "BEGIN OPENSSH"];
    let leaks = |answer: &Answer| {
        let text = String::from_utf8_lossy(&answer.raw).into_owned();
        secret_marks.iter().any(|m| text.contains(m))
    };
    // Ids that are not ids (slashes, `..`, NUL, backslashes): 400.
    for path in [
        "/api/v1/docs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/v1/docs/..%2f..%2fCargo.toml",
        "/api/v1/docs/%2Fetc%2Fpasswd",
        "/api/v1/docs/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/v1/docs/....%2F....%2Fetc%2Fpasswd",
        "/api/v1/docs/...",
        "/api/v1/docs/terminal..",
        "/api/v1/docs/a%00b",
        "/api/v1/docs/..%5C..%5Cetc%5Cpasswd",
        "/api/v1/docs/man:..%2F..%2Fetc%2Fpasswd",
        "/api/v1/docs/bundled:..:..:etc:passwd",
        "/api/v1/docs/%252e%252e%252fetc%252fpasswd",
        "/api/v1/docs/%FF%FE",
    ] {
        let answer = get(&server, path).await;
        assert!(!leaks(&answer), "{path} leaked a file: {}", answer.text());
        rest_error(&answer, 400, "invalid_input", path);
    }
    // Id-shaped but unknown, or a section that is a path: 404.
    for path in [
        "/api/v1/docs/etc:passwd",
        "/api/v1/docs/bundled:etc.passwd",
        "/api/v1/docs/man:passwd.5",
        "/api/v1/docs/terminal?section=..%2F..%2Fetc%2Fpasswd",
        "/api/v1/docs/terminal?section=%2Fetc%2Fpasswd",
    ] {
        let answer = get(&server, path).await;
        assert!(!leaks(&answer), "{path} leaked a file: {}", answer.text());
        rest_error(&answer, 404, "not_found", path);
    }
    // Dot segments the client would resolve, sent raw.
    for target in [
        &b"/api/v1/docs/../../../etc/passwd"[..],
        b"/api/v1/docs/../docs/../../Cargo.toml",
        b"/api/v1/docs/./../../etc/passwd",
    ] {
        let answer = raw_http(server.port, &raw_get(target)).await;
        let text = String::from_utf8_lossy(&answer.1).into_owned();
        assert!(!secret_marks.iter().any(|m| text.contains(m)), "{text}");
        raw_error(&answer, 404, "not_found", &String::from_utf8_lossy(target));
    }
    let answer = raw_http(server.port, &raw_get(b"/api/v1/docs/..")).await;
    raw_error(&answer, 400, "invalid_input", "/api/v1/docs/.. raw");
    // The same over MCP.
    for (arguments, code, status) in [
        (json!({"doc_id": "../../etc/passwd"}), "invalid_input", 400),
        (json!({"doc_id": "/etc/passwd"}), "invalid_input", 400),
        (
            json!({"doc_id": "..\\..\\etc\\passwd"}),
            "invalid_input",
            400,
        ),
        (json!({"doc_id": "terminal\u{0}"}), "invalid_input", 400),
        (json!({"doc_id": "x".repeat(100_000)}), "invalid_input", 400),
        (
            json!({"doc_id": "terminal", "section": "../../etc/passwd"}),
            "not_found",
            404,
        ),
        (json!({"doc_id": "etc:passwd"}), "not_found", 404),
    ] {
        let answer = call_tool(&server, "docs_read", arguments.clone()).await;
        assert!(!leaks(&answer), "{arguments} leaked a file");
        tool_error(&answer, code, status, &format!("docs_read {arguments}"));
    }
    // MCP resources: only URIs of indexed documents are readable.
    for uri in [
        "docs://bundled/../../../etc/passwd",
        "docs://bundled/%2e%2e/%2e%2e/etc/passwd",
        "docs://bundled/..%2F..%2FCargo.toml",
        "docs:///etc/passwd",
        "file:///etc/passwd",
        "docs://../Cargo.toml",
        "/etc/passwd",
    ] {
        let answer = post_json(
            &server,
            "/mcp",
            &json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": uri}}),
        )
        .await;
        assert!(!leaks(&answer), "{uri} leaked a file: {}", answer.text());
        rpc_error(&answer, 200, -32002, &format!("resources/read {uri}"));
        assert_eq!(answer.body["id"], 3);
    }
    still_up(&server).await;
}
