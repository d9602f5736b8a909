//! Terminal benchmark: how fast a session absorbs output, how quickly
//! `session_run echo x` comes back, and what sessions and scrollback cost in
//! memory — each against a reference measured in the same run:
//!
//! * (a) throughput: a 120x40 shell session absorbing `cat` of a generated
//!   realistic file (colored logs, long wrapped JSON lines, `ls --color`,
//!   compiler errors, Unicode; 200 MB, `--quick` 20 MB) against reading the
//!   same file from a bare PTY (nothing parsed) and against a tmux pane
//!   (120x40, history 10 000); plus the screen model and the output log
//!   alone, in this process, to show where the time goes;
//! * (b) round trip: `session_run echo x` (median, p99) against tmux
//!   `send-keys` + polling `capture-pane` until the output shows, the method
//!   other terminal MCP servers use;
//! * (c) memory: server RSS before and after opening N idle sessions
//!   (`sleep infinity`, N = 1000, `--quick` 100), and the cost of a full
//!   10 000-line, 120-column scrollback (heap of the screen model counted by
//!   this process's allocator, server RSS, and tmux's RSS for the same).
//!
//! The server is the termbridge binary built with this bench (release under
//! `cargo bench`), so its RSS is its own and the bench's CPU is not in its
//! process.
//!
//! ```text
//! cargo bench --bench terminal                 # full
//! cargo bench --bench terminal -- --quick      # under 2 minutes
//! cargo bench --bench terminal -- --json
//! ```

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use common::{Conn, Flags, Req, ServerProcess, TOKEN, have, machine, median, percentile_ms};
use termbridge_actors::terminal::output::OutputLog;
use termbridge_actors::terminal::screen::Screen;

/// Counts live heap bytes and allocations, to weigh data structures exactly.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCS: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_ALLOCS.load(Ordering::Relaxed),
    )
}

// ------------------------------------------------------------ the input file

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const MODULES: &[&str] = &[
    "server::http",
    "terminal::session",
    "dns::resolve",
    "mcp::dispatch",
    "db::pool",
    "auth::door",
    "scheduler",
];
const WORDS: &[&str] = &[
    "request",
    "handled",
    "session",
    "opened",
    "connection",
    "reset",
    "retrying",
    "cache",
    "miss",
    "upstream",
    "timeout",
    "user",
    "token",
    "accepted",
    "queue",
    "drained",
    "flush",
    "write",
    "bytes",
    "latency",
    "backoff",
    "worker",
    "spawned",
    "élève",
    "naïve",
    "→",
    "✓",
    "データ",
];
const FILES: &[&str] = &[
    "Cargo.toml",
    "README.md",
    "main.rs",
    "lib.rs",
    "target",
    "build.sh",
    "node_modules",
    "photo.jpg",
    "archive.tar.gz",
    "notes.txt",
];

