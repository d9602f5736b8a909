//! THE tool registry: every tool termbridge offers, defined once.
//!
//! A tool is a type implementing [`Tool`]: name, description, input and output
//! types, REST method and path, scope and MCP annotations, and a `call` that
//! sends one actor message. [`TOOLS`] is the one list of all tools; the REST
//! routes, the OpenAPI document, MCP `tools/list` and `tools/call` are all
//! generated from it. Adding a tool is one new file here plus one line in
//! [`TOOLS`].

pub mod canonical;
pub mod dispatch;
pub mod dns_lookup;
pub mod docs_read;
pub mod docs_search;
pub mod ip_addresses;
pub mod ping;
pub mod server_info;
pub mod session_close;
pub mod session_command;
pub mod session_list;
pub mod session_open;
pub mod session_output;
pub mod session_resize;
pub mod session_restart;
pub mod session_run;
pub mod session_screen;
pub mod session_send_keys;
pub mod traceroute;
pub mod whois_lookup;

use std::sync::Arc;

use futures::future::LocalBoxFuture;
use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use termbridge_actors::Supervisor;
use tokio_util::sync::CancellationToken;

use crate::access::Redactor;
use crate::config::Config;
use crate::errors::ApiError;

/// The HTTP method of a tool's REST route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// Reads; input from the path and query string.
    Get,
    /// Actions; input from the path and a JSON body.
    Post,
    /// Removal; input from the path (and an optional JSON body).
    Delete,
}

impl HttpMethod {
    /// Lower-case name as OpenAPI path items spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
            HttpMethod::Delete => "delete",
        }
    }
}

/// What a token must be allowed to do to use a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Looks without changing anything.
    Read,
    /// Changes state: opens sessions, types into terminals.
    Control,
}

/// MCP tool annotations (hints for clients; never trusted for security).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotations {
    /// The tool does not modify its environment.
    pub read_only: bool,
    /// The tool may destroy or overwrite something.
    pub destructive: bool,
    /// Calling it again with the same arguments has no further effect.
    pub idempotent: bool,
    /// The tool talks to things outside this machine.
    pub open_world: bool,
}

impl Annotations {
    /// A tool that only reads local state.
    pub const READ_LOCAL: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
}

/// Receives progress reports from a running tool; the MCP layer turns them
/// into `notifications/progress` when the client asked for them.
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<tokio::sync::mpsc::UnboundedSender<ProgressUpdate>>,
}

/// One progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    /// Work done so far; increases with every report.
    pub progress: f64,
    /// Total work, when known.
    pub total: Option<f64>,
    /// A human-readable line about this step.
    pub message: Option<String>,
}

impl Progress {
    /// A progress handle that forwards reports to `sink`.
    pub fn to(sink: tokio::sync::mpsc::UnboundedSender<ProgressUpdate>) -> Progress {
        Progress { sink: Some(sink) }
    }

    /// True when somebody listens; tools may skip building messages otherwise.
    pub fn wanted(&self) -> bool {
        self.sink.is_some()
    }

    /// Reports one step. A listener that went away is not an error.
    pub fn report(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        if let Some(sink) = &self.sink {
            let _ = sink.send(ProgressUpdate {
                progress,
                total,
                message: Some(message.into()),
            });
        }
    }
}

/// What a tool call can reach: the subsystems, the configuration, a progress
/// channel.
#[derive(Clone)]
pub struct ToolContext {
    /// Every subsystem actor.
    pub subsystems: Arc<Supervisor>,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// Where to report progress.
    pub progress: Progress,
    /// Fires when the caller gives up on the call (MCP
    /// `notifications/cancelled`, or the client went away); long tools pass
    /// it to their actor so the work stops.
    pub cancel: CancellationToken,
    /// The token the call came with.
    pub principal: crate::access::Principal,
}

/// The future a tool call returns.
pub type ToolFuture<T> = LocalBoxFuture<'static, Result<T, ApiError>>;

/// A tool's answer, still typed, for `dispatch::call` to serialize once in
/// the form it needs.
pub type Answer = Box<dyn AnyAnswer>;

