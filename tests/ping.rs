//! `ping` against loopback through REST and MCP: ICMP and TCP to 127.0.0.1
//! and ::1 with exact counts and statistics, a closed port refused, host
//! names through the DnsActor (the in-process DNS server), bad input and
//! the deny-list, progress notifications per reply and cancellation over
//! MCP, and the TCP fallback of `auto` when ICMP is not permitted (the
//! binary started without CAP_NET_RAW).
//!
//! Traffic goes to loopback only; routes, TTLs through routers, timeouts
//! and ICMP unreachables are in tests/netns.rs.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use common::dns::TestDnsServer;
use common::net::{SseCall, assert_summary_matches, expected_icmp_method, mcp_ok, refused_by_both};
use common::{TestServer, client};
use serde_json::{Value, json};

const PING: &str = "/api/v1/net/ping";

async fn ping_ok(server: &TestServer, args: Value) -> Value {
    let (status, body) = server.post(PING, &args).await;
    assert_eq!(status, 200, "{args}: {body}");
    body
}

/// Every probe of `result` answered by `from` with `status`.
fn assert_all(result: &Value, count: usize, status: &str, from: &str) {
    let replies = result["replies"].as_array().unwrap();
    assert_eq!(replies.len(), count, "{result}");
    for (n, reply) in replies.iter().enumerate() {
        assert_eq!(reply["seq"], n + 1, "{result}");
        assert_eq!(reply["status"], status, "{result}");
        assert_eq!(reply["from"], from, "{result}");
        assert!(reply["rtt_ms"].as_f64().unwrap() >= 0.0, "{result}");
    }
    assert!(result["stopped"].is_null(), "{result}");
}

#[tokio::test]
async fn icmp_ping_of_loopback_counts_every_reply_v4_and_v6() {
    let server = TestServer::start();
    for (host, ttl) in [("127.0.0.1", 64), ("::1", 64)] {
        let result = ping_ok(
            &server,
            json!({"host": host, "count": 3, "interval_ms": 200, "protocol": "icmp"}),
        )
        .await;
        assert_eq!(result["host"], host);
        assert_eq!(result["address"], host);
        assert_eq!(result["protocol"], "icmp");
        assert_eq!(result["method"], expected_icmp_method(), "{result}");
        assert!(result["port"].is_null());
        assert_all(&result, 3, "reply", host);
        for reply in result["replies"].as_array().unwrap() {
            assert_eq!(reply["ttl"], ttl, "{result}");
            assert!(reply["reason"].is_null());
        }
        let summary = &result["summary"];
        assert_eq!(
            (summary["sent"].clone(), summary["received"].clone()),
            (json!(3), json!(3))
        );
        assert_eq!(summary["loss_pct"], 0.0);
        assert_summary_matches(&result);
    }
}

#[tokio::test]
async fn auto_uses_icmp_and_says_why() {
    let server = TestServer::start();
    let result = ping_ok(&server, json!({"host": "127.0.0.1", "count": 1})).await;
    let reason = result["method_reason"].as_str().unwrap();
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let range = range.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        reason.contains(&format!("net.ipv4.ping_group_range = {range}"))
            || reason.contains(&format!("net.ipv4.ping_group_range ({range})")),
        "{reason}"
    );
    match expected_icmp_method() {
        "icmp_raw" => {
            assert_eq!(result["method"], "icmp_raw");
            assert!(reason.starts_with("raw ICMP socket (termbridge has CAP_NET_RAW); unprivileged ICMP sockets are not allowed"), "{reason}");
        }
        _ => {
            assert_eq!(result["method"], "icmp_unprivileged");
            assert!(reason.starts_with("unprivileged ICMP socket"), "{reason}");
        }
    }
    assert_all(&result, 1, "reply", "127.0.0.1");
}

