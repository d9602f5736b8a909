//! MCP: JSON-RPC 2.0 messages dispatched to the tool registry.
//!
//! This module knows the protocol (lifecycle, tools, errors) and nothing of
//! HTTP; `http.rs` carries it over streamable HTTP. A tool failure is a
//! result with `isError: true`; JSON-RPC errors are only for protocol faults.

pub mod http;
pub mod inflight;
pub mod resources;
pub mod retries;
pub mod sessions;
pub mod stdio;

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::access::Principal;
use crate::tools::{Progress, Scope, TOOLS, ToolDef, dispatch, find};

/// Protocol versions we speak, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// The version assumed when a client sends neither a session nor a version
/// header (the spec's default for such requests).
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-03-26";

/// JSON-RPC error codes used for protocol faults.
pub mod codes {
    /// Invalid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a valid JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i64 = -32602;
    /// `resources/read` of a URI we do not have (the MCP spec's code).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
}

/// Text for `initialize`'s `instructions`: how an agent should use us.
pub const INSTRUCTIONS: &str = "termbridge drives terminals and network tools on the machine it runs on. \
Start with server_info. To work in a terminal: session_open (a local shell by default, or kind \"ssh\"), \
then session_run to type a command and get its exit code and output; if the answer says \"running\", \
poll session_command with the command_id; if it says \"awaiting_input\", answer with session_send_keys. \
session_screen shows what a person would see (use it for full-screen programs), session_output pages \
through everything the session printed. Pass a request_id to session_run so a retry never runs a \
command twice. Network: ip_addresses, dns_lookup, whois_lookup, ping, traceroute. Documentation: \
docs_search then docs_read. Every answer is bounded; when output is cut, the result says so and gives \
a cursor to read on.";

/// True when we speak `version`.
pub fn is_supported(version: &str) -> bool {
    SUPPORTED_PROTOCOL_VERSIONS.contains(&version)
}

/// The version to answer `initialize` with: the client's if we speak it,
/// else our newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED_PROTOCOL_VERSIONS.iter().find(|v| **v == r))
        .copied()
        .unwrap_or(SUPPORTED_PROTOCOL_VERSIONS[0])
}

/// Whether JSON-RPC batches are allowed in `version` (only 2025-03-26 has them).
pub fn batches_allowed(version: &str) -> bool {
    version == "2025-03-26"
}

/// A JSON-RPC error response.
pub fn error_response(id: Value, code: i64, message: impl Into<String>) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message.into()}})
}

/// A JSON-RPC success response.
pub fn success_response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// One JSON-RPC message as JSON text, serialized once (compact, as
/// `serde_json` writes a `Value`): what [`handle_request`] answers, sent as
/// it is by the transports (HTTP body, SSE `data:` line, stdio line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply(String);

impl Reply {
    /// `message` as a reply.
    pub fn of(message: &Value) -> Reply {
        Reply(message.to_string())
    }

    /// The replies to a JSON-RPC batch, as one JSON array.
    pub fn batch(replies: &[Reply]) -> Reply {
        let mut text = String::from("[");
        for (i, reply) in replies.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&reply.0);
        }
        text.push(']');
        Reply(text)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The response to a `tools/call` that succeeded: the tool's answer (JSON
