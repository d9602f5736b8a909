//! MCP over streamable HTTP at `/mcp` and `/mcp/`.
//!
//! POST carries one JSON-RPC message (or, in protocol 2025-03-26, a batch).
//! Requests are answered with `application/json`, except a `tools/call` that
//! carries a progress token from a client accepting `text/event-stream`: that
//! one is answered as an SSE stream of progress notifications ending with the
//! result. Notifications and client responses get 202 with no body;
//! `notifications/cancelled` stops the request it names (see `inflight.rs`).
//! `initialize` issues an `Mcp-Session-Id`; requests without one still work.

use std::convert::Infallible;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{
    DEFAULT_PROTOCOL_VERSION, Incoming, Reply, batches_allowed, classify, codes, error_response,
    handle_request, is_supported, negotiate, progress_notification, progress_token,
};
use crate::AppState;
use crate::access::Principal;
use crate::errors::ApiError;
use crate::mcp::retries::{self, Claim};
use crate::rest::{json_body, read_body};
use crate::tools::Progress;
use crate::tools::{Scope, find};
use std::time::Duration;

/// The session header.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol version header.
pub const VERSION_HEADER: &str = "mcp-protocol-version";

/// Registers `/mcp` and `/mcp/`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for path in ["/mcp", "/mcp/"] {
        cfg.service(
            web::resource(path)
                .route(web::post().to(post))
                .route(web::get().to(get))
                .route(web::delete().to(delete))
                .default_service(web::to(crate::rest::method_not_allowed)),
        );
    }
}

fn header_text<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A protocol-level refusal: an HTTP status with a JSON-RPC error body.
fn refuse(status: StatusCode, id: Value, code: i64, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(error_response(id, code, message))
}

fn accepts_sse(req: &HttpRequest) -> bool {
    header_text(req, "accept").is_some_and(|a| a.contains("text/event-stream"))
}

/// Where a request stands before dispatch: which session and version.
struct Exchange {
    session: Option<String>,
    version: &'static str,
    principal: Principal,
}

/// Why a request was refused before dispatch: HTTP status and message.
struct Fault(StatusCode, String);

impl Fault {
    fn response(self) -> HttpResponse {
        refuse(self.0, Value::Null, codes::INVALID_REQUEST, self.1)
    }
}

/// Resolves session and protocol version from the headers, or refuses.
fn exchange(state: &AppState, req: &HttpRequest, principal: Principal) -> Result<Exchange, Fault> {
    let header_version = header_text(req, VERSION_HEADER);
    if let Some(v) = header_version
        && !is_supported(v)
    {
        return Err(Fault(
            StatusCode::BAD_REQUEST,
            format!(
                "unsupported MCP-Protocol-Version {v:?}; supported: {}",
                super::SUPPORTED_PROTOCOL_VERSIONS.join(", ")
            ),
        ));
    }
    let session = header_text(req, SESSION_HEADER).map(str::to_string);
    let session_version = match &session {
        Some(id) => match state.mcp_sessions.version(id) {
            Some(v) => Some(v),
            None => {
                return Err(Fault(
                    StatusCode::NOT_FOUND,
                    "unknown or expired Mcp-Session-Id; initialize a new session".into(),
                ));
            }
        },
        None => None,
    };
    let version = header_version
        .map(|v| negotiate(Some(v)))
        .or(session_version)
        .unwrap_or(DEFAULT_PROTOCOL_VERSION);
    Ok(Exchange {
        session,
        version,
        principal,
    })
}

async fn post(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return ApiError::Unauthorized { token_sent: false }.error_response();
    };
    let body = match read_body(payload, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let message: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                Value::Null,
                codes::PARSE_ERROR,
                format!("parse error: {e}"),
            );
        }
    };
    // A single message is classified once, here.
    let posted = match message {
        Value::Array(batch) => Posted::Batch(batch),
        single => Posted::Single(classify(&single)),
    };
    // `initialize` starts a session, so it is judged before session lookup.
    if let Posted::Single(Ok(Incoming::Request { id, method, params })) = &posted
        && method == "initialize"
    {
        return initialize(&state, &principal, id.clone(), params.clone()).await;
    }
    let exchange = match exchange(&state, &req, principal) {
        Ok(x) => x,
        Err(fault) => return fault.response(),
    };
    match posted {
        Posted::Batch(batch) => post_batch(&state, &exchange, batch).await,
        Posted::Single(single) => post_single(&req, &state, &exchange, single).await,
    }
}

/// The body of a POST: a batch, or one message as [`classify`] read it.
enum Posted {
    Batch(Vec<Value>),
    Single(Result<Incoming, (Value, String)>),
}

