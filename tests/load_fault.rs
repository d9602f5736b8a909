//! Load and faults: 64 concurrent clients mix tool calls for 20 s (commands
//! in a pool of about 8 shells, screens, output pages, lists, server info,
//! interface addresses, MCP calls) while, from outside, a shell is killed
//! with `kill -9` every ~500 ms. Afterwards the server still answers,
//! `session_list` is consistent, every session closes, and no process of
//! any session nor any file descriptor is left behind.
//!
//! Documented errors are expected under load and faults (409 busy or
//! exited, 404 after a close, `session_exited` results, 503 "restarting");
//! anything else, and any other 5xx, fails the test. Totals per operation
//! and status are printed at the end.
//!
//! This file is its own test binary with a single test, so the children and
//! file descriptors of this process are the server's (and this test's).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{Value, json};

const CLIENTS: usize = 64;
const DURATION: Duration = Duration::from_secs(20);
const POOL: usize = 8;
const KILL_EVERY: Duration = Duration::from_millis(500);
/// Bound for sessions, processes and descriptors to settle afterwards.
const SETTLE: Duration = Duration::from_secs(60);

/// What the tasks share.
#[derive(Default)]
struct Shared {
    /// Sessions the clients pick from (running or exited).
    pool: Mutex<Vec<String>>,
    /// Every session leader pid ever seen.
    leaders: Mutex<BTreeSet<i32>>,
    /// (operation, HTTP status or outcome) -> count.
    tally: Mutex<BTreeMap<String, usize>>,
    /// Answers that are not documented for this situation.
    failures: Mutex<Vec<String>>,
    /// Command ids of commands that answered `running`, to poll.
    commands: Mutex<Vec<(String, String)>>,
}

impl Shared {
    fn count(&self, what: String) {
        *self.tally.lock().unwrap().entry(what).or_insert(0) += 1;
    }

    fn fail(&self, what: String) {
        self.failures.lock().unwrap().push(what);
    }

    fn note_sessions(&self, listed: &Value) {
        let mut leaders = self.leaders.lock().unwrap();
        for session in listed["sessions"].as_array().into_iter().flatten() {
            if let Some(pid) = session["pid"].as_i64() {
                leaders.insert(pid as i32);
            }
        }
    }

    fn pick(&self, n: u64) -> Option<String> {
        let pool = self.pool.lock().unwrap();
        (!pool.is_empty()).then(|| pool[(n % pool.len() as u64) as usize].clone())
    }
}

/// A small deterministic generator per client.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Http {
    client: reqwest::Client,
    base: String,
    bearer: String,
}

