//! `whois_lookup` against loopback whois servers (plain TCP listeners on
//! 127.0.0.1 and 127.0.0.2 in this test) through REST and MCP: the
//! registry → registrar chain with parsed fields, routing of IP and AS
//! queries by the server list, referral loops, oversized and non-UTF-8
//! answers, silent servers, bad input.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{TestServer, py_script, python};
use serde_json::{Value, json};
use termbridge_actors::whois::ServerList;

/// What a fake whois server does with a connection.
#[derive(Clone)]
enum Behaviour {
    /// Answer with these bytes, then close.
    Answer(Vec<u8>),
    /// Send this many bytes of filler, then close.
    Flood(usize),
    /// Read the query and say nothing, keeping the connection open.
    Silent,
}

/// A whois server on a loopback address: records each query line and
/// answers as told.
struct FakeWhois {
    addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    queries: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeWhois {
    fn start(ip: &str) -> FakeWhois {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback address");
        let addr = listener.local_addr().unwrap();
        let behaviour = Arc::new(Mutex::new(Behaviour::Answer(Vec::new())));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, q, s) = (behaviour.clone(), queries.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let line = read_line(&mut stream);
                q.lock().unwrap().push(line);
                let behaviour = b.lock().unwrap().clone();
                match behaviour {
                    Behaviour::Answer(bytes) => {
                        let _ = stream.write_all(&bytes);
                    }
                    Behaviour::Flood(len) => {
                        let chunk = vec![b'x'; 64 * 1024];
                        let mut sent = 0;
                        while sent < len {
                            let n = chunk.len().min(len - sent);
                            if stream.write_all(&chunk[..n]).is_err() {
                                break;
                            }
                            sent += n;
                        }
                    }
                    Behaviour::Silent => held.push(stream),
                }
            }
        });
        FakeWhois {
            addr,
            behaviour,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    fn answer(&self, text: impl Into<Vec<u8>>) {
        *self.behaviour.lock().unwrap() = Behaviour::Answer(text.into());
    }

    fn behave(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    /// `ip:port`.
    fn at(&self) -> String {
        self.addr.to_string()
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for FakeWhois {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one query line (up to CRLF, at most 1 KiB).
fn read_line(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 1024 {
        match stream.read(&mut byte) {
            Ok(1) => {
                line.push(byte[0]);
                if line.ends_with(b"\r\n") {
                    break;
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// A termbridge server whose whois server list is `json`.
fn server_with_list(json: &str) -> TestServer {
    let list = ServerList::from_json(json).expect("test server list parses");
    TestServer::start_with(move |c| c.whois_servers = Some(list))
}

/// Calls `whois_lookup` over REST and over MCP; returns the REST status and
/// body after checking that MCP said the same.
async fn both_doors(server: &TestServer, args: Value) -> (u16, Value) {
    let (status, mut rest) = server.post("/api/v1/whois", &args).await;
    let (_, reply) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "whois_lookup", "arguments": args}}))
        .await;
    let result = &reply["result"];
    if status == 200 {
        assert_eq!(result["isError"], false, "{args}: {reply}");
        let mut structured = result["structuredContent"].clone();
        for answer in [&mut rest, &mut structured] {
            assert!(answer["duration_ms"].take().is_u64());
            for hop in answer["chain"].as_array_mut().unwrap() {
                assert!(hop["duration_ms"].take().is_u64());
            }
        }
        assert_eq!(structured, rest, "REST and MCP disagree for {args}");
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

fn registry_answer(registrar: &str) -> String {
    format!(
        "   Domain Name: EXAMPLE.TEST\r\n\
         \x20  Registry Domain ID: 2336799_DOMAIN_TEST-VRSN\r\n\
         \x20  Registrar WHOIS Server: {registrar}\r\n\
         \x20  Updated Date: 2024-08-14T07:01:31Z\r\n\
         \x20  Creation Date: 1995-08-14T04:00:00Z\r\n\
         \x20  Registry Expiry Date: 2025-08-13T04:00:00Z\r\n\
         \x20  Registrar: Registry View Registrar\r\n\
         \x20  Name Server: A.IANA-SERVERS.NET\r\n\
         >>> Last update of whois database: 2024-09-01T00:00:00Z <<<\r\n\
         \r\n\
         NOTICE: The expiration date displayed in this record is the date the\r\n"
    )
}

fn registrar_answer(myself: &str) -> String {
    format!(
        "Domain Name: example.test\r\n\
         Registrar WHOIS Server: {myself}\r\n\
         Registrar URL: http://registrar.test\r\n\
         Updated Date: 2024-08-14T07:01:38Z\r\n\
         Creation Date: 1995-08-14T04:00:00Z\r\n\
         Registrar Registration Expiration Date: 2025-08-13T04:00:00Z\r\n\
         Registrar: Example Registrar, Inc.\r\n\
         Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited\r\n\
         Domain Status: clientDeleteProhibited https://icann.org/epp#clientDeleteProhibited\r\n\
         Registrant Organization: Example Holdings Ltd\r\n\
         Registrant Country: GB\r\n\
         Name Server: NS1.EXAMPLE.TEST\r\n\
         Name Server: ns2.example.test.\r\n\
         >>> Last update of WHOIS database: 2024-09-01T00:00:00Z <<<\r\n"
    )
}

#[tokio::test]
async fn a_registry_referral_gives_a_two_hop_chain_and_parsed_fields() {
    let registry = FakeWhois::start("127.0.0.1");
    let registrar = FakeWhois::start("127.0.0.2");
    registry.answer(registry_answer(&registrar.at()));
    registrar.answer(registrar_answer(&registrar.at()));
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "127.0.0.1:9"}}, "test": "{}"}}"#,
        registry.at()
    ));
    let answer = lookup_ok(&server, json!({"query": "Example.TEST"})).await;
    assert_eq!(answer["query"], "example.test");
    assert_eq!(answer["query_type"], "domain");
    let chain = answer["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "{answer}");
    assert_eq!(chain[0]["server"], registry.at());
    assert_eq!(chain[0]["query"], "example.test");
    assert_eq!(chain[0]["raw"], registry_answer(&registrar.at()));
    assert_eq!(chain[0]["referral"], registrar.at());
    assert_eq!(chain[0]["truncated"], false);
    assert_eq!(chain[0]["encoding"], "utf-8");
    assert_eq!(chain[0]["bytes"], registry_answer(&registrar.at()).len());
    assert_eq!(chain[1]["server"], registrar.at());
    assert_eq!(chain[1]["raw"], registrar_answer(&registrar.at()));
    assert_eq!(
        answer["fields"],
        json!({
            "domain_name": "example.test",
            "registrar": "Example Registrar, Inc.",
            "created": "1995-08-14T04:00:00Z",
            "updated": "2024-08-14T07:01:38Z",
            "expires": "2025-08-13T04:00:00Z",
            "name_servers": ["ns1.example.test", "ns2.example.test"],
            "status": ["clientTransferProhibited", "clientDeleteProhibited"],
            "registrant_organization": "Example Holdings Ltd",
        })
    );
    assert_eq!(answer["referral_loop"], false);
    assert_eq!(answer["warnings"], json!([]));
    // Each server got exactly one RFC 3912 query line per call (REST + MCP).
    assert_eq!(registry.queries(), vec!["example.test\r\n"; 2]);
    assert_eq!(registrar.queries(), vec!["example.test\r\n"; 2]);

    // Without following referrals: one hop, the referral still shown.
    let one = lookup_ok(
        &server,
        json!({"query": "example.test", "follow_referrals": false}),
    )
    .await;
    assert_eq!(one["chain"].as_array().unwrap().len(), 1);
    assert_eq!(one["chain"][0]["referral"], registrar.at());
    assert_eq!(one["fields"]["registrar"], "Registry View Registrar");
    assert_eq!(one["fields"]["expires"], "2025-08-13T04:00:00Z");

    // Unicode names travel as punycode.
    let idn = lookup_ok(&server, json!({"query": "bücher.test"})).await;
    assert_eq!(idn["query"], "xn--bcher-kva.test");
    assert_eq!(registry.queries().last().unwrap(), "xn--bcher-kva.test\r\n");

    // An explicit server replaces the list's choice.
    let direct = lookup_ok(
        &server,
        json!({"query": "example.test", "server": registrar.at()}),
    )
    .await;
    assert_eq!(direct["chain"].as_array().unwrap().len(), 1);
    assert_eq!(direct["chain"][0]["server"], registrar.at());
}

#[tokio::test]
async fn ip_and_asn_queries_go_to_the_servers_the_list_names() {
    let ip_registry = FakeWhois::start("127.0.0.1");
    let asn_registry = FakeWhois::start("127.0.0.2");
    let domains = FakeWhois::start("127.0.0.1");
    ip_registry.answer(
        "# ARIN WHOIS data and services are subject to the Terms of Use\r\n\
         \r\n\
         NetRange:       192.0.2.0 - 192.0.2.255\r\n\
         CIDR:           192.0.2.0/24\r\n\
         NetName:        TEST-NET-1\r\n\
         OriginAS:       AS64500\r\n\
         Organization:   Example Networks (EXNET)\r\n\
         RegDate:        2010-01-01\r\n\
         Updated:        2024-01-01\r\n\
         \r\n\
         OrgName:        Example Networks\r\n\
         Country:        US\r\n",
    );
    asn_registry.answer(
        "% This is the RIPE Database query service.\n\
         \n\
         aut-num:        AS64500\n\
         as-name:        EXAMPLE-AS\n\
         org:            ORG-EX1-RIPE\n\
         \n\
         organisation:   ORG-EX1-RIPE\n\
         org-name:       Example AS Holder\n\
         country:        nl\n",
    );
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "{}", "asn": "{}"}}, "": "{}"}}"#,
        ip_registry.at(),
        asn_registry.at(),
        domains.at()
    ));
    let v4 = lookup_ok(&server, json!({"query": "192.0.2.1"})).await;
    assert_eq!(v4["query_type"], "ipv4");
    assert_eq!(v4["chain"][0]["server"], ip_registry.at());
    assert_eq!(
        v4["fields"],
        json!({
            "organization": "Example Networks (EXNET)",
            "created": "2010-01-01",
            "updated": "2024-01-01",
            "net_range": "192.0.2.0 - 192.0.2.255",
            "cidr": ["192.0.2.0/24"],
            "net_name": "TEST-NET-1",
            "country": "US",
            "origin_as": ["AS64500"],
        })
    );
    let v6 = lookup_ok(&server, json!({"query": "2001:DB8::1"})).await;
    assert_eq!(v6["query_type"], "ipv6");
    assert_eq!(v6["query"], "2001:db8::1");
    assert_eq!(v6["chain"][0]["server"], ip_registry.at());
    let asn = lookup_ok(&server, json!({"query": "as64500"})).await;
    assert_eq!(asn["query_type"], "asn");
    assert_eq!(asn["query"], "AS64500");
    assert_eq!(asn["chain"][0]["server"], asn_registry.at());
    assert_eq!(
        asn["fields"],
        json!({
            "organization": "Example AS Holder",
            "country": "NL",
            "as_number": "AS64500",
            "as_name": "EXAMPLE-AS",
        })
    );
    assert_eq!(
        ip_registry.queries(),
        [
            "192.0.2.1\r\n",
            "192.0.2.1\r\n",
            "2001:db8::1\r\n",
            "2001:db8::1\r\n"
        ]
    );
    assert_eq!(asn_registry.queries(), vec!["AS64500\r\n"; 2]);
    assert!(domains.queries().is_empty());
}

