//! Load benchmark: termbridge's REST and MCP front doors under N concurrent
//! keep-alive connections for T seconds, against two baselines served from
//! the same process and loaded by the same generator (tokio + hyper, two
//! client threads, like `wrk -t2`): a minimal actix-web app answering `GET`
//! with a small JSON, and the same app answering a `POST` JSON echo behind a
//! constant-time Bearer check. Each scenario's req/s and p99 are given as
//! ratios to its matching baseline, measured minutes apart on the same box.
//!
//! ```text
//! cargo bench --bench load                    # full: 10 s per scenario
//! cargo bench --bench load -- --quick         # quick: 2 s per scenario (< 1 min)
//! cargo bench --bench load -- --json          # machine-readable
//! cargo bench --bench load -- --peer http://127.0.0.1:8000/mcp --peer-name python-sdk
//!                                             # an external MCP server (benches/peers/)
//! ```
//!
//! Scenarios: (1) the baselines; (2) REST `GET /api/v1/info`; (3) MCP
//! `tools/call server_info` as a stateless POST and within a session; (4) REST
//! `dns_lookup` against an in-process DNS server; (5) `session_run echo x` in
//! one session (sequential, back to back) and in 8 sessions at once (shells
//! with an empty `HOME`, so no `~/.bashrc` prompt hooks); plus start-up: time
//! from launching the binary to accepting connections and to the first answer.
//! Results and the goals they are checked against: BENCHMARKS.md.

mod common;
#[allow(dead_code)]
#[path = "../tests/common/dns.rs"]
mod dns;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use common::{
    Conn, Flags, InProcessServer, LoadSpec, Req, Row, ServerProcess, TOKEN, client_runtime,
    machine, print_table, run_load,
};

/// The baseline app: `GET /info` (small JSON) and `POST /echo` (JSON echo
/// behind a constant-time bearer check).
struct Baseline {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn baseline_info() -> HttpResponse {
    HttpResponse::Ok().json(json!({"name": "baseline", "version": "0.1.0", "status": "ok"}))
}

async fn baseline_echo(req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    let expected = format!("Bearer {TOKEN}");
    let sent = req
        .headers()
        .get("authorization")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(sent.ct_eq(expected.as_bytes())) {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().json(body.into_inner())
}

impl Baseline {
    fn start() -> Baseline {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(|| {
                    App::new()
                        .route("/info", web::get().to(baseline_info))
                        .route("/echo", web::post().to(baseline_echo))
                })
                .listen(listener)
                .expect("listen")
                .disable_signals()
                .run();
                tx.send(server.handle()).unwrap();
                server.await.expect("baseline runs");
            });
        });
        let handle = rx.recv().expect("baseline handle");
        Baseline {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `tools/call server_info` message.
fn tools_call() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "server_info", "arguments": {}}})
}

/// An MCP POST as the official clients send it.
fn mcp_req(path: &str, token: &str, body: &Value) -> Req {
    Req::post(path, token, body).with_header("accept", "application/json, text/event-stream")
}

struct Bench {
    /// `--only TEXT`: run only the scenarios containing TEXT (and the baselines).
    only: Option<String>,
    rt: tokio::runtime::Runtime,
    spec: LoadSpec,
    rows: Vec<Row>,
}

impl Bench {
    fn run(
        &mut self,
        scenario: &str,
        addr: SocketAddr,
        reqs: &[Req],
        conns: usize,
        baseline: Option<&str>,
    ) {
        let spec = LoadSpec { conns, ..self.spec };
        let wanted = self
            .only
            .as_deref()
            .is_none_or(|only| scenario.contains(only) || scenario.starts_with("baseline"));
        if !wanted {
            return;
        }
        eprintln!("load: {scenario} ({conns} conns)…");
        let result = run_load(&self.rt, addr, reqs, spec);
        let base = baseline.and_then(|b| self.rows.iter().find(|r| r.scenario == b));
        let rps_ratio = base.map(|b| result.rps / b.result.rps.max(1e-9));
        let p99_ratio = base.map(|b| result.p99_ms / b.result.p99_ms.max(1e-9));
        self.rows.push(Row {
            scenario: scenario.to_string(),
            conns,
            result,
            baseline: baseline.map(str::to_string),
            rps_ratio,
            p99_ratio,
        });
    }
}

/// Opens a shell session with `HOME=home` (no start-up files: the
/// machine's `~/.bashrc` prompt hooks would be measured, not termbridge);
/// returns its id.
async fn open_shell(conn: &mut Conn, home: &std::path::Path) -> String {
    let answer = conn
        .call(&Req::post(
            "/api/v1/sessions",
            TOKEN,
            &json!({"kind": "shell", "name": "bench", "env": {"HOME": home}}),
        ))
        .await;
    let info = answer.json();
    assert_eq!(info["ready"], true, "the shell reached its prompt: {info}");
    info["id"].as_str().expect("session id").to_string()
}