#[tokio::test]
async fn tcp_ping_of_a_loopback_listener_v4_and_v6() {
    let server = TestServer::start();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let listener = TcpListener::bind(bind).unwrap();
        let addr = listener.local_addr().unwrap();
        let host = addr.ip().to_string();
        let result = ping_ok(
            &server,
            json!({"host": host, "count": 4, "interval_ms": 200, "protocol": "tcp", "port": addr.port()}),
        )
        .await;
        assert_eq!(result["protocol"], "tcp");
        assert_eq!(result["method"], "tcp_connect");
        assert_eq!(result["port"], addr.port());
        assert_eq!(
            result["method_reason"],
            format!("TCP connect to port {}, as asked", addr.port())
        );
        assert_all(&result, 4, "reply", &host);
        for reply in result["replies"].as_array().unwrap() {
            assert!(reply["ttl"].is_null());
        }
        assert_eq!(result["summary"]["received"], 4);
        assert_eq!(result["summary"]["loss_pct"], 0.0);
        assert_summary_matches(&result);
    }
}

#[tokio::test]
async fn a_closed_loopback_port_is_refused() {
    let server = TestServer::start();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        // A port that was just free and is closed now.
        let port = TcpListener::bind(bind)
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = if bind.starts_with('[') {
            "::1"
        } else {
            "127.0.0.1"
        };
        let result = ping_ok(
            &server,
            json!({"host": host, "count": 2, "interval_ms": 200, "protocol": "tcp", "port": port}),
        )
        .await;
        assert_all(&result, 2, "refused", host);
        for reply in result["replies"].as_array().unwrap() {
            assert_eq!(reply["reason"], "connection refused");
        }
        let summary = &result["summary"];
        assert_eq!(summary["sent"], 2);
        assert_eq!(summary["received"], 0);
        assert_eq!(summary["loss_pct"], 100.0);
        assert!(summary["avg_ms"].is_null());
    }
}

