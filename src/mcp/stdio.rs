//! MCP over stdio (`termbridge stdio`): newline-delimited JSON-RPC on
//! stdin/stdout, for clients that start their servers as programs (Claude
//! Desktop, Cursor, VS Code).
//!
//! The messages go to the same dispatcher as over HTTP ([`handle_request`])
//! with the same actor system, so tools behave identically. Each request
//! runs as its own task: a long `session_run` does not hold up a `ping`.
//! A `tools/call` with `_meta.progressToken` gets its
//! `notifications/progress` lines on stdout before its response;
//! `notifications/cancelled` stops the request it names, as over HTTP.
//! Only JSON-RPC goes to stdout; logs go to stderr.
//!
//! The connection ends at end of input (the client closed stdin) or when
//! `shutdown` fires (a signal): requests still running get
//! [`Options::eof_grace`] to answer, then are cancelled; then every session
//! opened through this connection is closed (the stdio server is its own
//! process, so that is every session it has) and the function returns.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use actix_web::web;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{
    DEFAULT_PROTOCOL_VERSION, Incoming, Reply, batches_allowed, classify, codes, error_response,
    handle_request, negotiate, progress_notification, progress_token,
};
use crate::AppState;
use crate::access::Principal;
use crate::tools::Progress;

/// How the stdio connection behaves at its end.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long requests still running at end of input may take to answer
    /// before they are cancelled.
    pub eof_grace: Duration,
    /// How long closing the sessions may take.
    pub close_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            eof_grace: Duration::from_secs(10),
            close_timeout: Duration::from_secs(15),
        }
    }
}

/// Requests running now, by JSON-RPC id (as JSON text), for
/// `notifications/cancelled`.
type Running = Rc<RefCell<HashMap<String, CancellationToken>>>;

/// Shared by the tasks of one connection.
struct Connection {
    state: web::Data<AppState>,
    principal: Principal,
    out: mpsc::UnboundedSender<Reply>,
    running: Running,
    /// Cancels every request (end of the connection).
    root: CancellationToken,
    version: RefCell<&'static str>,
}

/// Serves one MCP connection on `input`/`output` until end of input or
/// `shutdown`; must run inside an actix system (tools run on its arbiter).
pub async fn serve<R, W>(
    state: web::Data<AppState>,
    principal: Principal,
    input: R,
    output: W,
    shutdown: impl Future<Output = ()>,
    options: Options,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + 'static,
{
    let (out, out_rx) = mpsc::unbounded_channel();
    let writer = actix_web::rt::spawn(write_lines(output, out_rx));
    let conn = Rc::new(Connection {
        state,
        principal,
        out,
        running: Default::default(),
        root: CancellationToken::new(),
        version: RefCell::new(DEFAULT_PROTOCOL_VERSION),
    });
    let mut tasks = JoinSet::new();
    let mut lines = BufReader::new(input).lines();
    tokio::pin!(shutdown);
    let mut grace = options.eof_grace;
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            _ = &mut shutdown => {
                log::info!("stdio: stopping on a signal");
                grace = Duration::ZERO;
                break;
            }
            // Reap finished requests so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        match line {
            Ok(Some(line)) => on_line(&conn, &mut tasks, line),
            Ok(None) => {
                log::debug!("stdio: end of input");
                break;
            }
            Err(e) => {
                log::warn!("stdio: reading stdin failed: {e}");
                break;
            }
        }
    }
    // Let running requests answer, then cancel what is left.
    if !tasks.is_empty() {
        let finished =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            log::info!("stdio: cancelling {} request(s) still running", tasks.len());
            conn.root.cancel();
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            tasks.abort_all();
        }
    }
    close_sessions(&conn.state, options.close_timeout).await;
    drop(conn);
    match writer.await {
        Ok(result) => result,
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

/// Closes every session of this server (stdio end).
async fn close_sessions(state: &AppState, within: Duration) {
    let closing = state
        .subsystems
        .terminal
        .ask_within(termbridge_actors::terminal::CloseAll, within)
        .await;
    match closing {
        Ok(0) => {}
        Ok(n) => log::info!("stdio: closed {n} session(s)"),
        Err(e) => log::warn!("stdio: closing sessions: {e}"),
    }
}

/// Writes each message as one line and flushes it.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut output: W,
    mut messages: mpsc::UnboundedReceiver<Reply>,
) -> std::io::Result<()> {
    while let Some(message) = messages.recv().await {
        // serde_json never puts a raw newline in its compact form.
        let mut line = message.to_string();
        line.push('\n');
        if let Err(e) = output.write_all(line.as_bytes()).await {
            log::warn!("stdio: writing stdout failed: {e}");
            return Err(e);
        }
        output.flush().await?;
    }
    output.flush().await
}

