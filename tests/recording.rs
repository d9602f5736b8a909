//! Session recordings: asciinema v2 `.cast` files in the data dir,
//! listed in session_list, downloaded at GET /api/v1/sessions/{id}/recording,
//! bounded in size; a recording replayed through the screen model gives the
//! screen session_screen shows.

mod common;

use std::path::Path;

use common::{TestServer, client};
use serde_json::{Value, json};
use termbridge_actors::terminal::recording::{Cast, LIMIT_MARKER, parse_cast};

fn recording_server(dir: &Path, adjust: impl FnOnce(&mut termbridge::Config)) -> TestServer {
    let dir = dir.to_path_buf();
    TestServer::start_with(move |config| {
        config.terminal.recordings_dir = dir;
        adjust(config);
    })
}

async fn open(server: &TestServer, body: Value) -> Value {
    let (status, info) = server.post("/api/v1/sessions", &body).await;
    assert_eq!(status, 200, "{info}");
    info
}

async fn run(server: &TestServer, sid: &str, command: &str) -> Value {
    let (status, result) = server
        .post(
            &format!("/api/v1/sessions/{sid}/commands"),
            &json!({"command": command}),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["status"], "completed", "{result}");
    result
}

/// Status, content type and body of the recording download.
async fn download(server: &TestServer, sid: &str) -> (u16, String, String) {
    let response = client()
        .get(server.at(&format!("/api/v1/sessions/{sid}/recording")))
        .header("Authorization", server.bearer())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

fn listed(list: &Value, sid: &str) -> Value {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sid)
        .cloned()
        .unwrap_or_else(|| panic!("{sid} not listed: {list}"))
}