/// text, redacted, from `dispatch::call`) as `structuredContent`, and the
/// same text, escaped, as the text content. Written around the answer
/// rather than built as a `Value` (a copy of the answer, serialized twice
/// more); the bytes are those of `success_response(id, json!({"content":
/// [{"type": "text", "text": answer.to_string()}], "structuredContent":
/// answer, "isError": false}))` for the answer as a `Value`, keys in sorted
/// order as a `Value` writes them (checked by a test).
fn tool_reply(id: &Value, output: &str) -> Reply {
    let mut out = Vec::with_capacity(2 * output.len() + 128);
    out.extend_from_slice(br#"{"id":"#);
    // Writing a `Value` or a `str` to a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut out, id);
    out.extend_from_slice(br#","jsonrpc":"2.0","result":{"content":[{"text":"#);
    let _ = serde_json::to_writer(&mut out, output);
    out.extend_from_slice(br#","type":"text"}],"isError":false,"structuredContent":"#);
    out.extend_from_slice(output.as_bytes());
    out.extend_from_slice(b"}}");
    Reply(String::from_utf8(out).expect("JSON text is UTF-8"))
}

/// A `notifications/progress` message.
pub fn progress_notification(token: &Value, update: &crate::tools::ProgressUpdate) -> Value {
    let mut params = json!({"progressToken": token, "progress": update.progress});
    if let Some(total) = update.total {
        params["total"] = json!(total);
    }
    if let Some(message) = &update.message {
        params["message"] = json!(message);
    }
    json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": params})
}

/// One incoming JSON-RPC message, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request: needs a response with the same id.
    Request {
        /// The request id (string or number).
        id: Value,
        /// The method.
        method: String,
        /// The params (object, or null when absent).
        params: Value,
    },
    /// A notification: no response.
    Notification {
        /// The method.
        method: String,
        /// The params.
        params: Value,
    },
    /// A response from the client to something we asked (ignored for now).
    Response,
}

/// Classifies a message, or says why it is not valid JSON-RPC 2.0 (with the
/// id to answer with, if one could be read).
pub fn classify(message: &Value) -> Result<Incoming, (Value, String)> {
    let Some(obj) = message.as_object() else {
        return Err((Value::Null, "a JSON-RPC message must be an object".into()));
    };
    let id = obj.get("id").cloned();
    let reply_id = id.clone().filter(valid_id).unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((reply_id, "\"jsonrpc\" must be \"2.0\"".into()));
    }
    if let Some(id) = &id
        && !valid_id(id)
    {
        return Err((Value::Null, "\"id\" must be a string or a number".into()));
    }
    let params = obj.get("params").cloned().unwrap_or(Value::Null);
    if !(params.is_null() || params.is_object() || params.is_array()) {
        return Err((reply_id, "\"params\" must be an object or an array".into()));
    }
    match (obj.get("method"), id) {
        (Some(Value::String(method)), Some(id)) => Ok(Incoming::Request {
            id,
            method: method.clone(),
            params,
        }),
        (Some(Value::String(method)), None) => Ok(Incoming::Notification {
            method: method.clone(),
            params,
        }),
        (Some(_), _) => Err((reply_id, "\"method\" must be a string".into())),
        (None, Some(_)) if obj.contains_key("result") || obj.contains_key("error") => {
            Ok(Incoming::Response)
        }
        (None, _) => Err((reply_id, "a request needs a \"method\"".into())),
    }
}

fn valid_id(id: &Value) -> bool {
    id.is_string() || id.is_i64() || id.is_u64()
}

/// The `_meta.progressToken` of a request, if any.
pub fn progress_token(params: &Value) -> Option<Value> {
    params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
        .cloned()
}

/// Self-contained JSON Schema (draft 2020-12) for one side of a tool.
fn root_schema(
    make: fn(&mut schemars::generate::SchemaGenerator) -> schemars::Schema,
    output: bool,
) -> Value {
    let settings = SchemaSettings::draft2020_12();
    let settings = if output {
        settings.for_serialize()
    } else {
        settings.for_deserialize()
    };
    let mut generator = settings.into_generator();
    let schema = make(&mut generator).to_value();
    let mut defs = generator.take_definitions(true);
    let mut root = match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => defs.remove(name).unwrap_or(schema),
        None => schema,
    };
    if !defs.is_empty() {
        root["$defs"] = Value::Object(defs);
    }
    // Some clients insist on `properties`, even for tools without arguments.
    if root["type"] == "object" && root.get("properties").is_none() {
        root["properties"] = json!({});
    }
    root
}

/// The `tools/list` entry of one tool.
pub fn tool_entry(def: &ToolDef) -> Value {
    json!({
        "name": def.name,
        "title": def.title,
        "description": def.description,
        "inputSchema": root_schema(def.input_schema, false),
        "outputSchema": root_schema(def.output_schema, true),
        "annotations": {
            "title": def.title,
            "readOnlyHint": def.annotations.read_only,
            "destructiveHint": def.annotations.destructive,
            "idempotentHint": def.annotations.idempotent,
            "openWorldHint": def.annotations.open_world,
        },
    })
}

/// The `tools/list` result, built once.
pub fn tools_list() -> &'static Value {
    tools_list_for(Scope::Control)
}

/// The `tools/list` a token of `scope` sees: tools it cannot use are hidden.
pub fn tools_list_for(scope: Scope) -> &'static Value {
    static CONTROL: OnceLock<Value> = OnceLock::new();
    static READ: OnceLock<Value> = OnceLock::new();
    let slot = if scope == Scope::Control {
        &CONTROL
    } else {
        &READ
    };
    slot.get_or_init(|| {
        let tools: Vec<Value> = TOOLS
            .iter()
            .filter(|t| t.scope <= scope)
            .map(tool_entry)
            .collect();
        json!({ "tools": tools })
    })
}

/// The `initialize` result for `version`.
pub fn initialize_result(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {
            "tools": {"listChanged": false},
            "resources": {"subscribe": false, "listChanged": false},
            "logging": {},
        },
        "serverInfo": {
            "name": env!("CARGO_PKG_NAME"),
            "title": "termbridge",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "instructions": INSTRUCTIONS,
    })
}

