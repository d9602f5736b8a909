//! `dns_lookup` against a real DNS server (hickory-server, in process, on
//! 127.0.0.1) through REST and MCP: every record type with exact data, TTL
//! and fields; reverse lookups; NXDOMAIN; UDP, TCP and the TCP retry of
//! truncated answers; silent servers; bad input.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::dns::{SilentDnsServer, TestDnsServer, Transports};
use common::{TestServer, py_script, python};
use serde_json::{Value, json};

/// Calls `dns_lookup` over REST and over MCP with the same arguments;
/// returns the REST status and body after checking that MCP said the same.
async fn both_doors(server: &TestServer, args: Value) -> (u16, Value) {
    let (status, mut rest) = server.post("/api/v1/dns/lookup", &args).await;
    let (_, reply) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "dns_lookup", "arguments": args}}))
        .await;
    let result = &reply["result"];
    if status == 200 {
        assert_eq!(result["isError"], false, "{args}: {reply}");
        let mut structured = result["structuredContent"].clone();
        let text: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, structured);
        // Timing differs between two calls; everything else must not.
        structured["duration_ms"] = Value::Null;
        let duration = rest["duration_ms"].take();
        assert!(duration.is_u64(), "{rest}");
        assert_eq!(structured, rest, "REST and MCP disagree for {args}");
        rest["duration_ms"] = duration;
    } else {
        assert_eq!(result["isError"], true, "{args}: {reply}");
        let expected = format!(
            "{} ({status}): {}",
            rest["error"]["code"].as_str().unwrap(),
            rest["error"]["message"].as_str().unwrap()
        );
        assert_eq!(result["content"][0]["text"], expected);
    }
    (status, rest)
}

async fn lookup_ok(server: &TestServer, args: Value) -> Value {
    let (status, body) = both_doors(server, args.clone()).await;
    assert_eq!(status, 200, "{args}: {body}");
    body
}

/// The records of an answer, sorted by data so RRset order does not matter.
fn records(answer: &Value) -> Vec<Value> {
    let mut list = answer["records"].as_array().unwrap().clone();
    list.sort_by_key(|r| r["data"].as_str().unwrap().to_string());
    list
}

fn record(name: &str, kind: &str, ttl: u32, data: &str, fields: Value) -> Value {
    json!({"name": name, "type": kind, "ttl": ttl, "data": data, "fields": fields})
}

