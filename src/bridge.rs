//! `termbridge bridge`: a stdio <-> streamable HTTP proxy, so a client that
//! starts MCP servers as programs (Claude Desktop, Cursor…) shares the
//! sessions of a running `termbridge serve`.
//!
//! Every line the client writes on stdin is POSTed to the server's `/mcp`
//! with the bearer token; every JSON-RPC message that comes back — a JSON
//! body, or each event of an SSE stream (progress notifications, then the
//! result) — is written to stdout as one line. Notifications are POSTed too
//! (the server answers `202`, nothing is written back). Requests run
//! concurrently, so a `notifications/cancelled` reaches the server while the
//! call it names still runs.
//!
//! Session ids: the `Mcp-Session-Id` the server issues on `initialize`, and
//! the negotiated protocol version, are sent with every later message. When
//! the server answers `404` to a known session id (it was restarted and
//! forgot it), the bridge initializes a new session with the client's
//! original `initialize` parameters and re-sends the message: the client
//! never notices the restart (its terminal sessions are gone, though).
//!
//! Retries: a message that could not be delivered (connection refused,
//! server down or restarting) is retried with exponential backoff for up to
//! [`Options::retry_for`]; then the client gets a JSON-RPC error, well
//! within its own request timeout. A message that may have reached the
//! server (the connection broke after it was sent, a 502/503/504 from a
//! proxy) is re-sent only when doing it twice is harmless: anything but
//! `tools/call`, tools that are read-only or idempotent, and `session_run`
//! with a `request_id` — which is why the bridge gives every `session_run`
//! without one a `request_id` of its own (`bridge-<random>`) before the
//! first send: the server then answers a re-send with the first attempt's
//! command instead of typing it again. Any other call gets an error saying
//! it may or may not have run.
//!
//! Waits: clients give up on a request after about 60 s; `session_run`'s
//! `timeout_ms` and `session_command`'s `wait_ms` are capped at
//! [`Options::max_wait_ms`] so the answer (`running` with a `command_id` to
//! poll) arrives before that.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use crate::mcp::http::{SESSION_HEADER, VERSION_HEADER};
use crate::mcp::{Incoming, classify, codes};

/// JSON-RPC error code for "the server could not be reached / answered
/// badly" (implementation-defined server error range).
pub const UPSTREAM_ERROR: i64 = -32000;

/// How the bridge behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's MCP endpoint, e.g. `http://127.0.0.1:1985/mcp`.
    pub url: String,
    /// The bearer token; `None` sends none (the server will answer 401).
    pub token: Option<String>,
    /// How long to keep retrying a message the server could not be reached for.
    pub retry_for: Duration,
    /// Upper bound on `session_run.timeout_ms` and `session_command.wait_ms`.
    pub max_wait_ms: u64,
    /// How long requests still running at end of input may take.
    pub eof_grace: Duration,
}

impl Options {
    /// Defaults for `url`: retry for 30 s, waits capped at 50 s.
    pub fn new(url: impl Into<String>, token: Option<String>) -> Options {
        Options {
            url: url.into(),
            token,
            retry_for: Duration::from_secs(30),
            max_wait_ms: 50_000,
            eof_grace: Duration::from_secs(10),
        }
    }
}

/// The MCP session with the server, as far as the bridge knows it.
#[derive(Debug, Default, Clone)]
struct Session {
    /// The `Mcp-Session-Id` the server issued.
    id: Option<String>,
    /// The negotiated protocol version.
    version: Option<String>,
    /// The client's `initialize` params, to initialize again after a restart.
    init_params: Option<Value>,
    /// The client sent `notifications/initialized`.
    initialized: bool,
    /// Bumped at each (re-)initialization.
    generation: u64,
}

struct Bridge {
    http: reqwest::Client,
    options: Options,
    out: mpsc::UnboundedSender<String>,
    session: Mutex<Session>,
    serial: AtomicU64,
}

/// Why one attempt failed.
enum Failure {
    /// Nothing reached the server (connection refused, DNS…): always safe to retry.
    NotSent(String),
    /// The message may have reached the server.
    MaybeSent(String),
    /// The server does not know our session id (of this generation).
    UnknownSession(u64),
    /// A final answer (error) for the client.
    Final(Value),
}

