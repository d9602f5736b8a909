//! ping and traceroute over a real multi-hop route: network namespaces
//! client -> router1 -> router2 -> target joined by veth pairs (IPv4 and
//! IPv6, documentation ranges only), built and removed by each test (see
//! tests/common/netns.rs). Skipped, loudly, only where the kernel denies
//! namespaces.
//!
//! How the probing side runs inside the client namespace: a server in a
//! namespace is not reachable from the host's loopback, so each test runs
//! its body on a thread that has `setns(2)`-entered the client namespace
//! ([`inside`]). On that thread it starts the in-process DNS server, the
//! termbridge `TestServer` (its threads inherit the namespace) and a tokio
//! runtime for the HTTP client, all on the client namespace's own
//! 127.0.0.1; the server's probes then leave through the client's veth and
//! its default route. The host namespace gets no address, route or link.

mod common;

use std::future::Future;

use common::TestServer;
use common::dns::TestDnsServer;
use common::net::{SseCall, assert_summary_matches};
use common::netns::{Chain, addr, inside};
use serde_json::{Value, json};

/// Runs `body` inside the chain's client namespace with a DNS server (the
/// test zones, PTRs for the chain's addresses) and a termbridge server
/// asking it; `adjust` may change the server's configuration.
fn in_client<F, Fut>(chain: &Chain, body: F)
where
    F: FnOnce(TestServer) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    inside(&chain.client, move || {
        let dns = TestDnsServer::start();
        let server = TestServer::start_with(|config| config.dns_servers = vec![dns.addr]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            await_routes(&server).await;
            body(server).await
        });
    });
}

/// Waits until the target answers over IPv4 and IPv6: freshly created
/// links carry IPv6 only once the kernel has finished bringing them up
/// (about a second after `ip link set up`; IPv4 is quicker). Polls with
/// single pings, at most 10 s.
async fn await_routes(server: &TestServer) {
    for host in [addr::TARGET_V4, addr::TARGET_V6] {
        let mut tries = 0;
        loop {
            let (status, result) = server
                .post(
                    "/api/v1/net/ping",
                    &json!({"host": host, "count": 1, "timeout_ms": 250}),
                )
                .await;
            assert_eq!(status, 200, "{result}");
            if result["replies"][0]["status"] == "reply" {
                break;
            }
            tries += 1;
            assert!(
                tries < 40,
                "the chain's route to {host} did not come up: {result}"
            );
        }
    }
}

async fn post(server: &TestServer, path: &str, args: Value) -> Value {
    let (status, body) = server.post(path, &args).await;
    assert_eq!(status, 200, "{args}: {body}");
    body
}

