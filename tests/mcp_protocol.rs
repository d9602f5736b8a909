//! MCP over streamable HTTP against a real server: lifecycle, sessions,
//! versions, JSON-RPC edge cases, tools, SSE progress.

mod common;

use common::{TestServer, assert_golden, client};
use serde_json::{Value, json};

fn init(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}
    }})
}

async fn start_session(server: &TestServer, version: &str) -> String {
    let response = server.mcp_raw(&init(version), &[]).await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], version);
    id
}

#[tokio::test]
async fn initialize_negotiates_and_issues_a_session() {
    let server = TestServer::start();
    for (asked, answered) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let response = server.mcp_raw(&init(asked), &[]).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("mcp-session-id"));
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = response.json().await.unwrap();
        let result = &body["result"];
        assert_eq!(result["protocolVersion"], answered, "asked {asked}");
        assert_eq!(result["serverInfo"]["name"], "termbridge");
        assert_eq!(result["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(result["capabilities"]["tools"].is_object());
        assert!(
            result["instructions"]
                .as_str()
                .unwrap()
                .contains("session_run")
        );
    }
}

#[tokio::test]
async fn ping_and_set_level_answer_exactly_empty_objects() {
    let server = TestServer::start();
    let session = start_session(&server, "2025-11-25").await;
    let headers = [("mcp-session-id", session.as_str())];
    let ping = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}),
            &headers,
        )
        .await;
    assert_eq!(ping.headers()["mcp-session-id"], session.as_str());
    let body: Value = ping.json().await.unwrap();
    assert_eq!(body, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));
    let level = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "debug"}}),
            &headers,
        )
        .await;
    let body: Value = level.json().await.unwrap();
    assert_eq!(body, json!({"jsonrpc": "2.0", "id": 2, "result": {}}));
    let (_, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel", "params": {"level": "loud"}}))
        .await;
    assert_eq!(body["error"]["code"], -32602);
}

#[tokio::test]
async fn notifications_get_202_with_no_body_and_no_json_type() {
    let server = TestServer::start();
    for note in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}}),
        json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
    ] {
        let response = server.mcp_raw(&note, &[]).await;
        assert_eq!(response.status(), 202, "{note}");
        assert!(!response.headers().contains_key("content-type"), "{note}");
        assert!(response.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn unknown_session_is_404_and_requests_without_session_work() {
    let server = TestServer::start();
    let response = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            &[("mcp-session-id", "0123456789abcdef0123456789abcdef")],
        )
        .await;
    assert_eq!(response.status(), 404);
    let (status, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(status, 200);
    assert!(body["result"]["tools"].is_array());
}

#[tokio::test]
async fn unsupported_protocol_version_header_is_400() {
    let server = TestServer::start();
    let response = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            &[("mcp-protocol-version", "2026-07-28")],
        )
        .await;
    assert_eq!(response.status(), 400);
    let ok = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            &[("mcp-protocol-version", "2025-06-18")],
        )
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn newer_sdk_discovery_probe_falls_back_cleanly() {
    // The Python SDK 2.x probes with `server/discover` first; any 4xx or
    // JSON-RPC error makes it fall back to initialize.
    let server = TestServer::start();
    let response = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover"}),
            &[("mcp-protocol-version", "2026-07-28")],
        )
        .await;
    assert_eq!(response.status(), 400);
    let (status, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["code"], -32601);
}

#[tokio::test]
async fn delete_ends_a_session_and_get_is_405() {
    let server = TestServer::start();
    let session = start_session(&server, "2025-06-18").await;
    let delete = |id: String| {
        client()
            .delete(server.at("/mcp"))
            .header("Authorization", server.bearer())
            .header("mcp-session-id", id)
            .send()
    };
    assert_eq!(delete(session.clone()).await.unwrap().status(), 204);
    assert_eq!(delete(session.clone()).await.unwrap().status(), 404);
    let after = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            &[("mcp-session-id", session.as_str())],
        )
        .await;
    assert_eq!(after.status(), 404);
    let get = client()
        .get(server.at("/mcp"))
        .header("Authorization", server.bearer())
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn trailing_slash_path_behaves_the_same() {
    let server = TestServer::start();
    let response = client()
        .post(server.at("/mcp/"))
        .header("Authorization", server.bearer())
        .json(&init("2025-03-26"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("mcp-session-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-03-26");
}

#[tokio::test]
async fn json_rpc_faults_have_their_codes() {
    let server = TestServer::start();
    // -32700: not JSON at all.
    let response = client()
        .post(server.at("/mcp"))
        .header("Authorization", server.bearer())
        .header("Content-Type", "application/json")
        .body("{\"jsonrpc\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(body["id"], Value::Null);
    // -32600: JSON but not JSON-RPC.
    for bad in [
        json!({"id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1}),
        json!({"jsonrpc": "2.0", "id": [1], "method": "ping"}),
        json!(42),
    ] {
        let (status, body) = server.mcp(&bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(body["error"]["code"], -32600, "{bad}");
    }
    // -32601: unknown method, with the request's id.
    let (status, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": "abc", "method": "no/such"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "abc");
    assert_eq!(body["error"]["code"], -32601);
    // -32602: tools/call without a name, or with an unknown tool.
    for params in [
        json!({}),
        json!({"name": 5}),
        json!({"name": "no_such_tool"}),
    ] {
        let (_, body) = server
            .mcp(&json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": params}))
            .await;
        assert_eq!(body["error"]["code"], -32602, "{params}");
    }
}

#[tokio::test]
async fn batches_only_in_2025_03_26() {
    let server = TestServer::start();
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    ]);
    // No session, no header: 2025-03-26, so batches work.
    let (status, body) = server.mcp(&batch).await;
    assert_eq!(status, 200);
    let answers = body.as_array().unwrap();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0], json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
    assert!(answers[1]["result"]["tools"].is_array());
    // A batch of notifications only: 202.
    let notes = json!([{"jsonrpc": "2.0", "method": "notifications/initialized"}]);
    assert_eq!(server.mcp_raw(&notes, &[]).await.status(), 202);
    // Empty batch: invalid.
    let (status, body) = server.mcp(&json!([])).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32600);
    // A 2025-06-18 session: rejected.
    let session = start_session(&server, "2025-06-18").await;
    let response = server
        .mcp_raw(&batch, &[("mcp-session-id", session.as_str())])
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32600);
    // Same through the version header.
    let response = server
        .mcp_raw(&batch, &[("mcp-protocol-version", "2025-11-25")])
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn tools_list_matches_golden_and_calls_return_structured_content() {
    let server = TestServer::start();
    let (_, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_golden("tools_list.json", &body["result"]);
    let (_, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "server_info", "arguments": {}}}))
        .await;
    let result = &body["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(result["structuredContent"]["name"], "termbridge");
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, result["structuredContent"]);
}

/// A `tools/call` over MCP; returns the body as sent and as JSON.
async fn call_raw(server: &TestServer, id: Value, name: &str, arguments: Value) -> (String, Value) {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                      "params": {"name": name, "arguments": arguments}});
    let response = server.mcp_raw(&call, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["id"], id);
    (body, value)
}

