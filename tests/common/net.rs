//! Helpers for the network-tool tests (ping, traceroute, ip_addresses):
//! calling a tool over REST and MCP, reading an MCP SSE answer event by
//! event as it arrives, and what the system allows for ICMP.

use futures::StreamExt;
use serde_json::{Value, json};

use super::TestServer;

/// Calls `tool` over MCP (plain JSON) with `args`; returns the `result`.
pub async fn mcp_call(server: &TestServer, tool: &str, args: &Value) -> Value {
    let (status, reply) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": args}}))
        .await;
    assert_eq!(status, 200, "{reply}");
    reply["result"].clone()
}

/// Calls `tool` over MCP and returns its structured result, failing on a
/// tool error. Checks that the text content says the same.
pub async fn mcp_ok(server: &TestServer, tool: &str, args: &Value) -> Value {
    let result = mcp_call(server, tool, args).await;
    assert_eq!(result["isError"], false, "{tool} {args}: {result}");
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, result["structuredContent"]);
    result["structuredContent"].clone()
}

/// Calls a POST tool over REST and over MCP with the same bad arguments and
/// checks both refuse them the same way; returns the REST status and error
/// message.
pub async fn refused_by_both(
    server: &TestServer,
    tool: &str,
    path: &str,
    args: &Value,
) -> (u16, String) {
    let (status, body) = server.post(path, args).await;
    assert!(status >= 400, "{args}: {status} {body}");
    let message = body["error"]["message"].as_str().unwrap().to_string();
    let result = mcp_call(server, tool, args).await;
    assert_eq!(result["isError"], true, "{args}: {result}");
    let expected = format!(
        "{} ({status}): {message}",
        body["error"]["code"].as_str().unwrap()
    );
    assert_eq!(result["content"][0]["text"], expected);
    (status, message)
}

/// An MCP `tools/call` answered as SSE, read event by event.
pub struct SseCall {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseCall {
    /// Starts `tools/call` of `tool` with a progress token; `headers` are
    /// extra request headers (e.g. `Mcp-Session-Id`).
    pub async fn start(
        server: &TestServer,
        id: Value,
        tool: &str,
        args: &Value,
        headers: &[(&str, &str)],
    ) -> SseCall {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": tool, "arguments": args, "_meta": {"progressToken": "progress-1"}
        }});
        let response = server.mcp_raw(&call, headers).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        SseCall {
            stream: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next message of the stream; `None` when it ended.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                if data.is_empty() {
                    continue;
                }
                return Some(serde_json::from_str(&data.join("\n")).unwrap());
            }
            match self.stream.next().await {
                Some(chunk) => self
                    .buffer
                    .push_str(std::str::from_utf8(&chunk.expect("SSE chunk")).unwrap()),
                None => return None,
            }
        }
    }

    /// Reads to the end: the progress notifications and the final response.
    pub async fn rest(&mut self) -> (Vec<Value>, Value) {
        let mut notes = Vec::new();
        while let Some(message) = self.next().await {
            if message.get("method").is_some() {
                notes.push(message);
            } else {
                return (notes, message);
            }
        }
        panic!("the SSE stream ended without a response");
    }
}

/// The ICMP method this process gets: `icmp_unprivileged` when
/// `net.ipv4.ping_group_range` includes our group, else `icmp_raw` (the
/// tests run as root).
pub fn expected_icmp_method() -> &'static str {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let bounds: Vec<u32> = range
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let gid = nix::unistd::getegid().as_raw();
    if bounds[0] <= gid && gid <= bounds[1] {
        "icmp_unprivileged"
    } else {
        "icmp_raw"
    }
}

/// Round-trip statistics recomputed from a ping's replies, to compare with
/// its summary: (min, avg, max, stddev).
pub fn stats_of(replies: &[Value]) -> (f64, f64, f64, f64) {
    let rtts: Vec<f64> = replies
        .iter()
        .filter(|r| r["status"] == "reply")
        .map(|r| r["rtt_ms"].as_f64().unwrap())
        .collect();
    let n = rtts.len() as f64;
    let mean = rtts.iter().sum::<f64>() / n;
    let var = rtts.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rtts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, mean, max, var.sqrt())
}

/// Checks a ping summary against its replies: counts, loss and statistics.
pub fn assert_summary_matches(result: &Value) {
    let replies = result["replies"].as_array().unwrap();
    let summary = &result["summary"];
    let received = replies.iter().filter(|r| r["status"] == "reply").count();
    assert_eq!(summary["sent"], replies.len(), "{result}");
    assert_eq!(summary["received"], received, "{result}");
    let loss = (replies.len() - received) as f64 * 100.0 / replies.len() as f64;
    assert!(
        (summary["loss_pct"].as_f64().unwrap() - loss).abs() < 0.01,
        "{result}"
    );
    if received == 0 {
        for field in ["min_ms", "avg_ms", "max_ms", "stddev_ms"] {
            assert!(summary[field].is_null(), "{result}");
        }
        return;
    }
    let (min, avg, max, stddev) = stats_of(replies);
    let close = |field: &str, want: f64| {
        let got = summary[field].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 0.0015,
            "{field}: {got} vs {want} in {result}"
        );
    };
    close("min_ms", min);
    close("avg_ms", avg);
    close("max_ms", max);
    close("stddev_ms", stddev);
    assert!(min <= avg && avg <= max, "{result}");
}