const LOG_LEVELS: &[&str] = &[
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// Answers one request. `initialize` is handled by the transport (it creates
/// the session); everything else is here. `cancel` fires when the client
/// cancels the request; a tool sees it as `ToolContext::cancel`.
pub async fn handle_request(
    state: &AppState,
    principal: &Principal,
    id: Value,
    method: &str,
    params: Value,
    progress: Progress,
    cancel: CancellationToken,
) -> Reply {
    let response = match method {
        "initialize" => {
            let requested = params.get("protocolVersion").and_then(Value::as_str);
            success_response(id, initialize_result(negotiate(requested)))
        }
        "ping" => success_response(id, json!({})),
        "logging/setLevel" => match params.get("level").and_then(Value::as_str) {
            Some(level) if LOG_LEVELS.contains(&level) => success_response(id, json!({})),
            _ => error_response(
                id,
                codes::INVALID_PARAMS,
                format!("\"level\" must be one of {}", LOG_LEVELS.join(", ")),
            ),
        },
        "tools/list" => success_response(id, tools_list_for(principal.scope).clone()),
        "tools/call" => return call_tool(state, principal, id, params, progress, cancel).await,
        "resources/list" => resources::list(state, id, &params).await,
        "resources/read" => resources::read(state, id, &params).await,
        "resources/templates/list" => success_response(id, resources::templates()),
        other => error_response(
            id,
            codes::METHOD_NOT_FOUND,
            format!("method not found: {other}"),
        ),
    };
    Reply::of(&response)
}

async fn call_tool(
    state: &AppState,
    principal: &Principal,
    id: Value,
    mut params: Value,
    progress: Progress,
    cancel: CancellationToken,
) -> Reply {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Reply::of(&error_response(
            id,
            codes::INVALID_PARAMS,
            "tools/call needs params.name (a string)",
        ));
    };
    let Some(def) = find(name) else {
        return Reply::of(&error_response(
            id,
            codes::INVALID_PARAMS,
            format!("unknown tool: {name}"),
        ));
    };
    let arguments = params
        .get_mut("arguments")
        .map_or(Value::Object(Map::new()), Value::take);
    let outcome = match (def.check_input)(arguments) {
        Ok(args) => dispatch::call(state, def, args, principal.clone(), progress, cancel).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(output) => tool_reply(&id, &output),
        Err(e) => Reply::of(&success_response(id, e.to_tool_result())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_answers_the_clients_version_or_our_newest() {
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("2024-11-05")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
    }

    #[test]
    fn classify_tells_requests_notifications_and_faults_apart() {
        let req = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"});
        assert!(matches!(classify(&req), Ok(Incoming::Request { .. })));
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(matches!(classify(&note), Ok(Incoming::Notification { .. })));
        let resp = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        assert_eq!(classify(&resp), Ok(Incoming::Response));
        for (bad, id) in [
            (json!({"id": 1, "method": "ping"}), json!(1)),
            (
                json!({"jsonrpc": "1.0", "id": "a", "method": "ping"}),
                json!("a"),
            ),
            (
                json!({"jsonrpc": "2.0", "id": {}, "method": "ping"}),
                Value::Null,
            ),
            (json!({"jsonrpc": "2.0", "id": 1, "method": 5}), json!(1)),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "x", "params": 3}),
                json!(1),
            ),
            (json!({"jsonrpc": "2.0", "id": 1}), json!(1)),
            (json!("hello"), Value::Null),
        ] {
            let (got_id, _) = classify(&bad).unwrap_err();
            assert_eq!(got_id, id, "{bad}");
        }
    }

    #[test]
    fn a_tool_reply_has_the_bytes_of_the_value_it_stands_for() {
        let outputs = [
            json!({}),
            json!({"name": "termbridge", "tools": ["a", "b"], "uptime_seconds": 12}),
            json!({
                "zeta": [1, -2, 2.5, 1e300, null, true, false, u64::MAX, i64::MIN],
                "alpha": {"text": "quote \" backslash \\ slash / newline \n tab \t bell \u{7} del \u{7f}",
                          "unicode": "é → データ ✓ \u{1F600} \u{2028}", "empty": ""},
                "Upper": [], "_under": {"b": {}, "a": [[]]},
            }),
        ];
        let ids = [json!(1), json!(0), json!(u64::MAX), json!("r-\"1\"\n é")];
        for id in &ids {
            for output in &outputs {
                let text = output.to_string();
                let expected = success_response(
                    id.clone(),
                    json!({
                        "content": [{"type": "text", "text": output.to_string()}],
                        "structuredContent": output,
                        "isError": false,
                    }),
                );
                assert_eq!(tool_reply(id, &text).as_str(), expected.to_string());
            }
        }
    }

    #[test]
    fn a_batch_reply_is_the_array_of_its_replies() {
        let replies = [
            json!({"id": 1, "result": {}}),
            json!({"id": "b", "error": {"code": 1}}),
        ];
        let of: Vec<Reply> = replies.iter().map(Reply::of).collect();
        assert_eq!(Reply::batch(&of).as_str(), json!(replies).to_string());
        assert_eq!(
            Reply::batch(&of[..1]).as_str(),
            json!([replies[0]]).to_string()
        );
    }

    #[test]
    fn every_tool_has_object_schemas_and_a_description() {
        for tool in tools_list()["tools"].as_array().unwrap() {
            assert!(!tool["description"].as_str().unwrap().is_empty());
            assert_eq!(tool["inputSchema"]["type"], "object", "{}", tool["name"]);
            assert_eq!(tool["outputSchema"]["type"], "object", "{}", tool["name"]);
        }
    }
}