#[tokio::test]
async fn a_referral_loop_is_detected_and_stops_the_chain() {
    let a = FakeWhois::start("127.0.0.1");
    let b = FakeWhois::start("127.0.0.2");
    a.answer(format!(
        "Domain Name: LOOP.TEST\r\nRegistrar WHOIS Server: {}\r\n",
        b.at()
    ));
    b.answer(format!(
        "Domain Name: LOOP.TEST\r\nReferralServer: whois://{}\r\n",
        a.at()
    ));
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "127.0.0.1:9"}}, "": "{}"}}"#,
        a.at()
    ));
    let answer = lookup_ok(&server, json!({"query": "loop.test"})).await;
    let servers: Vec<&Value> = answer["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["server"])
        .collect();
    assert_eq!(servers, [&json!(a.at()), &json!(b.at())]);
    assert_eq!(answer["referral_loop"], true);
    assert_eq!(
        answer["warnings"],
        json!([format!(
            "referral loop: {} refers back to {}, which was already asked; the chain stops here",
            b.at(),
            a.at()
        )])
    );
    assert_eq!(a.queries().len(), 2, "asked once per call, never again");
    assert_eq!(b.queries().len(), 2);
}

#[tokio::test]
async fn an_oversized_answer_is_cut_at_256_kib_and_says_so() {
    let flood = FakeWhois::start("127.0.0.1");
    flood.behave(Behaviour::Flood(4 * 1024 * 1024));
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "127.0.0.1:9"}}, "": "{}"}}"#,
        flood.at()
    ));
    let answer = lookup_ok(&server, json!({"query": "big.test"})).await;
    let hop = &answer["chain"][0];
    assert_eq!(hop["truncated"], true);
    assert_eq!(hop["bytes"], 262144);
    assert_eq!(hop["raw"].as_str().unwrap().len(), 262144);
    assert_eq!(
        answer["warnings"],
        json!([format!(
            "the answer of {} was longer than 262144 bytes and was cut",
            flood.at()
        )])
    );
    // Exactly at the limit is not cut.
    flood.behave(Behaviour::Flood(262144));
    let exact = lookup_ok(&server, json!({"query": "big.test"})).await;
    assert_eq!(exact["chain"][0]["truncated"], false);
    assert_eq!(exact["chain"][0]["bytes"], 262144);
    assert_eq!(exact["warnings"], json!([]));
}