/// One line of realistic terminal output (without the newline).
fn line(rng: &mut Rng, out: &mut Vec<u8>) {
    let n = rng.below(100);
    match n {
        // Colored log lines.
        0..=49 => {
            let (level, color) = match rng.below(20) {
                0 => ("ERROR", "\x1b[1;31m"),
                1..=3 => (" WARN", "\x1b[33m"),
                4..=6 => ("DEBUG", "\x1b[2m"),
                _ => (" INFO", "\x1b[32m"),
            };
            let _ = write!(
                out,
                "2026-05-04T{:02}:{:02}:{:02}.{:03}Z {color}{level}\x1b[0m \x1b[2m{}\x1b[0m:",
                rng.below(24),
                rng.below(60),
                rng.below(60),
                rng.below(1000),
                rng.pick(MODULES)
            );
            for _ in 0..(4 + rng.below(10)) {
                let _ = write!(out, " {}", rng.pick(WORDS));
            }
            let _ = write!(
                out,
                " \x1b[3mid\x1b[0m=\x1b[36m{:016x}\x1b[0m duration_ms={}",
                rng.next(),
                rng.below(5000)
            );
        }
        // Long JSON lines that wrap over several rows.
        50..=64 => {
            out.extend_from_slice(b"{\"event\":\"batch\",\"items\":[");
            for i in 0..(5 + rng.below(25)) {
                if i > 0 {
                    out.push(b',');
                }
                let _ = write!(
                    out,
                    "{{\"id\":{},\"name\":\"{}\",\"ok\":{}}}",
                    rng.below(100_000),
                    rng.pick(WORDS),
                    rng.below(2) == 1
                );
            }
            out.extend_from_slice(b"]}");
        }
        // ls --color.
        65..=74 => {
            for _ in 0..(3 + rng.below(6)) {
                let color = rng.pick(&["01;34", "01;32", "00", "01;35", "01;31", "00;36"]);
                let _ = write!(out, "\x1b[{color}m{}\x1b[0m  ", rng.pick(FILES));
            }
        }
        // Compiler diagnostics.
        75..=84 => {
            let _ = match rng.below(4) {
                0 => write!(
                    out,
                    "\x1b[1m\x1b[91merror[E0{}]\x1b[0m\x1b[1m: mismatched types\x1b[0m",
                    100 + rng.below(800)
                ),
                1 => write!(
                    out,
                    "   \x1b[1m\x1b[94m-->\x1b[0m src/{}.rs:{}:{}",
                    rng.pick(&["main", "lib", "session", "screen"]),
                    rng.below(900),
                    rng.below(80)
                ),
                2 => write!(
                    out,
                    "\x1b[1m\x1b[94m{:>4} |\x1b[0m     let x: u32 = \"{}\";",
                    rng.below(900),
                    rng.pick(WORDS)
                ),
                _ => write!(
                    out,
                    "     \x1b[1m\x1b[94m|\x1b[0m                  \x1b[1m\x1b[91m^^^^^^^\x1b[0m \x1b[1m\x1b[91mexpected `u32`, found `&str`\x1b[0m"
                ),
            };
        }
        // Plain prose with tabs and Unicode.
        85..=95 => {
            out.push(b'\t');
            for _ in 0..(6 + rng.below(14)) {
                let _ = write!(out, "{} ", rng.pick(WORDS));
            }
        }
        // Blank and short lines, a carriage-return progress line.
        _ => {
            if rng.below(2) == 0 {
                let _ = write!(out, "{:>3}%\r{:>3}%", rng.below(100), rng.below(100));
            }
        }
    }
}

/// Writes about `bytes` bytes of realistic output to `path`.
fn generate(path: &Path, bytes: usize) -> usize {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create file"));
    let mut written = 0;
    let mut buf = Vec::with_capacity(1 << 16);
    while written < bytes {
        buf.clear();
        while buf.len() < 60_000 {
            line(&mut rng, &mut buf);
            buf.push(b'\n');
        }
        file.write_all(&buf).expect("write");
        written += buf.len();
    }
    file.flush().expect("flush");
    written
}

/// `lines` lines of exactly `cols` printable columns (no trailing blank;
/// every third one green).
fn full_width_lines(lines: usize, cols: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::new();
    for i in 0..lines {
        let mut text = String::new();
        while text.len() < cols {
            text.push_str(rng.pick(&["alpha", "beta", "gamma", "delta", "log", "x", "build"]));
            text.push(' ');
        }
        text.truncate(cols - 1);
        text.push('|');
        if i % 3 == 0 {
            out.extend_from_slice(format!("\x1b[32m{text}\x1b[0m\n").as_bytes());
        } else {
            out.extend_from_slice(format!("{text}\n").as_bytes());
        }
    }
    out
}

/// `\n` -> `\r\n`, as a PTY in its default mode (ONLCR) hands output over.
fn onlcr(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 40);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

// ------------------------------------------------------------ (a) throughput

