//! The audit log: one JSON line per state-changing tool call (who, what,
//! which session, the command, the outcome), appended to a file and rotated
//! by size. Secrets never reach it: typed text is logged by length only,
//! secrets by name, and every line goes through the redactor.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::access::Redactor;

/// Rotated files kept: `audit.log.1` … `audit.log.3`.
const KEEP_ROTATED: u32 = 3;

/// An append-only audit log.
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    redactor: Redactor,
    file: Mutex<Option<File>>,
}

impl AuditLog {
    /// A log at `path`, rotated past `max_bytes`; the file is created on
    /// first write (mode 0600).
    pub fn new(path: PathBuf, max_bytes: u64, redactor: Redactor) -> AuditLog {
        AuditLog {
            path,
            max_bytes,
            redactor,
            file: Mutex::new(None),
        }
    }

    fn open(&self) -> std::io::Result<File> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(&self.path)
    }

    fn rotate(&self) -> std::io::Result<()> {
        for n in (1..KEEP_ROTATED).rev() {
            let from = self.path.with_extension(format!("log.{n}"));
            if from.exists() {
                fs::rename(&from, self.path.with_extension(format!("log.{}", n + 1)))?;
            }
        }
        fs::rename(&self.path, self.path.with_extension("log.1"))
    }

    /// Appends one entry. Failures are logged, never fatal to the call.
    pub fn record(&self, mut entry: Value) {
        // Redact the values, not the serialized line: a pattern must never
        // eat the JSON's own quotes.
        self.redactor.redact_json(&mut entry);
        let mut line = entry.to_string();
        line.push('\n');
        let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let result = (|| -> std::io::Result<()> {
            if slot.is_none() {
                *slot = Some(self.open()?);
            }
            let size = slot
                .as_ref()
                .map(|f| f.metadata().map(|m| m.len()))
                .transpose()?;
            if size.unwrap_or(0) + line.len() as u64 > self.max_bytes && size.unwrap_or(0) > 0 {
                *slot = None;
                self.rotate()?;
                *slot = Some(self.open()?);
            }
            if let Some(file) = slot.as_mut() {
                file.write_all(line.as_bytes())?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            log::error!("cannot write the audit log {}: {e}", self.path.display());
            *slot = None;
        }
    }
}

/// Milliseconds-precise RFC 3339 UTC time for log lines.
pub fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let base = termbridge_actors::terminal::types::rfc3339(now.as_secs());
    format!("{}.{:03}Z", base.trim_end_matches('Z'), now.subsec_millis())
}

/// The audit entry of one call: what the arguments say, minus anything that
/// could hold a secret typed by the client.
pub fn entry(token: &str, tool: &str, args: &Value, outcome: &Result<Value, String>) -> Value {
    let mut e = Map::new();
    e.insert("time".into(), json!(now_rfc3339()));
    e.insert("token".into(), json!(token));
    e.insert("tool".into(), json!(tool));
    let session = args.get("session_id").cloned().or_else(|| {
        outcome
            .as_ref()
            .ok()
            .and_then(|o| o.get("id").cloned())
            .filter(|_| tool == "session_open")
    });
    if let Some(session) = session {
        e.insert("session".into(), session);
    }
    for field in [
        "command",
        "request_id",
        "keys",
        "secret",
        "kind",
        "name",
        "profile",
    ] {
        if let Some(v) = args.get(field) {
            e.insert(field.into(), v.clone());
        }
    }
    if let Some(host) = args.get("ssh").and_then(|s| s.get("host")) {
        e.insert("ssh_host".into(), host.clone());
    }
    if let Some(text) = args.get("text").and_then(Value::as_str) {
        e.insert("text_bytes".into(), json!(text.len()));
    }
    match outcome {
        Ok(output) => {
            e.insert("outcome".into(), json!("ok"));
            if let Some(status) = output.get("status") {
                e.insert("status".into(), status.clone());
            }
            if let Some(code) = output.get("exit_code").filter(|c| !c.is_null()) {
                e.insert("exit_code".into(), code.clone());
            }
            if let Some(id) = output.get("command_id") {
                e.insert("command_id".into(), id.clone());
            }
        }
        Err(code) => {
            e.insert("outcome".into(), json!(code));
        }
    }
    Value::Object(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_log_commands_but_not_typed_text() {
        let args = json!({"session_id": "s_1", "text": "hunter2", "keys": ["Enter"]});
        let e = entry(
            "ci",
            "session_send_keys",
            &args,
            &Ok(json!({"bytes_sent": 8})),
        );
        assert_eq!(e["session"], "s_1");
        assert_eq!(e["text_bytes"], 7);
        assert_eq!(e["keys"], json!(["Enter"]));
        assert!(!e.to_string().contains("hunter2"));
        let run = entry(
            "ci",
            "session_run",
            &json!({"session_id": "s_1", "command": "make", "request_id": "r"}),
            &Ok(json!({"status": "completed", "exit_code": 2, "command_id": "cmd_1"})),
        );
        assert_eq!(
            (run["command"].clone(), run["exit_code"].clone()),
            (json!("make"), json!(2))
        );
        let failed = entry(
            "ci",
            "session_close",
            &json!({"session_id": "x"}),
            &Err("not_found".into()),
        );
        assert_eq!(failed["outcome"], "not_found");
    }

    #[test]
    fn the_log_rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::new(path.clone(), 300, Redactor::default());
        for n in 0..20 {
            log.record(json!({"n": n, "pad": "x".repeat(40)}));
        }
        assert!(path.exists());
        assert!(path.with_extension("log.1").exists());
        assert!(fs::metadata(&path).unwrap().len() <= 300);
        let last = fs::read_to_string(&path).unwrap();
        assert!(last.lines().last().unwrap().contains("\"n\":19"));
    }
}