fn on_line(conn: &Rc<Connection>, tasks: &mut JoinSet<()>, line: String) {
    if line.trim().is_empty() {
        return;
    }
    if line.len() > conn.state.config.max_body_bytes {
        send(
            conn,
            error_response(
                Value::Null,
                codes::INVALID_REQUEST,
                format!(
                    "message larger than {} bytes",
                    conn.state.config.max_body_bytes
                ),
            ),
        );
        return;
    }
    let message: Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(e) => {
            send(
                conn,
                error_response(Value::Null, codes::PARSE_ERROR, format!("parse error: {e}")),
            );
            return;
        }
    };
    match message {
        Value::Array(batch) => {
            let version = *conn.version.borrow();
            if !batches_allowed(version) {
                send(
                    conn,
                    error_response(
                        Value::Null,
                        codes::INVALID_REQUEST,
                        format!(
                            "JSON-RPC batches are not part of MCP {version}; send one message per line"
                        ),
                    ),
                );
                return;
            }
            if batch.is_empty() {
                send(
                    conn,
                    error_response(
                        Value::Null,
                        codes::INVALID_REQUEST,
                        "an empty batch is not a valid JSON-RPC request",
                    ),
                );
                return;
            }
            let conn = conn.clone();
            tasks.spawn_local(async move {
                let mut answers = Vec::new();
                for message in batch {
                    let cancel = match message.get("id") {
                        Some(id) => register(&conn, id),
                        None => conn.root.child_token(),
                    };
                    if let Some(answer) = single(&conn, message, false, cancel).await {
                        answers.push(answer);
                    }
                }
                if !answers.is_empty() {
                    send_reply(&conn, Reply::batch(&answers));
                }
            });
        }
        single_message => {
            // Notifications act at once (a cancel must not wait behind the
            // call it cancels); requests run as tasks of their own.
            match classify(&single_message) {
                Ok(Incoming::Request { id, .. }) => {
                    // Registered before the task runs, so a cancel on the
                    // very next line finds it.
                    let cancel = register(conn, &id);
                    let conn = conn.clone();
                    tasks.spawn_local(async move {
                        if let Some(answer) = single(&conn, single_message, true, cancel).await {
                            send_reply(&conn, answer);
                        }
                    });
                }
                Ok(Incoming::Notification { method, params }) => {
                    notification(conn, &method, &params)
                }
                Ok(Incoming::Response) => {}
                Err((id, why)) => send(conn, error_response(id, codes::INVALID_REQUEST, why)),
            }
        }
    }
}

/// A cancellation token for request `id`, findable by `notifications/cancelled`.
fn register(conn: &Connection, id: &Value) -> CancellationToken {
    let token = conn.root.child_token();
    conn.running
        .borrow_mut()
        .insert(id.to_string(), token.clone());
    token
}

fn send(conn: &Connection, message: Value) {
    send_reply(conn, Reply::of(&message));
}

fn send_reply(conn: &Connection, message: Reply) {
    let _ = conn.out.send(message);
}

fn notification(conn: &Connection, method: &str, params: &Value) {
    if method == "notifications/cancelled"
        && let Some(id) = params.get("requestId")
        && let Some(token) = conn.running.borrow().get(&id.to_string())
    {
        log::debug!("stdio: request {id} cancelled by the client");
        token.cancel();
    }
}

/// Answers one message (`None` for notifications and responses).
/// `progress_allowed`: progress notifications may be sent (not inside a batch).
async fn single(
    conn: &Rc<Connection>,
    message: Value,
    progress_allowed: bool,
    cancel: CancellationToken,
) -> Option<Reply> {
    let (id, method, params) = match classify(&message) {
        Err((id, why)) => return Some(Reply::of(&error_response(id, codes::INVALID_REQUEST, why))),
        Ok(Incoming::Notification { method, params }) => {
            notification(conn, &method, &params);
            return None;
        }
        Ok(Incoming::Response) => return None,
        Ok(Incoming::Request { id, method, params }) => (id, method, params),
    };
    if method == "initialize" {
        let requested = params.get("protocolVersion").and_then(Value::as_str);
        *conn.version.borrow_mut() = negotiate(requested);
    }
    let key = id.to_string();
    let token = (progress_allowed && method == "tools/call")
        .then(|| progress_token(&params))
        .flatten();
    let answer = match token {
        None => {
            handle_request(
                &conn.state,
                &conn.principal,
                id,
                &method,
                params,
                Progress::default(),
                cancel,
            )
            .await
        }
        Some(token) => {
            let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
            let call = handle_request(
                &conn.state,
                &conn.principal,
                id,
                &method,
                params,
                Progress::to(progress_tx),
                cancel,
            );
            tokio::pin!(call);
            // Progress lines go out as they come, all before the response.
            let answer = loop {
                tokio::select! {
                    biased;
                    Some(update) = progress_rx.recv() => {
                        send(conn, progress_notification(&token, &update));
                    }
                    answer = &mut call => break answer,
                }
            };
            while let Ok(update) = progress_rx.try_recv() {
                send(conn, progress_notification(&token, &update));
            }
            answer
        }
    };
    conn.running.borrow_mut().remove(&key);
    Some(answer)
}