#[tokio::test]
async fn host_names_are_resolved_through_the_dns_subsystem() {
    let dns = TestDnsServer::start();
    let server = TestServer::start_with(|config| config.dns_servers = vec![dns.addr]);
    let cases = [
        (json!({"host": "lo4.net.test"}), "127.0.0.1"),
        (json!({"host": "lo6.net.test"}), "::1"),
        (json!({"host": "dual.net.test"}), "127.0.0.1"),
        (json!({"host": "dual.net.test", "ip_version": "6"}), "::1"),
        (json!({"host": "alias.net.test"}), "127.0.0.1"),
        // /etc/hosts counts too.
        (json!({"host": "localhost", "ip_version": "4"}), "127.0.0.1"),
    ];
    for (mut args, address) in cases {
        args["count"] = json!(1);
        let result = ping_ok(&server, args.clone()).await;
        assert_eq!(result["host"], args["host"]);
        assert_eq!(result["address"], address, "{args}: {result}");
        assert_all(&result, 1, "reply", address);
    }
    let (status, message) =
        refused_by_both(&server, "ping", PING, &json!({"host": "nope.net.test"})).await;
    assert_eq!(status, 400);
    assert!(
        message.starts_with("host: \"nope.net.test\" does not exist (NXDOMAIN from"),
        "{message}"
    );
    let (status, message) = refused_by_both(
        &server,
        "ping",
        PING,
        &json!({"host": "lo4.net.test", "ip_version": "6"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        message.starts_with("host: \"lo4.net.test\" has no IPv6 address (AAAA record)"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named() {
    let server = TestServer::start_with(|config| {
        config.net.deny = vec!["127.0.0.2/32".parse().unwrap(), "::1".parse().unwrap()];
    });
    let cases = [
        (json!({"host": ""}), "host: must not be empty"),
        (
            json!({"host": "bad host"}),
            "host: \"bad host\" contains ' '; a domain name has no spaces or control characters",
        ),
        (
            json!({"host": "a..b"}),
            "host: \"a..b\" has an empty label (a leading dot or two dots in a row)",
        ),
        (
            json!({"host": "127.0.0.1", "count": 0}),
            "count: must be between 1 and 100, got 0",
        ),
        (
            json!({"host": "127.0.0.1", "count": 101}),
            "count: must be between 1 and 100, got 101",
        ),
        (
            json!({"host": "127.0.0.1", "interval_ms": 199}),
            "interval_ms: must be between 200 and 10000, got 199",
        ),
        (
            json!({"host": "127.0.0.1", "timeout_ms": 0}),
            "timeout_ms: must be between 1 and 10000, got 0",
        ),
        (
            json!({"host": "127.0.0.1", "count": 100, "interval_ms": 5000}),
            "count × interval_ms + timeout_ms is 496000 ms; one ping may take at most 300000 ms",
        ),
        (
            json!({"host": "127.0.0.1", "protocol": "icmp", "port": 80}),
            "port: only for protocol \"tcp\" (or \"auto\" falling back to TCP)",
        ),
        (
            json!({"host": "::1", "ip_version": "4"}),
            "host: ::1 is an IPv6 address but ip_version is \"4\"",
        ),
        (
            json!({"host": "224.0.0.1"}),
            "host: 224.0.0.1 is a multicast address; give a unicast address or a host name",
        ),
        (
            json!({"host": "0.0.0.0"}),
            "host: 0.0.0.0 is the unspecified address; give a unicast address or a host name",
        ),
        // The deny-list, by address and through an IPv4-mapped IPv6 address.
        (
            json!({"host": "127.0.0.2"}),
            "host: 127.0.0.2 is in 127.0.0.2/32, a network termbridge is configured not to probe ([net] deny)",
        ),
        (
            json!({"host": "::ffff:127.0.0.2"}),
            "host: 127.0.0.2 is in 127.0.0.2/32, a network termbridge is configured not to probe ([net] deny)",
        ),
        (
            json!({"host": "::1", "protocol": "tcp", "port": 80}),
            "host: ::1 is in ::1/128, a network termbridge is configured not to probe ([net] deny)",
        ),
    ];
    for (args, expected) in cases {
        let (status, message) = refused_by_both(&server, "ping", PING, &args).await;
        assert_eq!((status, message.as_str()), (400, expected), "{args}");
    }
    // Types and unknown fields are refused at the door.
    for args in [
        json!({"host": "127.0.0.1", "count": "four"}),
        json!({"host": "127.0.0.1", "protocol": "udp"}),
        json!({"host": "127.0.0.1", "ip_version": 5}),
        json!({"host": "127.0.0.1", "verbose": true}),
        json!({}),
    ] {
        let (status, message) = refused_by_both(&server, "ping", PING, &args).await;
        assert_eq!(status, 400, "{args}");
        assert!(
            message.starts_with("invalid arguments for ping: "),
            "{message}"
        );
    }
    // Addresses outside the deny-list still work.
    let result = ping_ok(&server, json!({"host": "127.0.0.1", "count": 1})).await;
    assert_all(&result, 1, "reply", "127.0.0.1");
}

#[tokio::test]
async fn deny_list_applies_to_resolved_names() {
    let dns = TestDnsServer::start();
    let server = TestServer::start_with(|config| {
        config.dns_servers = vec![dns.addr];
        config.net.deny = vec!["127.0.0.0/8".parse().unwrap()];
    });
    let (status, message) =
        refused_by_both(&server, "ping", PING, &json!({"host": "lo4.net.test"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        message,
        "host: 127.0.0.1 is in 127.0.0.0/8, a network termbridge is configured not to probe ([net] deny)"
    );
}

#[tokio::test]
async fn mcp_progress_notifies_every_reply_before_the_result() {
    let server = TestServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for args in [
        json!({"host": "127.0.0.1", "count": 3, "interval_ms": 200}),
        json!({"host": "127.0.0.1", "count": 3, "interval_ms": 200, "protocol": "tcp", "port": port}),
    ] {
        let mut call = SseCall::start(&server, json!(11), "ping", &args, &[]).await;
        let (notes, response) = call.rest().await;
        assert_eq!(response["id"], 11);
        let result = &response["result"]["structuredContent"];
        assert_eq!(response["result"]["isError"], false, "{response}");
        assert_eq!(notes.len(), 3, "{notes:?}");
        for (n, note) in notes.iter().enumerate() {
            assert_eq!(note["method"], "notifications/progress");
            assert_eq!(note["params"]["progressToken"], "progress-1");
            assert_eq!(note["params"]["progress"], (n + 1) as f64);
            assert_eq!(note["params"]["total"], 3.0);
            let message = note["params"]["message"].as_str().unwrap();
            let seq = result["replies"][n]["seq"].as_u64().unwrap();
            assert!(
                message.starts_with(&format!("seq={seq} reply from 127.0.0.1")),
                "{message}"
            );
        }
        assert_all(result, 3, "reply", "127.0.0.1");
    }
}

/// Starts an SSE ping of 20 probes, cancels it after the second progress
/// notification, and returns the result it ended with.
async fn ping_then_cancel(server: &TestServer, id: Value, headers: &[(&str, &str)]) -> Value {
    let args = json!({"host": "127.0.0.1", "count": 20, "interval_ms": 200});
    let mut call = SseCall::start(server, id.clone(), "ping", &args, headers).await;
    for _ in 0..2 {
        let note = call.next().await.expect("a progress notification");
        assert_eq!(note["method"], "notifications/progress", "{note}");
    }
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": id, "reason": "the test has seen enough"}});
    let answer = server.mcp_raw(&cancel, headers).await;
    assert_eq!(answer.status(), 202);
    let (_, response) = call.rest().await;
    assert_eq!(response["id"], id);
    assert_eq!(response["result"]["isError"], false, "{response}");
    response["result"]["structuredContent"].clone()
}

#[tokio::test]
async fn mcp_cancellation_stops_a_running_ping() {
    let server = TestServer::start();
    // Without a session (stateless clients) and within one.
    let result = ping_then_cancel(&server, json!("ping-a"), &[]).await;
    let done = result["replies"].as_array().unwrap().len();
    assert!((2..20).contains(&done), "{result}");
    assert_eq!(result["stopped"], "cancelled");
    assert_eq!(result["summary"]["sent"], done);

    let (_, init) = {
        let response = server
            .mcp_raw(
                &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}}),
                &[],
            )
            .await;
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        (response.json::<Value>().await.unwrap(), session)
    };
    let session = init;
    let headers = [("Mcp-Session-Id", session.as_str())];
    let result = ping_then_cancel(&server, json!(42), &headers).await;
    let done = result["replies"].as_array().unwrap().len();
    assert!((2..20).contains(&done), "{result}");
    assert_eq!(result["stopped"], "cancelled");
}

#[tokio::test]
async fn a_cancellation_for_another_session_or_id_changes_nothing() {
    let server = TestServer::start();
    let args = json!({"host": "127.0.0.1", "count": 3, "interval_ms": 200});
    let mut call = SseCall::start(&server, json!(5), "ping", &args, &[]).await;
    let first = call.next().await.unwrap();
    assert_eq!(first["method"], "notifications/progress");
    for request_id in [json!(6), json!("5")] {
        let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": request_id}});
        assert_eq!(server.mcp_raw(&cancel, &[]).await.status(), 202);
    }
    // The same id, but from a session the request was not made in.
    let response = server
        .mcp_raw(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}}),
            &[],
        )
        .await;
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 5}});
    let answer = server
        .mcp_raw(&cancel, &[("Mcp-Session-Id", &session)])
        .await;
    assert_eq!(answer.status(), 202);
    let (notes, response) = call.rest().await;
    assert_eq!(notes.len(), 2);
    let result = &response["result"]["structuredContent"];
    assert_all(result, 3, "reply", "127.0.0.1");
}