/// The two ways a tool's output is serialized.
pub trait AnyAnswer {
    /// As a `Value`, for the checks that look into an answer (the audit
    /// log, the session filter of limited tokens).
    fn to_value(&self) -> Result<Value, serde_json::Error>;
    /// As JSON text with sorted keys and redacted strings: the bytes of
    /// `to_value` followed by redaction and `to_string`
    /// (see [`canonical`]).
    fn to_redacted_json(&self, redactor: &Redactor) -> Result<String, serde_json::Error>;
}

impl<T: Serialize> AnyAnswer for T {
    fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn to_redacted_json(&self, redactor: &Redactor) -> Result<String, serde_json::Error> {
        canonical::to_json(self, redactor)
    }
}

/// One tool, defined once.
pub trait Tool: 'static {
    /// MCP tool name (public API: never rename).
    const NAME: &'static str;
    /// Short human title.
    const TITLE: &'static str;
    /// What the tool does and when to use it, for agents and for OpenAPI.
    const DESCRIPTION: &'static str;
    /// REST method.
    const METHOD: HttpMethod;
    /// REST path under the server root, with `{param}` segments.
    const PATH: &'static str;
    /// The scope a token needs.
    const SCOPE: Scope;
    /// MCP annotations.
    const ANNOTATIONS: Annotations;
    /// The input has a `request_id`, which REST also takes from an
    /// `Idempotency-Key` header.
    const ACCEPTS_REQUEST_ID: bool = false;
    /// Arguments (MCP) / query or body (REST).
    type Input: DeserializeOwned + Serialize + JsonSchema;
    /// The result; its schema is the MCP `outputSchema` and the REST 200 body.
    type Output: Serialize + JsonSchema + 'static;

    /// Runs the tool.
    fn call(ctx: ToolContext, input: Self::Input) -> ToolFuture<Self::Output>;
}

/// A tool with its types erased, as the transports use it.
#[derive(Clone, Copy)]
pub struct ToolDef {
    /// See [`Tool::NAME`].
    pub name: &'static str,
    /// See [`Tool::TITLE`].
    pub title: &'static str,
    /// See [`Tool::DESCRIPTION`].
    pub description: &'static str,
    /// See [`Tool::METHOD`].
    pub method: HttpMethod,
    /// See [`Tool::PATH`].
    pub path: &'static str,
    /// See [`Tool::SCOPE`].
    pub scope: Scope,
    /// See [`Tool::ANNOTATIONS`].
    pub annotations: Annotations,
    /// See [`Tool::ACCEPTS_REQUEST_ID`].
    pub accepts_request_id: bool,
    /// Schema of the input, from the given generator.
    pub input_schema: fn(&mut SchemaGenerator) -> Schema,
    /// Schema of the output, from the given generator.
    pub output_schema: fn(&mut SchemaGenerator) -> Schema,
    /// Checks JSON arguments against the input type and returns them in
    /// canonical form (defaults filled in).
    pub check_input: fn(Value) -> Result<Value, ApiError>,
    /// Decodes a query string (GET) into canonical JSON arguments.
    pub decode_query: fn(&str) -> Result<Value, ApiError>,
    /// Runs the tool on canonical JSON arguments.
    pub invoke: fn(ToolContext, Value) -> ToolFuture<Answer>,
}

impl ToolDef {
    /// The erased definition of `T`.
    pub const fn of<T: Tool>() -> ToolDef {
        ToolDef {
            name: T::NAME,
            title: T::TITLE,
            description: T::DESCRIPTION,
            method: T::METHOD,
            path: T::PATH,
            scope: T::SCOPE,
            annotations: T::ANNOTATIONS,
            accepts_request_id: T::ACCEPTS_REQUEST_ID,
            input_schema: |generator| generator.subschema_for::<T::Input>(),
            output_schema: |generator| generator.subschema_for::<T::Output>(),
            check_input: check_input::<T>,
            decode_query: decode_query::<T>,
            invoke: invoke::<T>,
        }
    }

