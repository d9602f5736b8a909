//! Who may do what: scoped tokens (read vs control, session limits),
//! read-only sessions, secrets typed without exposure, redaction of answers
//! and of the audit log, the audit log itself, and the per-token rate limit.

mod common;

use common::{TestServer, client};
use serde_json::{Value, json};
use termbridge::tools::Scope;

const READER: &str = "reader-token-0123456789abcdef";
const BUILDER: &str = "builder-token-0123456789abcdef";
const SECRET: &str = "s3cr3t-Value-42";

fn server_with_access(audit: Option<std::path::PathBuf>) -> TestServer {
    TestServer::start_with(|c| {
        common::add_token(c, "reader", READER, Scope::Read, None);
        common::add_token(c, "builder", BUILDER, Scope::Control, Some(&["build-*"]));
        c.access.secrets.insert("DB_PASSWORD".into(), SECRET.into());
        c.access.audit_log = audit;
        c.access = c
            .access
            .clone()
            .with_redaction(&["internal-[0-9]{4}".to_string()])
            .unwrap();
    })
}

async fn as_token(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client()
        .request(method.parse().unwrap(), server.at(path))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn mcp_as(server: &TestServer, token: &str, body: Value) -> Value {
    client()
        .post(server.at("/mcp"))
        .header("Authorization", format!("Bearer {token}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_read_token_cannot_change_anything_and_does_not_see_those_tools() {
    let server = server_with_access(None);
    let session = server.shell().await;
    // Reading works.
    let (status, _) = as_token(&server, READER, "GET", "/api/v1/sessions", None).await;
    assert_eq!(status, 200);
    let (status, _) = as_token(
        &server,
        READER,
        "GET",
        &format!("/api/v1/sessions/{session}/screen"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Changing is refused, over REST…
    for (method, path, body) in [
        ("POST", "/api/v1/sessions".to_string(), Some(json!({}))),
        (
            "POST",
            format!("/api/v1/sessions/{session}/input"),
            Some(json!({"keys": ["Enter"]})),
        ),
        (
            "POST",
            format!("/api/v1/sessions/{session}/commands"),
            Some(json!({"command": "touch /tmp/x"})),
        ),
        ("DELETE", format!("/api/v1/sessions/{session}"), None),
    ] {
        let (status, body) = as_token(&server, READER, method, &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("needs a control token")
        );
    }
    // …and over MCP, where those tools are not even listed.
    let listed = mcp_as(
        &server,
        READER,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"session_screen") && names.contains(&"server_info"));
    for hidden in [
        "session_open",
        "session_run",
        "session_send_keys",
        "session_close",
        "session_restart",
        "session_resize",
    ] {
        assert!(!names.contains(&hidden), "{hidden} listed for a read token");
    }
    let call = mcp_as(
        &server,
        READER,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "session_open", "arguments": {}}}),
    )
    .await;
    assert_eq!(call["result"]["isError"], true);
    assert!(
        call["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("forbidden (403)")
    );
    // The session is untouched and the control token still works.
    assert_eq!(server.run(&session, "echo fine").await["output"], "fine");
}

#[tokio::test]
async fn a_session_limited_token_only_reaches_its_sessions() {
    let server = server_with_access(None);
    let other = server.shell().await;
    let (status, body) = as_token(
        &server,
        BUILDER,
        "POST",
        "/api/v1/sessions",
        Some(json!({"name": "prod"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, mine) = as_token(
        &server,
        BUILDER,
        "POST",
        "/api/v1/sessions",
        Some(json!({"name": "build-1"})),
    )
    .await;
    assert_eq!(status, 200, "{mine}");
    let mine = mine["id"].as_str().unwrap().to_string();
    let (status, ran) = as_token(
        &server,
        BUILDER,
        "POST",
        &format!("/api/v1/sessions/{mine}/commands"),
        Some(json!({"command": "echo built"})),
    )
    .await;
    assert_eq!((status, ran["output"].clone()), (200, json!("built")));
    let (status, _) = as_token(
        &server,
        BUILDER,
        "GET",
        &format!("/api/v1/sessions/{other}/screen"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (_, listed) = as_token(&server, BUILDER, "GET", "/api/v1/sessions", None).await;
    let ids: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.as_str()]);
    let (status, _) = as_token(
        &server,
        BUILDER,
        "POST",
        "/api/v1/sessions",
        Some(json!({"name": "build-ssh", "kind": "ssh", "ssh": {"host": "127.0.0.1"}})),
    )
    .await;
    assert_eq!(
        status, 403,
        "direct ssh targets need a profile for a limited token"
    );
}

#[tokio::test]
async fn a_read_only_session_refuses_input_even_to_control_tokens() {
    let server = server_with_access(None);
    let session = server
        .open_session(json!({"read_only": true, "name": "watch"}))
        .await;
    assert_eq!(session["read_only"], true);
    let id = session["id"].as_str().unwrap();
    let (status, body) = server.run_with(id, "echo no", json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
    let (status, _) = server.keys(id, Some("x"), &["Enter"]).await;
    assert_eq!(status, 403);
    let screen = server.screen(id, 0).await;
    assert!(screen["lines"].is_array());
}

#[tokio::test]
async fn secrets_are_typed_without_exposure_and_everything_is_audited_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let server = server_with_access(Some(audit.clone()));
    let id = server.shell().await;
    let (_, asked) = server
        .run_with(
            &id,
            "read -s -p 'Password: ' pw; echo; echo \"len=${#pw} value=$pw\"",
            json!({"timeout_ms": 10000, "request_id": "req-9"}),
        )
        .await;
    assert_eq!(asked["status"], "awaiting_input", "{asked}");
    let (status, sent) = server
        .post(
            &format!("/api/v1/sessions/{id}/input"),
            &json!({"secret": "DB_PASSWORD", "keys": ["Enter"]}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let done = server
        .poll(&id, asked["command_id"].as_str().unwrap(), 10_000)
        .await;
    let output = done["output"].as_str().unwrap();
    assert!(
        output.contains(&format!("len={}", SECRET.len())),
        "{output}"
    );
    assert!(
        !output.contains(SECRET),
        "the secret leaked into the answer: {output}"
    );
    assert!(output.contains("value=[REDACTED]"), "{output}");
    // Configured and built-in redaction on ordinary output.
    let echoed = server
        .run(
            &id,
            "echo internal-1234 AKIAABCDEFGHIJKLMNOP password=hunter22",
        )
        .await;
    assert_eq!(
        echoed["output"],
        "[REDACTED] [REDACTED] password=[REDACTED]"
    );
    let (status, _) = server
        .post(
            &format!("/api/v1/sessions/{id}/input"),
            &json!({"secret": "NOPE"}),
        )
        .await;
    assert_eq!(status, 400);
    server
        .keys(&id, Some("typed-by-client-9"), &["Enter"])
        .await;
    server.close(&id).await;

    let log = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tools: Vec<&str> = lines.iter().map(|l| l["tool"].as_str().unwrap()).collect();
    assert_eq!(
        tools,
        [
            "session_open",
            "session_run",
            "session_send_keys",
            "session_run",
            "session_send_keys",
            "session_send_keys",
            "session_close"
        ]
    );
    assert!(
        lines
            .iter()
            .all(|l| l["token"] == "default" && l["time"].is_string())
    );
    assert_eq!(lines[1]["request_id"], "req-9");
    assert_eq!(lines[1]["session"], id);
    assert_eq!(lines[2]["secret"], "DB_PASSWORD");
    assert_eq!(lines[3]["exit_code"], 0);
    assert_eq!(lines[4]["outcome"], "invalid_input");
    assert_eq!(lines[5]["text_bytes"], 17);
    for secret in [
        SECRET,
        "typed-by-client-9",
        "hunter22",
        "AKIAABCDEFGHIJKLMNOP",
        "internal-1234",
        common::TOKEN,
    ] {
        assert!(!log.contains(secret), "{secret} found in the audit log");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&audit).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after() {
    let server = TestServer::start_with(|c| c.access.rate_limit_per_second = 5);
    let mut limited = None;
    for _ in 0..40 {
        let response = client()
            .get(server.at("/api/v1/info"))
            .header("Authorization", server.bearer())
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
    }
    let response = limited.expect("the limit was never reached");
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Public paths are not counted.
    assert_eq!(
        client()
            .get(server.at("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
