//! Graceful shutdown of the real binary: SIGTERM (and SIGINT) stop the
//! server, every session is closed and no process of any session survives.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn start(config_dir: &std::path::Path) -> (std::process::Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TERMBRIDGE_CONFIG_DIR", config_dir)
        .env_remove("TERMBRIDGE_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (String::new(), String::new());
    while url.is_empty() || token.is_empty() {
        let line = lines.next().unwrap().unwrap();
        if let Some(rest) = line.strip_prefix("termbridge listening on ") {
            url = rest.trim().to_string();
        }
        if let Some(rest) = line.strip_prefix("Bearer token:") {
            token = rest.trim().to_string();
        }
    }
    (child, url, token)
}

async fn post(url: &str, token: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn shutdown_closes_every_session(signal: nix::sys::signal::Signal) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url, token) = start(dir.path());
    let mut leaders = Vec::new();
    for _ in 0..3 {
        let session = post(&url, &token, "/api/v1/sessions", json!({})).await;
        let id = session["id"].as_str().unwrap().to_string();
        leaders.push(session["pid"].as_i64().unwrap() as i32);
        let ran = post(
            &url,
            &token,
            &format!("/api/v1/sessions/{id}/commands"),
            // The background job ignores SIGHUP: only an explicit close
            // (SIGKILL after the grace period) ends it.
            json!({"command": "(trap '' HUP; exec sleep 300) & sleep 300", "timeout_ms": 100}),
        )
        .await;
        let log = reqwest::Client::new()
            .get(format!("{url}/api/v1/sessions/{id}/output?since=0"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(ran["status"], "running", "{session}\n{ran}\n{log}");
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    for leader in leaders {
        let left = termbridge_actors::terminal::waiting::session_members(leader);
        assert!(left.is_empty(), "session {leader} left {left:?}");
    }
}

#[tokio::test]
async fn sigterm_closes_every_session() {
    shutdown_closes_every_session(nix::sys::signal::Signal::SIGTERM).await;
}

#[tokio::test]
async fn sigint_closes_every_session() {
    shutdown_closes_every_session(nix::sys::signal::Signal::SIGINT).await;
}
