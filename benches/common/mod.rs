//! Shared by the `load` and `terminal` benchmarks: flags, the one HTTP/1.1
//! client and load generator (tokio + hyper, loopback only, bounded in time
//! and count), percentiles, the result table and its JSON form, process RSS,
//! and starting termbridge (in-process or as the release binary).
//!
//! Modes: `cargo bench --bench NAME` passes `--bench` (full run);
//! `-- --quick` makes a short run (under 2 minutes). `cargo test
//! --all-targets` builds the bench binaries and runs them without `--bench`:
//! then they stop at once, since CI runs each one's quick mode in release
//! (`scripts/test.sh`; BENCHMARKS.md, "Benchmarks in CI").
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// A token long enough for the config rules.
pub const TOKEN: &str = "bench-token-0123456789abcdef";

/// How a bench binary was asked to run.
#[derive(Debug, Clone)]
pub struct Flags {
    /// Short run (`--quick`).
    pub quick: bool,
    /// Print JSON instead of the table.
    pub json: bool,
    /// Other `--name value` options.
    pub options: Vec<(String, String)>,
}

impl Flags {
    /// Reads the command line; `None` when the binary was not started by
    /// `cargo bench` (no `--bench`: `cargo test --all-targets` only checks
    /// that it builds and starts), after saying so.
    pub fn parse(bench_name: &str) -> Option<Flags> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if !args.iter().any(|a| a == "--bench") {
            println!(
                "{bench_name}: not run under cargo test; scripts/test.sh runs \
                 `cargo bench --bench {bench_name} -- --quick` (BENCHMARKS.md)"
            );
            return None;
        }
        let mut flags = Flags {
            quick: args.iter().any(|a| a == "--quick"),
            json: args.iter().any(|a| a == "--json"),
            options: Vec::new(),
        };
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                if let Some((k, v)) = name.split_once('=') {
                    flags.options.push((k.to_string(), v.to_string()));
                } else if it.peek().is_some_and(|v| !v.starts_with("--")) && VALUED.contains(&name)
                {
                    flags
                        .options
                        .push((name.to_string(), it.next().cloned().unwrap_or_default()));
                }
            }
        }
        Some(flags)
    }

    /// The value of `--name`.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A mode label for the output.
    pub fn mode(&self) -> &'static str {
        if self.quick { "quick" } else { "full" }
    }
}

/// Options that take a value (`--name value`).
const VALUED: &[&str] = &[
    "duration",
    "conns",
    "peer",
    "peer-token",
    "peer-name",
    "sessions",
    "size-mb",
    "iterations",
    "only",
];

// ---------------------------------------------------------------- HTTP client

/// One request to send, again and again.
#[derive(Debug, Clone)]
pub struct Req {
    /// `GET`, `POST`, `DELETE`.
    pub method: hyper::Method,
    /// Path and query.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body (empty for GET).
    pub body: Bytes,
}

impl Req {
    /// `GET path` with the bearer token.
    pub fn get(path: &str, token: &str) -> Req {
        Req {
            method: hyper::Method::GET,
            path: path.to_string(),
            headers: vec![("authorization".into(), format!("Bearer {token}"))],
            body: Bytes::new(),
        }
    }

    /// `POST path` of a JSON body with the bearer token.
    pub fn post(path: &str, token: &str, body: &Value) -> Req {
        Req {
            method: hyper::Method::POST,
            path: path.to_string(),
            headers: vec![
                ("authorization".into(), format!("Bearer {token}")),
                ("content-type".into(), "application/json".into()),
            ],
            body: Bytes::from(body.to_string()),
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
}

/// An answer: status, headers we care about, body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Mcp-Session-Id`, if sent.
    pub session: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (Null if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Conn {
    /// Connects to `addr` (loopback only).
    pub async fn open(addr: SocketAddr) -> Result<Conn, String> {
        assert!(addr.ip().is_loopback(), "benchmarks only talk to loopback");
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&mut self, req: &Req) -> Result<Answer, String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let mut builder = hyper::Request::builder()
            .method(req.method.clone())
            .uri(req.path.as_str())
            .header("host", self.host.as_str());
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(Full::new(req.body.clone()))
            .map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            session,
            body,
        })
    }

    /// Sends and insists on a 2xx answer.
    pub async fn call(&mut self, req: &Req) -> Answer {
        let answer = self
            .send(req)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", req.method, req.path));
        assert!(
            (200..300).contains(&answer.status),
            "{} {} answered {}: {}",
            req.method,
            req.path,
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        answer
    }
}

/// The runtime of the load generator: two worker threads, like `wrk -t2`
/// on this 2-core machine.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ------------------------------------------------------------ load generator

/// How hard and how long to push.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    /// Concurrent keep-alive connections, each sending one request at a time.
    pub conns: usize,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before it.
    pub warmup: Duration,
    /// Hard bound on requests sent (all connections together).
    pub max_requests: u64,
}

/// What one load run measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadResult {
    /// Requests completed in the measured window.
    pub requests: u64,
    /// Failed requests (transport errors and non-2xx), whole run.
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// Measured seconds.
    pub seconds: f64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
}

/// `q`-quantile of sorted nanoseconds, in milliseconds.
pub fn percentile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1e6
}