/// Checks the hops of a trace through the chain: router 1, router 2, the
/// target (reached), each probe answered by the right address with the
/// right name.
fn assert_route(result: &Value, route: [(&str, &str); 3], reason: &str) {
    assert_eq!(result["reached"], true, "{result}");
    assert!(result["stopped"].is_null(), "{result}");
    let hops = result["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 3, "{result}");
    for (n, (hop, (address, name))) in hops.iter().zip(route).enumerate() {
        assert_eq!(hop["ttl"], n + 1, "{result}");
        let last = n == 2;
        assert_eq!(hop["reached"], last, "{result}");
        let probes = hop["probes"].as_array().unwrap();
        assert_eq!(probes.len(), 3, "{result}");
        for probe in probes {
            let status = if last { "reached" } else { "time_exceeded" };
            assert_eq!(probe["status"], status, "hop {}: {result}", n + 1);
            assert_eq!(probe["address"], address, "hop {}: {result}", n + 1);
            assert_eq!(probe["hostname"], name, "hop {}: {result}", n + 1);
            assert!(probe["rtt_ms"].as_f64().unwrap() >= 0.0);
            if last {
                assert_eq!(probe["reason"], reason, "{result}");
            } else {
                assert!(probe["reason"].is_null(), "{result}");
            }
        }
    }
}

const V4_ROUTE: [(&str, &str); 3] = [
    (addr::R1_V4, "r1.net.test"),
    (addr::R2_V4, "r2.net.test"),
    (addr::TARGET_V4, "target.net.test"),
];
const V6_ROUTE: [(&str, &str); 3] = [
    (addr::R1_V6, "r1.net.test"),
    (addr::R2_V6, "r2.net.test"),
    (addr::TARGET_V6, "target.net.test"),
];

#[test]
fn traceroute_reports_each_router_in_order_v4_and_v6() {
    let Some(chain) = Chain::build() else { return };
    in_client(&chain, |server| async move {
        for (host, route) in [(addr::TARGET_V4, V4_ROUTE), (addr::TARGET_V6, V6_ROUTE)] {
            for (protocol, reason) in [
                ("icmp", "echo reply"),
                ("udp", "port unreachable"),
                ("tcp", "connection refused"),
            ] {
                let result = post(
                    &server,
                    "/api/v1/net/traceroute",
                    json!({"host": host, "protocol": protocol}),
                )
                .await;
                assert_eq!(result["protocol"], protocol, "{result}");
                assert_eq!(result["address"], host);
                assert_route(&result, route, reason);
            }
        }
        // By name, through the DnsActor, both versions.
        let result = post(
            &server,
            "/api/v1/net/traceroute",
            json!({"host": "target.net.test", "protocol": "udp"}),
        )
        .await;
        assert_eq!(result["address"], addr::TARGET_V4);
        assert_route(&result, V4_ROUTE, "port unreachable");
        let result = post(
            &server,
            "/api/v1/net/traceroute",
            json!({"host": "target.net.test", "ip_version": "6"}),
        )
        .await;
        assert_eq!(result["address"], addr::TARGET_V6);
        assert_route(&result, V6_ROUTE, "echo reply");
    });
}

#[test]
fn traceroute_progress_arrives_hop_by_hop_over_mcp() {
    let Some(chain) = Chain::build() else { return };
    in_client(&chain, |server| async move {
        let args = json!({"host": addr::TARGET_V4, "protocol": "udp", "max_hops": 10});
        let mut call = SseCall::start(&server, json!(3), "traceroute", &args, &[]).await;
        let (notes, response) = call.rest().await;
        let result = &response["result"]["structuredContent"];
        assert_route(result, V4_ROUTE, "port unreachable");
        assert_eq!(notes.len(), 3, "{notes:?}");
        for (n, note) in notes.iter().enumerate() {
            assert_eq!(note["params"]["progress"], (n + 1) as f64);
            assert_eq!(note["params"]["total"], 10.0);
            let (address, name) = V4_ROUTE[n];
            let message = note["params"]["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("{:>2} {name} ({address}) ", n + 1)),
                "{message}"
            );
        }
    });
}

#[test]
fn mcp_cancellation_stops_a_running_traceroute() {
    let Some(chain) = Chain::build() else { return };
    in_client(&chain, |server| async move {
        // Nothing answers: every window of hops takes the whole timeout.
        let args = json!({"host": addr::SILENT_V4, "protocol": "udp", "max_hops": 30,
            "queries_per_hop": 1, "timeout_ms": 500, "resolve_hostnames": false});
        let mut call = SseCall::start(&server, json!("trace-9"), "traceroute", &args, &[]).await;
        let note = call.next().await.expect("a progress notification");
        assert_eq!(note["params"]["progress"], 1.0, "{note}");
        let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": "trace-9"}});
        assert_eq!(server.mcp_raw(&cancel, &[]).await.status(), 202);
        let (_, response) = call.rest().await;
        let result = &response["result"]["structuredContent"];
        assert_eq!(result["stopped"], "cancelled", "{result}");
        assert_eq!(result["reached"], false);
        let hops = result["hops"].as_array().unwrap().len();
        assert!((1..30).contains(&hops), "{result}");
    });
}

#[test]
fn ping_through_the_chain_sees_the_ttl_decremented_by_each_router() {
    let Some(chain) = Chain::build() else { return };
    in_client(&chain, |server| async move {
        // Linux answers with TTL / hop limit 64; each router takes one off.
        for (host, ttl) in [
            (addr::R1_V4, 64),
            (addr::R2_V4, 63),
            (addr::TARGET_V4, 62),
            (addr::R1_V6, 64),
            (addr::R2_V6, 63),
            (addr::TARGET_V6, 62),
        ] {
            let result = post(
                &server,
                "/api/v1/net/ping",
                json!({"host": host, "count": 3, "interval_ms": 200}),
            )
            .await;
            let replies = result["replies"].as_array().unwrap();
            assert_eq!(replies.len(), 3, "{result}");
            for reply in replies {
                assert_eq!(reply["status"], "reply", "{result}");
                assert_eq!(reply["from"], host, "{result}");
                assert_eq!(reply["ttl"], ttl, "{host}: {result}");
            }
            assert_eq!(result["summary"]["received"], 3);
            assert_summary_matches(&result);
        }
        // TCP: the target has nothing on port 80 and says so.
        let result = post(
            &server,
            "/api/v1/net/ping",
            json!({"host": "target.net.test", "count": 2, "interval_ms": 200, "protocol": "tcp", "port": 80}),
        )
        .await;
        for reply in result["replies"].as_array().unwrap() {
            assert_eq!(reply["status"], "refused", "{result}");
            assert_eq!(reply["from"], addr::TARGET_V4);
        }
    });
}

#[test]
fn an_address_with_nobody_behind_it_times_out_within_the_deadline() {
    let Some(chain) = Chain::build() else { return };
    in_client(&chain, |server| async move {
        for host in [addr::SILENT_V4, addr::SILENT_V6] {
            for protocol in ["icmp", "tcp"] {
                let args = json!({"host": host, "count": 3, "interval_ms": 200, "timeout_ms": 500, "protocol": protocol});
                let result = post(&server, "/api/v1/net/ping", args).await;
                let replies = result["replies"].as_array().unwrap();
                assert_eq!(replies.len(), 3, "{result}");
                for reply in replies {
                    assert_eq!(reply["status"], "timeout", "{result}");
                    assert!(reply["rtt_ms"].is_null() && reply["from"].is_null());
                }
                let summary = &result["summary"];
                assert_eq!(
                    (summary["sent"].as_u64(), summary["received"].as_u64()),
                    (Some(3), Some(0))
                );
                assert_eq!(summary["loss_pct"], 100.0);
                assert!(result["stopped"].is_null(), "{result}");
                // Generous: within the operation's own deadline (resolution
                // budget + 2 × 200 ms + 500 ms + 1 s).
                assert!(
                    result["duration_ms"].as_u64().unwrap() <= 5_000 + 900 + 1_000,
                    "{result}"
                );
            }
            let result = post(
                &server,
                "/api/v1/net/traceroute",
                json!({"host": host, "max_hops": 3, "timeout_ms": 300, "protocol": "udp"}),
            )
            .await;
            assert_eq!(result["reached"], false, "{result}");
            let hops = result["hops"].as_array().unwrap();
            assert_eq!(hops.len(), 3, "{result}");
            for hop in hops {
                for probe in hop["probes"].as_array().unwrap() {
                    assert_eq!(probe["status"], "timeout", "{result}");
                }
            }
        }
    });
}

#[test]
fn routers_report_unreachable_destinations_with_the_icmp_reason() {
    let Some(chain) = Chain::build() else { return };
    in_client(&chain, |server| async move {
        // IPv6: every way of probing.
        for (host, reason) in [
            (addr::UNREACHABLE_V6, "no route to destination"),
            (
                addr::PROHIBITED_V6,
                "communication administratively prohibited",
            ),
        ] {
            let result = post(
                &server,
                "/api/v1/net/ping",
                json!({"host": host, "count": 2, "interval_ms": 200}),
            )
            .await;
            assert_unreachable_replies(&result, 2, addr::R1_V6, reason);
            for protocol in ["icmp", "udp", "tcp"] {
                let result = post(
                    &server,
                    "/api/v1/net/traceroute",
                    json!({"host": host, "protocol": protocol, "resolve_hostnames": false}),
                )
                .await;
                assert_trace_ends_unreachable(&result, 3, addr::R1_V6, reason);
            }
        }
        // IPv4: within the 5 "unreachable"s a router sends at once (see
        // tests/common/netns.rs): 1 + 1 + 2 (a trace probes 2 hops at once
        // when max_hops is 2).
        let result = post(
            &server,
            "/api/v1/net/ping",
            json!({"host": addr::UNREACHABLE_V4, "count": 1}),
        )
        .await;
        assert_unreachable_replies(&result, 1, addr::R1_V4, "host unreachable");
        let result = post(
            &server,
            "/api/v1/net/ping",
            json!({"host": addr::PROHIBITED_V4, "count": 1}),
        )
        .await;
        assert_unreachable_replies(
            &result,
            1,
            addr::R1_V4,
            "communication administratively prohibited",
        );
        let result = post(
            &server,
            "/api/v1/net/traceroute",
            json!({"host": addr::PROHIBITED_V4, "protocol": "udp", "max_hops": 2, "queries_per_hop": 1, "resolve_hostnames": false}),
        )
        .await;
        assert_trace_ends_unreachable(
            &result,
            1,
            addr::R1_V4,
            "communication administratively prohibited",
        );
    });
}

fn assert_unreachable_replies(result: &Value, count: usize, router: &str, reason: &str) {
    let replies = result["replies"].as_array().unwrap();
    assert_eq!(replies.len(), count, "{result}");
    for reply in replies {
        assert_eq!(reply["status"], "unreachable", "{result}");
        assert_eq!(reply["from"], router, "{result}");
        assert_eq!(reply["reason"], reason, "{result}");
    }
    assert_eq!(result["summary"]["received"], 0);
    assert_eq!(result["summary"]["loss_pct"], 100.0);
}

/// The first router says the destination is unreachable: the trace ends
/// at hop 1, not reached.
fn assert_trace_ends_unreachable(result: &Value, queries: usize, router: &str, reason: &str) {
    assert_eq!(result["reached"], false, "{result}");
    let hops = result["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 1, "{result}");
    let probes = hops[0]["probes"].as_array().unwrap();
    assert_eq!(probes.len(), queries, "{result}");
    for probe in probes {
        assert_eq!(probe["status"], "unreachable", "{result}");
        assert_eq!(probe["address"], router, "{result}");
        assert_eq!(probe["reason"], reason, "{result}");
    }
}

#[test]
fn unprivileged_icmp_sockets_are_used_where_the_system_allows_them() {
    let Some(chain) = Chain::build() else { return };
    // ping_group_range is per network namespace: allow every group here.
    chain
        .client
        .sysctl("net.ipv4.ping_group_range", "0 2147483647");
    in_client(&chain, |server| async move {
        // ICMP errors reach unprivileged sockets through the error queue.
        // (First: a router's time-exceeded answers use up the budget of its
        // IPv4 unreachables for a second, see tests/common/netns.rs.)
        let result = post(
            &server,
            "/api/v1/net/ping",
            json!({"host": addr::PROHIBITED_V4, "count": 1}),
        )
        .await;
        assert_eq!(result["method"], "icmp_unprivileged");
        assert_eq!(result["replies"][0]["status"], "unreachable", "{result}");
        assert_eq!(result["replies"][0]["from"], addr::R1_V4);
        assert_eq!(
            result["replies"][0]["reason"],
            "communication administratively prohibited"
        );
        for (host, route) in [(addr::TARGET_V4, V4_ROUTE), (addr::TARGET_V6, V6_ROUTE)] {
            let result = post(
                &server,
                "/api/v1/net/ping",
                json!({"host": host, "count": 2, "interval_ms": 200, "protocol": "icmp"}),
            )
            .await;
            assert_eq!(result["method"], "icmp_unprivileged", "{result}");
            assert!(
                result["method_reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("unprivileged ICMP socket: net.ipv4.ping_group_range (0 2147483647) includes group 0"),
                "{result}"
            );
            for reply in result["replies"].as_array().unwrap() {
                assert_eq!(reply["status"], "reply", "{result}");
                assert_eq!(reply["ttl"], 62, "{result}");
            }
            let result = post(
                &server,
                "/api/v1/net/traceroute",
                json!({"host": host, "protocol": "icmp"}),
            )
            .await;
            assert_eq!(result["method"], "icmp_unprivileged", "{result}");
            assert_route(&result, route, "echo reply");
        }
    });
}