impl Http {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("Authorization", &self.bearer)
            .header("Accept", "application/json, text/event-stream");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// Checks a REST answer: 200, or one of `allowed` error codes with the
/// documented shape; 503 only for "restarting".
fn judge(shared: &Shared, op: &str, status: u16, body: &Value, allowed: &[&str]) -> bool {
    shared.count(format!("http {op} {status}"));
    if status == 200 {
        return true;
    }
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    let documented = match status {
        404 => code == "not_found",
        409 => code == "conflict",
        503 => code == "unavailable" && message.contains("restart"),
        _ => false,
    };
    if !(documented && allowed.contains(&code)) {
        shared.fail(format!("{op}: {status} {body}"));
    }
    false
}

/// A command with its expected exit code and output.
fn command(rng: &mut Rng, client: usize, i: usize) -> (String, i64, String) {
    match rng.next() % 6 {
        0 | 1 => (
            format!("echo load-{client}-{i}"),
            0,
            format!("load-{client}-{i}"),
        ),
        2 => {
            let code = (i % 5) as i64;
            (format!("(exit {code})"), code, String::new())
        }
        3 => {
            let n = 1 + rng.next() % 300;
            (
                format!("printf 'x%.0s' $(seq 1 {n}); echo"),
                0,
                "x".repeat(n as usize),
            )
        }
        4 => ("sleep 0.2; echo slept".into(), 0, "slept".into()),
        // A process left running in the background of the session: closing
        // (or the death of the shell) must take it along.
        _ => ("(sleep 300 &); echo bg".into(), 0, "bg".into()),
    }
}

/// Checks a `session_run` result.
fn judge_run(shared: &Shared, via: &str, result: &Value, expected: &(String, i64, String)) {
    let status = result["status"].as_str().unwrap_or_default();
    shared.count(format!("outcome {via} {status}"));
    match status {
        "completed" => {
            if result["completion"] == "shell_integration"
                && (result["exit_code"] != expected.1 || result["output"] != expected.2.as_str())
            {
                shared.fail(format!("{via} {:?}: wrong result {result}", expected.0));
            }
        }
        "running" | "awaiting_input" | "session_exited" | "timed_out" => {}
        _ => shared.fail(format!("{via}: unknown status {result}")),
    }
}

async fn client(n: usize, http: Arc<Http>, shared: Arc<Shared>, deadline: Instant) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((n as u64 + 1) * 0x1000_0001));
    let mut i = 0;
    while Instant::now() < deadline {
        i += 1;
        let pick = rng.next();
        let Some(id) = shared.pick(pick) else {
            // No session yet: look at the server meanwhile.
            let (status, body) = http.get("/api/v1/info").await;
            judge(&shared, "server_info", status, &body, &[]);
            continue;
        };
        match rng.next() % 100 {
            0..=29 => {
                let expected = command(&mut rng, n, i);
                // Half of them queue behind a running command instead of
                // getting 409.
                let queue = rng.next().is_multiple_of(2);
                let (status, body) = http
                    .post(
                        &format!("/api/v1/sessions/{id}/commands"),
                        &json!({"command": expected.0, "timeout_ms": 15_000, "queue": queue}),
                    )
                    .await;
                if judge(
                    &shared,
                    "session_run",
                    status,
                    &body,
                    &["conflict", "not_found", "unavailable"],
                ) {
                    judge_run(&shared, "session_run", &body, &expected);
                    let command_id = body["command_id"].as_str().unwrap_or_default();
                    let mut commands = shared.commands.lock().unwrap();
                    if commands.len() >= 256 {
                        commands.remove(0);
                    }
                    commands.push((id.clone(), command_id.to_string()));
                }
            }
            30..=41 => {
                let (status, body) = http
                    .get(&format!("/api/v1/sessions/{id}/screen?scrollback=20"))
                    .await;
                if judge(
                    &shared,
                    "session_screen",
                    status,
                    &body,
                    &["not_found", "unavailable"],
                ) && body["lines"].as_array().is_none()
                {
                    shared.fail(format!("session_screen without lines: {body}"));
                }
            }
            42..=53 => {
                let since = rng.next() % 4096;
                let (status, body) = http
                    .get(&format!(
                        "/api/v1/sessions/{id}/output?since={since}&max_bytes=4096"
                    ))
                    .await;
                if judge(
                    &shared,
                    "session_output",
                    status,
                    &body,
                    &["not_found", "unavailable"],
                ) && body["text"].as_str().is_none_or(|t| t.len() > 4096)
                {
                    shared.fail(format!("session_output unbounded: {body}"));
                }
            }
            54..=61 => {
                let (status, body) = http.get("/api/v1/sessions").await;
                if judge(&shared, "session_list", status, &body, &[]) {
                    shared.note_sessions(&body);
                }
            }
            62..=69 => {
                let (status, body) = http.get("/api/v1/info").await;
                judge(&shared, "server_info", status, &body, &[]);
            }
            70..=74 => {
                let (status, body) = http.get("/api/v1/net/addresses").await;
                judge(&shared, "ip_addresses", status, &body, &[]);
            }
            75..=89 => {
                let (tool, arguments, expected) = match rng.next() % 5 {
                    0 => ("server_info", json!({}), None),
                    1 => ("session_list", json!({}), None),
                    2 => ("session_screen", json!({"session_id": id}), None),
                    3 => (
                        "session_output",
                        json!({"session_id": id, "max_bytes": 2048}),
                        None,
                    ),
                    _ => {
                        let expected = command(&mut rng, n, i);
                        (
                            "session_run",
                            json!({"session_id": id, "command": expected.0, "timeout_ms": 15_000}),
                            Some(expected),
                        )
                    }
                };
                let (status, body) = http
                    .post(
                        "/mcp",
                        &json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                                "params": {"name": tool, "arguments": arguments}}),
                    )
                    .await;
                let op = format!("mcp {tool}");
                if status != 200 || body["id"] != i || body.get("error").is_some() {
                    shared.count(format!("http {op} {status}"));
                    shared.fail(format!("{op}: {status} {body}"));
                    continue;
                }
                let result = &body["result"];
                if result["isError"] == false {
                    shared.count(format!("{op} ok"));
                    shared.count(format!("http {op} 200"));
                    if let Some(expected) = &expected {
                        judge_run(&shared, &op, &result["structuredContent"], expected);
                    }
                } else {
                    let text = result["content"][0]["text"].as_str().unwrap_or_default();
                    let documented = text.starts_with("not_found (404): ")
                        || text.starts_with("conflict (409): ")
                        || (text.starts_with("unavailable (503): ") && text.contains("restart"));
                    let code = text.split(' ').next().unwrap_or_default();
                    shared.count(format!("{op} {code}"));
                    shared.count(format!("http {op} 200"));
                    if !documented || tool == "server_info" || tool == "session_list" {
                        shared.fail(format!("{op}: {text}"));
                    }
                }
            }
            _ => {
                let known = {
                    let commands = shared.commands.lock().unwrap();
                    (!commands.is_empty())
                        .then(|| commands[(pick % commands.len() as u64) as usize].clone())
                };
                let (sid, command_id) = known.unwrap_or((id, "c_0123456789abcdef".to_string()));
                let (status, body) = http
                    .get(&format!(
                        "/api/v1/sessions/{sid}/commands/{command_id}?wait_ms=100"
                    ))
                    .await;
                if judge(
                    &shared,
                    "session_command",
                    status,
                    &body,
                    &["not_found", "unavailable"],
                ) {
                    let state = body["status"].as_str().unwrap_or_default();
                    shared.count(format!("outcome session_command {state}"));
                }
            }
        }
    }
}