#[tokio::test]
async fn tool_answers_are_compact_sorted_json_and_the_text_is_the_structured_content() {
    let server = TestServer::start();
    let (body, value) = call_raw(&server, json!("r-\"1\" é"), "server_info", json!({})).await;
    // Byte for byte what serializing the answer as a `serde_json::Value`
    // gives: compact, object keys in sorted order.
    assert_eq!(body, value.to_string());
    let result = &value["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(
        result["content"][0]["text"].as_str().unwrap(),
        result["structuredContent"].to_string()
    );
    // REST answers the same way.
    let response = client()
        .get(server.at("/api/v1/info"))
        .header("Authorization", server.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    let rest = response.text().await.unwrap();
    let rest_value: Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(rest, rest_value.to_string());
    assert_eq!(rest_value["tools"], result["structuredContent"]["tools"]);

    // Output with characters JSON escapes and a secret to redact: both
    // copies carry the redacted text, escaped once each.
    let (_, open) = call_raw(&server, json!(2), "session_open", json!({})).await;
    let session = open["result"]["structuredContent"]["id"].clone();
    let command = r#"printf 'q"b\\s\t é\n'; echo password=hunter22"#;
    let args = json!({"session_id": session, "command": command, "timeout_ms": 10000});
    let (body, value) = call_raw(&server, json!(3), "session_run", args).await;
    assert_eq!(body, value.to_string());
    let result = &value["result"];
    let output = result["structuredContent"]["output"].as_str().unwrap();
    assert_eq!(output, "q\"b\\s\t é\npassword=[REDACTED]", "{body}");
    assert_eq!(
        result["content"][0]["text"].as_str().unwrap(),
        result["structuredContent"].to_string()
    );
    assert!(!body.contains("hunter22"), "{body}");
    call_raw(
        &server,
        json!(4),
        "session_close",
        json!({"session_id": session}),
    )
    .await;
}

#[tokio::test]
async fn bad_tool_arguments_are_a_tool_error_not_a_protocol_error() {
    let server = TestServer::start();
    let (status, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "server_info", "arguments": {"verbose": true}}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["isError"], true);
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("invalid_input (400): invalid arguments for server_info"),
        "{text}"
    );
    assert!(text.contains("verbose"), "{text}");
}

/// Splits an SSE body into the JSON data of its events.
fn sse_messages(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            (!data.is_empty()).then(|| serde_json::from_str(&data.join("\n")).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn progress_token_streams_notifications_then_the_result_over_sse() {
    let server = TestServer::start();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "ip_addresses", "arguments": {}, "_meta": {"progressToken": "tok-1"}
    }});
    let response = server.mcp_raw(&call, &[]).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let messages = sse_messages(&response.text().await.unwrap());
    let (last, progress) = messages.split_last().unwrap();
    assert_eq!(last["id"], 7);
    let interfaces = last["result"]["structuredContent"]["interfaces"]
        .as_array()
        .unwrap();
    assert_eq!(progress.len(), interfaces.len());
    for (n, note) in progress.iter().enumerate() {
        assert_eq!(note["method"], "notifications/progress");
        assert_eq!(note["params"]["progressToken"], "tok-1");
        assert_eq!(note["params"]["progress"], (n + 1) as f64);
        assert_eq!(note["params"]["total"], interfaces.len() as f64);
    }
    // Without SSE in Accept, the same call is plain JSON.
    let plain = client()
        .post(server.at("/mcp"))
        .header("Authorization", server.bearer())
        .header("Accept", "application/json")
        .json(&call)
        .send()
        .await
        .unwrap();
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["id"], 7);
}