/// Runs the bridge on `input`/`output` until end of input.
pub async fn run<R, W>(options: Options, input: R, output: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let (out, out_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_lines(output, out_rx));
    let eof_grace = options.eof_grace;
    let bridge = Arc::new(Bridge {
        http,
        options,
        out,
        session: Mutex::new(Session::default()),
        serial: AtomicU64::new(1),
    });
    log::info!("bridge: forwarding stdio to {}", bridge.options.url);
    let mut tasks = JoinSet::new();
    let mut lines = BufReader::new(input).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                log::warn!("bridge: reading stdin failed: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                bridge.emit(&crate::mcp::error_response(
                    Value::Null,
                    codes::PARSE_ERROR,
                    format!("parse error: {e}"),
                ));
                continue;
            }
        };
        // `initialize` is handled before the next line is read, so what
        // follows it (notifications/initialized first) carries the session.
        let is_initialize = message.get("method").and_then(Value::as_str) == Some("initialize")
            && message.get("id").is_some();
        if is_initialize {
            bridge.clone().message(message).await;
        } else {
            tasks.spawn(bridge.clone().message(message));
        }
    }
    log::debug!("bridge: end of input");
    let _ = tokio::time::timeout(eof_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    bridge.end_session().await;
    drop(bridge);
    writer
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut output: W,
    mut lines: mpsc::UnboundedReceiver<String>,
) -> std::io::Result<()> {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        output.write_all(line.as_bytes()).await?;
        output.flush().await?;
    }
    output.flush().await
}

impl Bridge {
    /// Writes one message to the client.
    fn emit(&self, message: &Value) {
        let _ = self.out.send(message.to_string());
    }

    /// Forwards one message from the client and writes back what answers it.
    async fn message(self: Arc<Self>, message: Value) {
        match classify(&message) {
            Ok(Incoming::Request { id, method, params }) => {
                self.request(message, id, method, params).await
            }
            Ok(Incoming::Notification { method, .. }) => {
                if method == "notifications/initialized" {
                    self.session.lock().await.initialized = true;
                }
                self.notification(message, &method).await
            }
            // A batch, or the client's answer to a server request: pass it on.
            Ok(Incoming::Response) | Err(_) if message.is_array() => self.pass_batch(message).await,
            Ok(Incoming::Response) => self.notification(message, "response").await,
            Err((id, why)) => {
                self.emit(&crate::mcp::error_response(id, codes::INVALID_REQUEST, why))
            }
        }
    }