/// Keeps about `POOL` running shells: closes exited sessions (keeping a
/// couple around to be called while exited) and opens new ones.
async fn janitor(http: Arc<Http>, shared: Arc<Shared>, deadline: Instant) {
    let mut opened = 0;
    while Instant::now() < deadline {
        let (status, listed) = http.get("/api/v1/sessions").await;
        if !judge(&shared, "janitor session_list", status, &listed, &[]) {
            continue;
        }
        shared.note_sessions(&listed);
        let sessions = listed["sessions"].as_array().cloned().unwrap_or_default();
        let exited: Vec<&Value> = sessions
            .iter()
            .filter(|s| s["status"] == "exited")
            .collect();
        let running = sessions.iter().filter(|s| s["status"] == "running").count();
        for session in exited.iter().skip(2) {
            let id = session["id"].as_str().unwrap();
            let (status, body) = http
                .call(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/sessions/{id}"),
                    None,
                )
                .await;
            judge(&shared, "session_close", status, &body, &["not_found"]);
            shared.pool.lock().unwrap().retain(|p| p != id);
        }
        if running < POOL {
            opened += 1;
            let (status, session) = http
                .post(
                    "/api/v1/sessions",
                    &json!({"name": format!("load-{opened}"), "wait_ready_ms": 30_000}),
                )
                .await;
            if judge(&shared, "session_open", status, &session, &[]) {
                if let Some(pid) = session["pid"].as_i64() {
                    shared.leaders.lock().unwrap().insert(pid as i32);
                }
                let id = session["id"].as_str().unwrap().to_string();
                shared.pool.lock().unwrap().push(id);
            }
        } else {
            // The pool is full: wait for the next kill to change that.
            tokio::time::sleep(KILL_EVERY / 5).await;
        }
    }
}

