//! The `termbridge` binary as a new user runs it: `serve` prints its URL and
//! token and answers; `token` prints and rotates the stored token.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Served {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `termbridge serve` with a fresh config dir and reads the lines it
/// prints for the user.
fn serve(config_dir: &std::path::Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .arg("serve")
        .args(["--bind", "127.0.0.1:0"])
        .args(extra)
        .env("TERMBRIDGE_CONFIG_DIR", config_dir)
        .env_remove("TERMBRIDGE_TOKEN")
        .env_remove("TERMBRIDGE_BIND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start termbridge serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = None;
    let mut token = None;
    while url.is_none() || token.is_none() {
        let line = lines.next().expect("serve printed its banner").unwrap();
        if let Some(rest) = line.strip_prefix("termbridge listening on ") {
            url = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Bearer token:") {
            token = Some(rest.trim().to_string());
        }
    }
    Served {
        child,
        url: url.unwrap(),
        token: token.unwrap(),
    }
}

fn curl_info(url: &str, token: &str) -> (u16, serde_json::Value) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--max-time", "10"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("{url}/api/v1/info"))
        .output()
        .expect("curl");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let parsed = serde_json::from_str(body).unwrap_or_else(|e| {
        panic!(
            "{e}: body {body:?} status {status}, stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (status.parse().unwrap(), parsed)
}

#[test]
fn serve_prints_url_and_token_and_answers_curl() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(dir.path(), &[]);
    assert!(served.url.starts_with("http://127.0.0.1:"));
    assert_eq!(served.token.len(), 64);
    let stored = std::fs::read_to_string(dir.path().join("token")).unwrap();
    assert_eq!(stored.trim(), served.token);
    let (status, body) = curl_info(&served.url, &served.token);
    assert_eq!(status, 200);
    assert_eq!(body["name"], "termbridge");
    let (status, _) = curl_info(&served.url, "wrong-token-0123456789abcdef");
    assert_eq!(status, 401);
}

#[test]
fn token_is_reused_across_starts_and_rotation_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path(), &[]).token.clone();
    let second = serve(dir.path(), &[]).token.clone();
    assert_eq!(first, second);
    let printed = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(["token", "--config-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(printed.stdout).unwrap().trim(), first);
    let rotated = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(["token", "--rotate", "--config-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let rotated = String::from_utf8(rotated.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(rotated, first);
    let served = serve(dir.path(), &[]);
    assert_eq!(served.token, rotated);
    assert_eq!(curl_info(&served.url, &first).0, 401);
    assert_eq!(curl_info(&served.url, &rotated).0, 200);
}

#[test]
fn non_loopback_bind_is_refused_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("TERMBRIDGE_CONFIG_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "{err}");
}

#[test]
fn config_file_and_env_feed_the_settings_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "token = \"file-token-0123456789abcdef\"\n",
    )
    .unwrap();
    let served = serve(dir.path(), &[]);
    assert_eq!(served.token, "file-token-0123456789abcdef");
    assert_eq!(curl_info(&served.url, &served.token).0, 200);
}
