//! The live viewer's WebSocket, `/api/v1/sessions/{id}/stream`, against a
//! real server and real shells: authentication (header or first message),
//! Origin, the screen first and then raw output and command events,
//! read-only by default, control with input and resize, a slow viewer that
//! never stalls `session_run`, and the end of the stream when the session
//! closes.

mod common;

use std::time::Duration;

use common::{TOKEN, TestServer};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use termbridge::tools::Scope;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const READER: &str = "reader-token-0123456789abcdef";
const OTHERS: &str = "others-token-0123456789abcdef";
/// Longest wait for anything the server should send.
const PATIENCE: Duration = Duration::from_secs(30);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn server() -> TestServer {
    TestServer::start_with(|c| {
        common::add_token(c, "reader", READER, Scope::Read, None);
        common::add_token(c, "others", OTHERS, Scope::Control, Some(&["others-*"]));
    })
}

fn stream_url(server: &TestServer, id: &str) -> String {
    format!("ws://127.0.0.1:{}/api/v1/sessions/{id}/stream", server.port)
}

/// Connects with extra upgrade headers.
async fn connect(
    server: &TestServer,
    id: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, tungstenite::Error> {
    let mut request = stream_url(server, id).into_client_request().unwrap();
    for (k, v) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            tungstenite::http::HeaderValue::from_str(v).unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// Connects with the bearer header.
async fn connect_as(server: &TestServer, id: &str, token: &str) -> Ws {
    connect(server, id, &[("authorization", &format!("Bearer {token}"))])
        .await
        .expect("upgrade")
}

/// The next text message as JSON (binary frames are skipped).
async fn next_json(ws: &mut Ws) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    })
    .await
    .expect("a message in time")
}

/// Reads until a text message satisfies `pred`; returns it and the raw
/// output seen on the way.
async fn until_json(ws: &mut Ws, what: &str, pred: impl Fn(&Value) -> bool) -> (Value, String) {
    let mut output = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if pred(&value) {
                        return value;
                    }
                }
                Some(Ok(Message::Binary(bytes))) => output.extend_from_slice(&bytes),
                Some(Ok(_)) => {}
                other => panic!("stream ended waiting for {what}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} in time"));
    (found, String::from_utf8_lossy(&output).into_owned())
}

/// Reads raw output until it contains `needle`.
async fn until_output(ws: &mut Ws, needle: &str) -> String {
    let mut output = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    output.extend_from_slice(&bytes);
                    if String::from_utf8_lossy(&output).contains(needle) {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("stream ended waiting for {needle:?}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no {needle:?} in the output; got {:?}",
            String::from_utf8_lossy(&output)
        )
    });
    String::from_utf8_lossy(&output).into_owned()
}

/// Reads until the server closes; returns the close code.
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("closed in time")
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