    async fn request(&self, mut message: Value, id: Value, method: String, params: Value) {
        let tool = (method == "tools/call")
            .then(|| {
                params
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .flatten();
        if let Some(name) = &tool {
            prepare_call(&mut message, name, self.options.max_wait_ms);
        }
        let resendable = resendable(&method, tool.as_deref(), &message);
        if method == "initialize" {
            let mut session = self.session.lock().await;
            session.init_params = Some(params.clone());
            // A client starting over gets a session of its own.
            session.id = None;
            session.version = None;
        }
        let deadline = Instant::now() + self.options.retry_for;
        let mut backoff = Duration::from_millis(100);
        let mut reinits = 0;
        loop {
            let failure = match self.attempt(&message, &id, method == "initialize").await {
                Ok(()) => return,
                Err(f) => f,
            };
            let why = match failure {
                Failure::Final(answer) => {
                    self.emit(&answer);
                    return;
                }
                Failure::UnknownSession(generation) if reinits < 3 => {
                    reinits += 1;
                    self.reinitialize(generation).await;
                    continue;
                }
                Failure::UnknownSession(_) => {
                    "the server keeps refusing its session id".to_string()
                }
                Failure::NotSent(why) => why,
                Failure::MaybeSent(why) if resendable => why,
                Failure::MaybeSent(why) => {
                    self.emit(&crate::mcp::error_response(
                        id,
                        UPSTREAM_ERROR,
                        format!(
                            "{method} {}: the connection to {} failed after the request was sent ({why}); \
                             it may or may not have run — check with session_list or session_command \
                             before sending it again",
                            tool.as_deref().unwrap_or(""),
                            self.options.url
                        ),
                    ));
                    return;
                }
            };
            if Instant::now() + backoff > deadline {
                self.emit(&crate::mcp::error_response(
                    id,
                    UPSTREAM_ERROR,
                    format!(
                        "termbridge server at {} unreachable for {} s ({why}); is `termbridge serve` running?",
                        self.options.url,
                        self.options.retry_for.as_secs()
                    ),
                ));
                return;
            }
            log::info!(
                "bridge: {method}: {why}; retrying in {} ms",
                backoff.as_millis()
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// One POST of a request; forwards the answer on success.
    async fn attempt(&self, message: &Value, id: &Value, initialize: bool) -> Result<(), Failure> {
        let session = self.session.lock().await.clone();
        let response = self.post(message, &session).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND && session.id.is_some() && !initialize {
            return Err(Failure::UnknownSession(session.generation));
        }
        if initialize && status.is_success() {
            let issued = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let mut current = self.session.lock().await;
            current.id = issued;
            current.generation += 1;
        }
        if status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR {
            return Err(Failure::MaybeSent(format!("HTTP {status}")));
        }
        let is_sse = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if is_sse && status.is_success() {
            return self.relay_sse(response, id).await;
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::MaybeSent(format!("reading the answer: {e}")))?;
        if status == StatusCode::ACCEPTED || body.is_empty() {
            return Err(Failure::Final(crate::mcp::error_response(
                id.clone(),
                UPSTREAM_ERROR,
                format!("the server answered HTTP {status} without a response"),
            )));
        }
        let answer: Value = serde_json::from_slice(&body).map_err(|_| {
            Failure::Final(crate::mcp::error_response(
                id.clone(),
                UPSTREAM_ERROR,
                format!(
                    "the server answered HTTP {status} with a body that is not JSON: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            ))
        })?;
        if initialize && let Some(version) = answer["result"]["protocolVersion"].as_str() {
            self.session.lock().await.version = Some(version.to_string());
        }
        if status.is_success() {
            self.emit(&answer);
            return Ok(());
        }
        // A refusal before dispatch (401, 400…) carries a JSON-RPC error,
        // maybe with a null id: answer the client's request with it.
        // A JSON-RPC error as is; anything else (a REST-style error body
        // from a wrong URL) becomes one.
        let mut error = match answer.get("error") {
            Some(e) if e["code"].is_i64() => e.clone(),
            Some(e) => json!({"code": UPSTREAM_ERROR, "message": format!(
                "HTTP {status} from {}: {}",
                self.options.url,
                e["message"].as_str().unwrap_or_default()
            )}),
            None => {
                json!({"code": UPSTREAM_ERROR, "message": format!("HTTP {status} from {}", self.options.url)})
            }
        };
        if status == StatusCode::UNAUTHORIZED {
            error["message"] = json!(format!(
                "the server refused the token (HTTP 401): set the token in the environment \
                 variable the bridge reads (TERMBRIDGE_TOKEN unless --token-env says otherwise); {}",
                error["message"].as_str().unwrap_or_default()
            ));
        }
        Err(Failure::Final(
            json!({"jsonrpc": "2.0", "id": id, "error": error}),
        ))
    }

    /// Forwards each event of an SSE answer; done when the response to
    /// `id` came through.
    async fn relay_sse(&self, response: reqwest::Response, id: &Value) -> Result<(), Failure> {
        let mut stream = response.bytes_stream();
        let mut parser = SseParser::default();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Failure::MaybeSent(format!("stream broke: {e}")))?;
            for data in parser.feed(&chunk) {
                let Ok(message) = serde_json::from_str::<Value>(&data) else {
                    log::warn!("bridge: ignoring an SSE event that is not JSON");
                    continue;
                };
                let is_answer = message.get("id") == Some(id)
                    && (message.get("result").is_some() || message.get("error").is_some());
                self.emit(&message);
                if is_answer {
                    return Ok(());
                }
            }
        }
        Err(Failure::MaybeSent(
            "the stream ended before the response".into(),
        ))
    }

    async fn post(&self, message: &Value, session: &Session) -> Result<reqwest::Response, Failure> {
        let mut request = self
            .http
            .post(&self.options.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .body(message.to_string());
        if let Some(token) = &self.options.token {
            request = request.header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(id) = &session.id {
            request = request.header(SESSION_HEADER, id);
        }
        if let Some(version) = &session.version {
            request = request.header(VERSION_HEADER, version);
        }
        request.send().await.map_err(|e| {
            if e.is_connect() {
                Failure::NotSent(format!("cannot connect: {}", error_chain(&e)))
            } else {
                Failure::MaybeSent(error_chain(&e))
            }
        })
    }

    /// Forwards a notification (or a client response); the server answers 2xx.
    async fn notification(&self, message: Value, what: &str) {
        let deadline = Instant::now() + self.options.retry_for;
        let mut backoff = Duration::from_millis(100);
        let mut reinitialized = false;
        loop {
            let session = self.session.lock().await.clone();
            match self.post(&message, &session).await {
                Ok(response) if response.status().is_success() => {
                    log::debug!("bridge: {what} forwarded: HTTP {}", response.status());
                    return;
                }
                Ok(response)
                    if response.status() == StatusCode::NOT_FOUND
                        && session.id.is_some()
                        && !reinitialized =>
                {
                    reinitialized = true;
                    self.reinitialize(session.generation).await;
                }
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    log::warn!("bridge: {what} refused: HTTP {status} {body}");
                    return;
                }
                // Sending a notification twice does no harm.
                Err(Failure::NotSent(why)) | Err(Failure::MaybeSent(why)) => {
                    if Instant::now() + backoff > deadline {
                        log::warn!("bridge: {what} not delivered: {why}");
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(_) => return,
            }
        }
    }

    /// A batch (protocol 2025-03-26): forwarded as is, answers passed back.
    async fn pass_batch(&self, message: Value) {
        let session = self.session.lock().await.clone();
        match self.post(&message, &session).await {
            Ok(response) => {
                if let Ok(answer) = response.json::<Value>().await {
                    self.emit(&answer);
                }
            }
            Err(Failure::NotSent(why) | Failure::MaybeSent(why)) => {
                self.emit(&crate::mcp::error_response(
                    Value::Null,
                    UPSTREAM_ERROR,
                    format!("batch not delivered: {why}"),
                ));
            }
            Err(_) => {}
        }
    }

    /// Starts a new session with the client's `initialize` params after the
    /// server forgot ours (restart). Concurrent callers wait for one
    /// re-initialization.
    async fn reinitialize(&self, stale: u64) {
        let mut session = self.session.lock().await;
        if session.generation != stale {
            return; // another request did it already
        }
        let Some(params) = session.init_params.clone() else {
            // Never initialized through us: go on without a session.
            session.id = None;
            session.generation += 1;
            return;
        };
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let request = json!({
            "jsonrpc": "2.0",
            "id": format!("termbridge-bridge-reinit-{serial}"),
            "method": "initialize",
            "params": params,
        });
        let fresh = Session {
            id: None,
            version: None,
            ..session.clone()
        };
        let response = match self.post(&request, &fresh).await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                log::warn!("bridge: re-initializing failed: HTTP {}", r.status());
                session.id = None;
                session.generation += 1;
                return;
            }
            Err(_) => {
                log::warn!("bridge: re-initializing failed: server unreachable");
                return;
            }
        };
        session.id = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Ok(answer) = response.json::<Value>().await
            && let Some(v) = answer["result"]["protocolVersion"].as_str()
        {
            session.version = Some(v.to_string());
        }
        session.generation += 1;
        log::info!("bridge: the server did not know our session (restarted?): started a new one");
        if session.initialized {
            let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            let _ = self.post(&note, &session).await;
        }
    }

    /// Ends the MCP session on the server (best effort).
    async fn end_session(&self) {
        let session = self.session.lock().await.clone();
        let Some(id) = session.id else { return };
        let mut request = self
            .http
            .delete(&self.options.url)
            .header(SESSION_HEADER, id)
            .timeout(Duration::from_secs(2));
        if let Some(token) = &self.options.token {
            request = request.header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let _ = request.send().await;
    }
}

/// The error and its causes, on one line.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Adjusts a `tools/call` before it is first sent: a `request_id` for
/// `session_run` (so a re-send never types the command twice), and waits
/// capped so answers come before the client's timeout.
pub fn prepare_call(message: &mut Value, tool: &str, max_wait_ms: u64) {
    let Some(arguments) = message
        .get_mut("params")
        .and_then(|p| p.get_mut("arguments"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let wait_field = match tool {
        "session_run" => "timeout_ms",
        "session_command" => "wait_ms",
        _ => return,
    };
    if tool == "session_run" && !arguments.contains_key("request_id") {
        let bytes: [u8; 12] = rand::random();
        arguments.insert(
            "request_id".into(),
            json!(format!("bridge-{}", hex::encode(bytes))),
        );
    }
    if let Some(ms) = arguments.get(wait_field).and_then(Value::as_u64)
        && ms > max_wait_ms
    {
        log::info!("bridge: {tool} {wait_field} {ms} capped at {max_wait_ms}");
        arguments.insert(wait_field.into(), json!(max_wait_ms));
    }
}

/// Whether a request may be sent again after it may have reached the server.
pub fn resendable(method: &str, tool: Option<&str>, message: &Value) -> bool {
    if method != "tools/call" {
        return true;
    }
    let Some(name) = tool else { return true };
    if name == "session_run" {
        return message["params"]["arguments"]["request_id"].is_string();
    }
    crate::tools::find(name)
        .is_some_and(|def| def.annotations.read_only || def.annotations.idempotent)
}

/// Splits a `text/event-stream` body into the data of its events.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the data of every event completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(rest) = line.strip_prefix("data:") {
                self.data
                    .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
            }
            // `event:`, `id:`, `retry:` and `:` comments (keep-alives) carry
            // nothing the client needs.
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_are_split_whatever_the_chunks() {
        let body =
            b"event: message\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: {\"b\":\ndata: 2}\n\n";
        for size in 1..body.len() {
            let mut parser = SseParser::default();
            let events: Vec<String> = body.chunks(size).flat_map(|c| parser.feed(c)).collect();
            assert_eq!(events, vec!["{\"a\":1}", "{\"b\":\n2}"], "chunks of {size}");
        }
    }

    #[test]
    fn session_run_gets_a_request_id_and_waits_are_capped() {
        let mut call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "session_run", "arguments": {"session_id": "s", "command": "ls", "timeout_ms": 600000}}});
        prepare_call(&mut call, "session_run", 50_000);
        let args = &call["params"]["arguments"];
        assert!(args["request_id"].as_str().unwrap().starts_with("bridge-"));
        assert_eq!(args["timeout_ms"], 50_000);
        assert!(resendable("tools/call", Some("session_run"), &call));
        // A request_id of the client's own is kept.
        let mut own = json!({"params": {"name": "session_run", "arguments": {"request_id": "mine", "timeout_ms": 10}}});
        prepare_call(&mut own, "session_run", 50_000);
        assert_eq!(own["params"]["arguments"]["request_id"], "mine");
        assert_eq!(own["params"]["arguments"]["timeout_ms"], 10);
        let mut poll =
            json!({"params": {"name": "session_command", "arguments": {"wait_ms": 90000}}});
        prepare_call(&mut poll, "session_command", 50_000);
        assert_eq!(poll["params"]["arguments"]["wait_ms"], 50_000);
        assert!(poll["params"]["arguments"].get("request_id").is_none());
    }

    #[test]
    fn only_harmless_calls_are_sent_twice() {
        let none = json!({"params": {"arguments": {}}});
        assert!(resendable("tools/list", None, &none));
        assert!(resendable("tools/call", Some("session_list"), &none));
        assert!(resendable("tools/call", Some("dns_lookup"), &none));
        assert!(!resendable("tools/call", Some("session_run"), &none));
        assert!(!resendable("tools/call", Some("session_send_keys"), &none));
        assert!(!resendable("tools/call", Some("session_open"), &none));
    }
}