async fn initialize(
    state: &AppState,
    principal: &Principal,
    id: Value,
    params: Value,
) -> HttpResponse {
    let requested = params.get("protocolVersion").and_then(Value::as_str);
    let version = negotiate(requested);
    let session = state.mcp_sessions.create(version);
    let response = handle_request(
        state,
        principal,
        id,
        "initialize",
        params,
        Progress::default(),
        Default::default(),
    )
    .await;
    json_body(
        HttpResponse::Ok().insert_header((SESSION_HEADER, session)),
        response.into_string(),
    )
}

/// A 200 answer carrying `reply`.
fn answer(reply: Reply) -> HttpResponse {
    json_body(&mut HttpResponse::Ok(), reply.into_string())
}

fn accepted() -> HttpResponse {
    // No body and no JSON content type: some gateways choke on an empty JSON body.
    HttpResponse::Accepted().finish()
}

async fn post_single(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    exchange: &Exchange,
    message: Result<Incoming, (Value, String)>,
) -> HttpResponse {
    let with_session = |mut response: HttpResponse| {
        if let Some(id) = &exchange.session
            && let Ok(value) = header::HeaderValue::from_str(id)
        {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static(SESSION_HEADER), value);
        }
        response
    };
    match message {
        Err((id, why)) => refuse(StatusCode::BAD_REQUEST, id, codes::INVALID_REQUEST, why),
        Ok(Incoming::Notification { method, params }) => {
            notification(state, exchange, &method, &params);
            accepted()
        }
        Ok(Incoming::Response) => accepted(),
        Ok(Incoming::Request { id, method, params }) => {
            let token = (method == "tools/call")
                .then(|| progress_token(&params))
                .flatten();
            // A gateway re-sends what it thinks failed: a state-changing call
            // seen before gets the first answer instead of running again.
            let mut finisher = None;
            if method == "tools/call" && changes_state(&params) {
                let key = retries::key(&exchange.principal.name, &id, &params);
                match state.mcp_retries.claim(key) {
                    Claim::Done(response) => {
                        return with_session(answer(response));
                    }
                    Claim::Wait(rx) => {
                        let response = retries::answer_of(rx).await.unwrap_or_else(|| {
                            Reply::of(&error_response(
                                id,
                                codes::INVALID_REQUEST,
                                "the first attempt of this call was abandoned; send it again",
                            ))
                        });
                        return with_session(answer(response));
                    }
                    Claim::First(f) => finisher = Some(f),
                }
            }
            let stream = accepts_sse(req) && (token.is_some() || may_outlast_gateways(&params));
            match stream {
                true => with_session(stream_call(
                    state.clone(),
                    exchange.principal.clone(),
                    exchange.session.clone(),
                    id,
                    method,
                    params,
                    token,
                    finisher,
                )),
                false if finisher.is_some() => {
                    // Run detached: a client that hangs up mid-call must not
                    // cancel it half-way; its retry collects the answer.
                    let state = state.clone();
                    let principal = exchange.principal.clone();
                    let session = exchange.session.clone();
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    actix_web::rt::spawn(async move {
                        let call = state.mcp_in_flight.register(session.as_deref(), &id);
                        let response = handle_request(
                            &state,
                            &principal,
                            id,
                            &method,
                            params,
                            Progress::default(),
                            call.token(),
                        )
                        .await;
                        if let Some(f) = finisher {
                            f.finish(&response);
                        }
                        let _ = tx.send(response);
                    });
                    match rx.await {
                        Ok(response) => with_session(answer(response)),
                        Err(_) => ApiError::Internal("the call ended without an answer".into())
                            .error_response(),
                    }
                }
                false => {
                    // Registered while it runs, so notifications/cancelled can stop it.
                    let call = state
                        .mcp_in_flight
                        .register(exchange.session.as_deref(), &id);
                    let response = handle_request(
                        state,
                        &exchange.principal,
                        id,
                        &method,
                        params,
                        Progress::default(),
                        call.token(),
                    )
                    .await;
                    with_session(answer(response))
                }
            }
        }
    }
}

async fn post_batch(state: &AppState, exchange: &Exchange, batch: Vec<Value>) -> HttpResponse {
    if !batches_allowed(exchange.version) {
        return refuse(
            StatusCode::BAD_REQUEST,
            Value::Null,
            codes::INVALID_REQUEST,
            format!(
                "JSON-RPC batches are not part of MCP {}; send one message per request",
                exchange.version
            ),
        );
    }
    if batch.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            Value::Null,
            codes::INVALID_REQUEST,
            "an empty batch is not a valid JSON-RPC request",
        );
    }
    let mut responses: Vec<Reply> = Vec::new();
    for message in batch {
        match classify(&message) {
            Err((id, why)) => {
                responses.push(Reply::of(&error_response(id, codes::INVALID_REQUEST, why)))
            }
            Ok(Incoming::Notification { method, params }) => {
                notification(state, exchange, &method, &params)
            }
            Ok(Incoming::Response) => {}
            Ok(Incoming::Request { method, .. }) if method == "initialize" => {
                responses.push(Reply::of(&error_response(
                    Value::Null,
                    codes::INVALID_REQUEST,
                    "initialize must not be part of a batch",
                )));
            }
            Ok(Incoming::Request { id, method, params }) => {
                responses.push(
                    handle_request(
                        state,
                        &exchange.principal,
                        id,
                        &method,
                        params,
                        Progress::default(),
                        Default::default(),
                    )
                    .await,
                );
            }
        }
    }
    if responses.is_empty() {
        accepted()
    } else {
        answer(Reply::batch(&responses))
    }
}