fn http_status(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Ok(_) => panic!("the upgrade was accepted"),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn the_screen_comes_first_then_live_output_and_command_events() {
    let server = server();
    let id = server.shell().await;
    server.run(&id, "echo before-$((20+1))").await;
    let mut ws = connect_as(&server, &id, TOKEN).await;

    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["session"]["id"], id.as_str());
    assert_eq!(hello["can_control"], true);
    assert_eq!(hello["control"], false);
    let commands = hello["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0]["command"], "echo before-$((20+1))");
    assert_eq!(commands[0]["status"], "completed");
    assert_eq!(commands[0]["exit_code"], 0);
    assert_eq!(hello["session"]["last_command"]["id"], commands[0]["id"]);

    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["resync"], false);
    assert_eq!(snapshot["cols"], hello["session"]["cols"]);
    assert_eq!(snapshot["rows"], hello["session"]["rows"]);
    // The painting holds what is on the screen now.
    assert!(
        snapshot["data"].as_str().unwrap().contains("before-21"),
        "{snapshot}"
    );

    // A command run through the API shows up live: its output as raw
    // bytes, its state as command events, the session's as session events.
    let run = {
        let url = server.at(&format!("/api/v1/sessions/{id}/commands"));
        let bearer = server.bearer();
        tokio::spawn(async move {
            common::client()
                .post(url)
                .header("Authorization", bearer)
                .json(&json!({"command": "sleep 0.3; echo live-$((6*7))"}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let (accepted, _) = until_json(&mut ws, "the command's first event", |v| {
        v["type"] == "command" && v["command"]["command"] == "sleep 0.3; echo live-$((6*7))"
    })
    .await;
    assert_eq!(accepted["command"]["status"], "running");
    let (running, _) = until_json(&mut ws, "the session running it", |v| {
        v["type"] == "session" && v["session"]["running_command"] == "sleep 0.3; echo live-$((6*7))"
    })
    .await;
    assert_eq!(running["session"]["last_command"]["status"], "running");
    let (done, output) = until_json(&mut ws, "the command completed", |v| {
        v["type"] == "command"
            && v["command"]["id"] == accepted["command"]["id"]
            && v["command"]["status"] == "completed"
    })
    .await;
    assert_eq!(done["command"]["exit_code"], 0);
    assert!(done["command"]["duration_ms"].as_u64().unwrap() >= 300);
    assert!(output.contains("live-42"), "raw output: {output:?}");
    let result = run.await.unwrap();
    assert_eq!(result["command_id"], accepted["command"]["id"]);
    // And the list shows the last command too.
    let (_, list) = server.get("/api/v1/sessions").await;
    let listed = &list["sessions"][0];
    assert_eq!(listed["last_command"]["id"], accepted["command"]["id"]);
    assert_eq!(listed["last_command"]["exit_code"], 0);
}

#[tokio::test]
async fn a_token_is_required_and_never_taken_from_the_url() {
    let server = server();
    let id = server.shell().await;

    // A wrong bearer header is refused before the upgrade.
    let wrong = connect(&server, &id, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(http_status(wrong), 401);
    // A token in the query string is not a token.
    let in_url = tokio_tungstenite::connect_async(format!(
        "{}?token={TOKEN}&access_token={TOKEN}",
        stream_url(&server, &id)
    ))
    .await;
    let mut ws = in_url.expect("upgrade without a header").0;
    assert_eq!(
        close_code(&mut ws).await,
        Some(CloseCode::Library(4401)),
        "closed after the 5 s auth window"
    );

    // By first message: a wrong token, or anything else first, closes 4401.
    let mut ws = connect(&server, &id, &[]).await.unwrap();
    send(&mut ws, json!({"type": "auth", "token": "nope"})).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4401)));
    let mut ws = connect(&server, &id, &[]).await.unwrap();
    send(&mut ws, json!({"type": "control", "take": true})).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4401)));

    // The right one starts the stream.
    let mut ws = connect(&server, &id, &[]).await.unwrap();
    send(&mut ws, json!({"type": "auth", "token": TOKEN})).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");

    // A plain GET is told what the endpoint is.
    let (status, body) = server.get(&format!("/api/v1/sessions/{id}/stream")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WebSocket")
    );
}

#[tokio::test]
async fn foreign_origins_sessions_and_unknown_ids_are_refused() {
    let server = server();
    let id = server.shell().await;
    let bearer = format!("Bearer {TOKEN}");

    let foreign = connect(
        &server,
        &id,
        &[
            ("authorization", &bearer),
            ("origin", "http://evil.example"),
        ],
    )
    .await;
    assert_eq!(http_status(foreign), 403);
    // Without a header the Origin check still comes first.
    let foreign = connect(&server, &id, &[("origin", "http://evil.example")]).await;
    assert_eq!(http_status(foreign), 403);
    // The server's own page may connect.
    let own = format!("http://127.0.0.1:{}", server.port);
    let mut ws = connect(&server, &id, &[("origin", &own)]).await.unwrap();
    send(&mut ws, json!({"type": "auth", "token": TOKEN})).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello");

    // A token limited to other sessions, an unknown session.
    let mut ws = connect_as(&server, &id, OTHERS).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4403)));
    let mut ws = connect_as(&server, "no-such-session", TOKEN).await;
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4404)));
}

