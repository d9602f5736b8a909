//! Documentation search against real servers: the bundled docs answer the
//! usual questions with the right section first; docs_read pages through
//! documents and refuses hostile ids; configured directories are indexed in
//! the background, re-indexed when files change, and odd files are skipped or
//! cut with a log line; man pages; MCP resources; supervision.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{TestServer, client, py_script, python};
use serde_json::{Value, json};
use termbridge_actors::docs::IndexGate;
use termbridge_actors::supervisor::InjectFault;

/// GET /api/v1/docs/search with these query parameters.
async fn search(server: &TestServer, params: &[(&str, &str)]) -> (u16, Value) {
    let query = serde_urlencoded::to_string(params).unwrap();
    let response = client()
        .get(server.at(&format!("/api/v1/docs/search?{query}")))
        .header("Authorization", server.bearer())
        .send()
        .await
        .expect("GET /api/v1/docs/search");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn search_ok(server: &TestServer, query: &str) -> Value {
    let (status, body) = search(server, &[("query", query)]).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// GET /api/v1/docs/{doc_id} with query parameters.
async fn read(server: &TestServer, doc_id: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let query = serde_urlencoded::to_string(params).unwrap();
    let response = client()
        .get(server.at(&format!("/api/v1/docs/{doc_id}?{query}")))
        .header("Authorization", server.bearer())
        .send()
        .await
        .expect("GET /api/v1/docs/{doc_id}");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn call_tool(server: &TestServer, name: &str, arguments: Value) -> Value {
    let (status, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}))
        .await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

async fn rpc(server: &TestServer, method: &str, params: Value) -> Value {
    let (status, body) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn repo_file(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Polls `check` (bounded by a deadline) until it returns Some.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Searches until the answer satisfies `ok` (the index is rebuilt in the background).
async fn search_until(
    server: &TestServer,
    params: &[(&str, &str)],
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, || async {
        let (status, body) = search(server, params).await;
        assert_eq!(status, 200, "{body}");
        ok(&body).then_some(body)
    })
    .await
}

fn first_hit(answer: &Value) -> (String, String) {
    let hit = &answer["results"][0];
    (
        hit["doc_id"].as_str().unwrap_or("").to_string(),
        hit["section"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn bundled_docs_answer_the_usual_questions_with_the_right_section_first() {
    let server = TestServer::start();
    let cases = [
        ("open ssh session", "terminal", "ssh-sessions"),
        ("bearer token", "security", "the-bearer-token"),
        (
            "traceroute progress",
            "tools.traceroute",
            "progress-and-cancellation-mcp",
        ),
        ("dns mx", "tools.dns_lookup", "examples"),
    ];
    for (query, doc, section) in cases {
        let answer = search_ok(&server, query).await;
        assert_eq!(answer["indexing"], false);
        assert_eq!(
            first_hit(&answer),
            (doc.to_string(), section.to_string()),
            "{query}: {:#}",
            answer["results"]
        );
        // MCP gives the same first result, as structured content.
        let result = call_tool(&server, "docs_search", json!({"query": query, "limit": 3})).await;
        assert_eq!(result["isError"], false, "{result}");
        assert_eq!(
            first_hit(&result["structuredContent"]),
            (doc.to_string(), section.to_string())
        );
    }
}

#[tokio::test]
async fn results_carry_snippets_lines_paths_and_scores() {
    let server = TestServer::start();
    let answer = search_ok(&server, "whois referral").await;
    assert_eq!(answer["query"], "whois referral");
    assert_eq!(answer["words"], json!(["whois", "referral"]));
    let results = answer["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 10);
    assert!(answer["total"].as_u64().unwrap() >= results.len() as u64);
    let mut last = f64::MAX;
    for r in results {
        let score = r["score"].as_f64().unwrap();
        assert!(
            score > 0.0 && score <= last,
            "scores best first: {results:?}"
        );
        last = score;
        let (start, end, line) = (
            r["line_start"].as_u64().unwrap(),
            r["line_end"].as_u64().unwrap(),
            r["line"].as_u64().unwrap(),
        );
        assert!(start <= line && line <= end, "{r}");
        assert!(r["snippet"].as_str().unwrap().contains("**"), "{r}");
        assert_eq!(r["source"], "bundled");
    }
    let top = &results[0];
    assert_eq!(top["doc_id"], "tools.whois_lookup");
    assert_eq!(top["path"], "docs/tools/whois_lookup.md");
    assert_eq!(top["uri"], "docs://bundled/tools/whois_lookup.md");
    // The line number points at a line of the file that contains a match.
    let file = repo_file("docs/tools/whois_lookup.md");
    let line = file
        .lines()
        .nth(top["line"].as_u64().unwrap() as usize - 1)
        .unwrap()
        .to_lowercase();
    assert!(
        line.contains("whois") || line.contains("referral"),
        "{line}"
    );
    let heading = file
        .lines()
        .nth(top["line_start"].as_u64().unwrap() as usize - 1)
        .unwrap();
    assert!(
        heading.starts_with('#'),
        "line_start is the heading: {heading}"
    );
    assert_eq!(
        top["heading_path"].as_array().unwrap().last().unwrap(),
        &top["title"]
    );
    // Sources are reported.
    assert_eq!(answer["sources"][0]["name"], "bundled");
    assert_eq!(answer["sources"][0]["kind"], "bundled");
    assert!(answer["sources"][0]["documents"].as_u64().unwrap() >= 8);

    // limit and source.
    let (status, limited) = search(
        &server,
        &[("query", "session"), ("limit", "2"), ("source", "bundled")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(limited["results"].as_array().unwrap().len(), 2);
    let (status, body) = search(&server, &[("query", "session"), ("source", "nope")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["message"],
        "source: no source named \"nope\"; sources: bundled"
    );
    // Noise is not returned.
    let nothing = search_ok(&server, "xylophone quagmire").await;
    assert_eq!(nothing["results"], json!([]));
    assert_eq!(nothing["total"], 0);
}

#[tokio::test]
async fn empty_long_and_out_of_range_searches_get_clear_errors() {
    let server = TestServer::start();
    let long = "a".repeat(257);
    let many = "word ".repeat(17);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("query", "")],
            "query: must not be empty; give a few words, e.g. \"open ssh session\"",
        ),
        (
            &[("query", "   ")],
            "query: must not be empty; give a few words, e.g. \"open ssh session\"",
        ),
        (
            &[("query", &long)],
            "query: at most 256 characters, got 257; use a few key words",
        ),
        (
            &[("query", &many)],
            "query: at most 16 words, got 17; use a few key words",
        ),
        (
            &[("query", "dns"), ("limit", "0")],
            "limit: must be between 1 and 50, got 0",
        ),
        (
            &[("query", "dns"), ("limit", "51")],
            "limit: must be between 1 and 50, got 51",
        ),
    ];
    for (params, message) in cases {
        let (status, body) = search(&server, params).await;
        assert_eq!(status, 400, "{params:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_input");
        assert_eq!(body["error"]["message"], message);
    }
    let (status, body) = search(&server, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `query`")
    );
    let result = call_tool(&server, "docs_search", json!({"query": ""})).await;
    assert_eq!(result["isError"], true);
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("invalid_input (400): query: must not be empty")
    );
}

#[tokio::test]
async fn docs_read_pages_through_a_document_and_reads_sections() {
    let server = TestServer::start();
    let file = repo_file("docs/terminal.md");
    // The whole document in one answer (answers pass through the server's
    // secret redaction, so compare pieces with this, not with the file).
    let (status, whole) = read(&server, "terminal", &[("max_bytes", "262144")]).await;
    assert_eq!(status, 200, "{whole}");
    assert_eq!(whole["total_bytes"], file.len());
    assert!(whole.get("next_offset").is_none());
    assert_eq!(whole["line_start"], 1);
    assert_eq!(whole["line_end"], file.lines().count());
    // The same document in pieces, following next_offset.
    let mut text = String::new();
    let mut offset = 0u64;
    let mut pieces = 0;
    loop {
        let offset_text = offset.to_string();
        let (status, page) = read(
            &server,
            "terminal",
            &[("offset", &offset_text), ("max_bytes", "4096")],
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let piece = page["text"].as_str().unwrap();
        assert!(piece.len() <= 4096 + 64);
        assert_eq!(page["total_bytes"], file.len());
        assert_eq!(page["offset"], offset);
        if offset == 0 {
            let sections = page["sections"].as_array().unwrap();
            assert!(sections.iter().any(|s| s["id"] == "ssh-sessions"));
        } else {
            assert!(page.get("sections").is_none(), "TOC only at offset 0");
        }
        text.push_str(piece);
        pieces += 1;
        match page.get("next_offset").and_then(Value::as_u64) {
            Some(next) => {
                assert!(piece.ends_with('\n'), "pieces end at a line end");
                assert!(next > offset && next <= offset + 4096);
                let cut = next as usize;
                assert_eq!(&file[cut - 1..cut], "\n", "cut after a line end");
                offset = next;
            }
            None => break,
        }
    }
    assert_eq!(
        text,
        whole["text"].as_str().unwrap(),
        "the pieces add up to the document"
    );
    assert!(pieces > 10);

    // One section, with its subsections and nothing after them.
    let (status, section) = read(&server, "tools.dns_lookup", &[("section", "arguments")]).await;
    assert_eq!(status, 200, "{section}");
    let body = section["text"].as_str().unwrap();
    assert!(body.starts_with("## Arguments\n"), "{body}");
    assert!(body.contains("### Reverse lookups"));
    assert!(!body.contains("## The answer"));
    assert_eq!(section["section"], "arguments");
    assert_eq!(section["title"], "Arguments");
    assert_eq!(section["format"], "markdown");
    let dns = repo_file("docs/tools/dns_lookup.md");
    let first = section["line_start"].as_u64().unwrap() as usize;
    assert_eq!(dns.lines().nth(first - 1).unwrap(), "## Arguments");

    // Over MCP.
    let result = call_tool(
        &server,
        "docs_read",
        json!({"doc_id": "getting-started", "max_bytes": 512}),
    )
    .await;
    assert_eq!(result["isError"], false, "{result}");
    assert!(
        result["structuredContent"]["text"]
            .as_str()
            .unwrap()
            .starts_with("# Getting started")
    );

    // Unknown things.
    let (status, body) = read(&server, "no.such.doc", &[]).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["error"]["message"],
        "no document \"no.such.doc\"; docs_search finds documents and gives their doc_id"
    );
    let (status, body) = read(&server, "tools.dns_lookup", &[("section", "nope")]).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has no section \"nope\"; its sections: dns_lookup--ask-a-dns-server-one-question, arguments,")
    );
    for (params, message) in [
        (
            [("offset", "999999999"), ("max_bytes", "4096")],
            "offset: 999999999 is past the end",
        ),
        (
            [("offset", "0"), ("max_bytes", "10")],
            "max_bytes: must be between 256 and 262144, got 10",
        ),
    ] {
        let (status, body) = read(&server, "terminal", &params).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(message),
            "{body}"
        );
    }
}

/// Sends one raw HTTP/1.1 GET (no client-side path normalisation).
fn raw_get(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        common::TOKEN
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[tokio::test]
async fn hostile_doc_ids_and_uris_are_refused() {
    let server = TestServer::start();
    for path in [
        "/api/v1/docs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/v1/docs/a%5C..%5Cb",
        "/api/v1/docs/..%5C..%5Cetc",
        "/api/v1/docs/%2Fetc%2Fpasswd",
        "/api/v1/docs/x%00y",
    ] {
        let response = client()
            .get(server.at(path))
            .header("Authorization", server.bearer())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_input", "{path}");
    }
    // Dot segments sent as they are: never a file from outside the index.
    for path in [
        "/api/v1/docs/../../../../etc/passwd",
        "/api/v1/docs/%2E%2E",
        "/api/v1/docs/%2E%2E/%2E%2E/etc/passwd",
        "/api/v1/docs/..%2f..%2f..%2fetc%2fpasswd?section=..%2F..",
    ] {
        let answer = raw_get(server.port, path);
        assert!(!answer.contains("root:"), "{path}: {answer}");
        let status_line = answer.lines().next().unwrap_or("");
        assert!(
            status_line.contains(" 400 ") || status_line.contains(" 404 "),
            "{path}: {status_line}"
        );
    }
    for doc_id in ["../../../etc/passwd", "/etc/passwd", "tools/dns_lookup"] {
        let result = call_tool(&server, "docs_read", json!({"doc_id": doc_id})).await;
        assert_eq!(result["isError"], true, "{doc_id}");
        assert!(
            result["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("invalid_input (400): doc_id: "),
            "{result}"
        );
    }
    for uri in [
        "docs://bundled/../../../../etc/passwd",
        "file:///etc/passwd",
        "docs://bundled/%2E%2E/%2E%2E/etc/passwd",
    ] {
        let body = rpc(&server, "resources/read", json!({"uri": uri})).await;
        assert_eq!(body["error"]["code"], -32002, "{uri}: {body}");
    }
}

/// A temporary corpus directory named `runbooks`.
fn corpus_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("runbooks");
    std::fs::create_dir_all(root.join("deep")).unwrap();
    std::fs::write(
        root.join("deploy.md"),
        "# Deploying\n\n## Rollback\n\nPull the zorblax lever, then wait for green.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("deep/notes.txt"),
        "Paragraph one about kettles.\n\nParagraph two about the gribblenut cache.\n",
    )
    .unwrap();
    (dir, root)
}

#[tokio::test]
async fn a_directory_is_indexed_in_the_background_and_changes_are_picked_up() {
    let (_dir, root) = corpus_dir();
    let gate = IndexGate::default();
    let held = gate.clone();
    let dirs = vec![root.clone()];
    let server = TestServer::start_with(move |config| {
        config.docs.directories = dirs;
        config.docs.gate = Some(held);
    });
    // Held: the server answers at once, from the bundled docs, saying it is indexing.
    let answer = search_ok(&server, "zorblax lever").await;
    assert_eq!(answer["indexing"], true, "{answer}");
    assert_eq!(answer["results"], json!([]));
    let runbooks = &answer["sources"][1];
    assert_eq!(runbooks["name"], "runbooks");
    assert_eq!(runbooks["kind"], "directory");
    assert_eq!(runbooks["indexing"], true);
    assert_eq!(runbooks["path"], root.display().to_string());
    assert_eq!(
        first_hit(&search_ok(&server, "dns mx").await).0,
        "tools.dns_lookup"
    );

    gate.open();
    let answer = search_until(&server, &[("query", "zorblax lever")], "indexing", |a| {
        a["indexing"] == false
    })
    .await;
    assert_eq!(
        first_hit(&answer),
        ("runbooks:deploy".to_string(), "rollback".to_string())
    );
    let hit = &answer["results"][0];
    assert_eq!(hit["source"], "runbooks");
    assert_eq!(hit["path"], root.join("deploy.md").display().to_string());
    assert_eq!(hit["uri"], "docs://runbooks/deploy.md");
    assert_eq!(hit["line"], 5);
    assert_eq!(answer["sources"][1]["documents"], 2);
    // Text files are split into paragraph blocks.
    let answer = search_ok(&server, "gribblenut").await;
    assert_eq!(
        first_hit(&answer),
        ("runbooks:deep.notes".to_string(), "lines-1-3".to_string())
    );

    // A changed file is picked up without a restart…
    std::fs::write(
        root.join("deploy.md"),
        "# Deploying\n\n## Rollback\n\nTurn the quuxwhistle valve instead.\n",
    )
    .unwrap();
    search_until(
        &server,
        &[("query", "quuxwhistle")],
        "the changed file",
        |a| first_hit(a).0 == "runbooks:deploy",
    )
    .await;
    assert_eq!(search_ok(&server, "zorblax").await["results"], json!([]));
    // …and so are new and removed files.
    std::fs::write(root.join("deep/new.md"), "# New\n\nFlumpery procedure.\n").unwrap();
    search_until(&server, &[("query", "flumpery")], "the new file", |a| {
        first_hit(a).0 == "runbooks:deep.new"
    })
    .await;
    std::fs::remove_file(root.join("deep/notes.txt")).unwrap();
    search_until(&server, &[("query", "gribblenut")], "the removal", |a| {
        a["results"] == json!([])
    })
    .await;

    // The directory's documents are readable and listed as resources.
    let (status, doc) = read(&server, "runbooks:deploy", &[("section", "rollback")]).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(
        doc["text"],
        "## Rollback\n\nTurn the quuxwhistle valve instead.\n"
    );
    let listed = rpc(&server, "resources/list", json!({})).await;
    let uris: Vec<&str> = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert!(uris.contains(&"docs://runbooks/deploy.md"), "{uris:?}");
    let body = rpc(
        &server,
        "resources/read",
        json!({"uri": "docs://runbooks/deep/new.md"}),
    )
    .await;
    assert_eq!(
        body["result"]["contents"][0]["text"],
        "# New\n\nFlumpery procedure.\n"
    );
}

#[tokio::test]
async fn refresh_reindexes_on_request() {
    let (_dir, root) = corpus_dir();
    let dirs = vec![root.clone()];
    let server = TestServer::start_with(move |config| {
        config.docs.directories = dirs;
        config.docs.watch = false;
    });
    search_until(&server, &[("query", "zorblax")], "indexing", |a| {
        a["indexing"] == false
    })
    .await;
    std::fs::write(root.join("later.md"), "# Later\n\nSnorkelwidget.\n").unwrap();
    // Not watched: only a refresh picks it up, and it waits for the new index.
    let (status, stale) = search(&server, &[("query", "snorkelwidget")]).await;
    assert_eq!(status, 200);
    assert_eq!(stale["results"], json!([]));
    let (status, fresh) = search(
        &server,
        &[
            ("query", "snorkelwidget"),
            ("refresh", "true"),
            ("source", "runbooks"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(fresh["indexing"], false);
    assert_eq!(first_hit(&fresh).0, "runbooks:later");
    assert_eq!(fresh["sources"].as_array().unwrap().len(), 1);
    // A directory that does not exist is reported, not fatal.
    let missing = root.join("missing");
    let server = TestServer::start_with(move |config| {
        config.docs.directories = vec![missing];
    });
    let answer = search_until(&server, &[("query", "dns")], "indexing", |a| {
        a["indexing"] == false
    })
    .await;
    assert!(
        answer["sources"][1]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot read directory "),
        "{answer}"
    );
    assert_eq!(first_hit(&answer).0, "tools.dns_lookup");
}

/// Log records of this test process, for checking log lines.
fn captured_logs() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        struct Capture;
        impl log::Log for Capture {
            fn enabled(&self, m: &log::Metadata) -> bool {
                m.level() <= log::Level::Warn
            }
            fn log(&self, record: &log::Record) {
                if self.enabled(record.metadata()) {
                    captured_logs().lock().unwrap().push(format!(
                        "{} {}",
                        record.level(),
                        record.args()
                    ));
                }
            }
            fn flush(&self) {}
        }
        let _ = log::set_boxed_logger(Box::new(Capture));
        log::set_max_level(log::LevelFilter::Warn);
        Mutex::new(Vec::new())
    })
}

#[tokio::test]
async fn binary_non_utf8_and_huge_files_are_skipped_or_cut_with_a_log_line() {
    captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("odd");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("binary.txt"), b"blobword \0\x01\x02 more").unwrap();
    std::fs::write(root.join("latin1.txt"), b"caf\xe9 cremebrulee au lait\n").unwrap();
    let mut huge = String::from("# Huge\n\nalphaword at the start\n");
    while huge.len() < 300 * 1024 {
        huge.push_str("filler line of text that repeats many times over\n");
    }
    huge.push_str("omegaword at the end\n");
    std::fs::write(root.join("huge.md"), &huge).unwrap();
    let dirs = vec![root.clone()];
    let server = TestServer::start_with(move |config| {
        config.docs.directories = dirs;
        config.docs.max_file_bytes = 64 * 1024;
    });
    let answer = search_until(&server, &[("query", "alphaword")], "indexing", |a| {
        a["indexing"] == false
    })
    .await;
    assert_eq!(first_hit(&answer).0, "odd:huge");
    assert_eq!(search_ok(&server, "omegaword").await["results"], json!([]));
    assert_eq!(search_ok(&server, "blobword").await["results"], json!([]));
    assert_eq!(
        first_hit(&search_ok(&server, "cremebrulee").await).0,
        "odd:latin1"
    );
    let (_, latin1) = read(&server, "odd:latin1", &[]).await;
    assert_eq!(latin1["text"], "caf\u{FFFD} cremebrulee au lait\n");
    let (_, huge_doc) = read(&server, "odd:huge", &[("max_bytes", "256")]).await;
    assert_eq!(huge_doc["file_truncated"], false);
    assert!(huge_doc["total_bytes"].as_u64().unwrap() <= 64 * 1024);

    let source = &answer["sources"][1];
    assert_eq!(source["documents"], 2);
    assert_eq!(source["notes_total"], 3);
    let notes: Vec<(String, String)> = source["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                Path::new(n["path"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                n["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("binary.txt", "skipped"),
        ("latin1.txt", "invalid_utf8"),
        ("huge.md", "truncated"),
    ] {
        assert!(
            notes.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{notes:?}"
        );
    }
    // Each left a log line naming the file.
    let logs = captured_logs().lock().unwrap().clone();
    for (file, words) in [
        ("binary.txt", "skipped: looks binary"),
        ("latin1.txt", "not valid UTF-8"),
        ("huge.md", "larger than max_file_bytes (65536 bytes)"),
    ] {
        let path = root.join(file).display().to_string();
        assert!(
            logs.iter()
                .any(|l| l.starts_with("WARN docs: ") && l.contains(&path) && l.contains(words)),
            "no log line for {file}: {logs:#?}"
        );
    }
    // Never a crash: the subsystem is running, never restarted.
    let (_, info) = server.get("/api/v1/info").await;
    let docs = info["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "docs")
        .unwrap()
        .clone();
    assert_eq!(
        docs,
        json!({"name": "docs", "state": "running", "restarts": 0})
    );
}

#[tokio::test]
async fn man_pages_are_searched_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let man1 = dir.path().join("man1");
    std::fs::create_dir_all(&man1).unwrap();
    std::fs::write(
        man1.join("frobnicate.1"),
        ".TH FROBNICATE 1\n.SH NAME\nfrobnicate \\- adjust widgets\n.SH OPTIONS\n.TP\n\\fB\\-\\-wobble\\fR\nwobble the widgets gently\n",
    )
    .unwrap();
    let gzip = Command::new("gzip")
        .arg(man1.join("frobnicate.1"))
        .status()
        .expect("gzip");
    assert!(gzip.success() && man1.join("frobnicate.1.gz").exists());
    let dirs = vec![dir.path().to_path_buf()];
    let server = TestServer::start_with(move |config| {
        config.docs.man_pages = true;
        config.docs.man_dirs = Some(dirs);
    });
    let answer = search_until(
        &server,
        &[("query", "wobble widgets"), ("source", "man")],
        "man pages",
        |a| a["indexing"] == false,
    )
    .await;
    assert_eq!(
        first_hit(&answer),
        ("man:frobnicate.1".to_string(), "options".to_string())
    );
    assert_eq!(answer["results"][0]["doc_title"], "frobnicate(1)");
    assert_eq!(answer["results"][0]["uri"], "docs://man/frobnicate.1");
    let (status, page) = read(&server, "man:frobnicate.1", &[("section", "name")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["text"].as_str().unwrap().trim_end(),
        "## NAME\n\nfrobnicate - adjust widgets"
    );
    assert_eq!(page["format"], "man");
}

#[tokio::test]
async fn mcp_resources_list_and_read_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("many");
    std::fs::create_dir_all(&root).unwrap();
    for i in 0..150 {
        std::fs::write(root.join(format!("page{i:03}.md")), format!("# Page {i}\n")).unwrap();
    }
    let dirs = vec![root];
    let server = TestServer::start_with(move |config| config.docs.directories = dirs);
    let (status, init) = server
        .mcp(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        init["result"]["capabilities"]["resources"],
        json!({"subscribe": false, "listChanged": false})
    );
    search_until(&server, &[("query", "page")], "indexing", |a| {
        a["indexing"] == false
    })
    .await;

    // Every page of the listing, by cursor.
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let body = rpc(&server, "resources/list", params).await;
        let result = &body["result"];
        let page = result["resources"].as_array().unwrap();
        assert!(page.len() <= 100);
        all.extend(page.iter().cloned());
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let many: Vec<_> = all
        .iter()
        .filter(|r| r["uri"].as_str().unwrap().starts_with("docs://many/"))
        .collect();
    assert_eq!(many.len(), 150);
    let mut uris: Vec<&str> = all.iter().map(|r| r["uri"].as_str().unwrap()).collect();
    let count = uris.len();
    uris.sort();
    uris.dedup();
    assert_eq!(uris.len(), count, "URIs are unique");

    // Every bundled page is listed and reads back as the file in docs/.
    let bundled: Vec<&Value> = all
        .iter()
        .filter(|r| r["uri"].as_str().unwrap().starts_with("docs://bundled/"))
        .collect();
    for page in [
        "getting-started.md",
        "clients.md",
        "configuration.md",
        "security.md",
        "troubleshooting.md",
        "terminal.md",
        "tools/docs_search.md",
        "tools/docs_read.md",
        "tools/server_info.md",
        "tools/dns_lookup.md",
    ] {
        let uri = format!("docs://bundled/{page}");
        let entry = bundled
            .iter()
            .find(|r| r["uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("{uri} not listed"));
        assert_eq!(entry["mimeType"], "text/markdown");
        let file = repo_file(&format!("docs/{page}"));
        assert_eq!(entry["size"], file.len());
        assert!(entry["name"].as_str().unwrap().chars().all(|c| c != '/'));
        let body = rpc(&server, "resources/read", json!({"uri": uri})).await;
        let contents = &body["result"]["contents"][0];
        assert_eq!(contents["uri"], uri.as_str());
        assert_eq!(contents["mimeType"], "text/markdown");
        // Answers hide secret-looking text (`TOKEN=$(…)`), like tool answers.
        let expected = termbridge::Config::with_token(common::TOKEN)
            .access
            .redactor
            .redact(&file);
        assert_eq!(contents["text"], expected.as_str(), "{uri}");
    }
    // A section by fragment.
    let body = rpc(
        &server,
        "resources/read",
        json!({"uri": "docs://bundled/tools/dns_lookup.md#reverse-lookups"}),
    )
    .await;
    assert!(
        body["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("### Reverse lookups\n")
    );
    // Templates, and faults.
    let body = rpc(&server, "resources/templates/list", json!({})).await;
    assert_eq!(
        body["result"]["resourceTemplates"][0]["uriTemplate"],
        "docs://{source}/{+path}"
    );
    let body = rpc(&server, "resources/read", json!({})).await;
    assert_eq!(body["error"]["code"], -32602);
    let body = rpc(&server, "resources/list", json!({"cursor": "x"})).await;
    assert_eq!(body["error"]["code"], -32602);
    let body = rpc(
        &server,
        "resources/read",
        json!({"uri": "docs://bundled/nope.md"}),
    )
    .await;
    assert_eq!(body["error"]["code"], -32002);
}

#[test]
fn the_official_python_client_calls_the_docs_tools() {
    let server = TestServer::start();
    let out = Command::new(python())
        .arg(py_script("mcp_client_check.py"))
        .args(["--url", &server.at("/mcp")])
        .args(["--token", &server.token])
        .args(["--protocol-version", "2025-11-25"])
        .args(["--call", r#"docs_search={"query": "dns mx"}"#])
        .args([
            "--call",
            r#"docs_read={"doc_id": "tools.dns_lookup", "section": "examples"}"#,
        ])
        .output()
        .expect("run mcp_client_check.py");
    assert!(
        out.status.success(),
        "the official SDK client failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["calls"]["docs_search"]["results"][0]["doc_id"],
        "tools.dns_lookup"
    );
    assert_eq!(summary["calls"]["docs_read"]["section"], "examples");
}

#[tokio::test]
async fn the_docs_subsystem_restarts_after_a_fault_and_keeps_answering() {
    let server = TestServer::start();
    let answer = server
        .subsystems
        .docs
        .ask(InjectFault {
            hold_down: Duration::from_millis(0),
        })
        .await;
    assert!(answer.is_err());
    let restarted = eventually("the docs subsystem to come back", || async {
        let (_, info) = server.get("/api/v1/info").await;
        let docs = info["subsystems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "docs")
            .cloned()
            .unwrap();
        (docs["state"] == "running" && docs["restarts"] == 1).then_some(docs)
    })
    .await;
    assert_eq!(restarted["restarts"], 1);
    let answer = search_ok(&server, "dns mx").await;
    assert_eq!(first_hit(&answer).0, "tools.dns_lookup");
}

#[test]
fn the_binary_finds_its_docs_from_any_directory() {
    let config_dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(elsewhere.path())
        .env("TERMBRIDGE_CONFIG_DIR", config_dir.path())
        .env_remove("TERMBRIDGE_TOKEN")
        .env_remove("TERMBRIDGE_BIND")
        .env_remove("TERMBRIDGE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start termbridge serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = lines.next().expect("banner").unwrap();
        if let Some(rest) = line.strip_prefix("termbridge listening on ") {
            url = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Bearer token:") {
            token = Some(rest.trim().to_string());
        }
    }
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "-G"])
        .args(["-H", &format!("Authorization: Bearer {}", token.unwrap())])
        .args(["--data-urlencode", "query=dns mx"])
        .arg(format!("{}/api/v1/docs/search", url.unwrap()))
        .output()
        .expect("curl");
    let _ = child.kill();
    let _ = child.wait();
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON answer");
    assert_eq!(first_hit(&answer).0, "tools.dns_lookup", "{answer}");
}

#[test]
fn the_docs_table_of_the_config_file_is_read_and_checked() {
    use termbridge::config::{Config, Overrides};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    let load = |text: &str| {
        std::fs::write(&file, format!("token = \"file-token-0123456789\"\n{text}")).unwrap();
        Config::load(Some(&file), dir.path(), &Overrides::default())
    };
    let config = load(
        "[docs]\ndirectories = [\"notes\", \"/srv/runbooks\", \"~/team\"]\nman_pages = true\n\
         man_sections = [\"1\", \"5\", \"3p\"]\nmax_file_bytes = 65536\nwatch = false\n",
    )
    .unwrap();
    let home = dirs::home_dir().unwrap();
    assert_eq!(
        config.docs.directories,
        vec![
            dir.path().join("notes"),
            PathBuf::from("/srv/runbooks"),
            home.join("team"),
        ]
    );
    assert!(config.docs.man_pages);
    assert_eq!(config.docs.man_sections, ["1", "5", "3p"]);
    assert_eq!(config.docs.max_file_bytes, 65536);
    assert!(!config.docs.watch);
    // Defaults.
    let plain = load("").unwrap();
    assert!(plain.docs.directories.is_empty() && !plain.docs.man_pages && plain.docs.watch);
    assert_eq!(plain.docs.man_sections, ["1", "8"]);
    assert_eq!(plain.docs.max_file_bytes, 4 * 1024 * 1024);
    // Bad values stop the start with a message naming them.
    for (text, message) in [
        (
            "[docs]\nman_sections = [\"../x\"]\n",
            "docs.man_sections: \"../x\" is not a man section (1, 8, 3p…)",
        ),
        (
            "[docs]\nmax_file_bytes = 10\n",
            "docs.max_file_bytes must be 1024..=268435456, got 10",
        ),
    ] {
        assert_eq!(load(text).unwrap_err().to_string(), message);
    }
    let err = load("[docs]\ndirectory = [\"x\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `directory`"), "{err}");
}
