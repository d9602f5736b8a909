//! MCP sessions: the ids issued on `initialize` and the protocol version each
//! negotiated. Bounded: the least recently used session is forgotten first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The most sessions remembered at once.
pub const MAX_SESSIONS: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    version: &'static str,
    last_used: Instant,
}

/// All live MCP sessions.
#[derive(Debug, Default)]
pub struct McpSessions {
    inner: Mutex<HashMap<String, Entry>>,
}

impl McpSessions {
    /// Starts a session that speaks `version`; returns its id.
    pub fn create(&self, version: &'static str) -> String {
        let bytes: [u8; 16] = rand::random();
        let id = hex::encode(bytes);
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Entry {
                version,
                last_used: Instant::now(),
            },
        );
        id
    }

    /// The protocol version of session `id`, touching it; `None` if unknown.
    pub fn version(&self, id: &str) -> Option<&'static str> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.get_mut(id).map(|e| {
            e.last_used = Instant::now();
            e.version
        })
    }

    /// Ends session `id`; false if it was unknown.
    pub fn remove(&self, id: &str) -> bool {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_created_found_and_removed() {
        let sessions = McpSessions::default();
        let id = sessions.create("2025-06-18");
        assert_eq!(id.len(), 32);
        assert_eq!(sessions.version(&id), Some("2025-06-18"));
        assert!(sessions.remove(&id));
        assert_eq!(sessions.version(&id), None);
        assert!(!sessions.remove(&id));
    }
}