#[tokio::test]
async fn viewers_are_read_only_until_they_take_control() {
    let server = server();
    let id = server.shell().await;
    let mut ws = connect_as(&server, &id, TOKEN).await;
    next_json(&mut ws).await; // hello
    next_json(&mut ws).await; // snapshot

    // Input without control is refused and never reaches the shell.
    send(
        &mut ws,
        json!({"type": "input", "data": "echo pwned-$((1+1))\r"}),
    )
    .await;
    let refused = next_json(&mut ws).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "read_only");
    send(&mut ws, json!({"type": "resize", "cols": 100, "rows": 30})).await;
    assert_eq!(next_json(&mut ws).await["code"], "read_only");
    let marker = server.run(&id, "echo marker-$((3+4))").await;
    assert_eq!(marker["output"], "marker-7");
    let screen = server.screen(&id, 100).await.to_string();
    assert!(!screen.contains("pwned-2"), "{screen}");
    assert_eq!(
        server.get("/api/v1/sessions").await.1["sessions"][0]["cols"],
        120
    );

    // A read-scope token may watch but not take control.
    let mut reader = connect_as(&server, &id, READER).await;
    let hello = next_json(&mut reader).await;
    assert_eq!(hello["can_control"], false);
    next_json(&mut reader).await;
    send(&mut reader, json!({"type": "control", "take": true})).await;
    assert_eq!(next_json(&mut reader).await["code"], "forbidden");
    send(&mut reader, json!({"type": "input", "data": "x"})).await;
    assert_eq!(next_json(&mut reader).await["code"], "read_only");

    // Nor on a read-only session, whatever the token.
    let watched = server
        .open_session(json!({"read_only": true, "name": "watched"}))
        .await;
    let mut ws2 = connect_as(&server, watched["id"].as_str().unwrap(), TOKEN).await;
    assert_eq!(next_json(&mut ws2).await["can_control"], false);
    next_json(&mut ws2).await;
    send(&mut ws2, json!({"type": "control", "take": true})).await;
    assert_eq!(next_json(&mut ws2).await["code"], "forbidden");

    // Malformed messages get an error and the stream stays open.
    // (The first viewer saw the marker command's events meanwhile.)
    send(&mut ws, json!({"type": "exec", "command": "id"})).await;
    let (refused, _) = until_json(&mut ws, "an error", |v| v["type"] == "error").await;
    assert_eq!(refused["code"], "invalid_input");
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(next_json(&mut ws).await["code"], "invalid_input");
}

#[tokio::test]
async fn a_viewer_in_control_types_and_resizes() {
    let server = server();
    let id = server.shell().await;
    let mut ws = connect_as(&server, &id, TOKEN).await;
    next_json(&mut ws).await;
    next_json(&mut ws).await;
    send(&mut ws, json!({"type": "control", "take": true})).await;
    let (granted, _) = until_json(&mut ws, "control", |v| v["type"] == "control").await;
    assert_eq!(granted["control"], true);

    send(
        &mut ws,
        json!({"type": "input", "data": "echo typed-$((2+3))\r"}),
    )
    .await;
    until_output(&mut ws, "typed-5").await;
    server
        .screen_until(&id, "typed-5 on the screen", |s| {
            s.to_string().contains("typed-5")
        })
        .await;

    send(&mut ws, json!({"type": "resize", "cols": 100, "rows": 30})).await;
    let (resized, _) = until_json(&mut ws, "the session resized", |v| {
        v["type"] == "session" && v["session"]["cols"] == 100
    })
    .await;
    assert_eq!(resized["session"]["rows"], 30);
    let run = server.run(&id, "stty size").await;
    assert_eq!(run["output"], "30 100");

    // Giving control back makes the viewer read-only again.
    send(&mut ws, json!({"type": "control", "take": false})).await;
    let (given_back, _) = until_json(&mut ws, "control", |v| v["type"] == "control").await;
    assert_eq!(given_back["control"], false);
    send(&mut ws, json!({"type": "input", "data": "x"})).await;
    let (refused, _) = until_json(&mut ws, "an error", |v| v["type"] == "error").await;
    assert_eq!(refused["code"], "read_only");
}