/// `session_run echo x` in session `id`.
fn echo_req(id: &str) -> Req {
    Req::post(
        &format!("/api/v1/sessions/{id}/commands"),
        TOKEN,
        &json!({"command": "echo x", "timeout_ms": 10000}),
    )
}

/// Start-up: launch the binary, time until it accepts a connection and
/// until it answers `/health`.
fn startup(runs: usize) -> Value {
    let mut accept = Vec::new();
    let mut answer = Vec::new();
    for _ in 0..runs {
        let (server, ready) = ServerProcess::start("rate_limit_per_second = 0\n");
        let started = Instant::now() - ready;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if health_ok(server.addr) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        accept.push(ready.as_secs_f64() * 1e3);
        answer.push(started.elapsed().as_secs_f64() * 1e3);
        drop(server);
    }
    json!({
        "runs": runs,
        "accept_ms_median": common::median(accept.clone()),
        "accept_ms_max": accept.iter().cloned().fold(0.0, f64::max),
        "first_answer_ms_median": common::median(answer.clone()),
        "first_answer_ms_max": answer.iter().cloned().fold(0.0, f64::max),
    })
}

/// One blocking `GET /health`.
fn health_ok(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 32];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

fn main() {
    let Some(flags) = Flags::parse("load") else {
        return;
    };
    let (warmup, duration) = if flags.quick {
        (Duration::from_millis(500), Duration::from_secs(2))
    } else {
        (Duration::from_secs(2), Duration::from_secs(10))
    };
    let duration = flags
        .option("duration")
        .and_then(|d| d.parse::<f64>().ok())
        .map_or(duration, Duration::from_secs_f64);
    let conns: usize = flags
        .option("conns")
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let mut bench = Bench {
        only: flags.option("only").map(str::to_string),
        rt: client_runtime(),
        spec: LoadSpec {
            conns,
            duration,
            warmup,
            max_requests: 10_000_000,
        },
        rows: Vec::new(),
    };
    let header = machine();

    // (1) Baselines.
    let baseline = Baseline::start();
    let echo_body = tools_call();
    let base_get = [Req::get("/info", TOKEN)];
    let base_post = [mcp_req("/echo", TOKEN, &echo_body)];
    const GET64: &str = "baseline: actix GET small JSON";
    const POST64: &str = "baseline: actix POST echo + Bearer";
    const POST1: &str = "baseline: actix POST echo + Bearer (1 conn)";
    const POST8: &str = "baseline: actix POST echo + Bearer (8 conns)";
    bench.run(GET64, baseline.addr, &base_get, conns, None);
    bench.run(POST64, baseline.addr, &base_post, conns, None);

    if let Some(url) = flags.option("peer") {
        // An external MCP server (benches/peers/run.sh starts them).
        let name = flags.option("peer-name").unwrap_or("peer");
        let token = flags.option("peer-token").unwrap_or(TOKEN);
        let rest = url
            .strip_prefix("http://")
            .expect("--peer http://127.0.0.1:PORT/path");
        let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
        let addr: SocketAddr = hostport.parse().expect("--peer host is 127.0.0.1:PORT");
        let req = mcp_req(&format!("/{path}"), token, &tools_call());
        bench.run(
            &format!("{name}: MCP tools/call (stateless JSON)"),
            addr,
            &[req],
            conns,
            Some(POST64),
        );
        report(&flags, header, &bench.rows, Value::Null);
        fail_on_errors(&bench.rows);
        return;
    }

    // The server under test, with a local DNS server for dns_lookup.
    let dns = dns::TestDnsServer::start();
    let server = InProcessServer::start(|config| {
        config.access.rate_limit_per_second = 0;
        config.terminal.max_sessions = 64;
    });

    // (2) REST.
    let info = [Req::get("/api/v1/info", TOKEN)];
    bench.run(
        "REST GET /api/v1/info",
        server.addr,
        &info,
        conns,
        Some(GET64),
    );

    // Diagnostics: the door and routing alone (`/health`, public, tiny
    // answer) and MCP without a tool (`ping`), to tell transport cost from
    // tool cost.
    bench.run(
        "diag: REST GET /health (no token, tiny)",
        server.addr,
        &[Req::get("/health", TOKEN)],
        conns,
        Some(GET64),
    );
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    bench.run(
        "diag: MCP ping (stateless)",
        server.addr,
        &[mcp_req("/mcp", TOKEN, &ping).with_header("mcp-protocol-version", "2025-11-25")],
        conns,
        Some(POST64),
    );

    // (3) MCP tools/call: stateless, and within a session per connection.
    let stateless =
        [mcp_req("/mcp", TOKEN, &tools_call()).with_header("mcp-protocol-version", "2025-11-25")];
    bench.run(
        "MCP tools/call server_info (stateless)",
        server.addr,
        &stateless,
        conns,
        Some(POST64),
    );
    let sessions: Vec<Req> = bench.rt.block_on(async {
        let mut conn = Conn::open(server.addr).await.unwrap();
        let mut reqs = Vec::new();
        for _ in 0..conns {
            let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "termbridge-bench", "version": "1"}}});
            let answer = conn.call(&mcp_req("/mcp", TOKEN, &init)).await;
            let sid = answer.session.expect("Mcp-Session-Id");
            let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            conn.call(
                &mcp_req("/mcp", TOKEN, &note)
                    .with_header("mcp-session-id", &sid)
                    .with_header("mcp-protocol-version", "2025-11-25"),
            )
            .await;
            reqs.push(
                mcp_req("/mcp", TOKEN, &tools_call())
                    .with_header("mcp-session-id", &sid)
                    .with_header("mcp-protocol-version", "2025-11-25"),
            );
        }
        reqs
    });
    bench.run(
        "MCP tools/call server_info (session)",
        server.addr,
        &sessions,
        conns,
        Some(POST64),
    );

    // (4) dns_lookup against the in-process DNS server.
    let lookup = [Req::post(
        "/api/v1/dns/lookup",
        TOKEN,
        &json!({"name": "termbridge.test", "record_type": "A", "server": dns.server()}),
    )];
    bench.run(
        "REST dns_lookup A (local DNS server)",
        server.addr,
        &lookup,
        conns,
        Some(POST64),
    );

    // (5) session_run echo x: one session, then 8 at once.
    bench.run(POST1, baseline.addr, &base_post, 1, None);
    bench.run(POST8, baseline.addr, &base_post, 8, None);
    let home = tempfile::tempdir().expect("temp dir");
    let ids: Vec<String> = bench.rt.block_on(async {
        let mut conn = Conn::open(server.addr).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..8 {
            ids.push(open_shell(&mut conn, home.path()).await);
        }
        // The first command of a session also proves the output is exact.
        for id in &ids {
            let r = conn.call(&echo_req(id)).await.json();
            assert_eq!(r["status"], "completed", "{r}");
            assert_eq!(r["output"], "x", "{r}");
        }
        ids
    });
    let one = [echo_req(&ids[0])];
    bench.run(
        "REST session_run echo x (1 session)",
        server.addr,
        &one,
        1,
        Some(POST1),
    );
    let eight: Vec<Req> = ids.iter().map(|id| echo_req(id)).collect();
    bench.run(
        "REST session_run echo x (8 sessions)",
        server.addr,
        &eight,
        8,
        Some(POST8),
    );
    // Close the shells (their integration files go with them).
    bench.rt.block_on(async {
        let mut conn = Conn::open(server.addr).await.unwrap();
        for id in &ids {
            let close = Req {
                method: hyper::Method::DELETE,
                ..Req::get(&format!("/api/v1/sessions/{id}"), TOKEN)
            };
            let _ = conn.send(&close).await;
        }
    });
    drop(server);
    drop(dns);
    drop(baseline);

    // Start-up of the binary.
    let runs = if flags.quick { 3 } else { 10 };
    let start = startup(runs);
    report(&flags, header, &bench.rows, start);
    fail_on_errors(&bench.rows);
}