#[tokio::test]
async fn every_record_type_comes_back_with_exact_data_ttl_and_fields() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let zone = "termbridge.test.";
    let cases: Vec<(&str, &str, Vec<Value>)> = vec![
        (
            "www.termbridge.test",
            "A",
            vec![
                record(
                    "www.termbridge.test.",
                    "A",
                    300,
                    "192.0.2.10",
                    json!({"address": "192.0.2.10"}),
                ),
                record(
                    "www.termbridge.test.",
                    "A",
                    300,
                    "192.0.2.11",
                    json!({"address": "192.0.2.11"}),
                ),
            ],
        ),
        (
            "www.termbridge.test.",
            "AAAA",
            vec![record(
                "www.termbridge.test.",
                "AAAA",
                600,
                "2001:db8::10",
                json!({"address": "2001:db8::10"}),
            )],
        ),
        (
            "alias.termbridge.test",
            "CNAME",
            vec![record(
                "alias.termbridge.test.",
                "CNAME",
                120,
                "www.termbridge.test.",
                json!({"target": "www.termbridge.test."}),
            )],
        ),
        (
            "termbridge.test",
            "mx",
            vec![
                record(
                    zone,
                    "MX",
                    900,
                    "10 mail.termbridge.test.",
                    json!({"preference": 10, "exchange": "mail.termbridge.test."}),
                ),
                record(
                    zone,
                    "MX",
                    900,
                    "20 backup-mail.termbridge.test.",
                    json!({"preference": 20, "exchange": "backup-mail.termbridge.test."}),
                ),
            ],
        ),
        (
            "termbridge.test",
            "NS",
            vec![
                record(
                    zone,
                    "NS",
                    3600,
                    "ns1.termbridge.test.",
                    json!({"target": "ns1.termbridge.test."}),
                ),
                record(
                    zone,
                    "NS",
                    3600,
                    "ns2.termbridge.test.",
                    json!({"target": "ns2.termbridge.test."}),
                ),
            ],
        ),
        (
            "termbridge.test",
            "TXT",
            vec![record(
                zone,
                "TXT",
                60,
                "\"v=spf1 -all\"",
                json!({"strings": ["v=spf1 -all"]}),
            )],
        ),
        (
            "multi.termbridge.test",
            "TXT",
            vec![record(
                "multi.termbridge.test.",
                "TXT",
                61,
                r#""first string" "second \"quoted\" string""#,
                json!({"strings": ["first string", "second \"quoted\" string"]}),
            )],
        ),
        (
            "termbridge.test",
            "SOA",
            vec![record(
                zone,
                "SOA",
                3600,
                "ns1.termbridge.test. hostmaster.termbridge.test. 2024010101 7200 3600 1209600 300",
                json!({"mname": "ns1.termbridge.test.", "rname": "hostmaster.termbridge.test.",
                    "serial": 2024010101u32, "refresh": 7200, "retry": 3600, "expire": 1209600, "minimum": 300}),
            )],
        ),
        (
            "_sip._tcp.termbridge.test",
            "SRV",
            vec![record(
                "_sip._tcp.termbridge.test.",
                "SRV",
                1800,
                "10 60 5060 sip.termbridge.test.",
                json!({"priority": 10, "weight": 60, "port": 5060, "target": "sip.termbridge.test."}),
            )],
        ),
        (
            "termbridge.test",
            "CAA",
            vec![
                record(
                    zone,
                    "CAA",
                    3601,
                    "0 issue \"letsencrypt.org\"",
                    json!({"flags": 0, "critical": false, "tag": "issue", "value": "letsencrypt.org"}),
                ),
                record(
                    zone,
                    "CAA",
                    3601,
                    "128 iodef \"mailto:security@termbridge.test\"",
                    json!({"flags": 128, "critical": true, "tag": "iodef", "value": "mailto:security@termbridge.test"}),
                ),
            ],
        ),
        (
            "ptr.termbridge.test",
            "PTR",
            vec![record(
                "ptr.termbridge.test.",
                "PTR",
                704,
                "www.termbridge.test.",
                json!({"target": "www.termbridge.test."}),
            )],
        ),
        (
            "host.termbridge.test",
            "HINFO",
            vec![record(
                "host.termbridge.test.",
                "HINFO",
                700,
                "\"x86_64\" \"Linux\"",
                json!({"cpu": "x86_64", "os": "Linux"}),
            )],
        ),
        (
            "host.termbridge.test",
            "SSHFP",
            vec![record(
                "host.termbridge.test.",
                "SSHFP",
                701,
                "4 2 fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
                json!({"algorithm": 4, "fingerprint_type": 2,
                    "fingerprint": "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"}),
            )],
        ),
        (
            "_443._tcp.www.termbridge.test",
            "TLSA",
            vec![record(
                "_443._tcp.www.termbridge.test.",
                "TLSA",
                702,
                "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                json!({"cert_usage": 3, "selector": 1, "matching_type": 1,
                    "cert_data": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}),
            )],
        ),
        (
            "sip.termbridge.test",
            "NAPTR",
            vec![record(
                "sip.termbridge.test.",
                "NAPTR",
                703,
                r#"100 10 "S" "SIP+D2U" "" _sip._udp.termbridge.test."#,
                json!({"order": 100, "preference": 10, "flags": "S", "services": "SIP+D2U",
                    "regexp": "", "replacement": "_sip._udp.termbridge.test."}),
            )],
        ),
    ];
    for (name, kind, expected) in cases {
        let answer = lookup_ok(
            &server,
            json!({"name": name, "record_type": kind, "server": dns.server()}),
        )
        .await;
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        assert_eq!(answer["name"], fqdn, "{answer}");
        assert_eq!(answer["record_type"], kind.to_uppercase());
        assert_eq!(answer["server"], dns.server());
        assert_eq!(answer["protocol"], "udp");
        assert_eq!(answer["response_code"], "NoError");
        assert!(answer.get("reverse_of").is_none());
        assert_eq!(records(&answer), expected, "{name} {kind}");
    }
}