#[tokio::test]
async fn a_viewer_that_does_not_read_never_stalls_the_session() {
    let server = server();
    let id = server.shell().await;
    // A viewer with a tiny receive buffer that stops reading after the
    // greeting: the server's socket, its queues and the session's watch
    // queue fill up quickly.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket
        .connect(format!("127.0.0.1:{}", server.port).parse().unwrap())
        .await
        .unwrap();
    let mut request = stream_url(&server, &id).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut slow, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp))
        .await
        .unwrap();
    assert_eq!(next_json(&mut slow).await["type"], "hello");
    assert_eq!(next_json(&mut slow).await["type"], "snapshot");

    // About 7 MB of output while the viewer reads nothing: the command
    // completes all the same.
    let (status, result) = server
        .run_with(
            &id,
            "seq 1 1000000; echo end-$((5*5))",
            json!({"timeout_ms": 120000}),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["exit_code"], 0);
    assert!(result["output"].as_str().unwrap().ends_with("end-25"));
    // And the commands after it too.
    assert_eq!(server.run(&id, "echo after").await["output"], "after");

    // When the viewer reads again, it is caught up with a fresh screen
    // rather than the dropped output, and then follows live again.
    let (resync, _) = until_json(&mut slow, "a resync snapshot", |v| {
        v["type"] == "snapshot" && v["resync"] == true
    })
    .await;
    assert!(
        resync["data"].as_str().unwrap().contains("after"),
        "{resync}"
    );
    let run = server.run(&id, "echo caught-$((8*8))").await;
    assert_eq!(run["exit_code"], 0);
    until_output(&mut slow, "caught-64").await;
}

#[tokio::test]
async fn the_stream_ends_when_the_session_closes() {
    let server = server();
    let id = server.shell().await;
    let mut ws = connect_as(&server, &id, TOKEN).await;
    next_json(&mut ws).await;
    next_json(&mut ws).await;
    let (status, _) = server.close(&id).await;
    assert_eq!(status, 200);
    let (closed, _) = until_json(&mut ws, "closed", |v| v["type"] == "closed").await;
    assert!(closed["reason"].as_str().unwrap().contains("closed"));
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Normal));
}

#[tokio::test]
async fn a_restarted_session_is_painted_afresh_and_followed_on() {
    let server = server();
    let id = server.shell().await;
    server.run(&id, "echo old-$((1+1))").await;
    let mut ws = connect_as(&server, &id, TOKEN).await;
    next_json(&mut ws).await;
    let first = next_json(&mut ws).await;
    assert!(first["data"].as_str().unwrap().contains("old-2"));

    let (status, body) = server
        .post(&format!("/api/v1/sessions/{id}/restart"), &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    // The new program's screen replaces the old one (not a resync: nothing
    // was dropped), with the session marked restarted.
    let (painted, _) = until_json(&mut ws, "a fresh painting", |v| v["type"] == "snapshot").await;
    assert_eq!(painted["resync"], false);
    assert!(!painted["data"].as_str().unwrap().contains("old-2"));
    until_json(&mut ws, "the session restarted", |v| {
        v["type"] == "session" && v["session"]["restarted"] == true
    })
    .await;
    server.run(&id, "echo new-$((2+2))").await;
    until_output(&mut ws, "new-4").await;
}