#[tokio::test]
async fn answers_that_are_not_utf8_are_read_as_latin1() {
    let registry = FakeWhois::start("127.0.0.1");
    registry.answer(
        b"Domain Name: CAFE.TEST\r\nRegistrant Organization: Caf\xe9 M\xfcller GmbH\r\n".to_vec(),
    );
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "127.0.0.1:9"}}, "test": "{}"}}"#,
        registry.at()
    ));
    let answer = lookup_ok(&server, json!({"query": "cafe.test"})).await;
    assert_eq!(answer["chain"][0]["encoding"], "latin-1");
    assert_eq!(
        answer["chain"][0]["raw"],
        "Domain Name: CAFE.TEST\r\nRegistrant Organization: Café Müller GmbH\r\n"
    );
    assert_eq!(
        answer["fields"]["registrant_organization"],
        "Café Müller GmbH"
    );
}

#[tokio::test]
async fn silent_and_missing_servers_are_timeouts_and_upstream_errors() {
    let silent = FakeWhois::start("127.0.0.1");
    silent.behave(Behaviour::Silent);
    let closed = TcpListener::bind("127.0.0.2:0").unwrap();
    let closed_at = closed.local_addr().unwrap().to_string();
    drop(closed);
    let registry = FakeWhois::start("127.0.0.1");
    registry.answer(format!(
        "Domain Name: GONE.TEST\r\nRegistrar WHOIS Server: {closed_at}\r\n"
    ));
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "127.0.0.1:9"}}, "test": "{}", "gone": "{}"}}"#,
        silent.at(),
        registry.at()
    ));
    let started = Instant::now();
    let (status, body) =
        both_doors(&server, json!({"query": "quiet.test", "timeout_ms": 300})).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "timeout");
    assert_eq!(
        body["error"]["message"],
        format!(
            "whois lookup of quiet.test: {} did not answer within the 300 ms budget",
            silent.at()
        )
    );
    // Nobody listens at the first server: 502.
    let (status, body) = both_doors(
        &server,
        json!({"query": "example.test", "server": closed_at}),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_error");
    assert_eq!(
        body["error"]["message"],
        format!("whois lookup of example.test: {closed_at}: cannot connect: connection refused")
    );
    // A later server failing keeps the chain so far, with a warning.
    let partial = lookup_ok(&server, json!({"query": "x.gone"})).await;
    assert_eq!(partial["chain"].as_array().unwrap().len(), 1);
    assert_eq!(partial["fields"]["domain_name"], "gone.test");
    assert_eq!(
        partial["warnings"],
        json!([format!(
            "{closed_at}: cannot connect: connection refused; the chain ends with the answer of {}",
            registry.at()
        )])
    );
}