#[tokio::test]
async fn an_address_as_name_is_a_reverse_lookup_for_ipv4_and_ipv6() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let v4 = lookup_ok(
        &server,
        json!({"name": "192.0.2.10", "server": dns.server()}),
    )
    .await;
    assert_eq!(v4["name"], "10.2.0.192.in-addr.arpa.");
    assert_eq!(v4["record_type"], "PTR");
    assert_eq!(v4["reverse_of"], "192.0.2.10");
    assert_eq!(
        records(&v4),
        vec![record(
            "10.2.0.192.in-addr.arpa.",
            "PTR",
            800,
            "www.termbridge.test.",
            json!({"target": "www.termbridge.test."})
        )]
    );
    let arpa6 = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
    let v6 = lookup_ok(
        &server,
        json!({"name": "2001:db8::10", "record_type": "PTR", "server": dns.server()}),
    )
    .await;
    assert_eq!(v6["name"], arpa6);
    assert_eq!(v6["reverse_of"], "2001:db8::10");
    assert_eq!(
        records(&v6),
        vec![record(
            arpa6,
            "PTR",
            900,
            "www.termbridge.test.",
            json!({"target": "www.termbridge.test."})
        )]
    );
    // The arpa name itself, with PTR, is the same question.
    let direct = lookup_ok(
        &server,
        json!({"name": "10.2.0.192.in-addr.arpa", "record_type": "PTR", "server": dns.server()}),
    )
    .await;
    assert_eq!(records(&direct), records(&v4));
    assert!(direct.get("reverse_of").is_none());
    // Another type on an address asks that type of the arpa name.
    let ns = lookup_ok(
        &server,
        json!({"name": "192.0.2.99", "record_type": "NS", "server": dns.server()}),
    )
    .await;
    assert_eq!(ns["name"], "99.2.0.192.in-addr.arpa.");
    assert_eq!(ns["record_type"], "NS");
}

#[tokio::test]
async fn nxdomain_empty_answers_and_refusals_are_answers_not_errors() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let soa_data =
        "ns1.termbridge.test. hostmaster.termbridge.test. 2024010101 7200 3600 1209600 300";
    let nx = lookup_ok(
        &server,
        json!({"name": "no-such-name.termbridge.test", "server": dns.server()}),
    )
    .await;
    assert_eq!(nx["response_code"], "NXDomain");
    assert_eq!(nx["records"], json!([]));
    assert_eq!(nx["authority"][0]["type"], "SOA");
    assert_eq!(nx["authority"][0]["name"], "termbridge.test.");
    assert_eq!(nx["authority"][0]["data"], soa_data);
    // The name exists, the type does not: NoError with no records.
    let empty = lookup_ok(
        &server,
        json!({"name": "ns1.termbridge.test", "record_type": "AAAA", "server": dns.server()}),
    )
    .await;
    assert_eq!(empty["response_code"], "NoError");
    assert_eq!(empty["records"], json!([]));
    assert_eq!(empty["authority"][0]["data"], soa_data);
    // A zone the server does not serve.
    let refused = lookup_ok(
        &server,
        json!({"name": "example.com", "server": dns.server()}),
    )
    .await;
    assert_eq!(refused["response_code"], "Refused");
    assert_eq!(refused["records"], json!([]));
}

#[tokio::test]
async fn tcp_works_as_well_as_udp() {
    let tcp_only = TestDnsServer::start_with(Transports::TcpOnly);
    let udp_only = TestDnsServer::start_with(Transports::UdpOnly);
    let server = TestServer::start();
    let expected = vec![
        record(
            "www.termbridge.test.",
            "A",
            300,
            "192.0.2.10",
            json!({"address": "192.0.2.10"}),
        ),
        record(
            "www.termbridge.test.",
            "A",
            300,
            "192.0.2.11",
            json!({"address": "192.0.2.11"}),
        ),
    ];
    let over_tcp = lookup_ok(
        &server,
        json!({"name": "www.termbridge.test", "protocol": "tcp", "server": tcp_only.server()}),
    )
    .await;
    assert_eq!(over_tcp["protocol"], "tcp");
    assert_eq!(records(&over_tcp), expected);
    let over_udp = lookup_ok(
        &server,
        json!({"name": "www.termbridge.test", "server": udp_only.server()}),
    )
    .await;
    assert_eq!(over_udp["protocol"], "udp");
    assert_eq!(records(&over_udp), expected);
    // Each transport really is the one asked for: TCP to a UDP-only server
    // is refused.
    let (status, body) = both_doors(
        &server,
        json!({"name": "www.termbridge.test", "protocol": "tcp", "server": udp_only.server(), "timeout_ms": 3000}),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "the lookup of www.termbridge.test. A failed: {} (tcp): ",
            udp_only.server()
        )),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
}

#[tokio::test]
async fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let answer = lookup_ok(
        &server,
        json!({"name": "big.termbridge.test", "record_type": "TXT", "server": dns.server()}),
    )
    .await;
    let records = records(&answer);
    assert_eq!(records.len(), 8, "{answer}");
    for (n, record) in records.iter().enumerate() {
        assert_eq!(record["ttl"], 705);
        let text = record["fields"]["strings"][0].as_str().unwrap();
        assert!(text.ends_with(&format!("-0{n}")), "{text}");
        assert_eq!(text.len(), 223);
    }
    // Proof that the answer needed TCP: a server without TCP cannot give it.
    let udp_only = TestDnsServer::start_with(Transports::UdpOnly);
    let (status, body) = both_doors(
        &server,
        json!({"name": "big.termbridge.test", "record_type": "TXT", "server": udp_only.server(), "timeout_ms": 3000}),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    // A small answer from the same server is fine over UDP.
    lookup_ok(
        &server,
        json!({"name": "multi.termbridge.test", "record_type": "TXT", "server": udp_only.server()}),
    )
    .await;
}

