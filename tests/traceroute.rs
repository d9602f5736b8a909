//! `traceroute` to loopback through REST and MCP: ICMP, UDP and TCP to
//! 127.0.0.1 and ::1 (one hop, reached), TCP to a listener and to a closed
//! port, hop names through the DnsActor, bad input and the deny-list,
//! progress notifications per hop and cancellation over MCP.
//!
//! Traffic goes to loopback only; multi-hop routes are in tests/netns.rs.

mod common;

use std::net::TcpListener;

use common::TestServer;
use common::net::{SseCall, expected_icmp_method, mcp_ok, refused_by_both};
use serde_json::{Value, json};

const TRACE: &str = "/api/v1/net/traceroute";

async fn trace_ok(server: &TestServer, args: Value) -> Value {
    let (status, body) = server.post(TRACE, &args).await;
    assert_eq!(status, 200, "{args}: {body}");
    body
}

/// One hop, reached, every probe answered by `address` with `reason`.
fn assert_one_reached_hop(result: &Value, address: &str, queries: usize, reason: &str) {
    assert_eq!(result["reached"], true, "{result}");
    assert!(result["stopped"].is_null(), "{result}");
    let hops = result["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 1, "{result}");
    assert_eq!(hops[0]["ttl"], 1);
    assert_eq!(hops[0]["reached"], true);
    let probes = hops[0]["probes"].as_array().unwrap();
    assert_eq!(probes.len(), queries, "{result}");
    for probe in probes {
        assert_eq!(probe["status"], "reached", "{result}");
        assert_eq!(probe["address"], address, "{result}");
        assert_eq!(probe["reason"], reason, "{result}");
        assert!(probe["rtt_ms"].as_f64().unwrap() >= 0.0, "{result}");
    }
}

#[tokio::test]
async fn loopback_is_reached_at_the_first_hop_with_every_protocol() {
    let server = TestServer::start();
    for host in ["127.0.0.1", "::1"] {
        let icmp = trace_ok(
            &server,
            json!({"host": host, "protocol": "icmp", "resolve_hostnames": false}),
        )
        .await;
        assert_eq!(icmp["protocol"], "icmp");
        assert_eq!(icmp["method"], expected_icmp_method());
        assert!(icmp["port"].is_null());
        assert_one_reached_hop(&icmp, host, 3, "echo reply");

        let udp = trace_ok(
            &server,
            json!({"host": host, "protocol": "udp", "queries_per_hop": 2, "resolve_hostnames": false}),
        )
        .await;
        assert_eq!(udp["protocol"], "udp");
        assert_eq!(udp["method"], "udp");
        assert_eq!(udp["port"], 33434);
        assert!(
            udp["method_reason"]
                .as_str()
                .unwrap()
                .contains("IP_RECVERR"),
            "{udp}"
        );
        assert_one_reached_hop(&udp, host, 2, "port unreachable");

        let bind = if host == "::1" {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        let listener = TcpListener::bind(bind).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tcp = trace_ok(
            &server,
            json!({"host": host, "protocol": "tcp", "port": port, "resolve_hostnames": false}),
        )
        .await;
        assert_eq!(tcp["method"], "tcp");
        assert_eq!(tcp["port"], port);
        assert_one_reached_hop(&tcp, host, 3, "connected");
        drop(listener);
        let closed = trace_ok(
            &server,
            json!({"host": host, "protocol": "tcp", "port": port, "queries_per_hop": 1, "resolve_hostnames": false}),
        )
        .await;
        assert_one_reached_hop(&closed, host, 1, "connection refused");
    }
}

#[tokio::test]
async fn hop_names_come_from_the_resolver_configuration() {
    let dns = common::dns::TestDnsServer::start();
    let server = TestServer::start_with(|config| config.dns_servers = vec![dns.addr]);
    // 127.0.0.1 has no PTR in the test zones; /etc/hosts names it.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
    let name = hosts
        .lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
        })
        .find(|fields| fields.first() == Some(&"127.0.0.1"))
        .and_then(|fields| fields.get(1).map(|s| s.to_string()));
    let result = trace_ok(
        &server,
        json!({"host": "lo4.net.test", "queries_per_hop": 1}),
    )
    .await;
    assert_eq!(result["host"], "lo4.net.test");
    assert_eq!(result["address"], "127.0.0.1");
    let probe = &result["hops"][0]["probes"][0];
    assert_eq!(probe["address"], "127.0.0.1");
    assert_eq!(probe["hostname"], json!(name), "{result}");
    // Without resolve_hostnames, no names.
    let result = trace_ok(
        &server,
        json!({"host": "lo4.net.test", "queries_per_hop": 1, "resolve_hostnames": false}),
    )
    .await;
    assert!(result["hops"][0]["probes"][0]["hostname"].is_null());
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named() {
    let server = TestServer::start_with(|config| {
        config.net.deny = vec!["127.0.0.0/8".parse().unwrap()];
    });
    let cases = [
        (json!({"host": ""}), "host: must not be empty"),
        (
            json!({"host": "no_underscores.example"}),
            "host: \"no_underscores.example\" contains '_'; a domain name may only hold letters, digits, '-' and '.'",
        ),
        (
            json!({"host": "::1", "max_hops": 0}),
            "max_hops: must be between 1 and 64, got 0",
        ),
        (
            json!({"host": "::1", "max_hops": 65}),
            "max_hops: must be between 1 and 64, got 65",
        ),
        (
            json!({"host": "::1", "queries_per_hop": 11}),
            "queries_per_hop: must be between 1 and 10, got 11",
        ),
        (
            json!({"host": "::1", "timeout_ms": 10001}),
            "timeout_ms: must be between 1 and 10000, got 10001",
        ),
        (
            json!({"host": "::1", "port": 33434}),
            "port: only for protocol \"udp\" or \"tcp\"",
        ),
        (
            json!({"host": "::1", "protocol": "icmp", "port": 1}),
            "port: only for protocol \"udp\" or \"tcp\"",
        ),
        (
            json!({"host": "127.0.0.1", "ip_version": "6"}),
            "host: 127.0.0.1 is an IPv4 address but ip_version is \"6\"",
        ),
        (
            json!({"host": "127.0.0.9"}),
            "host: 127.0.0.9 is in 127.0.0.0/8, a network termbridge is configured not to probe ([net] deny)",
        ),
    ];
    for (args, expected) in cases {
        let (status, message) = refused_by_both(&server, "traceroute", TRACE, &args).await;
        assert_eq!((status, message.as_str()), (400, expected), "{args}");
    }
    for args in [
        json!({"host": "::1", "max_hops": 300}),
        json!({"host": "::1", "protocol": "sctp"}),
        json!({"host": "::1", "hops": 3}),
    ] {
        let (status, message) = refused_by_both(&server, "traceroute", TRACE, &args).await;
        assert_eq!(status, 400, "{args}");
        assert!(
            message.starts_with("invalid arguments for traceroute: "),
            "{message}"
        );
    }
}

#[tokio::test]
async fn mcp_progress_notifies_every_hop_before_the_result() {
    let server = TestServer::start();
    let args = json!({"host": "::1", "protocol": "udp", "resolve_hostnames": false});
    let mut call = SseCall::start(&server, json!("t-1"), "traceroute", &args, &[]).await;
    let (notes, response) = call.rest().await;
    assert_eq!(response["id"], "t-1");
    let result = &response["result"]["structuredContent"];
    assert_one_reached_hop(result, "::1", 3, "port unreachable");
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0]["params"];
    assert_eq!(note["progressToken"], "progress-1");
    assert_eq!(note["progress"], 1.0);
    assert_eq!(note["total"], 30.0);
    let message = note["message"].as_str().unwrap();
    assert!(message.starts_with(" 1 ::1 "), "{message}");
    assert!(message.ends_with(" ms (reached)"), "{message}");
    // The same over plain MCP, without progress.
    let plain = mcp_ok(&server, "traceroute", &args).await;
    assert_one_reached_hop(&plain, "::1", 3, "port unreachable");
}
