//! The OpenAPI 3 document, generated from the tool registry.
//!
//! paperclip builds the operation structure (a v2 description converted to
//! OpenAPI 3.0 by its `v3` module); schemars provides the schemas, because
//! paperclip documents enums that carry data as plain strings. What paperclip
//! leaves out or gets wrong is patched here: `info`, the `bearer` security
//! scheme (paperclip only knows apiKey), error responses and the public
//! endpoints. `tests/openapi.rs` validates the result and pins it with a
//! golden file.

use paperclip::v2::models::DefaultApiRaw;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::errors::ErrorBody;
use crate::tools::{HttpMethod, TOOLS, ToolDef, input_field_for_path_param};

/// Formats paperclip's v2 model knows.
const V2_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "date",
    "date-time",
    "password",
];

/// Error statuses every protected operation can answer, with their meaning.
const COMMON_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Invalid input: the message names the field and the problem.",
    ),
    ("401", "Missing or wrong bearer token."),
    (
        "403",
        "Refused: Origin/Host not allowed, or the token's scope does not cover this tool.",
    ),
    ("413", "Request body larger than 1 MiB."),
    ("429", "A limit was reached (sessions, rate); retry later."),
    ("503", "The subsystem is restarting; retry in a moment."),
];

/// Extra error statuses of tools that address a session or wait on the network.
fn extra_errors(def: &ToolDef) -> Vec<(&'static str, &'static str)> {
    let mut extra = Vec::new();
    if !def.path_params().is_empty() {
        extra.push(("404", "No such session, command or document."));
        extra.push((
            "409",
            "The session's state does not allow this (exited, busy).",
        ));
    }
    if def.annotations.open_world {
        extra.push(("502", "The upstream server answered with an error."));
        extra.push(("504", "The upstream server did not answer in time."));
    }
    extra
}

/// The first path segment after `/api/v1/`, used as the operation's tag.
fn tag_of(path: &str) -> String {
    let rest = path.trim_start_matches("/api/v1/");
    let first = rest.split('/').next().unwrap_or(rest);
    match first {
        "info" => "server".to_string(),
        other => other.to_string(),
    }
}

fn schema_value(schema: schemars::Schema) -> Value {
    schema.to_value()
}

/// OpenAPI 3.0 generators: one per direction, since a type can deserialize
/// differently from how it serializes (defaults, skipped fields).
fn generators() -> (SchemaGenerator, SchemaGenerator) {
    (
        SchemaSettings::openapi3()
            .for_deserialize()
            .into_generator(),
        SchemaSettings::openapi3().for_serialize().into_generator(),
    )
}

/// Query parameters of a GET tool: one per input property not in the path.
fn query_parameters(def: &ToolDef, path_fields: &[&str]) -> Vec<Value> {
    let mut settings = SchemaSettings::openapi3().for_deserialize();
    settings.inline_subschemas = true;
    let mut generator = settings.into_generator();
    let schema = schema_value((def.input_schema)(&mut generator));
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut params = Vec::new();
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            if path_fields.contains(&name.as_str()) {
                continue;
            }
            let mut param = json!({
                "in": "query",
                "name": name,
                "required": required.contains(&name.as_str()),
                "type": prop.get("type").and_then(Value::as_str).unwrap_or("string"),
            });
            for key in ["description", "minimum", "maximum", "enum", "default"] {
                if let Some(v) = prop.get(key) {
                    param[key] = v.clone();
                }
            }
            // paperclip panics on formats OpenAPI 2 does not define
            // (schemars emits `uint64`); the minimum already says "unsigned".
            if let Some(format) = prop.get("format").and_then(Value::as_str)
                && V2_FORMATS.contains(&format)
            {
                param["format"] = json!(format);
            }
            params.push(param);
        }
    }
    params
}

