//! 50 sessions at once: each runs a command and gets its own exact result;
//! closing them all leaves no child process, no process of their terminal
//! sessions and no file descriptor behind (checked in `/proc`).
//!
//! This file is its own test binary with a single test, so the file
//! descriptors and children of this process are the server's alone (no other
//! test runs beside it).
//!
//! File descriptors are compared by kind (`socket`, `pipe`, `/dev/ptmx`,
//! `anon_inode:[pidfd]`…) and count, each time once the HTTP connections
//! between this test and the server have closed: a finished exchange closes
//! its sockets asynchronously, and fd numbers and inodes get reused.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::TestServer;
use futures::future::join_all;
use serde_json::{Value, json};

const SESSIONS: usize = 50;
/// Bound for the process table and fd table to settle after the closes
/// answered (sockets of finished HTTP exchanges close asynchronously).
const SETTLE: Duration = Duration::from_secs(30);

/// Our open file descriptors, fd number -> what it points to (without the
/// one this listing itself uses).
fn open_fds() -> BTreeMap<u32, String> {
    let listing = std::fs::read_dir("/proc/self/fd").unwrap();
    let me = format!("/proc/{}/fd", std::process::id());
    listing
        .filter_map(|e| {
            let e = e.ok()?;
            let fd = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?.display().to_string();
            (target != me).then_some((fd, target))
        })
        .collect()
}

/// Open fds by kind: the target with its inode number dropped
/// (`socket:[123]` -> `socket`, `anon_inode:[eventfd]` stays), so a socket
/// closed and another opened count as the same kind.
fn fd_kinds(fds: &BTreeMap<u32, String>) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for target in fds.values() {
        let kind = match target.split_once(":[") {
            Some((kind, rest))
                if rest
                    .trim_end_matches(']')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
            {
                kind.to_string()
            }
            _ => target.clone(),
        };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    kinds
}

/// Inodes of the TCP connections (not listeners) to or from `port`: the
/// HTTP exchanges between this test and its server, which close
/// asynchronously after each answer.
fn http_connection_inodes(port: u16) -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port_of = |addr: &str| {
                addr.rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            };
            let ours = port_of(fields[1]) == Some(port) || port_of(fields[2]) == Some(port);
            if ours && fields[3] != "0A" && fields[9] != "0" {
                inodes.push(format!("socket:[{}]", fields[9]));
            }
        }
    }
    inodes
}

/// Our open fds once no HTTP exchange with the server is open any more
/// (polled with a deadline: connections close shortly after their answer).
async fn quiet_fds(port: u16) -> BTreeMap<u32, String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let fds = open_fds();
        let http = http_connection_inodes(port);
        let open: Vec<_> = fds.values().filter(|t| http.contains(t)).collect();
        if open.is_empty() {
            return fds;
        }
        assert!(
            Instant::now() < deadline,
            "HTTP connections to the server never closed: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(pid, state, ppid, session)` of every process, from `/proc/*/stat`.
fn processes() -> Vec<(i32, char, i32, i32)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parens: count from the last `)`.
            let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            let _pgrp = fields.next()?;
            let session = fields.next()?.parse().ok()?;
            Some((pid, state, ppid, session))
        })
        .collect()
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_default()
}

/// What the sessions could have left behind: our children (zombies
/// included: an unreaped child is a leak too), and live processes whose
/// session id is one of the sessions' leaders.
fn leftovers(leaders: &[i32]) -> Vec<String> {
    let me = std::process::id() as i32;
    processes()
        .into_iter()
        .filter(|&(_, state, ppid, sid)| ppid == me || (leaders.contains(&sid) && state != 'Z'))
        .map(|(pid, state, ppid, sid)| {
            format!(
                "pid {pid} ({}) state {state} ppid {ppid} sid {sid}",
                comm(pid)
            )
        })
        .collect()
}

