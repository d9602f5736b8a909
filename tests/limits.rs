//! Bounded concurrency: each network subsystem takes at most
//! `max_network_operations` operations at once; more get 429, never a queue
//! that grows without bound.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn network_operations_beyond_the_limit_get_429() {
    // A whois server that accepts and never answers keeps lookups in flight.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let server = TestServer::start_with(|c| c.max_network_operations = 2);
    let lookup = json!({"query": "example.com", "server": format!("127.0.0.1:{port}"),
        "follow_referrals": false, "timeout_ms": 5000});
    let first = server.post("/api/v1/whois", &lookup);
    let second = server.post("/api/v1/whois", &lookup);
    let busy = async {
        // Wait until both are in flight (the server has their connections).
        let deadline = Instant::now() + Duration::from_secs(20);
        while accepted.load(Ordering::SeqCst) < 2 {
            assert!(
                Instant::now() < deadline,
                "the lookups never reached the server"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.post("/api/v1/whois", &lookup).await
    };
    let ((s1, _), (s2, _), (s3, third)) = tokio::join!(first, second, busy);
    assert_eq!(
        (s1, s2),
        (504, 504),
        "the first two time out at the silent server"
    );
    assert_eq!(s3, 429, "{third}");
    assert_eq!(third["error"]["code"], "limit_reached");
    // Once they are done, lookups are accepted again.
    let (status, _) = server.post("/api/v1/whois", &lookup).await;
    assert_eq!(status, 504);
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    // Headers that never end.
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the server kept a header-less connection open for 60 s"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
