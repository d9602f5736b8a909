//! Helpers for terminal tests: open sessions, run commands, read screens
//! through the real REST API.

use serde_json::{Value, json};

use super::TestServer;

impl TestServer {
    /// Opens a session with `spec` and returns it; panics unless 200.
    pub async fn open_session(&self, spec: Value) -> Value {
        let (status, body) = self.post("/api/v1/sessions", &spec).await;
        assert_eq!(status, 200, "session_open {spec}: {body}");
        body
    }

    /// Opens a default shell session and returns its id.
    pub async fn shell(&self) -> String {
        let session = self.open_session(json!({})).await;
        session["id"].as_str().unwrap().to_string()
    }

    /// `session_run` with extra fields; returns status and body.
    pub async fn run_with(&self, id: &str, command: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({"command": command});
        if let Value::Object(map) = extra {
            for (k, v) in map {
                body[k] = v;
            }
        }
        self.post(&format!("/api/v1/sessions/{id}/commands"), &body)
            .await
    }

    /// `session_run` that must answer 200; returns the result.
    pub async fn run(&self, id: &str, command: &str) -> Value {
        let (status, body) = self.run_with(id, command, json!({})).await;
        assert_eq!(status, 200, "session_run {command:?}: {body}");
        body
    }

    /// `session_command` with a wait.
    pub async fn poll(&self, id: &str, command_id: &str, wait_ms: u64) -> Value {
        let (status, body) = self
            .get(&format!(
                "/api/v1/sessions/{id}/commands/{command_id}?wait_ms={wait_ms}"
            ))
            .await;
        assert_eq!(status, 200, "session_command: {body}");
        body
    }

    /// `session_send_keys`.
    pub async fn keys(&self, id: &str, text: Option<&str>, keys: &[&str]) -> (u16, Value) {
        let mut body = json!({"keys": keys});
        if let Some(text) = text {
            body["text"] = json!(text);
        }
        self.post(&format!("/api/v1/sessions/{id}/input"), &body)
            .await
    }

    /// `session_screen` with scrollback lines.
    pub async fn screen(&self, id: &str, scrollback: usize) -> Value {
        let (status, body) = self
            .get(&format!(
                "/api/v1/sessions/{id}/screen?scrollback={scrollback}"
            ))
            .await;
        assert_eq!(status, 200, "session_screen: {body}");
        body
    }

    /// `session_close`; returns status and body.
    pub async fn close(&self, id: &str) -> (u16, Value) {
        let response = super::client()
            .delete(self.at(&format!("/api/v1/sessions/{id}")))
            .header("Authorization", self.bearer())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls `session_screen` until `pred` holds (bounded: panics after 20 s
    /// with the last screen). For waiting on full-screen programs, which give
    /// no completion event of their own.
    pub async fn screen_until(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut revision = Value::Null;
        loop {
            let screen = self.screen(id, 0).await;
            if pred(&screen) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "screen never showed {what}: {}",
                serde_json::to_string_pretty(&screen).unwrap()
            );
            if screen["revision"] == revision {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            revision = screen["revision"].clone();
        }
    }
}

/// Visible screen lines as strings.
pub fn lines(screen: &Value) -> Vec<String> {
    screen["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}