/// Ends with a failure when requests failed (transport errors, non-2xx
/// answers): such a run's numbers are not worth reading, and CI runs this
/// bench (scripts/test.sh) to see every scenario work.
fn fail_on_errors(rows: &[Row]) {
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.result.errors > 0)
        .map(|r| r.scenario.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!("load: requests failed in: {}", failed.join("; "));
        std::process::exit(1);
    }
}

fn report(flags: &Flags, header: Value, rows: &[Row], startup: Value) {
    if flags.json {
        let out = json!({"bench": "load", "mode": flags.mode(), "machine": header,
                         "rows": rows, "startup": startup});
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
        return;
    }
    println!(
        "\ntermbridge load benchmark ({} mode) — {}",
        flags.mode(),
        header
    );
    print_table(rows);
    if !startup.is_null() {
        println!(
            "\nstart-up ({} launches of the binary): accepting connections after {:.1} ms (median, max {:.1} ms); first /health answer after {:.1} ms (median, max {:.1} ms)",
            startup["runs"],
            startup["accept_ms_median"].as_f64().unwrap_or(0.0),
            startup["accept_ms_max"].as_f64().unwrap_or(0.0),
            startup["first_answer_ms_median"].as_f64().unwrap_or(0.0),
            startup["first_answer_ms_max"].as_f64().unwrap_or(0.0),
        );
    }
}
