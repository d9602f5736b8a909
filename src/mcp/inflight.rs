//! MCP requests in flight, so `notifications/cancelled` can stop them.
//!
//! While a request runs, the transport keeps a [`CancellationToken`] for it
//! here under its key: the request id plus the `Mcp-Session-Id`, when the
//! client uses one (clients without a session share the id space; a client
//! that reuses an id for concurrent requests cancels the latest). The entry
//! goes away when the request ends ([`InFlightCall`] is a guard). Tools see
//! the token as `ToolContext::cancel` and pass it on to the work they start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Session id (if any) and the request id as JSON text (so `7` and `"7"`
/// are different ids, as in JSON-RPC).
type Key = (Option<String>, String);

/// The registry of cancellable requests.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    calls: Arc<Mutex<HashMap<Key, (u64, CancellationToken)>>>,
    serial: Arc<AtomicU64>,
}

/// One registered request; unregisters it when dropped.
#[derive(Debug)]
pub struct InFlightCall {
    registry: InFlight,
    key: Key,
    serial: u64,
    token: CancellationToken,
}

impl InFlight {
    /// Registers request `id` of `session`; keep the returned guard for as
    /// long as the request runs.
    pub fn register(&self, session: Option<&str>, id: &Value) -> InFlightCall {
        let key = (session.map(str::to_string), id.to_string());
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.lock().insert(key.clone(), (serial, token.clone()));
        InFlightCall {
            registry: self.clone(),
            key,
            serial,
            token,
        }
    }

    /// Cancels request `id` of `session`; false when no such request runs
    /// (it finished already, or never existed: both are fine per MCP).
    pub fn cancel(&self, session: Option<&str>, id: &Value) -> bool {
        let key = (session.map(str::to_string), id.to_string());
        match self.lock().get(&key) {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, CancellationToken)>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl InFlightCall {
    /// The token that fires when the request is cancelled.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

impl Drop for InFlightCall {
    fn drop(&mut self) {
        let mut calls = self.registry.lock();
        // Only our own entry: a later request may have reused the id.
        if calls
            .get(&self.key)
            .is_some_and(|(serial, _)| *serial == self.serial)
        {
            calls.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cancelling_fires_the_token_of_that_request_only() {
        let registry = InFlight::default();
        let a = registry.register(Some("s1"), &json!(7));
        let b = registry.register(None, &json!(7));
        let c = registry.register(Some("s1"), &json!("7"));
        assert!(registry.cancel(Some("s1"), &json!(7)));
        assert!(a.token().is_cancelled());
        assert!(!b.token().is_cancelled() && !c.token().is_cancelled());
        assert!(!registry.cancel(Some("s2"), &json!(7)));
        assert!(registry.cancel(None, &json!(7)));
        assert!(b.token().is_cancelled());
    }

    #[test]
    fn finished_requests_leave_the_registry() {
        let registry = InFlight::default();
        let first = registry.register(None, &json!(1));
        // A client reusing the id: the older guard must not remove the newer entry.
        let second = registry.register(None, &json!(1));
        drop(first);
        assert!(registry.cancel(None, &json!(1)));
        assert!(second.token().is_cancelled());
        drop(second);
        assert!(!registry.cancel(None, &json!(1)));
        assert!(registry.lock().is_empty());
    }
}
