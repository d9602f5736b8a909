//! The live session stream, `GET /api/v1/sessions/{id}/stream`: a WebSocket
//! that carries a session's screen, raw output and changes to the web
//! viewer, and, once the viewer takes control, its keystrokes and size
//! back. The protocol is in docs/viewer.md.
//!
//! Authentication is the bearer header when the client can send one, else
//! the first message (browsers cannot put headers on a WebSocket, and a
//! token in the URL would end up in logs). Input goes through the tool
//! dispatch (`session_send_keys`, `session_resize`), so scope, session
//! limits, read-only sessions and the audit log apply as for any client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use serde::Deserialize;
use serde_json::{Value, json};
use termbridge_actors::terminal::WatchSession;
use termbridge_actors::terminal::watch::{ScreenPaint, WatchEvent, Watching};

use crate::AppState;
use crate::access::Principal;
use crate::auth::Door;
use crate::errors::ApiError;
use crate::tools::{Progress, Scope, dispatch};

/// The route.
pub const PATH: &str = "/api/v1/sessions/{id}/stream";
/// Largest message a client may send (an `input` of 64 KiB, JSON-escaped).
const MAX_CLIENT_MESSAGE: usize = 256 * 1024;
/// Time a client has to authenticate by message.
const AUTH_WINDOW: Duration = Duration::from_secs(5);
/// Pings keep proxies from closing an idle stream and find dead clients.
const PING_EVERY: Duration = Duration::from_secs(20);
/// A client that answers no ping for this long is gone.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Registers the stream route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(stream));
}

/// What a client may send.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    /// The token, as the first message.
    Auth { token: String },
    /// Take (or give back) control.
    Control { take: bool },
    /// Keystrokes, as the terminal emulator produces them.
    Input { data: String },
    /// The viewer's terminal size.
    Resize { cols: u16, rows: u16 },
}

/// Parses a client's text message; the error says what is wrong.
fn parse_client_message(text: &str) -> Result<ClientMessage, String> {
    serde_json::from_str(text).map_err(|e| {
        let mut message = e.to_string();
        message.truncate(200);
        format!("not a stream message ({message}); see docs/viewer.md")
    })
}

/// Why a stream is refused after the upgrade: a close code in the
/// application range (4000 + the HTTP status it stands for) and a reason.
fn close_for(error: &ApiError) -> CloseReason {
    let code = 4000 + error.status().as_u16();
    let mut description = error.to_string();
    // A close frame's reason is at most 123 bytes.
    while description.len() > 120 {
        description.pop();
    }
    CloseReason {
        code: CloseCode::Other(code),
        description: Some(description),
    }
}

async fn stream(
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<String>,
    state: web::Data<AppState>,
    door: web::Data<Door>,
) -> Result<HttpResponse, ApiError> {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return Err(ApiError::InvalidParams(
            "this is a WebSocket endpoint (the live viewer's stream); see docs/viewer.md"
                .to_string(),
        ));
    }
    let principal = req.extensions().get::<Principal>().cloned();
    let (response, session, messages) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::InvalidParams(format!("WebSocket handshake failed: {e}")))?;
    let messages = messages
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_CLIENT_MESSAGE);
    let viewer = Viewer {
        state: state.into_inner(),
        session_id: path.into_inner(),
        ws: session,
        control: false,
    };
    actix_web::rt::spawn(viewer.run(principal, door.into_inner(), messages));
    Ok(response)
}

/// One connected viewer.
struct Viewer {
    state: Arc<AppState>,
    session_id: String,
    ws: actix_ws::Session,
    /// The viewer took control: its input and size go to the session.
    control: bool,
}

