//! Shared test harness: a real termbridge server on 127.0.0.1:0 in its own
//! thread (with its own actix system), an HTTP client, and helpers for the
//! Python tools installed by `scripts/setup-test-env.sh`.
#![allow(dead_code)]

pub mod child;
pub mod dns;
pub mod net;
pub mod netns;
pub mod sshd;
pub mod terminal;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::Value;
use termbridge::Config;

/// A token long enough for the config rules.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A running server; stopped when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
    /// Its bearer token.
    pub token: String,
    /// Its subsystem actors (for fault injection and direct checks).
    pub subsystems: std::sync::Arc<termbridge_actors::Supervisor>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

/// Adds a token to `config`: `scope` for the sessions named by `sessions`
/// (globs; `None` = all).
pub fn add_token(
    config: &mut Config,
    name: &str,
    token: &str,
    scope: termbridge::tools::Scope,
    sessions: Option<&[&str]>,
) {
    config
        .access
        .grants
        .push(std::sync::Arc::new(termbridge::access::Grant {
            name: name.into(),
            token: token.into(),
            scope,
            sessions: sessions.map(|s| s.iter().map(|p| p.to_string()).collect()),
        }));
}

impl TestServer {
    /// Starts a server with the default test configuration.
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// Starts a server after `adjust` has changed its configuration.
    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Self::start_listening(listener, adjust)
    }

    /// Starts a server on 127.0.0.1:`port` (a server restarted on the port
    /// of one that was dropped, for clients that must survive a restart).
    pub fn start_on(port: u16, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the given port");
        Self::start_listening(listener, adjust)
    }

    fn start_listening(listener: TcpListener, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let port = listener.local_addr().unwrap().port();
        let mut config = Config::with_token(TOKEN);
        config.bind = listener.local_addr().unwrap();
        adjust(&mut config);
        let token = config.token.clone();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let (server, subsystems) =
                    termbridge::run_with_subsystems(listener, config).expect("server starts");
                tx.send((server.handle(), subsystems)).unwrap();
                server.await.expect("server runs");
            });
        });
        let (handle, subsystems) = rx.recv().expect("server handle");
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            port,
            token,
            subsystems,
            handle,
            thread: Some(thread),
        }
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// `Bearer <token>`.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// GET `path` with the token; returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = client()
            .get(self.at(path))
            .header("Authorization", self.bearer())
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST a JSON body to `path` with the token; returns status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = client()
            .post(self.at(path))
            .header("Authorization", self.bearer())
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST one MCP message to `/mcp` (no session); returns the raw response.
    pub async fn mcp_raw(&self, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = client()
            .post(self.at("/mcp"))
            .header("Authorization", self.bearer())
            .header("Accept", "application/json, text/event-stream")
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("POST /mcp")
    }

    /// POST one MCP message and parse the JSON answer.
    pub async fn mcp(&self, body: &Value) -> (u16, Value) {
        let response = self.mcp_raw(body, &[]).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stopping needs a runtime; a throwaway one is enough.
        let stopper = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        });
        let _ = stopper.join();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An HTTP client for tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The Python of the test venv. Fails loudly when the test environment was
/// not set up: these tests must not pass by skipping.
pub fn python() -> PathBuf {
    let path = std::env::var_os("TERMBRIDGE_TEST_PYTHON").unwrap_or_else(|| {
        panic!(
            "TERMBRIDGE_TEST_PYTHON is not set: run the tests with scripts/test.sh \
             (it installs the Python MCP client and validators)"
        )
    });
    PathBuf::from(path)
}

/// `tests/py/<name>`.
pub fn py_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// Compares `actual` with the golden file `tests/golden/<name>`, or rewrites
/// it when `UPDATE_GOLDEN=1`.
pub fn assert_golden(name: &str, actual: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == text,
        "{} differs from the server's output; review the change and rerun with UPDATE_GOLDEN=1\n--- first difference near: {}",
        path.display(),
        first_difference(&expected, &text)
    );
}

fn first_difference(a: &str, b: &str) -> String {
    for (n, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: golden {:?} vs actual {:?}", n + 1, x, y);
        }
    }
    format!("lengths {} vs {}", a.lines().count(), b.lines().count())
}