#[tokio::test]
async fn fifty_sessions_run_concurrently_and_closing_them_leaves_nothing_behind() {
    let server = TestServer::start();
    // Warm-up: one request served, so the fds the server keeps for its
    // lifetime (listener, runtimes, worker threads' pollers) exist; the
    // baseline is taken once that request's connection has closed.
    let (status, listed) = server.get("/api/v1/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(listed["sessions"], json!([]));
    assert!(
        leftovers(&[]).is_empty(),
        "children before any session: {:?}",
        leftovers(&[])
    );
    let fds_before = quiet_fds(server.port).await;
    let kinds_before = fd_kinds(&fds_before);

    // Open 50 shells at once.
    let opened: Vec<Value> = join_all((0..SESSIONS).map(|n| {
        let server = &server;
        async move {
            server
                .open_session(json!({"name": format!("many-{n}"), "wait_ready_ms": 60_000}))
                .await
        }
    }))
    .await;
    let ids: Vec<String> = opened
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let leaders: Vec<i32> = opened
        .iter()
        .map(|s| s["pid"].as_i64().unwrap() as i32)
        .collect();
    for (n, session) in opened.iter().enumerate() {
        assert_eq!(session["name"], format!("many-{n}"));
        assert_eq!(session["status"], "running", "{session}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), SESSIONS, "session ids are unique");

    // Each runs its own command at once and gets exactly its own answer.
    let results: Vec<Value> = join_all(ids.iter().enumerate().map(|(n, id)| {
        let server = &server;
        async move {
            let command = format!("echo $(({k} * {k})); (exit {})", n % 4, k = n + 1);
            let (status, result) = server
                .run_with(id, &command, json!({"timeout_ms": 120_000}))
                .await;
            assert_eq!(status, 200, "{result}");
            result
        }
    }))
    .await;
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result["status"], "completed", "session {n}: {result}");
        assert_eq!(result["exit_code"], n % 4, "session {n}: {result}");
        assert_eq!(
            result["output"],
            ((n + 1) * (n + 1)).to_string(),
            "session {n}"
        );
        assert_eq!(result["completion"], "shell_integration", "session {n}");
    }

    let listed = server.get("/api/v1/sessions").await.1;
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), SESSIONS);
    for session in sessions {
        assert!(
            ids.iter().any(|id| session["id"] == id.as_str()),
            "{session}"
        );
        assert_eq!(session["status"], "running", "{session}");
        assert_eq!(session["running_command"], Value::Null, "{session}");
    }
    // While open: one shell per session, each leading its own session.
    for &leader in &leaders {
        let members: Vec<_> = processes()
            .into_iter()
            .filter(|&(_, state, _, sid)| sid == leader && state != 'Z')
            .collect();
        assert!(
            members.iter().any(|&(pid, ..)| pid == leader),
            "session leader {leader} not running: {members:?}"
        );
    }

    // Close them all at once.
    let closed = join_all(ids.iter().map(|id| server.close(id))).await;
    for (n, (status, body)) in closed.iter().enumerate() {
        assert_eq!(*status, 200, "close session {n}: {body}");
        assert_eq!(body["status"], "exited", "close session {n}: {body}");
    }
    let listed = server.get("/api/v1/sessions").await.1;
    assert_eq!(listed["sessions"], json!([]));

    // Nothing left: no children, nothing in the sessions' process sessions,
    // and the fd table as it was after the warm-up. Both settle shortly
    // after the closes answered; poll with a deadline.
    let deadline = Instant::now() + SETTLE;
    loop {
        let procs = leftovers(&leaders);
        let fds = quiet_fds(server.port).await;
        let kinds = fd_kinds(&fds);
        let grown: Vec<_> = kinds
            .iter()
            .filter(|(kind, n)| **n > kinds_before.get(*kind).copied().unwrap_or(0))
            .collect();
        if procs.is_empty() && grown.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind after closing {SESSIONS} sessions:\nprocesses: {procs:#?}\n\
             more fds of these kinds than after the warm-up: {grown:?}\n\
             after warm-up: {fds_before:#?}\nnow: {fds:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