#[tokio::test]
async fn bad_inputs_are_400_with_a_precise_message() {
    let server = server_with_list(r#"{"_": {"ip": "127.0.0.1:9"}, "test": "127.0.0.1:9"}"#);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"query": ""}), 400, "query: must not be empty"),
        (
            json!({"query": "64500"}),
            400,
            "query: \"64500\" is not a domain name, IP address or AS number; write AS numbers as AS64500",
        ),
        (
            json!({"query": "AS4294967296"}),
            400,
            "query: \"AS4294967296\" is not a valid AS number (AS0 to AS4294967295)",
        ),
        (
            json!({"query": "example.test\r\nsecond"}),
            400,
            "query: \"example.test\\r\\nsecond\" contains '\\r'; a domain name has no spaces or control characters",
        ),
        (
            json!({"query": "exa$mple.test"}),
            400,
            "query: \"exa$mple.test\" contains '$'; a domain name may only hold letters, digits, '-' and '.'",
        ),
        (
            json!({"query": format!("{}.test", "a".repeat(64))}),
            400,
            "query: label \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is 64 characters long; a label has at most 63",
        ),
        (
            json!({"query": "example.test", "server": "bad host"}),
            400,
            "server: \"bad host\" is not a host name or IP address with an optional port (examples: whois.example.net, whois.example.net:43, 192.0.2.1:4343)",
        ),
        (
            json!({"query": "example.test", "timeout_ms": 0}),
            400,
            "timeout_ms: must be between 1 and 120000, got 0",
        ),
        (
            json!({"query": "example.org"}),
            400,
            "query: no whois server is known for \"example.org\": the server list has no entry for its suffix and no \"\" default; pass `server`",
        ),
    ];
    for (args, status, message) in cases {
        let (got, body) = both_doors(&server, args.clone()).await;
        assert_eq!(got, status, "{args}: {body}");
        assert_eq!(body["error"]["message"], message, "{args}");
    }
    let (status, body) = both_doors(&server, json!({"query": "a.test", "follow": false})).await;
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("invalid arguments for whois_lookup: unknown field `follow`"),
        "{message}"
    );
}