/// `termbridge serve` started without CAP_NET_RAW (setpriv drops it from
/// the bounding and inheritable sets), for the fallback tests.
struct Unprivileged {
    child: std::process::Child,
    url: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Unprivileged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_without_cap_net_raw() -> Unprivileged {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("setpriv")
        .args(["--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"])
        .arg(env!("CARGO_BIN_EXE_termbridge"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TERMBRIDGE_CONFIG_DIR", dir.path())
        .env_remove("TERMBRIDGE_TOKEN")
        .env_remove("TERMBRIDGE_BIND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("setpriv starts termbridge serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = lines.next().expect("serve printed its banner").unwrap();
        if let Some(rest) = line.strip_prefix("termbridge listening on ") {
            url = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Bearer token:") {
            token = Some(rest.trim().to_string());
        }
    }
    Unprivileged {
        child,
        url: url.unwrap(),
        token: token.unwrap(),
        _dir: dir,
    }
}

#[tokio::test]
async fn without_icmp_permission_auto_falls_back_to_tcp_and_says_why() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = serve_without_cap_net_raw();
    let post = |args: Value| {
        let request = client()
            .post(format!("{}{PING}", served.url))
            .header("Authorization", format!("Bearer {}", served.token))
            .json(&args);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let range = range.split_whitespace().collect::<Vec<_>>().join(" ");
    let (status, result) =
        post(json!({"host": "127.0.0.1", "count": 2, "interval_ms": 200, "port": port})).await;
    assert_eq!(status, 200, "{result}");
    if expected_icmp_method() == "icmp_unprivileged" {
        // This system allows unprivileged ICMP: no fallback is needed.
        assert_eq!(result["method"], "icmp_unprivileged");
        return;
    }
    assert_eq!(result["protocol"], "tcp");
    assert_eq!(result["method"], "tcp_connect");
    assert_eq!(result["port"], port);
    assert_eq!(
        result["method_reason"],
        format!(
            "ICMP is not available: unprivileged ICMP sockets are not allowed for group 0 \
             (net.ipv4.ping_group_range = {range}), and raw sockets need CAP_NET_RAW, which \
             termbridge does not have; falling back to a TCP connect to port {port}"
        )
    );
    assert_all(&result, 2, "reply", "127.0.0.1");
    // Asking for ICMP explicitly is refused with the same explanation.
    let (status, body) = post(json!({"host": "127.0.0.1", "protocol": "icmp"})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("which termbridge does not have; use protocol \"tcp\" (or \"auto\")"),
        "{body}"
    );
    // traceroute's auto falls back to UDP, which needs no privilege.
    let response = client()
        .post(format!("{}/api/v1/net/traceroute", served.url))
        .header("Authorization", format!("Bearer {}", served.token))
        .json(&json!({"host": "127.0.0.1", "resolve_hostnames": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let trace: Value = response.json().await.unwrap();
    assert_eq!(trace["method"], "udp", "{trace}");
    assert!(
        trace["method_reason"]
            .as_str()
            .unwrap()
            .contains("; falling back to UDP datagrams to port 33434 and up"),
        "{trace}"
    );
    assert_eq!(trace["reached"], true, "{trace}");
    assert_eq!(trace["hops"][0]["probes"][0]["reason"], "port unreachable");
}

#[tokio::test]
async fn rest_answers_validate_against_the_openapi_document_and_mcp_against_the_sdk() {
    let server = TestServer::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let doc: Value = client()
        .get(server.at("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let doc_file = dir.path().join("openapi.json");
    std::fs::write(&doc_file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let cases = [
        (
            "ping",
            server
                .post(
                    PING,
                    &json!({"host": "127.0.0.1", "count": 2, "interval_ms": 200}),
                )
                .await,
        ),
        (
            "ping",
            server
                .post(
                    PING,
                    &json!({"host": "127.0.0.1", "count": 1, "protocol": "tcp", "port": port}),
                )
                .await,
        ),
        ("ping", server.post(PING, &json!({"host": ""})).await),
        (
            "traceroute",
            server
                .post(
                    "/api/v1/net/traceroute",
                    &json!({"host": "::1", "protocol": "udp"}),
                )
                .await,
        ),
    ];
    for (n, (operation, (status, body))) in cases.into_iter().enumerate() {
        let body_file = dir.path().join(format!("body{n}.json"));
        std::fs::write(&body_file, serde_json::to_vec(&body).unwrap()).unwrap();
        let out = Command::new(common::python())
            .arg(common::py_script("validate_response.py"))
            .arg(&doc_file)
            .arg(operation)
            .arg(status.to_string())
            .arg(&body_file)
            .output()
            .expect("run validate_response.py");
        assert!(
            out.status.success(),
            "{operation} {status} does not match its schema:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The official MCP Python SDK validates structuredContent against the outputSchema.
    let out = Command::new(common::python())
        .arg(common::py_script("mcp_client_check.py"))
        .args(["--url", &server.at("/mcp"), "--token", &server.token])
        .args(["--protocol-version", "2025-06-18"])
        .args([
            "--call",
            r#"ping={"host": "127.0.0.1", "count": 2, "interval_ms": 200}"#,
        ])
        .args([
            "--call",
            r#"traceroute={"host": "127.0.0.1", "protocol": "tcp", "resolve_hostnames": false}"#,
        ])
        .output()
        .expect("run mcp_client_check.py");
    assert!(
        out.status.success(),
        "the MCP SDK rejected a call:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["calls"]["ping"]["summary"]["received"], 2);
    assert_eq!(summary["calls"]["traceroute"]["reached"], true);
    // mcp_ok agrees on the same call.
    let result = mcp_ok(&server, "ping", &json!({"host": "::1", "count": 1})).await;
    assert_all(&result, 1, "reply", "::1");
}