/// Acts on a client notification. Only `notifications/cancelled` needs
/// anything: it stops the request it names, if that still runs.
fn notification(state: &AppState, exchange: &Exchange, method: &str, params: &Value) {
    if method == "notifications/cancelled"
        && let Some(id) = params.get("requestId")
    {
        state.mcp_in_flight.cancel(exchange.session.as_deref(), id);
    }
}

/// How often a streamed answer sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Tools whose calls change state (their retries must not run twice).
fn changes_state(params: &Value) -> bool {
    params
        .get("name")
        .and_then(Value::as_str)
        .and_then(find)
        .is_some_and(|def| def.scope == Scope::Control)
}

/// Calls that may wait longer than a gateway's read timeout (60 s for
/// ContextForge): they are streamed, with keep-alives, when the client
/// accepts SSE.
fn may_outlast_gateways(params: &Value) -> bool {
    let args = params.get("arguments");
    let wait = |field: &str| args.and_then(|a| a.get(field)).and_then(Value::as_u64);
    match params.get("name").and_then(Value::as_str) {
        Some("session_run") => wait("timeout_ms").is_some_and(|ms| ms > 45_000),
        Some("session_command") => wait("wait_ms").is_some_and(|ms| ms > 45_000),
        _ => false,
    }
}

fn sse_event(message: &impl std::fmt::Display) -> Bytes {
    Bytes::from(format!("event: message\ndata: {message}\n\n"))
}

/// Answers a `tools/call` as SSE: a progress notification per report, then
/// the result. The call is cancelled when the client sends
/// `notifications/cancelled` for it or hangs up on the stream.
#[allow(clippy::too_many_arguments)]
fn stream_call(
    state: web::Data<AppState>,
    principal: Principal,
    session: Option<String>,
    id: Value,
    method: String,
    params: Value,
    token: Option<Value>,
    finisher: Option<retries::Finisher>,
) -> HttpResponse {
    let (events, mut events_rx) = mpsc::unbounded_channel::<Bytes>();
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
    // Registered while it runs, so notifications/cancelled can stop it.
    let in_flight = state.mcp_in_flight.register(session.as_deref(), &id);
    let cancel = in_flight.token();
    actix_web::rt::spawn(async move {
        let _in_flight = in_flight;
        let call = handle_request(
            &state,
            &principal,
            id,
            &method,
            params,
            Progress::to(progress_tx),
            cancel.clone(),
        );
        tokio::pin!(call);
        let mut hung_up = false;
        // Gateways give up on a silent stream (ContextForge after 60 s):
        // a comment line every 15 s keeps it alive without an event.
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        keep_alive.tick().await;
        let response = loop {
            tokio::select! {
                biased;
                Some(update) = progress_rx.recv() => {
                    if let Some(token) = &token {
                        let _ = events.send(sse_event(&progress_notification(token, &update)));
                    }
                }
                _ = keep_alive.tick() => {
                    let _ = events.send(Bytes::from_static(b": keep-alive\n\n"));
                }
                // A client that hangs up on the stream no longer wants the result.
                _ = events.closed(), if !hung_up => {
                    hung_up = true;
                    cancel.cancel();
                }
                response = &mut call => break response,
            }
        };
        while let Ok(update) = progress_rx.try_recv() {
            if let Some(token) = &token {
                let _ = events.send(sse_event(&progress_notification(token, &update)));
            }
        }
        if let Some(f) = finisher {
            f.finish(&response);
        }
        let _ = events.send(sse_event(&response));
    });
    let body = futures::stream::poll_fn(move |cx| {
        events_rx
            .poll_recv(cx)
            .map(|item| item.map(Ok::<Bytes, Infallible>))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(body)
}

async fn get() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST, DELETE"))
        .finish()
}

async fn delete(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match header_text(&req, SESSION_HEADER) {
        None => refuse(
            StatusCode::BAD_REQUEST,
            Value::Null,
            codes::INVALID_REQUEST,
            "DELETE needs the Mcp-Session-Id header of the session to end",
        ),
        Some(id) if state.mcp_sessions.remove(id) => HttpResponse::NoContent().finish(),
        Some(_) => refuse(
            StatusCode::NOT_FOUND,
            Value::Null,
            codes::INVALID_REQUEST,
            "unknown or expired Mcp-Session-Id",
        ),
    }
}
