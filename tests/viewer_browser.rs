//! The web viewer end to end in a real browser: headless Chromium (the
//! Debian package, installed by scripts/setup-test-env.sh) opens `/ui/` of a
//! real server, logs in, watches a shell session over the stream WebSocket,
//! and tests/py/viewer_check.py asserts through the Chrome DevTools Protocol
//! that a command run through the REST API (session_run) shows up in the
//! terminal and in the command timeline, then takes control and types a
//! command. The screenshot is kept as an artifact:
//! `$CARGO_TARGET_DIR/test-artifacts/viewer.png` (default `target/…`).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{TestServer, py_script, python};
use serde_json::json;

/// Where test artifacts go: `<target dir>/test-artifacts`.
fn artifacts_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                manifest.join(dir)
            }
        })
        .unwrap_or_else(|| manifest.join("target"));
    target.join("test-artifacts")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG"
    );
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[actix_web::test]
async fn chromium_shows_a_command_run_through_the_api() {
    let server = TestServer::start();
    let (status, session) = server
        .post(
            "/api/v1/sessions",
            &json!({"name": "viewer-e2e", "cols": 100, "rows": 30}),
        )
        .await;
    assert_eq!(status, 200, "session_open: {session}");
    let id = session["id"].as_str().expect("session id").to_string();

    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    let screenshot = dir.join("viewer.png");
    let _ = std::fs::remove_file(&screenshot);

    // The script drives the browser and calls the API itself; this thread
    // only waits (the server runs on its own thread).
    let out = Command::new(python())
        .arg(py_script("viewer_check.py"))
        .args(["--url", &server.url])
        .args(["--token", &server.token])
        .args(["--session", &id])
        .arg("--screenshot")
        .arg(&screenshot)
        .arg("--take-control")
        .output()
        .expect("run viewer_check.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the viewer check failed:\n{stderr}\n(screenshot, if any: {})",
        screenshot.display()
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(summary["session"], id.as_str());
    assert_eq!(summary["exit_codes"], json!([0]));
    assert_eq!(summary["took_control"], true);

    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert_eq!(png_size(&png), (1280, 800));
    println!("viewer screenshot: {}", screenshot.display());
}