#[test]
fn the_official_python_client_validates_whois_answers() {
    let registry = FakeWhois::start("127.0.0.1");
    let registrar = FakeWhois::start("127.0.0.2");
    registry.answer(registry_answer(&registrar.at()));
    registrar.answer(registrar_answer(&registrar.at()));
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "{0}", "asn": "{0}"}}, "test": "{0}"}}"#,
        registry.at()
    ));
    let out = Command::new(python())
        .arg(py_script("mcp_client_check.py"))
        .args(["--url", &server.at("/mcp")])
        .args(["--token", &server.token])
        .args(["--protocol-version", "2025-06-18"])
        .args([
            "--call",
            r#"whois_lookup={"query": "192.0.2.1", "follow_referrals": false}"#,
        ])
        .args(["--call", r#"whois_lookup={"query": "example.test"}"#])
        .output()
        .expect("run mcp_client_check.py");
    assert!(
        out.status.success(),
        "the official SDK client rejected whois_lookup:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["calls"]["whois_lookup"]["fields"]["registrar"],
        "Example Registrar, Inc."
    );
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
    let registry = FakeWhois::start("127.0.0.1");
    let registrar = FakeWhois::start("127.0.0.2");
    registry.answer(registry_answer(&registrar.at()));
    registrar.answer(registrar_answer(&registrar.at()));
    let server = server_with_list(&format!(
        r#"{{"_": {{"ip": "{0}"}}, "test": "{0}"}}"#,
        registry.at()
    ));
    let bodies = vec![
        server
            .post("/api/v1/whois", &json!({"query": "example.test"}))
            .await,
        server
            .post(
                "/api/v1/whois",
                &json!({"query": "192.0.2.1", "follow_referrals": false}),
            )
            .await,
        server
            .post("/api/v1/whois", &json!({"query": "64500"}))
            .await,
        server
            .post("/api/v1/whois", &json!({"query": "example.org"}))
            .await,
    ];
    assert_eq!(
        bodies.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 200, 400, 400]
    );
    assert_match_openapi(&server, "whois_lookup", &bodies).await;
}