/// `kill -9` of the shell `pid`, from outside (the kill(1) program).
fn kill_9(pid: i64) -> bool {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Every ~500 ms, kills the shell of one running session.
async fn killer(http: Arc<Http>, shared: Arc<Shared>, deadline: Instant) -> usize {
    let mut every = tokio::time::interval(KILL_EVERY);
    let mut kills = 0;
    let mut turn = 0;
    while Instant::now() < deadline {
        every.tick().await;
        let (status, listed) = http.get("/api/v1/sessions").await;
        if !judge(&shared, "killer session_list", status, &listed, &[]) {
            continue;
        }
        shared.note_sessions(&listed);
        let pids: Vec<i64> = listed["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["status"] == "running")
            .filter_map(|s| s["pid"].as_i64())
            .collect();
        if pids.is_empty() {
            continue;
        }
        turn += 1;
        if kill_9(pids[turn % pids.len()]) {
            kills += 1;
        }
    }
    kills
}

// ---- what is left behind: processes and file descriptors ----

/// `(pid, state, ppid, session)` of every process, from `/proc/*/stat`.
fn processes() -> Vec<(i32, char, i32, i32)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            let _pgrp = fields.next()?;
            let session = fields.next()?.parse().ok()?;
            Some((pid, state, ppid, session))
        })
        .collect()
}

/// Our children (zombies too) and live members of the sessions' process
/// sessions (see `termbridge_actors::terminal::waiting::session_members`).
fn leftovers(leaders: &BTreeSet<i32>) -> Vec<String> {
    let me = std::process::id() as i32;
    let mut left: Vec<String> = processes()
        .into_iter()
        .filter(|&(_, state, ppid, _)| ppid == me && state == 'Z')
        .map(|(pid, ..)| format!("unreaped child {pid}"))
        .collect();
    for &leader in leaders {
        for pid in termbridge_actors::terminal::waiting::session_members(leader) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            left.push(format!("pid {pid} ({}) in session {leader}", comm.trim()));
        }
    }
    left
}

/// Open fds by kind (`socket:[123]` -> `socket`).
fn fd_kinds() -> BTreeMap<String, usize> {
    let me = format!("/proc/{}/fd", std::process::id());
    let mut kinds = BTreeMap::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.display().to_string();
        if target == me {
            continue;
        }
        let kind = match target.split_once(":[") {
            Some((kind, rest))
                if rest
                    .trim_end_matches(']')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
            {
                kind.to_string()
            }
            _ => target,
        };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    kinds
}