impl Viewer {
    async fn run(
        mut self,
        principal: Option<Principal>,
        door: Arc<Door>,
        mut messages: actix_ws::AggregatedMessageStream,
    ) {
        let principal = match principal {
            Some(p) => Ok(p),
            None => authenticate_by_message(&door, &mut messages).await,
        };
        let started = match principal {
            Ok(principal) => self.start(&principal).await.map(|w| (principal, w)),
            Err(e) => Err(e),
        };
        let (principal, watching) = match started {
            Ok(started) => started,
            Err(e) => {
                let _ = self.ws.close(Some(close_for(&e))).await;
                return;
            }
        };
        let can_control = principal.allows(Scope::Control) && !watching.session.read_only;
        let hello = json!({
            "type": "hello",
            "session": watching.session,
            "commands": watching.commands,
            "can_control": can_control,
            "control": false,
        });
        if self.send_json(hello).await.is_err()
            || self.send_paint(&watching.paint, false).await.is_err()
        {
            return;
        }
        let mut events = watching.events;
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut last_heard = Instant::now();
        let reason = loop {
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else {
                        let _ = self.send_json(json!({"type": "closed", "reason": "the session was closed"})).await;
                        break Some(CloseReason::from(CloseCode::Normal));
                    };
                    if self.send_event(event).await.is_err() {
                        break None;
                    }
                }
                message = messages.recv() => {
                    last_heard = Instant::now();
                    match message {
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            if self.on_client_message(&text, &principal, can_control).await.is_err() {
                                break None;
                            }
                        }
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            if self.send_error("invalid_input", "send text messages (JSON); see docs/viewer.md").await.is_err() {
                                break None;
                            }
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            if self.ws.pong(&bytes).await.is_err() {
                                break None;
                            }
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Close(_))) | None => break None,
                        Some(Err(e)) => {
                            log::debug!("stream of session {}: {e}", self.session_id);
                            break Some(CloseReason::from(CloseCode::Protocol));
                        }
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > CLIENT_TIMEOUT || self.ws.ping(b"").await.is_err() {
                        break None;
                    }
                }
            }
        };
        let _ = self.ws.close(reason).await;
    }

    /// Checks the principal's access and starts watching.
    async fn start(&self, principal: &Principal) -> Result<Watching, ApiError> {
        dispatch::may_use_session(&self.state, principal, &self.session_id).await?;
        let watch = WatchSession {
            session_id: self.session_id.clone(),
        };
        Ok(self
            .state
            .subsystems
            .ask_session(watch, termbridge_actors::supervisor::DEFAULT_ASK_TIMEOUT)
            .await?)
    }

    async fn send_event(&mut self, event: WatchEvent) -> Result<(), actix_ws::Closed> {
        match event {
            WatchEvent::Output(bytes) => {
                let redactor = &self.state.config.access.redactor;
                // Output is redacted like every answer where it is text;
                // a secret split between two reads gets through (documented).
                let bytes = match std::str::from_utf8(&bytes) {
                    Ok(text) => match redactor.redact_cow(text) {
                        std::borrow::Cow::Borrowed(_) => bytes,
                        std::borrow::Cow::Owned(clean) => clean.into_bytes(),
                    },
                    Err(_) => bytes,
                };
                self.ws.binary(bytes).await
            }
            WatchEvent::Paint { paint, resync } => self.send_paint(&paint, resync).await,
            WatchEvent::Session(session) => {
                self.send_json(json!({"type": "session", "session": session}))
                    .await
            }
            WatchEvent::Command(command) => {
                self.send_json(json!({"type": "command", "command": command}))
                    .await
            }
        }
    }

    async fn send_paint(
        &mut self,
        paint: &ScreenPaint,
        resync: bool,
    ) -> Result<(), actix_ws::Closed> {
        let data = self.state.config.access.redactor.redact(&paint.data);
        self.send_json(json!({
            "type": "snapshot",
            "cols": paint.cols,
            "rows": paint.rows,
            "data": data,
            "resync": resync,
        }))
        .await
    }

    async fn send_json(&mut self, mut value: Value) -> Result<(), actix_ws::Closed> {
        self.state.config.access.redactor.redact_json(&mut value);
        self.ws.text(value.to_string()).await
    }

    async fn send_error(&mut self, code: &str, message: &str) -> Result<(), actix_ws::Closed> {
        self.send_json(json!({"type": "error", "code": code, "message": message}))
            .await
    }

    /// Handles one message from the viewer; `Err` when the socket is gone.
    async fn on_client_message(
        &mut self,
        text: &str,
        principal: &Principal,
        can_control: bool,
    ) -> Result<(), actix_ws::Closed> {
        let message = match parse_client_message(text) {
            Ok(message) => message,
            Err(e) => return self.send_error("invalid_input", &e).await,
        };
        match message {
            ClientMessage::Auth { .. } => {
                self.send_error("invalid_input", "already authenticated")
                    .await
            }
            ClientMessage::Control { take } => {
                if take && !can_control {
                    return self
                        .send_error(
                            "forbidden",
                            "this token has read scope or the session is read-only: it can only be watched",
                        )
                        .await;
                }
                self.control = take;
                self.send_json(json!({"type": "control", "control": take}))
                    .await
            }
            ClientMessage::Input { data } => {
                if !self.control {
                    return self
                        .send_error(
                            "read_only",
                            "the viewer is read-only; take control first (type: control, take: true)",
                        )
                        .await;
                }
                let args = json!({"session_id": self.session_id, "text": data});
                self.call_tool("session_send_keys", args, principal).await
            }
            ClientMessage::Resize { cols, rows } => {
                if !self.control {
                    return self
                        .send_error("read_only", "only a viewer in control resizes the session")
                        .await;
                }
                let args = json!({"session_id": self.session_id, "cols": cols, "rows": rows});
                self.call_tool("session_resize", args, principal).await
            }
        }
    }

    /// Calls a tool for the viewer, answering only its errors.
    async fn call_tool(
        &mut self,
        name: &str,
        args: Value,
        principal: &Principal,
    ) -> Result<(), actix_ws::Closed> {
        let Some(def) = crate::tools::find(name) else {
            return self.send_error("internal", "tool missing").await;
        };
        let outcome = dispatch::call(
            &self.state,
            def,
            args,
            principal.clone(),
            Progress::default(),
            Default::default(),
        )
        .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) => self.send_error(e.code(), &e.message()).await,
        }
    }
}