#[tokio::test]
async fn a_server_that_never_answers_gives_a_timeout_within_the_budget() {
    let silent = SilentDnsServer::start();
    let server = TestServer::start();
    for protocol in ["udp", "tcp"] {
        let started = Instant::now();
        let (status, body) = both_doors(
            &server,
            json!({"name": "www.termbridge.test", "server": silent.server(), "protocol": protocol, "timeout_ms": 400}),
        )
        .await;
        // Two calls (REST and MCP) of 400 ms each; generous bound.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{protocol}: took {:?}",
            started.elapsed()
        );
        assert_eq!(status, 504, "{protocol}: {body}");
        assert_eq!(body["error"]["code"], "timeout");
        assert_eq!(
            body["error"]["message"],
            format!(
                "no answer for www.termbridge.test. A within 400 ms: {} ({protocol}) did not answer within 400 ms",
                silent.server()
            )
        );
    }
}

#[tokio::test]
async fn without_a_server_the_configured_dns_servers_are_asked_in_turn() {
    let silent = SilentDnsServer::start();
    let dns = TestDnsServer::start();
    let server = TestServer::start_with(|c| c.dns_servers = vec![silent.addr, dns.addr]);
    let answer = lookup_ok(
        &server,
        json!({"name": "www.termbridge.test", "record_type": "AAAA", "timeout_ms": 2000}),
    )
    .await;
    assert_eq!(answer["server"], dns.server());
    assert_eq!(answer["records"][0]["data"], "2001:db8::10");
}

#[tokio::test]
async fn bad_inputs_are_400_with_a_precise_message() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let long_label = "a".repeat(64);
    let long_name = vec!["abcdefghi"; 26].join(".");
    let cases: Vec<(Value, String)> = vec![
        (json!({"name": ""}), "name: must not be empty".into()),
        (
            json!({"name": long_name}),
            "name: the name is 259 characters long; a domain name has at most 253".into(),
        ),
        (
            json!({"name": format!("{long_label}.termbridge.test")}),
            format!("name: label \"{long_label}\" is 64 characters long; a label has at most 63"),
        ),
        (
            json!({"name": "www.term bridge.test"}),
            "name: \"www.term bridge.test\" contains ' '; a domain name has no spaces or control characters".into(),
        ),
        (
            json!({"name": "www.termbridge.test;id"}),
            "name: \"www.termbridge.test;id\" contains ';'; a domain name may only hold letters, digits, '-', '_' and '.'".into(),
        ),
        (
            json!({"name": "www.exa$mple.test"}),
            "name: \"www.exa$mple.test\" contains '$'; a domain name may only hold letters, digits, '-', '_' and '.'".into(),
        ),
        (
            json!({"name": "a..test"}),
            "name: \"a..test\" has an empty label (a leading dot or two dots in a row)".into(),
        ),
        (
            json!({"name": "www.termbridge.test", "record_type": "BOGUS"}),
            "record_type: unknown record type \"BOGUS\"; use A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, CAA, PTR, another type name such as HTTPS, TLSA or SSHFP, or TYPEnnn".into(),
        ),
        (
            json!({"name": "termbridge.test", "record_type": "AXFR"}),
            "record_type: \"AXFR\" is a zone transfer, which dns_lookup does not do".into(),
        ),
        (
            json!({"name": "www.termbridge.test", "server": "dns.example"}),
            "server: \"dns.example\" is not an IP address or IP:port (examples: 9.9.9.9, 9.9.9.9:53, 2620:fe::fe, [2620:fe::fe]:53)".into(),
        ),
        (
            json!({"name": "www.termbridge.test", "server": "127.0.0.1:0"}),
            "server: \"127.0.0.1:0\" has port 0".into(),
        ),
        (
            json!({"name": "www.termbridge.test", "timeout_ms": 0}),
            "timeout_ms: must be between 1 and 60000, got 0".into(),
        ),
        (
            json!({"name": "www.termbridge.test", "timeout_ms": 60001}),
            "timeout_ms: must be between 1 and 60000, got 60001".into(),
        ),
    ];
    for (mut args, message) in cases {
        if args.get("server").is_none() {
            args["server"] = json!(dns.server());
        }
        let (status, body) = both_doors(&server, args.clone()).await;
        assert_eq!(status, 400, "{args}: {body}");
        assert_eq!(body["error"]["code"], "invalid_input", "{args}");
        assert_eq!(body["error"]["message"], message, "{args}");
    }
    // Shapes the input type refuses before any lookup.
    for (args, needle) in [
        (json!({"server": dns.server()}), "missing field `name`"),
        (
            json!({"name": "a.test", "recordtype": "A"}),
            "unknown field `recordtype`",
        ),
        (
            json!({"name": "a.test", "protocol": "quic"}),
            "unknown variant `quic`",
        ),
        (json!({"name": "a.test", "timeout_ms": -1}), "invalid value"),
    ] {
        let (status, body) = both_doors(&server, args.clone()).await;
        assert_eq!(status, 400, "{args}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("invalid arguments for dns_lookup: "),
            "{message}"
        );
        assert!(message.contains(needle), "{args}: {message}");
    }
}