/// A v2 operation for one tool (schemas referenced, filled in later).
fn v2_operation(
    def: &ToolDef,
    inputs: &mut SchemaGenerator,
    outputs: &mut SchemaGenerator,
) -> Value {
    let path_params = def.path_params();
    let path_fields: Vec<&str> = path_params
        .iter()
        .map(|p| input_field_for_path_param(p))
        .collect();
    let mut parameters: Vec<Value> = path_params
        .iter()
        .map(|p| {
            json!({
                "in": "path",
                "name": p,
                "required": true,
                "type": "string",
                "description": format!("The `{}` of the {}.", input_field_for_path_param(p), p.trim_end_matches("_id")),
            })
        })
        .collect();
    let input_ref = schema_value((def.input_schema)(inputs));
    let output_ref = schema_value((def.output_schema)(outputs));
    match def.method {
        HttpMethod::Get => parameters.extend(query_parameters(def, &path_fields)),
        HttpMethod::Post | HttpMethod::Delete => parameters.push(json!({
            "in": "body",
            "name": "body",
            "required": def.method == HttpMethod::Post,
            "schema": v2_ref(&input_ref),
        })),
    }
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "Success.", "schema": v2_ref(&output_ref)}),
    );
    for (status, text) in COMMON_ERRORS.iter().copied().chain(extra_errors(def)) {
        responses.insert(
            status.into(),
            json!({"description": text, "schema": {"$ref": "#/definitions/ErrorBody"}}),
        );
    }
    json!({
        "operationId": def.name,
        "summary": def.title,
        "description": def.description,
        "tags": [tag_of(def.path)],
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}],
    })
}

/// `#/components/schemas/X` (what schemars emits) as the v2 `#/definitions/X`.
fn v2_ref(schema: &Value) -> Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => json!({"$ref": r.replace("#/components/schemas/", "#/definitions/")}),
        None => schema.clone(),
    }
}

/// The full OpenAPI 3.0 document as served at `/openapi.json`.
pub fn document() -> Value {
    let (mut inputs, mut outputs) = generators();
    outputs.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for def in TOOLS {
        let item = paths
            .entry(def.path.to_string())
            .or_insert_with(|| json!({}));
        item[def.method.as_str()] = v2_operation(def, &mut inputs, &mut outputs);
    }
    let v2 = json!({
        "swagger": "2.0",
        "info": {"title": "termbridge", "version": env!("CARGO_PKG_VERSION")},
        "basePath": "/",
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": {},
        "securityDefinitions": {
            "bearer": {"type": "apiKey", "in": "header", "name": "Authorization"}
        },
    });
    let v2: DefaultApiRaw =
        serde_json::from_value(v2).expect("the generated v2 description deserializes");
    let mut doc = serde_json::to_value(paperclip_core::v3::openapiv2_to_v3(v2))
        .expect("OpenAPI 3 document serializes");
    patch(&mut doc, inputs, outputs);
    doc
}

/// Fixes what paperclip leaves out or gets wrong.
fn patch(doc: &mut Value, mut inputs: SchemaGenerator, mut outputs: SchemaGenerator) {
    doc["info"] = json!({
        "title": "termbridge",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Drive terminals (local shells and SSH sessions) and network tools. \
            Every endpoint except /health and /openapi.json needs `Authorization: Bearer <token>`. \
            The same tools are offered over MCP (streamable HTTP) at /mcp.",
        "license": {"name": "MIT OR Apache-2.0"},
    });
    let mut schemas = inputs.take_definitions(true);
    for (name, schema) in outputs.take_definitions(true) {
        match schemas.get(&name) {
            Some(existing) if *existing != schema => {
                panic!("schema {name} differs between input and output; rename one of the types")
            }
            _ => {
                schemas.insert(name, schema);
            }
        }
    }
    doc["components"]["schemas"] = Value::Object(schemas);
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The token printed by `termbridge serve` (also in the token file)."
        }
    });
    doc["security"] = json!([{"bearer": []}]);
    doc["paths"]["/health"] = json!({"get": {
        "operationId": "health",
        "summary": "Liveness check",
        "description": "Answers 200 while the server runs. Needs no token.",
        "tags": ["server"],
        "security": [],
        "responses": {"200": {"description": "The server is up.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}
        }}}}}
    }});
    doc["paths"][super::recording::PATH] = super::recording::openapi_path_item();
    doc["paths"]["/openapi.json"] = json!({"get": {
        "operationId": "openapi",
        "summary": "This document",
        "description": "The OpenAPI 3 description of the REST API. Needs no token.",
        "tags": ["server"],
        "security": [],
        "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}}
    }});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_success_and_error_responses_and_bearer() {
        let doc = document();
        assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
        for def in TOOLS {
            let op = &doc["paths"][def.path][def.method.as_str()];
            assert_eq!(op["operationId"], def.name);
            assert!(op["responses"]["200"]["content"]["application/json"]["schema"].is_object());
            assert!(op["responses"]["401"].is_object());
            assert_eq!(op["security"], json!([{"bearer": []}]));
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn tags_come_from_the_path() {
        assert_eq!(tag_of("/api/v1/info"), "server");
        assert_eq!(tag_of("/api/v1/sessions/{id}/screen"), "sessions");
        assert_eq!(tag_of("/api/v1/net/ping"), "net");
    }
}
