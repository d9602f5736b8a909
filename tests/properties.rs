//! Property-based tests (proptest) of the JSON-RPC decoder of the MCP door:
//! `serde_json` followed by `termbridge::mcp::classify`.
//!
//! Every MCP request body goes through these two steps, so they must never
//! panic, must keep a request's id, and must refuse anything that is not
//! JSON-RPC 2.0. 256 cases per property keep the suite fast.

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};
use termbridge::mcp::{Incoming, classify};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Keys that matter to JSON-RPC, mixed with arbitrary ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&["jsonrpc", "id", "method", "params", "result", "error"][..])
            .prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// Any JSON value, biased towards the shapes of JSON-RPC messages.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        any::<String>().prop_map(Value::String),
        Just(json!("2.0")),
        Just(json!("tools/call")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid request id: a string or an integer.
fn request_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
    ]
}

/// Valid params: absent (None), null, an object or an array.
fn params() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        json_value().prop_map(|v| Some(json!({"arguments": v}))),
        prop::collection::vec(json_value(), 0..4).prop_map(|v| Some(Value::Array(v))),
    ]
}

/// Anything but the string "2.0", or nothing at all (None).
fn wrong_version() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        json_value()
            .prop_filter("not \"2.0\"", |v| v != "2.0")
            .prop_map(Some),
        Just(Some(json!("2.00"))),
        Just(Some(json!("2"))),
        Just(Some(json!(2.0))),
        Just(Some(json!(" 2.0"))),
        Just(Some(json!(["2.0"]))),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary JSON values never panic; an `Ok` needs `"jsonrpc": "2.0"`,
    /// and an error's reply id is either null or the message's own valid id.
    #[test]
    fn classify_never_panics_and_judges_consistently(message in json_value()) {
        let is_v2 = message.get("jsonrpc").is_some_and(|v| v == "2.0");
        match classify(&message) {
            Ok(incoming) => {
                prop_assert!(is_v2, "accepted without jsonrpc 2.0: {message}");
                if let Incoming::Request { id, .. } = &incoming {
                    prop_assert_eq!(Some(id), message.get("id"));
                }
            }
            Err((reply_id, why)) => {
                prop_assert!(!why.is_empty());
                if !reply_id.is_null() {
                    prop_assert_eq!(Some(&reply_id), message.get("id"));
                    prop_assert!(reply_id.is_string() || reply_id.is_i64() || reply_id.is_u64());
                }
            }
        }
    }

    /// Well-formed requests are requests with their own id, method and params.
    #[test]
    fn requests_keep_their_id_method_and_params(
        id in request_id(),
        method in any::<String>(),
        params in params(),
        extra in prop::collection::vec((any::<String>(), json_value()), 0..3),
    ) {
        let mut message = Map::new();
        for (k, v) in extra {
            message.insert(k, v);
        }
        message.insert("jsonrpc".into(), json!("2.0"));
        message.insert("id".into(), id.clone());
        message.insert("method".into(), json!(method));
        match &params {
            Some(p) => { message.insert("params".into(), p.clone()); }
            None => { message.remove("params"); }
        }
        let message = Value::Object(message);
        let expected = Incoming::Request {
            id,
            method,
            params: params.unwrap_or(Value::Null),
        };
        prop_assert_eq!(classify(&message), Ok(expected.clone()));
        // Still a request with the same id and method after a trip through
        // the wire format (params may hold floats, which serde_json does not
        // round-trip bit for bit without its `float_roundtrip` feature).
        let bytes = serde_json::to_vec(&message).unwrap();
        let decoded: Value = serde_json::from_slice(&bytes).unwrap();
        let (Ok(Incoming::Request { id: a, method: m, .. }), Incoming::Request { id: b, method: n, .. }) =
            (classify(&decoded), expected)
        else {
            return Err(TestCaseError::fail("not a request after the round trip"));
        };
        prop_assert_eq!((a, m), (b, n));
    }

    /// Notifications (no id) are notifications with their method.
    #[test]
    fn notifications_have_no_id(method in any::<String>(), params in params()) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        if let Some(p) = &params {
            message["params"] = p.clone();
        }
        prop_assert_eq!(
            classify(&message),
            Ok(Incoming::Notification { method, params: params.unwrap_or(Value::Null) })
        );
    }

    /// Without `"jsonrpc": "2.0"` every message is an error, whatever else
    /// it holds; a valid id is still read for the answer.
    #[test]
    fn without_jsonrpc_2_0_everything_is_an_error(
        version in wrong_version(),
        id in prop_oneof![Just(None), request_id().prop_map(Some), json_value().prop_map(Some)],
        method in prop_oneof![Just(None), any::<String>().prop_map(|m| Some(json!(m))), json_value().prop_map(Some)],
        params in params(),
        result in prop_oneof![Just(None), json_value().prop_map(Some)],
    ) {
        let mut message = Map::new();
        for (key, value) in [("jsonrpc", version), ("id", id.clone()), ("method", method), ("params", params), ("result", result)] {
            if let Some(value) = value {
                message.insert(key.into(), value);
            }
        }
        let message = Value::Object(message);
        let (reply_id, _) = classify(&message).expect_err("must be refused");
        let valid = id.as_ref().is_some_and(|i| i.is_string() || i.is_i64() || i.is_u64());
        if valid {
            prop_assert_eq!(Some(reply_id), id);
        } else {
            prop_assert_eq!(reply_id, Value::Null);
        }
    }

    /// Non-objects are never messages.
    #[test]
    fn non_objects_are_refused(value in json_value().prop_filter("not an object", |v| !v.is_object())) {
        let (reply_id, _) = classify(&value).expect_err("must be refused");
        prop_assert_eq!(reply_id, Value::Null);
    }

    /// The whole decoder on arbitrary bytes and on mangled valid messages:
    /// `serde_json` then `classify` never panic.
    #[test]
    fn decoder_never_panics_on_bytes(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            (json_value(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4))
                .prop_map(|(v, edits)| {
                    let mut b = serde_json::to_vec(&v).unwrap();
                    for (at, byte) in edits {
                        if !b.is_empty() {
                            let i = at.index(b.len());
                            b[i] = byte;
                        }
                    }
                    b
                }),
        ],
    ) {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let _ = classify(&value);
        }
    }
}

/// Deep nesting is refused by the parser's recursion limit instead of
/// overflowing the stack.
#[test]
fn deeply_nested_input_is_a_parse_error_not_a_crash() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let depth = 100_000;
        let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }
}