/// Waits for the first message to be `{"type":"auth","token":…}` with a
/// valid token.
async fn authenticate_by_message(
    door: &Door,
    messages: &mut actix_ws::AggregatedMessageStream,
) -> Result<Principal, ApiError> {
    let unauthorized = ApiError::Unauthorized { token_sent: false };
    let first = match tokio::time::timeout(AUTH_WINDOW, messages.recv()).await {
        Ok(Some(Ok(AggregatedMessage::Text(text)))) => text,
        _ => return Err(unauthorized),
    };
    match parse_client_message(&first) {
        Ok(ClientMessage::Auth { token }) => {
            door.authenticate(&token).map_err(|r| door.error_for(r))
        }
        _ => Err(unauthorized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            parse_client_message(r#"{"type":"auth","token":"t"}"#),
            Ok(ClientMessage::Auth { token: "t".into() })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"input","data":"ls\r"}"#),
            Ok(ClientMessage::Input {
                data: "ls\r".into()
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"resize","cols":100,"rows":30}"#),
            Ok(ClientMessage::Resize {
                cols: 100,
                rows: 30
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"control","take":true}"#),
            Ok(ClientMessage::Control { take: true })
        );
        for bad in [
            "",
            "[]",
            r#"{"type":"exec","cmd":"rm"}"#,
            r#"{"type":"input"}"#,
            r#"{"type":"input","data":"x","extra":1}"#,
            r#"{"type":"resize","cols":-1,"rows":30}"#,
            r#"{"type":"resize","cols":70000,"rows":30}"#,
        ] {
            let e = parse_client_message(bad).unwrap_err();
            assert!(e.contains("docs/viewer.md"), "{bad}: {e}");
        }
    }

    #[test]
    fn refusals_map_to_application_close_codes() {
        let code = |e: &ApiError| match close_for(e).code {
            CloseCode::Other(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(&ApiError::Unauthorized { token_sent: true }), 4401);
        assert_eq!(code(&ApiError::Forbidden("x".into())), 4403);
        assert_eq!(
            code(&ApiError::Actor(termbridge_actors::ActorError::NotFound(
                "no session".into()
            ))),
            4404
        );
        assert_eq!(code(&ApiError::Internal("x".into())), 4500);
        assert_eq!(code(&ApiError::RateLimited { retry_after: 1 }), 4429);
        let long = ApiError::Forbidden("é".repeat(200));
        let reason = close_for(&long).description.unwrap();
        assert!(reason.len() <= 123);
    }
}
