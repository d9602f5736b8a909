//! The MCP door's JSON-RPC decoder: `serde_json::from_slice` then
//! `termbridge::mcp::classify`, as `/mcp` does with every request body
//! (batches message by message).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use termbridge::mcp::{Incoming, classify};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let messages = match &message {
        Value::Array(batch) => batch.iter().collect(),
        single => vec![single],
    };
    for message in messages {
        let is_v2 = message.get("jsonrpc").is_some_and(|v| v == "2.0");
        match classify(message) {
            Ok(Incoming::Request { id, .. }) => {
                assert!(is_v2);
                assert_eq!(Some(&id), message.get("id"));
            }
            Ok(_) => assert!(is_v2),
            Err((id, why)) => {
                assert!(!why.is_empty());
                assert!(id.is_null() || Some(&id) == message.get("id"));
            }
        }
    }
});
