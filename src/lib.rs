//! termbridge: one server that lets programs and AI agents drive terminals
//! and run network tools, over REST (OpenAPI 3 at `/openapi.json`) and MCP
//! (streamable HTTP at `/mcp`), behind a bearer token.
//!
//! This crate holds the transports and the wiring; the subsystems live in
//! `termbridge-actors`. [`run`] starts a server on a listener the caller
//! bound, which is how the tests start real servers on `127.0.0.1:0`.

pub mod access;
pub mod audit;
pub mod auth;
pub mod bridge;
pub mod config;
pub mod errors;
pub mod mcp;
pub mod mcpb;
pub mod rest;
pub mod stream;
pub mod tools;
pub mod ui;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use termbridge_actors::{SubsystemsConfig, Supervisor};

pub use config::Config;

use crate::auth::Door;
use crate::mcp::sessions::McpSessions;
use crate::tools::{Progress, ToolContext};

/// Everything the request handlers share.
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The subsystem actors.
    pub subsystems: Arc<Supervisor>,
    /// Live MCP sessions.
    pub mcp_sessions: McpSessions,
    /// MCP requests running now, for `notifications/cancelled`.
    pub mcp_in_flight: mcp::inflight::InFlight,
    /// Recent state-changing calls, so a gateway's retry never runs one twice.
    pub mcp_retries: Arc<mcp::retries::RetryGuard>,
    /// The OpenAPI document, serialized once.
    pub openapi: String,
    /// The audit log, when configured.
    pub audit: Option<audit::AuditLog>,
}

impl AppState {
    /// The context a tool call runs in.
    pub fn tool_context(&self, progress: Progress, principal: access::Principal) -> ToolContext {
        ToolContext {
            subsystems: self.subsystems.clone(),
            config: self.config.clone(),
            progress,
            cancel: Default::default(),
            principal,
        }
    }
}

/// What the subsystems need from the configuration.
fn subsystems_config(config: &Config) -> SubsystemsConfig {
    let mut subsystems = SubsystemsConfig::default();
    subsystems.dns.servers = config.dns_servers.clone();
    if let Some(list) = &config.whois_servers {
        subsystems.whois.servers = list.clone();
    }
    subsystems.terminal = config.terminal.clone();
    subsystems.max_network_operations = config.max_network_operations;
    subsystems.net = config.net.clone();
    subsystems.docs = config.docs.clone();
    subsystems
}

/// Starts the server on `listener`. Must be called inside an actix system
/// (`#[actix_web::main]`, `#[actix_web::test]`); the returned `Server` runs
/// when awaited or spawned, and its handle stops it.
pub fn run(listener: TcpListener, config: Config) -> std::io::Result<Server> {
    run_with_subsystems(listener, config).map(|(server, _)| server)
}

/// Like [`run`], also handing back the subsystems (tests use it to inject
/// faults and to look at actors directly).
pub fn run_with_subsystems(
    listener: TcpListener,
    config: Config,
) -> std::io::Result<(Server, Arc<Supervisor>)> {
    let local = listener.local_addr()?;
    let door = Arc::new(Door::new(&config, local));
    let (state, subsystems) = app_state(config);
    let server = HttpServer::new(move || {
        let door = door.clone();
        App::new()
            .app_data(state.clone())
            .app_data(web::Data::from(door.clone()))
            .wrap(from_fn(move |req, next| {
                auth::guard(door.clone(), req, next)
            }))
            // The router tries resources in this order, and every REST
            // path with a `{param}` costs a regex search: `/mcp`, the
            // busiest path with the fewest routes, goes first.
            .configure(mcp::http::routes)
            .configure(rest::routes)
            .configure(stream::routes)
            .configure(ui::routes)
            .default_service(web::to(rest::not_found))
    })
    .listen(listener)?
    .shutdown_timeout(5)
    // The caller decides what a signal means (`termbridge serve` closes
    // its sessions first); tests run many servers in one process.
    .disable_signals()
    // Slow clients (slowloris) get 10 s to send their headers.
    .client_request_timeout(std::time::Duration::from_secs(10))
    .run();
    Ok((server, subsystems))
}

/// The state the transports share, with the subsystems started: what
/// [`run_with_subsystems`] serves over HTTP and `termbridge stdio` over
/// stdin/stdout. Must be called inside an actix system.
pub fn app_state(config: Config) -> (web::Data<AppState>, Arc<Supervisor>) {
    let subsystems = Arc::new(Supervisor::start(subsystems_config(&config)));
    let audit = config.access.audit_log.clone().map(|path| {
        audit::AuditLog::new(
            path,
            config.access.audit_max_bytes,
            config.access.redactor.clone(),
        )
    });
    let state = web::Data::new(AppState {
        config: Arc::new(config),
        subsystems: subsystems.clone(),
        mcp_sessions: McpSessions::default(),
        mcp_in_flight: Default::default(),
        mcp_retries: Default::default(),
        openapi: rest::openapi::document().to_string(),
        audit,
    });
    (state, subsystems)
}
