//! `ip_addresses` with `include_public`: the public address found over DNS
//! through the DnsActor, against the in-process DNS server (whose
//! `myip.net.test` answers stand in for OpenDNS's `myip.opendns.com`):
//! REST and MCP, a resolver given per call or configured, the method
//! reported, failures reported per question, bad input.

mod common;

use common::TestServer;
use common::dns::{SilentDnsServer, TestDnsServer};
use common::net::mcp_ok;
use serde_json::{Value, json};

/// A server whose public address lookup asks `myip.net.test`.
fn server_asking_myip(adjust: impl FnOnce(&mut termbridge::Config)) -> TestServer {
    TestServer::start_with(|config| {
        config.net.public_ip.name = "myip.net.test".into();
        adjust(config);
    })
}

#[tokio::test]
async fn include_public_returns_the_address_the_dns_server_hands_out() {
    let dns = TestDnsServer::start();
    let server = server_asking_myip(|_| {});
    let resolver = dns.server();
    let query = format!("/api/v1/net/addresses?include_public=true&resolver={resolver}");
    let (status, body) = server.get(&query).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["loopback"] == true)
    );
    assert_eq!(
        body["public"],
        json!({
            "ipv4": "198.51.100.77",
            "ipv6": "2001:db8::77",
            "method": format!("DNS: myip.net.test asked as A of {resolver} and AAAA of {resolver}"),
            "errors": [],
        })
    );
    // MCP says the same.
    let result = mcp_ok(
        &server,
        "ip_addresses",
        &json!({"include_public": true, "resolver": resolver}),
    )
    .await;
    assert_eq!(result["public"], body["public"]);
    // `resolver` alone implies include_public.
    let result = mcp_ok(&server, "ip_addresses", &json!({"resolver": resolver})).await;
    assert_eq!(result["public"]["ipv4"], "198.51.100.77");
    // Without it, no public part at all.
    let (_, plain) = server.get("/api/v1/net/addresses").await;
    assert!(plain.get("public").is_none(), "{plain}");
}

#[tokio::test]
async fn configured_resolvers_are_asked_when_the_call_names_none() {
    let dns = TestDnsServer::start();
    let server = server_asking_myip(|config| config.net.public_ip.resolvers = vec![dns.addr]);
    let result = mcp_ok(&server, "ip_addresses", &json!({"include_public": true})).await;
    assert_eq!(result["public"]["ipv4"], "198.51.100.77");
    assert_eq!(result["public"]["ipv6"], "2001:db8::77");
    assert_eq!(result["public"]["errors"], json!([]));
}

#[tokio::test]
async fn progress_has_a_step_for_the_public_address() {
    let dns = TestDnsServer::start();
    let server = server_asking_myip(|_| {});
    let args = json!({"include_public": true, "resolver": dns.server()});
    let mut call = common::net::SseCall::start(&server, json!(1), "ip_addresses", &args, &[]).await;
    let (notes, response) = call.rest().await;
    let interfaces = response["result"]["structuredContent"]["interfaces"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(notes.len(), interfaces + 1);
    let last = &notes.last().unwrap()["params"];
    assert_eq!(last["progress"], last["total"]);
    assert_eq!(
        last["message"],
        "public: IPv4 198.51.100.77, IPv6 2001:db8::77"
    );
}

#[tokio::test]
async fn questions_that_fail_are_reported_not_fatal() {
    // A name the server does not have: answers without an address.
    let dns = TestDnsServer::start();
    let server =
        server_asking_myip(|config| config.net.public_ip.name = "nothing-here.net.test".into());
    let result = mcp_ok(&server, "ip_addresses", &json!({"resolver": dns.server()})).await;
    let public = &result["public"];
    assert!(
        public["ipv4"].is_null() && public["ipv6"].is_null(),
        "{result}"
    );
    let resolver = dns.server();
    assert_eq!(
        public["errors"],
        json!([
            format!("A of {resolver}: no address in the answer (NXDomain)"),
            format!("AAAA of {resolver}: no address in the answer (NXDomain)"),
        ])
    );
    assert!(!result["interfaces"].as_array().unwrap().is_empty());
    // A resolver that never answers: timeouts, within the lookup's deadline.
    let silent = SilentDnsServer::start();
    let result = mcp_ok(
        &server,
        "ip_addresses",
        &json!({"resolver": silent.server()}),
    )
    .await;
    let errors = result["public"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{result}");
    for error in errors {
        let text = error.as_str().unwrap();
        assert!(
            text.contains("no answer for nothing-here.net.test."),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_bad_resolver_is_refused() {
    let server = TestServer::start();
    for resolver in ["dns.example", "1.2.3.4:99999", ""] {
        let args = json!({"include_public": true, "resolver": resolver});
        let (status, body): (u16, Value) = server
            .get(&format!(
                "/api/v1/net/addresses?include_public=true&resolver={resolver}"
            ))
            .await;
        assert_eq!(status, 400, "{resolver}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("resolver: "), "{message}");
        let result = common::net::mcp_call(&server, "ip_addresses", &args).await;
        assert_eq!(result["isError"], true);
    }
}
