//! Retry safety for gateways that re-send requests on their own (WebSSH's
//! ContextForge wrapper POSTs one message up to 30 times): a state-changing
//! `tools/call` that arrives again from the same token with the same
//! JSON-RPC id and identical params, while the first is still running or
//! within [`WINDOW`] after it finished, gets the first call's answer instead
//! of running again.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;

use super::Reply;

/// How long a finished call's answer is kept for a retry.
pub const WINDOW: Duration = Duration::from_secs(120);
/// Most calls remembered at once (oldest finished forgotten first).
const MAX_ENTRIES: usize = 4096;

enum Entry {
    Running(watch::Receiver<Option<Reply>>),
    Done { response: Reply, at: Instant },
}

/// The calls seen recently.
#[derive(Default)]
pub struct RetryGuard {
    entries: Mutex<HashMap<u64, Entry>>,
}

/// What to do with an incoming call.
pub enum Claim {
    /// It is new: run it and hand the answer to the [`Finisher`].
    First(Finisher),
    /// The same call is running: wait for its answer.
    Wait(watch::Receiver<Option<Reply>>),
    /// The same call finished recently: this is its answer.
    Done(Reply),
}

/// Reports the answer of a first call; forgets the call if dropped unfinished.
pub struct Finisher {
    guard: Arc<RetryGuard>,
    key: u64,
    tx: Option<watch::Sender<Option<Reply>>>,
}

/// The identity of a call: token name, JSON-RPC id and params.
pub fn key(token_name: &str, id: &Value, params: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    token_name.hash(&mut hasher);
    id.to_string().hash(&mut hasher);
    params.to_string().hash(&mut hasher);
    hasher.finish()
}

impl RetryGuard {
    /// Claims the call `key`.
    pub fn claim(self: &Arc<Self>, key: u64) -> Claim {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&key) {
            Some(Entry::Running(rx)) => return Claim::Wait(rx.clone()),
            Some(Entry::Done { response, at }) if at.elapsed() < WINDOW => {
                return Claim::Done(response.clone());
            }
            _ => {}
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| match e {
                Entry::Running(_) => true,
                Entry::Done { at, .. } => at.elapsed() < WINDOW,
            });
        }
        let (tx, rx) = watch::channel(None);
        entries.insert(key, Entry::Running(rx));
        Claim::First(Finisher {
            guard: self.clone(),
            key,
            tx: Some(tx),
        })
    }
}

impl Finisher {
    /// Records the answer and wakes every retry waiting for it.
    pub fn finish(mut self, response: &Reply) {
        let mut entries = self.guard.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(
            self.key,
            Entry::Done {
                response: response.clone(),
                at: Instant::now(),
            },
        );
        if let Some(tx) = self.tx.take() {
            tx.send_replace(Some(response.clone()));
        }
    }
}

impl Drop for Finisher {
    fn drop(&mut self) {
        if self.tx.is_some() {
            let mut entries = self.guard.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.remove(&self.key);
        }
    }
}

/// Waits for the answer of a running first call (`None` if it was abandoned).
pub async fn answer_of(mut rx: watch::Receiver<Option<Reply>>) -> Option<Reply> {
    rx.wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|v| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_retry_gets_the_first_answer_and_other_calls_run() {
        let guard = Arc::new(RetryGuard::default());
        let k = key("default", &json!(7), &json!({"name": "session_run"}));
        let Claim::First(first) = guard.claim(k) else {
            panic!("first")
        };
        let Claim::Wait(rx) = guard.claim(k) else {
            panic!("a retry while running waits")
        };
        first.finish(&Reply::of(&json!({"id": 7, "result": 1})));
        let seen = rx.borrow().as_ref().map(|r| r.as_str().to_string());
        assert_eq!(seen.as_deref(), Some(r#"{"id":7,"result":1}"#));
        assert!(matches!(guard.claim(k), Claim::Done(r) if r.as_str() == r#"{"id":7,"result":1}"#));
        let other = key("default", &json!(8), &json!({"name": "session_run"}));
        assert!(matches!(guard.claim(other), Claim::First(_)));
        assert_ne!(k, key("ci", &json!(7), &json!({"name": "session_run"})));
    }

    #[test]
    fn an_abandoned_first_call_is_forgotten() {
        let guard = Arc::new(RetryGuard::default());
        let k = key("t", &json!(1), &json!({}));
        match guard.claim(k) {
            Claim::First(f) => drop(f),
            _ => panic!(),
        }
        assert!(matches!(guard.claim(k), Claim::First(_)));
    }
}
