//! MCP resources: the documents `docs_search` searches, as `docs://` URIs.
//!
//! `resources/list` pages through every document (bundled pages, configured
//! directories, man pages) with `docs://<source>/<path>` URIs;
//! `resources/read` returns a document's whole text, or one section with its
//! subsections when the URI ends in `#<section id>` (secrets redacted as in
//! tool answers). The one template,
//! `docs://{source}/{+path}`, says how URIs are built.

use serde_json::{Value, json};
use termbridge_actors::ActorError;
use termbridge_actors::docs::{ListDocuments, ReadResource};

use super::{codes, error_response, success_response};
use crate::AppState;

/// Documents per `resources/list` page.
pub const PAGE_SIZE: usize = 100;

/// `resources/list`: one page of documents; `nextCursor` when there are more.
pub async fn list(state: &AppState, id: Value, params: &Value) -> Value {
    let cursor = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => match c.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return error_response(
                    id,
                    codes::INVALID_PARAMS,
                    format!("invalid cursor {c:?}: pass the nextCursor of the previous page"),
                );
            }
        },
        Some(_) => {
            return error_response(id, codes::INVALID_PARAMS, "\"cursor\" must be a string");
        }
    };
    let page = state
        .subsystems
        .docs
        .ask(ListDocuments {
            cursor,
            limit: PAGE_SIZE,
        })
        .await;
    match page {
        Ok(page) => {
            let resources: Vec<Value> = page
                .documents
                .into_iter()
                .map(|d| {
                    json!({
                        "uri": d.uri,
                        "name": d.doc_id,
                        "title": d.title,
                        "description": format!("{} (source {}, doc_id {})", d.title, d.source, d.doc_id),
                        "mimeType": d.mime_type,
                        "size": d.size,
                    })
                })
                .collect();
            let mut result = json!({"resources": resources});
            if let Some(next) = page.next {
                result["nextCursor"] = json!(next.to_string());
            }
            success_response(id, result)
        }
        Err(e) => error_response(id, -32603, e.to_string()),
    }
}

/// `resources/read`: the text of one document (or `#section`).
pub async fn read(state: &AppState, id: Value, params: &Value) -> Value {
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return error_response(
            id,
            codes::INVALID_PARAMS,
            "resources/read needs params.uri (a string)",
        );
    };
    let answer = state
        .subsystems
        .docs
        .ask(ReadResource {
            uri: uri.to_string(),
        })
        .await;
    match answer {
        Ok(text) => {
            // Secrets are hidden here as in every tool answer.
            let body = state.config.access.redactor.redact(&text.text);
            success_response(
                id,
                json!({"contents": [{"uri": text.uri, "mimeType": text.mime_type, "text": body}]}),
            )
        }
        Err(ActorError::NotFound(message)) => {
            let mut response = error_response(id, codes::RESOURCE_NOT_FOUND, message);
            response["error"]["data"] = json!({"uri": uri});
            response
        }
        Err(e) => error_response(id, -32603, e.to_string()),
    }
}

/// `resources/templates/list`.
pub fn templates() -> Value {
    json!({"resourceTemplates": [{
        "uriTemplate": "docs://{source}/{+path}",
        "name": "docs",
        "title": "Documentation page",
        "description": "A document of a docs_search source: `bundled` (termbridge's own docs, e.g. \
            docs://bundled/tools/dns_lookup.md), `man` (docs://man/ls.1, when enabled) or a configured \
            directory's name. Add #<section id> to read one section.",
        "mimeType": "text/markdown",
    }]})
}
