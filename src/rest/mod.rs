//! REST: one route per tool, generated from the registry, plus `/health` and
//! `/openapi.json`.
//!
//! GET tools read their arguments from the query string, the others from a
//! JSON body; path parameters (`{id}`) fill the matching input field
//! (`session_id`). Answers are the tool's output as JSON, errors
//! `{"error":{"code","message"}}` (see `errors.rs`).

pub mod openapi;
pub mod recording;

use std::collections::BTreeMap;

use actix_web::http::header::ContentType;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::AppState;
use crate::access::Principal;
use crate::errors::ApiError;
use crate::tools::{HttpMethod, TOOLS, ToolDef, input_field_for_path_param, json_type_name};
use crate::tools::{Progress, dispatch};

/// Registers every tool's route and the public endpoints.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health));
    cfg.route("/openapi.json", web::get().to(openapi_document));
    cfg.service(
        web::resource(recording::PATH)
            .route(web::get().to(recording::download))
            .default_service(web::to(method_not_allowed)),
    );
    // actix answers 405 when a path matches but no route's method does, so
    // every method of one path must live on one resource.
    let mut by_path: BTreeMap<&'static str, Vec<&'static ToolDef>> = BTreeMap::new();
    for def in TOOLS {
        by_path.entry(def.path).or_default().push(def);
    }
    for (path, defs) in by_path {
        let mut resource = web::resource(path);
        for def in defs {
            let route = match def.method {
                HttpMethod::Get => web::get(),
                HttpMethod::Post => web::post(),
                HttpMethod::Delete => web::delete(),
            };
            resource = resource.route(route.to(
                move |req: HttpRequest, payload: web::Payload, state: web::Data<AppState>| {
                    call_tool(def, req, payload, state)
                },
            ));
        }
        cfg.service(resource.default_service(web::to(method_not_allowed)));
    }
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn openapi_document(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi.clone())
}

/// The answer for a known path with an unsupported method.
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    ApiError::MethodNotAllowed(format!(
        "{} is not supported on {}",
        req.method(),
        req.path()
    ))
    .error_response()
}

/// The answer for paths no route knows.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no such endpoint: {} {}", req.method(), req.path()))
        .error_response()
}

/// Reads a request body, refusing more than `limit` bytes whatever the
/// declared length says.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidParams(format!("cannot read body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The tool's canonical JSON arguments from a REST request.
fn rest_arguments(def: &ToolDef, req: &HttpRequest, body: &[u8]) -> Result<Value, ApiError> {
    if def.method == HttpMethod::Get && req.query_string().is_empty() && !def.path.contains('{') {
        // Nothing to merge (the common `GET /api/v1/info`): the defaults.
        return (def.decode_query)("");
    }
    let path_values: Vec<(&str, String)> = def
        .path_params()
        .into_iter()
        .map(|p| {
            let value = req.match_info().get(p).unwrap_or_default().to_string();
            (input_field_for_path_param(p), value)
        })
        .collect();
    if def.method == HttpMethod::Get {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
            .map_err(|e| ApiError::InvalidParams(format!("invalid query string: {e}")))?;
        pairs.retain(|(k, _)| !path_values.iter().any(|(field, _)| field == k));
        pairs.extend(path_values.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let query =
            serde_urlencoded::to_string(&pairs).map_err(|e| ApiError::Internal(e.to_string()))?;
        return (def.decode_query)(&query);
    }
    let mut args = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(ApiError::InvalidParams(format!(
                    "the request body must be a JSON object, got {}",
                    json_type_name(&other)
                )));
            }
            Err(e) => {
                return Err(ApiError::InvalidParams(format!(
                    "the request body is not valid JSON: {e}"
                )));
            }
        }
    };
    for (field, value) in path_values {
        args.insert(field.to_string(), Value::String(value));
    }
    if def.accepts_request_id
        && !args.contains_key("request_id")
        && let Some(key) = req
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
    {
        args.insert("request_id".into(), Value::String(key.to_string()));
    }
    (def.check_input)(Value::Object(args))
}

async fn call_tool(
    def: &'static ToolDef,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, state.config.max_body_bytes).await?;
    let args = rest_arguments(def, &req, &body)?;
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or(ApiError::Unauthorized { token_sent: false })?;
    // REST has no cancel message: a client that hangs up drops this future,
    // which cancels the call (see `tools::invoke`).
    let cancel = Default::default();
    let output = dispatch::call(&state, def, args, principal, Progress::default(), cancel).await?;
    Ok(json_body(&mut HttpResponse::Ok(), output))
}

/// `builder`'s answer with `json`, JSON text already, as its body: what
/// `HttpResponseBuilder::json` sends, without serializing again.
pub fn json_body(builder: &mut HttpResponseBuilder, json: String) -> HttpResponse {
    builder.insert_header(ContentType::json()).body(json)
}
