//! `/openapi.json`: a valid OpenAPI 3 document (checked with a real
//! validator), pinned by a golden file, whose schemas match what the server
//! really sends.

mod common;

use std::process::Command;

use common::{TestServer, assert_golden, client, py_script, python};
use serde_json::Value;

async fn served_document(server: &TestServer) -> Value {
    let response = client()
        .get(server.at("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn document_matches_golden_file() {
    let server = TestServer::start();
    assert_golden("openapi.json", &served_document(&server).await);
}

#[tokio::test]
async fn document_is_valid_openapi_3_with_bearer_and_info() {
    let server = TestServer::start();
    let doc = served_document(&server).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["info"]["title"], "termbridge");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        serde_json::json!({"type": "http", "scheme": "bearer",
            "description": "The token printed by `termbridge serve` (also in the token file)."})
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{method} {path}");
            if path.starts_with("/api/") {
                assert_eq!(
                    op["security"],
                    serde_json::json!([{"bearer": []}]),
                    "{path}"
                );
                for status in ["400", "401", "403", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            } else {
                assert_eq!(op["security"], serde_json::json!([]), "{path} is public");
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new(python())
        .arg(py_script("validate_openapi.py"))
        .arg(&file)
        .output()
        .expect("run validate_openapi.py");
    assert!(
        out.status.success(),
        "validator rejected the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn real_responses_validate_against_the_documented_schemas() {
    let server = TestServer::start();
    let doc = served_document(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let doc_file = dir.path().join("openapi.json");
    std::fs::write(&doc_file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let cases: Vec<(&str, (u16, Value))> = vec![
        ("server_info", server.get("/api/v1/info").await),
        ("ip_addresses", server.get("/api/v1/net/addresses").await),
        ("server_info", server.get("/api/v1/info?x=1").await),
        ("ip_addresses", {
            let r = client()
                .get(server.at("/api/v1/net/addresses"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap())
        }),
    ];
    for (n, (operation, (status, body))) in cases.into_iter().enumerate() {
        let body_file = dir.path().join(format!("body{n}.json"));
        std::fs::write(&body_file, serde_json::to_vec(&body).unwrap()).unwrap();
        let out = Command::new(python())
            .arg(py_script("validate_response.py"))
            .arg(&doc_file)
            .arg(operation)
            .arg(status.to_string())
            .arg(&body_file)
            .output()
            .expect("run validate_response.py");
        assert!(
            out.status.success(),
            "{operation} {status} does not match its schema:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn cli_prints_the_same_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, termbridge::rest::openapi::document());
}
