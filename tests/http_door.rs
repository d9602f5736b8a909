//! The door of a real server: token, Origin, Host, body size, public paths.

mod common;

use common::{TestServer, client};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_token_is_401_with_a_bearer_challenge() {
    let server = TestServer::start();
    let response = client()
        .get(server.at("/api/v1/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="termbridge""#
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn wrong_token_is_401_with_invalid_token() {
    let server = TestServer::start();
    for value in [
        "Bearer wrong-token-0123456789abcdef",
        "Bearer test-token-0123456789abcde",
        "Basic dGVzdDp0ZXN0",
    ] {
        let response = client()
            .get(server.at("/api/v1/info"))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{value}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="termbridge", error="invalid_token""#
        );
    }
    // MCP is behind the same door.
    let response = client()
        .post(server.at("/mcp"))
        .header("Authorization", "Bearer nope")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn right_token_reaches_the_tools() {
    let server = TestServer::start();
    let (status, body) = server.get("/api/v1/info").await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "termbridge");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        body["tools"],
        json!([
            "server_info",
            "session_list",
            "session_open",
            "session_screen",
            "session_output",
            "session_run",
            "session_command",
            "session_send_keys",
            "session_resize",
            "session_restart",
            "session_close",
            "ip_addresses",
            "dns_lookup",
            "whois_lookup",
            "ping",
            "traceroute",
            "docs_search",
            "docs_read"
        ])
    );
    let subsystems: Vec<(&str, &str)> = body["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["state"].as_str().unwrap()))
        .collect();
    assert_eq!(subsystems[0], ("net", "running"));
    for name in ["dns", "whois"] {
        assert!(
            subsystems.contains(&(name, "running")),
            "{name} is not running: {subsystems:?}"
        );
    }
}

#[tokio::test]
async fn public_paths_need_no_token_and_well_known_is_404() {
    let server = TestServer::start();
    let health = client().get(server.at("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let openapi = client()
        .get(server.at("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(openapi.status(), 200);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let response = client().get(server.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn foreign_origin_is_403_and_own_origin_passes() {
    let server = TestServer::start();
    let own = format!("http://localhost:{}", server.port);
    for (origin, status) in [
        ("http://evil.example", 403),
        ("null", 403),
        ("http://localhost:1", 403),
        (own.as_str(), 200),
    ] {
        let response = client()
            .get(server.at("/api/v1/info"))
            .header("Authorization", server.bearer())
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{origin}");
    }
}

#[tokio::test]
async fn configured_origin_is_allowed() {
    let server = TestServer::start_with(|c| c.allowed_origins = vec!["https://app.test".into()]);
    let response = client()
        .get(server.at("/api/v1/info"))
        .header("Authorization", server.bearer())
        .header("Origin", "https://app.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn foreign_host_is_403_dns_rebinding() {
    let server = TestServer::start();
    for (host, status) in [
        ("evil.example", 403),
        ("evil.example:1985", 403),
        ("localhost", 200),
        ("127.0.0.1:1985", 200),
        ("[::1]:1985", 200),
    ] {
        let response = client()
            .get(server.at("/api/v1/info"))
            .header("Authorization", server.bearer())
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{host}");
        if status == 403 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "forbidden");
        }
    }
}

#[tokio::test]
async fn bodies_over_one_mib_are_413() {
    let server = TestServer::start();
    let big = "x".repeat(1024 * 1024 + 1);
    // Declared length.
    let response = client()
        .post(server.at("/mcp"))
        .header("Authorization", server.bearer())
        .header("Content-Type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    // Chunked, no declared length: counted while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let response = client()
        .post(server.at("/mcp"))
        .header("Authorization", server.bearer())
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Just under the limit is read (and then rejected as JSON, not for size).
    let response = client()
        .post(server.at("/mcp"))
        .header("Authorization", server.bearer())
        .body("x".repeat(1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let server = TestServer::start();
    let (status, body) = server.get("/api/v1/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = server.post("/api/v1/info", &json!({})).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn bad_rest_arguments_are_400_with_the_reason() {
    let server = TestServer::start();
    let (status, body) = server.get("/api/v1/info?bogus=1").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_input");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("unknown field `bogus`"), "{message}");
}

#[tokio::test]
async fn ip_addresses_lists_what_the_kernel_has_link_local_included() {
    let server = TestServer::start();
    let (status, body) = server.get("/api/v1/net/addresses").await;
    assert_eq!(status, 200);
    let listed: Vec<(String, String)> = body["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| {
            let name = i["name"].as_str().unwrap().to_string();
            i["addresses"].as_array().unwrap().iter().map(move |a| {
                (
                    name.clone(),
                    format!("{}/{}", a["address"].as_str().unwrap(), a["prefix_len"]),
                )
            })
        })
        .collect();
    // `ip -o addr` is the reference: every address it shows must be listed.
    let out = std::process::Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .expect("ip from iproute2");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut seen_link_local = false;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let name = fields[1].split('@').next().unwrap().to_string();
        let addr = fields[3].to_string();
        seen_link_local |= addr.starts_with("fe80:");
        assert!(
            listed.contains(&(name.clone(), addr.clone())),
            "{name} {addr} missing from {listed:?}"
        );
    }
    let lo = body["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["loopback"] == true)
        .unwrap();
    assert!(
        lo["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["address"] == "::1" && a["scope"] == "host" && a["family"] == "ipv6")
    );
    if seen_link_local {
        assert!(body.to_string().contains("\"scope\":\"link\""));
    }
}