/// Drives `reqs` (connection `i` sends `reqs[i % reqs.len()]`) at `addr`
/// with `spec.conns` connections; a connection sends its next request as
/// soon as the previous answer is read (closed loop, like wrk).
pub fn run_load(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    reqs: &[Req],
    spec: LoadSpec,
) -> LoadResult {
    assert!(!reqs.is_empty());
    rt.block_on(async move {
        let mut conns = Vec::with_capacity(spec.conns);
        for _ in 0..spec.conns {
            conns.push(Conn::open(addr).await.expect("connect"));
        }
        let sent = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let measure_from = start + spec.warmup;
        let end = measure_from + spec.duration;
        let mut tasks = Vec::new();
        for (i, mut conn) in conns.into_iter().enumerate() {
            let req = reqs[i % reqs.len()].clone();
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(4096);
                let mut errors = 0u64;
                let mut first_error = None;
                loop {
                    let t0 = Instant::now();
                    if t0 >= end || sent.fetch_add(1, Ordering::Relaxed) >= spec.max_requests {
                        break;
                    }
                    let outcome = conn.send(&req).await;
                    let t1 = Instant::now();
                    match outcome {
                        Ok(a) if (200..300).contains(&a.status) => {
                            if t0 >= measure_from && t1 <= end {
                                latencies.push((t1 - t0).as_nanos() as u64);
                            }
                        }
                        Ok(a) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{}: {}", a.status, String::from_utf8_lossy(&a.body))
                            });
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                            // A broken connection: open a new one.
                            match Conn::open(addr).await {
                                Ok(c) => conn = c,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (latencies, errors, first_error)
            }));
        }
        let mut all = Vec::new();
        let mut result = LoadResult::default();
        for task in tasks {
            let (latencies, errors, first_error) = task.await.expect("load task");
            all.extend(latencies);
            result.errors += errors;
            if result.first_error.is_none() {
                result.first_error = first_error;
            }
        }
        all.sort_unstable();
        result.requests = all.len() as u64;
        result.seconds = spec.duration.as_secs_f64();
        result.rps = all.len() as f64 / result.seconds;
        result.p50_ms = percentile_ms(&all, 0.50);
        result.p99_ms = percentile_ms(&all, 0.99);
        result.p999_ms = percentile_ms(&all, 0.999);
        result
    })
}

// ---------------------------------------------------------------- reporting

/// One row of a result table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// What was measured.
    pub scenario: String,
    /// Connections (or sessions) in parallel.
    pub conns: usize,
    /// The measurement.
    #[serde(flatten)]
    pub result: LoadResult,
    /// The baseline row this one is compared with.
    pub baseline: Option<String>,
    /// req/s relative to the baseline's.
    pub rps_ratio: Option<f64>,
    /// p99 relative to the baseline's.
    pub p99_ratio: Option<f64>,
}

/// Prints rows as an aligned table.
pub fn print_table(rows: &[Row]) {
    println!(
        "{:<44} {:>5} {:>10} {:>9} {:>9} {:>9} {:>6} {:>8} {:>8}  baseline",
        "scenario", "conns", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "x req/s", "x p99"
    );
    for row in rows {
        let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
        println!(
            "{:<44} {:>5} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>6} {:>8} {:>8}  {}",
            row.scenario,
            row.conns,
            row.result.rps,
            row.result.p50_ms,
            row.result.p99_ms,
            row.result.p999_ms,
            row.result.errors,
            ratio(row.rps_ratio),
            ratio(row.p99_ratio),
            row.baseline.as_deref().unwrap_or("-"),
        );
        if let Some(e) = &row.result.first_error {
            let e: String = e.chars().take(160).collect();
            println!("    first error: {e}");
        }
    }
}

/// The header of every report: date, machine, mode.
pub fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    json!({
        "date": date,
        "cores": cores,
        "cpu": cpu,
        "loadavg_at_start": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "debug_build": cfg!(debug_assertions),
    })
}

// ---------------------------------------------------------------- processes

/// `VmRSS` of a process in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// `VmHWM` (peak RSS) of a process in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Raises the soft open-files limit to the hard one (children inherit it);
/// returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

/// The termbridge binary as a child process, stopped (SIGTERM, then
/// SIGKILL) when dropped.
pub struct ServerProcess {
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    /// The server's pid.
    pub pid: u32,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The path of the termbridge binary cargo built for this bench, or the
/// one named by `TERMBRIDGE_BENCH_SERVER` (to compare two builds A/B with
/// the same bench binary).
pub fn server_binary() -> PathBuf {
    std::env::var_os("TERMBRIDGE_BENCH_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_termbridge")))
}

impl ServerProcess {
    /// Starts `termbridge serve` with `config_toml` in a fresh config
    /// directory; waits until it accepts connections. Returns the server
    /// and the time from spawn to the first accepted connection.
    pub fn start(config_toml: &str) -> (ServerProcess, Duration) {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_toml).expect("write config");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        let child = Command::new(server_binary())
            .args(["serve", "--bind", &addr.to_string(), "--config"])
            .arg(&config)
            .arg("--config-dir")
            .arg(dir.path())
            .env("TERMBRIDGE_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start termbridge");
        let pid = child.id();
        let mut server = ServerProcess {
            addr,
            pid,
            child,
            _dir: dir,
        };
        let deadline = started + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(addr).is_ok() {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("termbridge exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "termbridge did not start in 30 s"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        let ready = started.elapsed();
        (server, ready)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// termbridge in this process, on 127.0.0.1:0, in its own thread with its
/// own actix system (as the tests start it).
pub struct InProcessServer {
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcessServer {
    /// Starts a server after `adjust` has changed its configuration.
    pub fn start(adjust: impl FnOnce(&mut termbridge::Config)) -> InProcessServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let mut config = termbridge::Config::with_token(TOKEN);
        config.bind = addr;
        adjust(&mut config);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = termbridge::run(listener, config).expect("server starts");
                tx.send(server.handle()).unwrap();
                server.await.expect("server runs");
            });
        });
        let handle = rx.recv().expect("server handle");
        InProcessServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let stopper = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        });
        let _ = stopper.join();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether `program` is on the PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Median of a few durations.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// Writes `text` to `path`, creating parent directories.
pub fn write_file(path: &Path, text: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}