#[test]
fn the_official_python_client_validates_dns_answers() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let call = |args: Value| format!("dns_lookup={args}");
    let out = Command::new(python())
        .arg(py_script("mcp_client_check.py"))
        .args(["--url", &server.at("/mcp")])
        .args(["--token", &server.token])
        .args(["--protocol-version", "2025-11-25"])
        .args([
            "--call",
            &call(json!({"name": "termbridge.test", "record_type": "SOA", "server": dns.server()})),
            "--call",
            &call(json!({"name": "termbridge.test", "record_type": "CAA", "server": dns.server()})),
            "--call",
            &call(json!({"name": "termbridge.test", "record_type": "MX", "server": dns.server()})),
            "--call",
            &call(json!({"name": "_sip._tcp.termbridge.test", "record_type": "SRV", "server": dns.server()})),
            "--call",
            &call(json!({"name": "nope.termbridge.test", "server": dns.server()})),
            "--call",
            &call(json!({"name": "2001:db8::10", "server": dns.server(), "protocol": "tcp"})),
        ])
        .output()
        .expect("run mcp_client_check.py");
    assert!(
        out.status.success(),
        "the official SDK client rejected dns_lookup:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The last call of the name is kept.
    assert_eq!(summary["calls"]["dns_lookup"]["reverse_of"], "2001:db8::10");
}

/// Checks REST bodies against the served OpenAPI document with the
/// OpenAPI validator of the test venv.
async fn assert_match_openapi(server: &TestServer, operation: &str, bodies: &[(u16, Value)]) {
    let doc: Value = common::client()
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
    for (n, (status, body)) in bodies.iter().enumerate() {
        let body_file = dir.path().join(format!("body{n}.json"));
        std::fs::write(&body_file, serde_json::to_vec(body).unwrap()).unwrap();
        let out = Command::new(python())
            .arg(py_script("validate_response.py"))
            .arg(&doc_file)
            .arg(operation)
            .arg(status.to_string())
            .arg(&body_file)
            .output()
            .expect("run validate_response.py");
        assert!(
            out.status.success(),
            "{operation} {status} does not match its schema:\n{}\n{body}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn rest_answers_and_errors_match_the_openapi_document() {
    let dns = TestDnsServer::start();
    let silent = SilentDnsServer::start();
    let server = TestServer::start();
    let mut bodies = Vec::new();
    for (name, kind) in [
        ("www.termbridge.test", "A"),
        ("termbridge.test", "SOA"),
        ("termbridge.test", "MX"),
        ("termbridge.test", "CAA"),
        ("multi.termbridge.test", "TXT"),
        ("_sip._tcp.termbridge.test", "SRV"),
        ("host.termbridge.test", "SSHFP"),
        ("sip.termbridge.test", "NAPTR"),
        ("nope.termbridge.test", "A"),
        ("192.0.2.10", "A"),
    ] {
        let body = lookup_ok(
            &server,
            json!({"name": name, "record_type": kind, "server": dns.server()}),
        )
        .await;
        bodies.push((200, body));
    }
    bodies.push(
        server
            .post(
                "/api/v1/dns/lookup",
                &json!({"name": "", "server": dns.server()}),
            )
            .await,
    );
    bodies.push(
        server
            .post(
                "/api/v1/dns/lookup",
                &json!({"name": "a.test", "server": silent.server(), "timeout_ms": 100}),
            )
            .await,
    );
    assert_eq!(
        bodies.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 400, 504]
    );
    assert_match_openapi(&server, "dns_lookup", &bodies).await;
}