    /// Names of the REST path parameters, in order (`{id}` -> `id`).
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// The input field a REST path parameter fills: `{id}` is the session id,
/// which MCP callers pass as `session_id`.
pub fn input_field_for_path_param(param: &str) -> &str {
    match param {
        "id" => "session_id",
        other => other,
    }
}

fn invalid_arguments<T: Tool>(err: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidParams(format!("invalid arguments for {}: {err}", T::NAME))
}

fn check_input<T: Tool>(args: Value) -> Result<Value, ApiError> {
    let args = match args {
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => args,
        other => {
            return Err(invalid_arguments::<T>(format!(
                "expected a JSON object, got {}",
                json_type_name(&other)
            )));
        }
    };
    let input: T::Input = serde_json::from_value(args).map_err(invalid_arguments::<T>)?;
    serde_json::to_value(input).map_err(|e| ApiError::Internal(e.to_string()))
}

fn decode_query<T: Tool>(query: &str) -> Result<Value, ApiError> {
    let input: T::Input = serde_urlencoded::from_str(query).map_err(invalid_arguments::<T>)?;
    serde_json::to_value(input).map_err(|e| ApiError::Internal(e.to_string()))
}

fn invoke<T: Tool>(ctx: ToolContext, args: Value) -> ToolFuture<Answer> {
    let input: T::Input = match serde_json::from_value(args) {
        Ok(input) => input,
        Err(e) => return Box::pin(futures::future::ready(Err(invalid_arguments::<T>(e)))),
    };
    Box::pin(async move {
        // A call whose future is dropped (the client went away) cancels
        // what it started; a call that finishes does not.
        let abandoned = ctx.cancel.clone().drop_guard();
        let output = T::call(ctx, input).await;
        abandoned.disarm();
        Ok(Box::new(output?) as Answer)
    })
}

/// JSON type names as error messages use them.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every tool, in the order `tools/list` and the OpenAPI document show them.
pub static TOOLS: &[ToolDef] = &[
    ToolDef::of::<server_info::ServerInfo>(),
    ToolDef::of::<session_list::SessionList>(),
    ToolDef::of::<session_open::SessionOpen>(),
    ToolDef::of::<session_screen::SessionScreen>(),
    ToolDef::of::<session_output::SessionOutput>(),
    ToolDef::of::<session_run::SessionRun>(),
    ToolDef::of::<session_command::SessionCommand>(),
    ToolDef::of::<session_send_keys::SessionSendKeys>(),
    ToolDef::of::<session_resize::SessionResize>(),
    ToolDef::of::<session_restart::SessionRestart>(),
    ToolDef::of::<session_close::SessionClose>(),
    ToolDef::of::<ip_addresses::IpAddresses>(),
    ToolDef::of::<dns_lookup::DnsLookup>(),
    ToolDef::of::<whois_lookup::WhoisLookup>(),
    ToolDef::of::<ping::PingTool>(),
    ToolDef::of::<traceroute::TracerouteTool>(),
    ToolDef::of::<docs_search::DocsSearch>(),
    ToolDef::of::<docs_read::DocsRead>(),
];

/// The tool called `name`.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    TOOLS.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_routes_are_unique() {
        let mut names: Vec<_> = TOOLS.iter().map(|t| t.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TOOLS.len());
        let mut routes: Vec<_> = TOOLS.iter().map(|t| (t.method.as_str(), t.path)).collect();
        routes.sort();
        routes.dedup();
        assert_eq!(routes.len(), TOOLS.len());
    }

    #[test]
    fn path_params_are_read_from_the_template() {
        let def = ToolDef {
            path: "/api/v1/sessions/{id}/commands/{command_id}",
            ..*find("server_info").unwrap()
        };
        assert_eq!(def.path_params(), vec!["id", "command_id"]);
        assert_eq!(input_field_for_path_param("id"), "session_id");
        assert_eq!(input_field_for_path_param("command_id"), "command_id");
    }

    #[test]
    fn arguments_must_be_an_object() {
        let def = find("server_info").unwrap();
        let err = (def.check_input)(Value::from(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid arguments for server_info: expected a JSON object, got a number"
        );
        assert!((def.check_input)(Value::Null).is_ok());
    }
}