/// Reads `cat file` from a bare 120x40 PTY; returns seconds, bytes read and
/// the number of reads.
async fn bare_pty(file: &Path) -> (f64, usize, usize) {
    let (mut pty, pts) = pty_process::open().expect("open a PTY");
    pty.resize(pty_process::Size::new(40, 120)).expect("size");
    let started = Instant::now();
    let mut child = pty_process::Command::new("cat")
        .arg(file)
        .spawn(pts)
        .expect("spawn cat");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut reads) = (0, 0);
    loop {
        match pty.read(&mut buf).await {
            Ok(0) | Err(_) => break, // EIO once cat exited
            Ok(n) => {
                total += n;
                reads += 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = child.wait().await;
    (secs, total, reads)
}

/// Opens a session with `spec`; returns its id.
async fn open(conn: &mut Conn, spec: Value) -> String {
    let info = conn
        .call(&Req::post("/api/v1/sessions", TOKEN, &spec))
        .await
        .json();
    info["id"].as_str().expect("session id").to_string()
}

/// `session_run command` with a long wait; returns the result and seconds.
async fn run(conn: &mut Conn, id: &str, command: &str) -> (Value, f64) {
    let req = Req::post(
        &format!("/api/v1/sessions/{id}/commands"),
        TOKEN,
        &json!({"command": command, "timeout_ms": 600_000, "max_output_bytes": 1024}),
    );
    let t = Instant::now();
    let result = conn.call(&req).await.json();
    (result, t.elapsed().as_secs_f64())
}

async fn close(conn: &mut Conn, id: &str) {
    let req = Req {
        method: hyper::Method::DELETE,
        ..Req::get(&format!("/api/v1/sessions/{id}"), TOKEN)
    };
    let _ = conn.send(&req).await;
}

/// A shell session absorbing `cat file`: seconds.
async fn session_cat(conn: &mut Conn, file: &Path, scrollback: usize) -> f64 {
    let id = open(
        conn,
        json!({"kind": "shell", "cols": 120, "rows": 40, "scrollback": scrollback}),
    )
    .await;
    let (result, secs) = run(conn, &id, &format!("cat {}", file.display())).await;
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["exit_code"], 0, "{result}");
    close(conn, &id).await;
    secs
}

/// A detached tmux server for the comparisons, killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(dir: &Path) -> Tmux {
        Tmux::start_with_home(dir, None)
    }

    /// A tmux server whose pane's shell gets `HOME=home` when given.
    fn start_with_home(dir: &Path, home: Option<&Path>) -> Tmux {
        // A fresh socket each time: a server still shutting down keeps its own.
        static SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERIAL.fetch_add(1, Ordering::Relaxed);
        let socket = dir.join(format!("tmux-{n}.sock"));
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g history-limit 10000\n").unwrap();
        let tmux = Tmux { socket };
        let ok = tmux
            .cmd()
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-s", "bench", "-x", "120", "-y", "40"])
            .args(home.map(|h| format!("-eHOME={}", h.display())))
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session");
        // Wait for the shell's prompt.
        let deadline = Instant::now() + Duration::from_secs(10);
        while tmux.capture().trim().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    fn capture(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "bench"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn send(&self, text: &str) {
        let ok = self
            .cmd()
            .args(["send-keys", "-t", "bench", text, "Enter"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux send-keys");
    }

    fn server_pid(&self) -> u32 {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "bench", "#{pid}"])
            .output()
            .expect("tmux display");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// Runs `command` in the pane and waits until it has finished.
    fn run_and_wait(&self, command: &str) -> f64 {
        let t = Instant::now();
        self.send(&format!(
            "{command}; tmux -S {} wait-for -S bench-done",
            self.socket.display()
        ));
        let ok = self
            .cmd()
            .args(["wait-for", "bench-done"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux wait-for");
        t.elapsed().as_secs_f64()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// Feeds `data` to the screen model (and separately the output log) in
/// chunks of `chunk` bytes; MB/s of each.
fn model_alone(data: &[u8], chunk: usize) -> (f64, f64, f64) {
    let mut screen = Screen::new(40, 120, 10_000);
    let t = Instant::now();
    for piece in data.chunks(chunk) {
        let _ = screen.process(piece);
    }
    let screen_secs = t.elapsed().as_secs_f64();
    let mut screen0 = Screen::new(40, 120, 0);
    let t = Instant::now();
    for piece in data.chunks(chunk) {
        let _ = screen0.process(piece);
    }
    let screen0_secs = t.elapsed().as_secs_f64();
    let mut log = OutputLog::new();
    let t = Instant::now();
    for piece in data.chunks(chunk) {
        let _ = log.feed(piece);
    }
    let log_secs = t.elapsed().as_secs_f64();
    let mb = data.len() as f64 / 1e6;
    (mb / screen_secs, mb / screen0_secs, mb / log_secs)
}

// ------------------------------------------------------------ (b) round trip

fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    let ns: Vec<u64> = ms.iter().map(|m| (m * 1e6) as u64).collect();
    json!({
        "n": ms.len(),
        "median_ms": percentile_ms(&ns, 0.5),
        "p99_ms": percentile_ms(&ns, 0.99),
        "max_ms": ms.last().copied().unwrap_or(0.0),
    })
}

/// The shell is given this long at its prompt before each measured trip,
/// so a trip measures one command typed into an idle shell, as an agent
/// types them (not the shell's own prompt hooks of the trip before).
const PAUSE_BETWEEN_TRIPS: Duration = Duration::from_millis(20);

async fn termbridge_round_trips(conn: &mut Conn, n: usize, home: Option<&Path>) -> Value {
    let spec = match home {
        Some(h) => json!({"kind": "shell", "env": {"HOME": h}}),
        None => json!({"kind": "shell"}),
    };
    let id = open(conn, spec).await;
    let req = Req::post(
        &format!("/api/v1/sessions/{id}/commands"),
        TOKEN,
        &json!({"command": "echo x", "timeout_ms": 10_000}),
    );
    let mut ms = Vec::with_capacity(n);
    for i in 0..n + 5 {
        tokio::time::sleep(PAUSE_BETWEEN_TRIPS).await;
        let t = Instant::now();
        let r = conn.call(&req).await.json();
        let elapsed = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(r["output"], "x", "{r}");
        assert_eq!(r["exit_code"], 0, "{r}");
        if i >= 5 {
            ms.push(elapsed);
        }
    }
    close(conn, &id).await;
    summary(ms)
}

fn tmux_round_trips(tmux: &Tmux, n: usize) -> Value {
    let mut ms = Vec::with_capacity(n);
    let mut polls = 0usize;
    for i in 0..n + 3 {
        let want = format!("tb{i}");
        std::thread::sleep(PAUSE_BETWEEN_TRIPS);
        let t = Instant::now();
        tmux.send(&format!("echo {want}"));
        loop {
            polls += 1;
            if tmux.capture().lines().any(|l| l.trim_end() == want) {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "tmux never showed {want}"
            );
        }
        if i >= 3 {
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut s = summary(ms);
    s["capture_pane_calls_per_trip"] = json!(polls as f64 / (n + 3) as f64);
    s
}

// ------------------------------------------------------------ (c) memory

/// The screen model's heap for a full scrollback of `lines` x `cols`.
fn scrollback_heap(lines: usize, cols: usize) -> Value {
    let data = onlcr(&full_width_lines(lines + 40, cols));
    let (b0, a0) = live();
    let mut screen = Screen::new(40, cols as u16, lines);
    let (b1, a1) = live();
    let _ = screen.process(&data);
    let (b2, a2) = live();
    assert_eq!(screen.scrollback_len(), lines, "the scrollback is full");
    let full = {
        let history = screen.snapshot(lines).scrollback;
        history.iter().filter(|l| l.chars().count() == cols).count()
    };
    assert_eq!(full, lines, "every history line is {cols} columns wide");
    let mut log = OutputLog::new();
    let (b3, _) = live();
    let _ = log.feed(&data);
    let (b4, _) = live();
    drop(screen);
    drop(log);
    json!({
        "lines": lines,
        "cols": cols,
        "empty_screen_bytes": b1 - b0,
        "empty_screen_allocs": a1 - a0,
        "scrollback_bytes": b2 - b1,
        "scrollback_allocs": a2 - a1,
        // malloc adds about 16 bytes per allocation on glibc.
        "scrollback_bytes_with_malloc_overhead": (b2 - b1) + 16 * (a2 - a1),
        "output_log_bytes_same_text": b4 - b3,
    })
}

/// A termbridge server for the memory measurements with room for `n` sessions.
fn memory_server(n: usize) -> ServerProcess {
    ServerProcess::start(&format!(
        "rate_limit_per_second = 0\n[terminal]\nmax_sessions = {}\n",
        n + 8
    ))
    .0
}

async fn idle_sessions(rt_conns: usize, n: usize) -> Value {
    let server = memory_server(n);
    let addr = server.addr;
    let mut conn = Conn::open(addr).await.unwrap();
    // Warm up the lazy parts (one session opened and closed, a few calls).
    let id = open(
        &mut conn,
        json!({"kind": "command", "command": ["sleep", "infinity"], "wait_ready_ms": 0}),
    )
    .await;
    close(&mut conn, &id).await;
    conn.call(&Req::get("/api/v1/sessions", TOKEN)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss0 = common::rss_kib(server.pid);
    let fds0 = common::fd_count(server.pid);
    let started = Instant::now();
    let per = n.div_ceil(rt_conns);
    let mut tasks = Vec::new();
    for k in 0..rt_conns {
        let count = per.min(n.saturating_sub(k * per));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await.unwrap();
            for _ in 0..count {
                open(
                    &mut conn,
                    json!({"kind": "command", "command": ["sleep", "infinity"], "wait_ready_ms": 0}),
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("open task");
    }
    let open_secs = started.elapsed().as_secs_f64();
    // Let every session settle (readiness ticks stop).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss1 = common::rss_kib(server.pid);
    let fds1 = common::fd_count(server.pid);
    // A fresh connection: the first one idled past the keep-alive timeout.
    let mut conn = Conn::open(addr).await.unwrap();
    let list = conn.call(&Req::get("/api/v1/sessions", TOKEN)).await.json();
    // Each child by pid and start time, so only our own are ever signalled.
    let children: Vec<(i32, String)> = list["sessions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["pid"].as_i64().map(|p| p as i32))
                .filter_map(|p| start_time(p).map(|t| (p, t)))
                .collect()
        })
        .unwrap_or_default();
    let open_now = list["sessions"].as_array().map_or(0, |a| a.len());
    drop(conn);
    drop(server); // SIGTERM: the server closes every session
    // Belt and braces: no `sleep infinity` of ours outlives the bench.
    for (pid, started) in children {
        if start_time(pid).as_ref() == Some(&started) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    json!({
        "sessions": n,
        "open_seconds": open_secs,
        "sessions_listed": open_now,
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "per_session_kib": (rss1 as f64 - rss0 as f64) / n as f64,
        "fds_before": fds0,
        "fds_after": fds1,
        "fds_per_session": (fds1 as f64 - fds0 as f64) / n as f64,
    })
}

/// A process's start time (field 22 of /proc/PID/stat), to tell it from a
/// later process with the same pid.
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Server RSS growth while a 120-column session fills its scrollback.
async fn scrollback_rss(file: &Path) -> Value {
    let server = memory_server(4);
    let mut conn = Conn::open(server.addr).await.unwrap();
    let id = open(
        &mut conn,
        json!({"kind": "shell", "cols": 120, "rows": 40, "scrollback": 10_000}),
    )
    .await;
    run(&mut conn, &id, "true").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss0 = common::rss_kib(server.pid);
    let (r, _) = run(&mut conn, &id, &format!("cat {}", file.display())).await;
    assert_eq!(r["status"], "completed", "{r}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss1 = common::rss_kib(server.pid);
    let screen = conn
        .call(&Req::get(
            &format!("/api/v1/sessions/{id}/screen?scrollback=10000"),
            TOKEN,
        ))
        .await
        .json();
    let kept = screen["scrollback"].as_array().map_or(0, |a| a.len());
    close(&mut conn, &id).await;
    json!({
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "growth_kib": rss1 as i64 - rss0 as i64,
        "scrollback_lines_kept": kept,
    })
}

fn tmux_scrollback_rss(dir: &Path, file: &Path) -> Value {
    let tmux = Tmux::start(dir);
    let pid = tmux.server_pid();
    let rss0 = common::rss_kib(pid);
    tmux.run_and_wait(&format!("cat {}", file.display()));
    std::thread::sleep(Duration::from_millis(300));
    let rss1 = common::rss_kib(pid);
    json!({"rss_before_kib": rss0, "rss_after_kib": rss1, "growth_kib": rss1 as i64 - rss0 as i64})
}

// ------------------------------------------------------------ main

/// Sizes and counts for one run.
struct Plan {
    mb: usize,
    runs: usize,
    trips: usize,
    sessions: usize,
    tmux: bool,
    only: Option<String>,
}

impl Plan {
    fn wants(&self, section: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == section)
    }
}

fn main() {
    let Some(flags) = Flags::parse("terminal") else {
        return;
    };
    let by_mode = |quick: usize, full: usize| if flags.quick { quick } else { full };
    let number = |name: &str, default: usize| {
        flags
            .option(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let limit = common::raise_nofile_limit();
    let wanted = number("sessions", by_mode(100, 1000));
    let plan = Plan {
        mb: number("size-mb", by_mode(20, 200)),
        runs: if flags.quick { 1 } else { 3 },
        trips: number("iterations", by_mode(100, 1000)),
        // Each session holds a few descriptors; keep well inside the limit.
        sessions: wanted.min((limit as usize).saturating_sub(256) / 8).max(1),
        tmux: have("tmux"),
        only: flags.option("only").map(str::to_string),
    };
    let mut out = json!({
        "bench": "terminal",
        "mode": flags.mode(),
        "machine": machine(),
        "open_files_limit": limit,
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("realistic.txt");
    eprintln!("terminal: generating {} MB of output…", plan.mb);
    let size = generate(&file, plan.mb * 1_000_000);
    let lines_file = dir.path().join("full-width.txt");
    std::fs::write(&lines_file, full_width_lines(10_100, 120)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    if plan.wants("throughput") {
        out["throughput"] = throughput(&plan, &rt, dir.path(), &file, size);
    }
    if plan.wants("model") {
        out["model"] = model(&file, 4096);
    }
    if plan.wants("round-trip") {
        out["round_trip"] = round_trip(&plan, &rt, dir.path());
    }
    if plan.wants("memory") {
        eprintln!("terminal: {} idle sessions…", plan.sessions);
        let idle = rt.block_on(idle_sessions(8, plan.sessions));
        let heap = scrollback_heap(10_000, 120);
        let sb_rss = rt.block_on(scrollback_rss(&lines_file));
        let tmux_sb = if plan.tmux {
            tmux_scrollback_rss(dir.path(), &lines_file)
        } else {
            Value::Null
        };
        out["memory"] = json!({"idle_sessions": idle, "scrollback_heap": heap,
            "scrollback_server_rss": sb_rss, "tmux_scrollback_rss": tmux_sb});
    }
    if flags.json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
    } else {
        print_report(&out);
    }
}

/// (a): bare PTY, termbridge sessions (scrollback 10 000 and 0), tmux.
fn throughput(
    plan: &Plan,
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    file: &Path,
    size: usize,
) -> Value {
    let file_mb = size as f64 / 1e6;
    eprintln!("terminal: bare PTY…");
    let mut bare = Vec::new();
    let mut avg_read = 0;
    for _ in 0..plan.runs {
        let (secs, bytes, reads) = rt.block_on(bare_pty(file));
        bare.push(secs);
        avg_read = bytes / reads.max(1);
    }
    let bare_s = median(bare);
    eprintln!("terminal: termbridge session…");
    let (server, _) = ServerProcess::start("rate_limit_per_second = 0\n");
    let (tb_s, tb0_s, peak_kib) = rt.block_on(async {
        let mut conn = Conn::open(server.addr).await.unwrap();
        let mut tb = Vec::new();
        for _ in 0..plan.runs {
            tb.push(session_cat(&mut conn, file, 10_000).await);
        }
        let tb0 = session_cat(&mut conn, file, 0).await;
        (median(tb), tb0, common::peak_rss_kib(server.pid))
    });
    drop(server);
    let tmux_s = plan.tmux.then(|| {
        eprintln!("terminal: tmux…");
        let mut t = Vec::new();
        for _ in 0..plan.runs {
            let tm = Tmux::start(dir);
            t.push(tm.run_and_wait(&format!("cat {}", file.display())));
        }
        median(t)
    });
    json!({
        "file_mb": file_mb,
        "runs": plan.runs,
        "bare_pty_mb_s": file_mb / bare_s,
        "bare_pty_avg_read_bytes": avg_read,
        "termbridge_mb_s": file_mb / tb_s,
        "termbridge_scrollback0_mb_s": file_mb / tb0_s,
        "tmux_mb_s": tmux_s.map(|s| file_mb / s),
        "ratio_vs_bare": bare_s / tb_s,
        "ratio_vs_tmux": tmux_s.map(|s| s / tb_s),
        "server_peak_rss_kib": peak_kib,
    })
}

/// The screen model and the output log alone, in this process, fed in
/// `chunk`-byte pieces (a PTY read is about 4 KiB): the ceiling of a session.
fn model(file: &Path, chunk: usize) -> Value {
    eprintln!("terminal: screen model alone…");
    let data = std::fs::read(file).unwrap();
    let data = onlcr(&data[..data.len().min(50_000_000)]);
    let data = &data[..];
    let (screen, screen0, log) = model_alone(data, chunk);
    json!({
        "mb": data.len() as f64 / 1e6,
        "chunk_bytes": chunk,
        "screen_mb_s": screen,
        "screen_scrollback0_mb_s": screen0,
        "output_log_mb_s": log,
    })
}

/// (b): `session_run echo x` against tmux send-keys + capture-pane polling,
/// with this machine's shell start-up files and with none (an empty
/// `HOME`): prompt hooks in `~/.bashrc` (pyenv's runs `stat` at every
/// prompt here) cost both methods the same time.
fn round_trip(plan: &Plan, rt: &tokio::runtime::Runtime, dir: &Path) -> Value {
    let clean_home = dir.join("empty-home");
    std::fs::create_dir_all(&clean_home).unwrap();
    let mut out = json!({});
    for (label, home) in [
        ("user_rc", None),
        ("clean_home", Some(clean_home.as_path())),
    ] {
        eprintln!("terminal: session_run round trips ({label})…");
        let (server, _) = ServerProcess::start("rate_limit_per_second = 0\n");
        let termbridge = rt.block_on(async {
            let mut conn = Conn::open(server.addr).await.unwrap();
            termbridge_round_trips(&mut conn, plan.trips, home).await
        });
        drop(server);
        let tmux = if plan.tmux {
            eprintln!("terminal: tmux round trips ({label})…");
            let tm = Tmux::start_with_home(dir, home);
            tmux_round_trips(&tm, (plan.trips / 2).max(10))
        } else {
            Value::Null
        };
        let ratio = match (termbridge["median_ms"].as_f64(), tmux["median_ms"].as_f64()) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a),
            _ => None,
        };
        out[label] = json!({"termbridge": termbridge, "tmux": tmux, "tmux_over_termbridge": ratio});
    }
    out
}

fn print_report(out: &Value) {
    let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.1}"));
    let r = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
    let mib = |v: &Value| format!("{:.1}", v.as_f64().unwrap_or(0.0) / 1024.0);
    println!(
        "\ntermbridge terminal benchmark ({} mode) — {}",
        out["mode"].as_str().unwrap_or(""),
        out["machine"]
    );
    let t = &out["throughput"];
    if !t.is_null() {
        println!(
            "\n(a) throughput: cat of {} MB of realistic output, 120x40, median of {} run(s)",
            f(&t["file_mb"]),
            t["runs"]
        );
        let row = |name: &str, v: &Value| println!("  {name:<48} {:>8} MB/s", f(v));
        row(
            &format!(
                "bare PTY read (avg read {} B)",
                t["bare_pty_avg_read_bytes"]
            ),
            &t["bare_pty_mb_s"],
        );
        row(
            "termbridge session (scrollback 10000)",
            &t["termbridge_mb_s"],
        );
        row(
            "termbridge session (scrollback 0)",
            &t["termbridge_scrollback0_mb_s"],
        );
        row("tmux pane (history 10000)", &t["tmux_mb_s"]);
        println!(
            "  termbridge / bare PTY = {}, termbridge / tmux = {}; server peak RSS {} MiB",
            r(&t["ratio_vs_bare"]),
            r(&t["ratio_vs_tmux"]),
            mib(&t["server_peak_rss_kib"])
        );
    }
    let m = &out["model"];
    if !m.is_null() {
        println!(
            "\n    in-process, {} MB in {}-byte chunks: screen model {} MB/s (scrollback 0: {} MB/s), output log {} MB/s",
            f(&m["mb"]),
            m["chunk_bytes"],
            f(&m["screen_mb_s"]),
            f(&m["screen_scrollback0_mb_s"]),
            f(&m["output_log_mb_s"])
        );
    }
    let trips = &out["round_trip"];
    for (label, what) in [
        ("user_rc", "this machine's ~/.bashrc"),
        ("clean_home", "no start-up files (empty HOME)"),
    ] {
        let rt = &trips[label];
        if rt.is_null() {
            continue;
        }
        println!("\n(b) round trip of `echo` into an idle shell until its output is seen; {what}");
        println!(
            "  termbridge session_run: median {} ms, p99 {} ms (n={})",
            r(&rt["termbridge"]["median_ms"]),
            r(&rt["termbridge"]["p99_ms"]),
            rt["termbridge"]["n"]
        );
        println!(
            "  tmux send-keys + capture-pane polling: median {} ms, p99 {} ms (n={}, {} capture-pane calls per trip)",
            r(&rt["tmux"]["median_ms"]),
            r(&rt["tmux"]["p99_ms"]),
            rt["tmux"]["n"],
            r(&rt["tmux"]["capture_pane_calls_per_trip"])
        );
        println!(
            "  tmux median / termbridge median = {}",
            r(&rt["tmux_over_termbridge"])
        );
    }
    let m = &out["memory"];
    if !m.is_null() {
        let idle = &m["idle_sessions"];
        println!("\n(c) memory");
        println!(
            "  {} idle sessions (sleep infinity): server RSS {} -> {} MiB = {} KiB per session, {} fds per session (opened in {} s)",
            idle["sessions"],
            mib(&idle["rss_before_kib"]),
            mib(&idle["rss_after_kib"]),
            f(&idle["per_session_kib"]),
            f(&idle["fds_per_session"]),
            r(&idle["open_seconds"])
        );
        let h = &m["scrollback_heap"];
        println!(
            "  full scrollback {}x{}: screen model heap {} KiB ({} KiB with malloc overhead, {} allocations); the output log holds the same text in {} KiB",
            h["lines"],
            h["cols"],
            h["scrollback_bytes"].as_i64().unwrap_or(0) / 1024,
            h["scrollback_bytes_with_malloc_overhead"]
                .as_i64()
                .unwrap_or(0)
                / 1024,
            h["scrollback_allocs"],
            h["output_log_bytes_same_text"].as_i64().unwrap_or(0) / 1024
        );
        println!(
            "  server RSS growth while filling it (scrollback + output log): {} KiB ({} lines kept); tmux server RSS growth for the same: {} KiB",
            m["scrollback_server_rss"]["growth_kib"],
            m["scrollback_server_rss"]["scrollback_lines_kept"],
            m["tmux_scrollback_rss"]["growth_kib"]
        );
    }
}