/// Polls until the fd table has no more of any kind than `before`.
async fn fds_settle(before: &BTreeMap<String, usize>) -> Result<(), String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let now = fd_kinds();
        let grown: Vec<_> = now
            .iter()
            .filter(|(kind, n)| **n > before.get(*kind).copied().unwrap_or(0))
            .collect();
        if grown.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "grown: {grown:?}\nbefore: {before:?}\nnow: {now:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn list(http: &Http) -> Vec<Value> {
    let (status, listed) = http.get("/api/v1/sessions").await;
    assert_eq!(status, 200, "{listed}");
    listed["sessions"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_with_shells_killed_from_outside() {
    let server = TestServer::start();
    // Warm-up: every subsystem up and one request served, so the fds the
    // server keeps for its lifetime exist before the baseline.
    let deadline = Instant::now() + SETTLE;
    loop {
        let (status, info) = server.get("/api/v1/info").await;
        assert_eq!(status, 200, "{info}");
        let all_running = info["subsystems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "running");
        if all_running {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "subsystems never all ran: {info}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fds_before = fd_kinds();
    assert!(leftovers(&BTreeSet::new()).is_empty());

    let http = Arc::new(Http {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(CLIENTS + 4)
            .build()
            .unwrap(),
        base: server.url.clone(),
        bearer: server.bearer(),
    });
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let deadline = started + DURATION;
    let janitor = tokio::spawn(janitor(http.clone(), shared.clone(), deadline));
    let killer = tokio::spawn(killer(http.clone(), shared.clone(), deadline));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(n, http.clone(), shared.clone(), deadline)))
        .collect();
    for task in clients {
        task.await.expect("a client panicked");
    }
    janitor.await.expect("the janitor panicked");
    let kills = killer.await.expect("the killer panicked");
    let elapsed = started.elapsed();

    // The server still answers, REST and MCP.
    let (status, info) = http.get("/api/v1/info").await;
    assert_eq!(status, 200, "{info}");
    for subsystem in info["subsystems"].as_array().unwrap() {
        assert_eq!(subsystem["state"], "running", "{subsystem}");
    }
    let (status, pong) = http
        .post(
            "/mcp",
            &json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}),
        )
        .await;
    assert_eq!((status, &pong["result"]), (200, &json!({})), "{pong}");

    // Two more kills, so exited sessions are there to check.
    let sessions = list(&http).await;
    shared.note_sessions(&json!({ "sessions": sessions }));
    let mut victims = Vec::new();
    for session in sessions.iter().filter(|s| s["status"] == "running").take(2) {
        assert!(kill_9(session["pid"].as_i64().unwrap()), "{session}");
        victims.push(session["id"].as_str().unwrap().to_string());
    }
    let settle = Instant::now() + SETTLE;
    let sessions = loop {
        let sessions = list(&http).await;
        let settled = sessions.iter().all(|s| {
            s["status"] == "exited"
                || (s["status"] == "running"
                    && !victims.contains(&s["id"].as_str().unwrap().to_string()))
        });
        if settled {
            break sessions;
        }
        assert!(
            Instant::now() < settle,
            "sessions never settled: {sessions:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Consistent: running ones have a live shell, exited ones the exit code
    // of a SIGKILL (the only way they ended here).
    assert!(!sessions.is_empty());
    for session in &sessions {
        match session["status"].as_str().unwrap() {
            "running" => {
                let pid = session["pid"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{session}"));
                let alive = processes()
                    .iter()
                    .any(|&(p, state, ..)| i64::from(p) == pid && state != 'Z');
                assert!(alive, "running session without a live shell: {session}");
                assert_eq!(session["exit_code"], Value::Null, "{session}");
            }
            "exited" => {
                assert_eq!(session["exit_code"], 128 + 9, "{session}");
                assert_eq!(session["pid"], Value::Null, "{session}");
            }
            other => panic!("status {other}: {session}"),
        }
    }
    for victim in &victims {
        assert!(
            sessions
                .iter()
                .any(|s| s["id"] == victim.as_str() && s["status"] == "exited"),
            "{victim} was killed but is not listed as exited"
        );
    }
    // Every session closes.
    for session in &sessions {
        let id = session["id"].as_str().unwrap();
        let (status, body) = http
            .call(
                reqwest::Method::DELETE,
                &format!("/api/v1/sessions/{id}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "close {id}: {body}");
        assert_eq!(body["status"], "exited", "close {id}: {body}");
    }
    assert_eq!(list(&http).await, Vec::<Value>::new());

    // Totals.
    let tally = shared.tally.lock().unwrap().clone();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for (what, n) in tally.iter().filter(|(what, _)| what.starts_with("http ")) {
        let status = what.rsplit(' ').next().unwrap().to_string();
        *by_status.entry(status).or_insert(0) += n;
    }
    let total: usize = by_status.values().sum();
    println!(
        "{CLIENTS} clients, {:.1} s, {total} calls, {kills} shells killed, {} sessions seen",
        elapsed.as_secs_f64(),
        shared.leaders.lock().unwrap().len()
    );
    println!("per operation and status:");
    for (what, n) in &tally {
        println!("  {what:<40} {n}");
    }
    println!("HTTP statuses of all {total} calls: {by_status:?}");
    let failures = shared.failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} undocumented answers, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(kills >= 10, "only {kills} kills in {elapsed:?}");
    assert!(
        tally
            .iter()
            .any(|(what, n)| what == "outcome session_run completed" && *n > 0),
        "no command completed: {tally:?}"
    );
    assert!(
        by_status.keys().all(|s| !s.starts_with('5') || s == "503"),
        "{by_status:?}"
    );

    // Nothing left behind: no process in any session's process session, no
    // unreaped child, and no more fds of any kind than before the load.
    drop(http);
    let leaders = shared.leaders.lock().unwrap().clone();
    let settle = Instant::now() + SETTLE;
    loop {
        let left = leftovers(&leaders);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < settle, "processes left behind: {left:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Err(e) = fds_settle(&fds_before).await {
        panic!("file descriptors left behind:\n{e}");
    }
}