#[tokio::test]
async fn a_recorded_session_replays_to_the_screen_session_screen_shows() {
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(dir.path(), |_| {});
    let info = open(&server, json!({"record": true, "cols": 80, "rows": 24})).await;
    let sid = info["id"].as_str().unwrap().to_string();
    let file = info["recording"]["file"].as_str().unwrap().to_string();
    assert_eq!(Path::new(&file), dir.path().join(format!("{sid}.cast")));

    run(
        &server,
        &sid,
        "printf '\\033[1;31mred\\033[0m plain \\xc3\\xa9t\\xc3\\xa9\\n'; seq 1 40",
    )
    .await;
    let (status, resized) = server
        .post(
            &format!("/api/v1/sessions/{sid}/resize"),
            &json!({"cols": 100, "rows": 30}),
        )
        .await;
    assert_eq!(status, 200, "{resized}");
    run(
        &server,
        &sid,
        "printf 'title\\033]0;recorded\\007'; echo after-resize",
    )
    .await;

    let (_, list) = server.get("/api/v1/sessions").await;
    let entry = listed(&list, &sid);
    assert_eq!(entry["recording"]["file"], file.as_str());
    assert!(
        entry["recording"]["bytes"].as_u64().unwrap() > 100,
        "{entry}"
    );
    assert_eq!(entry["recording"]["limit_reached"], false);

    // The screen and the recording must describe the same moment: take the
    // screen on both sides of the download and retry if it moved between.
    let mut compared = false;
    for _ in 0..20 {
        let (_, before) = server.get(&format!("/api/v1/sessions/{sid}/screen")).await;
        let (status, content_type, body) = download(&server, &sid).await;
        let (_, after) = server.get(&format!("/api/v1/sessions/{sid}/screen")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(content_type, "application/x-asciicast");
        if before["revision"] != after["revision"] {
            continue;
        }
        let cast = parse_cast(&body).unwrap();
        check_structure(&cast);
        let replayed = cast.replay(0).snapshot(0);
        assert_eq!(replayed.lines, string_vec(&before["lines"]), "screen lines");
        assert_eq!(
            replayed.cursor.row,
            before["cursor"]["row"].as_u64().unwrap() as u16
        );
        assert_eq!(
            replayed.cursor.col,
            before["cursor"]["col"].as_u64().unwrap() as u16
        );
        assert_eq!((replayed.cols, replayed.rows), (100, 30));
        assert_eq!(replayed.title, before["title"].as_str().unwrap());
        assert_eq!(replayed.title, "recorded");
        assert_eq!(replayed.alt_screen, before["alt_screen"].as_bool().unwrap());
        assert!(replayed.lines.iter().any(|l| l.ends_with("after-resize")));
        compared = true;
        break;
    }
    assert!(compared, "the screen never held still around a download");

    // After session_close the file stays and is still served by id.
    let (_, content_type, before_close) = download(&server, &sid).await;
    assert_eq!(content_type, "application/x-asciicast");
    let response = client()
        .delete(server.at(&format!("/api/v1/sessions/{sid}")))
        .header("Authorization", server.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _, after_close) = download(&server, &sid).await;
    assert_eq!(status, 200);
    assert!(after_close.starts_with(&before_close[..before_close.len() / 2]));
    parse_cast(&after_close).unwrap();
}

fn string_vec(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Header with the opening size and a timestamp; `o` and `r` events in
/// time order, the resize among them.
fn check_structure(cast: &Cast) {
    assert_eq!(cast.header["version"], 2);
    assert_eq!(cast.header["width"], 80);
    assert_eq!(cast.header["height"], 24);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stamp = cast.header["timestamp"].as_u64().unwrap();
    assert!(stamp <= now && now - stamp < 3600, "timestamp {stamp}");
    assert!(cast.events.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(cast.events.iter().all(|e| e.code == "o" || e.code == "r"));
    let resizes: Vec<&str> = cast
        .events
        .iter()
        .filter(|e| e.code == "r")
        .map(|e| e.data.as_str())
        .collect();
    assert_eq!(resizes, vec!["100x30"]);
    let output: String = cast
        .events
        .iter()
        .filter(|e| e.code == "o")
        .map(|e| e.data.as_str())
        .collect();
    assert!(
        output.contains("\u{1b}[1;31mred\u{1b}[0m plain été"),
        "colours and UTF-8 kept"
    );
}

#[tokio::test]
async fn a_recording_stops_with_a_marker_at_its_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(dir.path(), |c| c.terminal.max_recording_bytes = 8192);
    let info = open(&server, json!({"record": true})).await;
    let sid = info["id"].as_str().unwrap().to_string();
    run(&server, &sid, "seq 1 5000").await;
    let (_, list) = server.get("/api/v1/sessions").await;
    let entry = listed(&list, &sid);
    assert_eq!(entry["recording"]["limit_reached"], true, "{entry}");
    let (status, _, body) = download(&server, &sid).await;
    assert_eq!(status, 200);
    assert!(body.len() <= 8192, "{} bytes", body.len());
    let cast = parse_cast(&body).unwrap();
    let last = cast.events.last().unwrap();
    assert_eq!(
        (last.code.as_str(), last.data.as_str()),
        ("m", LIMIT_MARKER)
    );
    // The session goes on; the recording does not grow.
    let result = run(&server, &sid, "echo still-here").await;
    assert_eq!(result["output"], "still-here");
    let (_, _, again) = download(&server, &sid).await;
    assert_eq!(again, body);
}

#[tokio::test]
async fn record_comes_from_the_config_default_unless_session_open_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = recording_server(dir.path(), |c| c.terminal.record = true);
    let recorded = open(&server, json!({})).await;
    assert!(recorded["recording"].is_object(), "{recorded}");
    let plain = open(&server, json!({"record": false})).await;
    assert_eq!(plain["recording"], Value::Null);
    let sid = plain["id"].as_str().unwrap();
    let (status, _, body) = download(&server, sid).await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not recorded"),
        "{error}"
    );
    // The same door as every route: no token, no recording.
    let response = client()
        .get(server.at(&format!(
            "/api/v1/sessions/{}/recording",
            recorded["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Unknown ids and path tricks are 404.
    for id in ["s_0123456789abcdef", "..%2F..%2Fetc%2Fpasswd"] {
        let (status, _, _) = download(&server, id).await;
        assert_eq!(status, 404, "{id}");
    }
    // Recording on MCP too: session_open's record argument.
    let (_, answer) = server
        .mcp(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "session_open", "arguments": {"record": true, "name": "via-mcp"}}}),
        )
        .await;
    let info = &answer["result"]["structuredContent"];
    assert!(info["recording"]["file"].is_string(), "{answer}");
}
