//! Supervision end to end: a fault injected into a subsystem actor (a
//! panicking handler) is restarted by its supervisor; while it is down,
//! calls get 503 / isError "restarting, retry" — never a hang — and
//! `server_info` shows the state and the restart count.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::dns::TestDnsServer;
use serde_json::{Value, json};
use termbridge_actors::supervisor::InjectFault;

fn subsystem(info: &Value, name: &str) -> Value {
    info["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no subsystem {name} in {info}"))
}

/// Polls server_info until `name` runs again (bounded).
async fn until_running(server: &TestServer, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = server.get("/api/v1/info").await.1;
        let state = subsystem(&info, name);
        if state["state"] == "running" {
            return state;
        }
        assert!(Instant::now() < deadline, "{name} never came back: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_panicking_dns_handler_recovers_and_calls_meanwhile_get_the_retry_error() {
    let dns = TestDnsServer::start();
    let server = TestServer::start();
    let lookup = json!({"name": "ns1.termbridge.test", "server": dns.server()});
    let (status, before) = server.post("/api/v1/dns/lookup", &lookup).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(
        subsystem(&server.get("/api/v1/info").await.1, "dns")["restarts"],
        0
    );

    let answer = server
        .subsystems
        .dns
        .ask(InjectFault {
            hold_down: Duration::from_secs(3),
        })
        .await;
    assert!(answer.is_err(), "the injected panic surfaces as an error");

    // While it is down: 503 over REST, isError over MCP, state in server_info.
    let (status, body) = server.post("/api/v1/dns/lookup", &lookup).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restarting")
    );
    let (_, mcp) = server
        .mcp(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "dns_lookup", "arguments": lookup}}))
        .await;
    assert_eq!(mcp["result"]["isError"], true);
    assert!(
        mcp["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("retry")
    );
    assert_eq!(
        subsystem(&server.get("/api/v1/info").await.1, "dns")["state"],
        "restarting"
    );
    // Other subsystems are untouched.
    let (status, _) = server.get("/api/v1/net/addresses").await;
    assert_eq!(status, 200);

    let back = until_running(&server, "dns").await;
    assert_eq!(back["restarts"], 1);
    let (status, after) = server.post("/api/v1/dns/lookup", &lookup).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["records"], before["records"]);
}

#[tokio::test]
async fn every_subsystem_comes_back_after_a_fault() {
    let server = TestServer::start();
    let session = server.shell().await;
    let hold = InjectFault {
        hold_down: Duration::ZERO,
    };
    assert!(
        server
            .subsystems
            .net
            .ask(InjectFault {
                hold_down: Duration::ZERO
            })
            .await
            .is_err()
    );
    assert!(
        server
            .subsystems
            .whois
            .ask(InjectFault {
                hold_down: Duration::ZERO
            })
            .await
            .is_err()
    );
    assert!(server.subsystems.terminal.ask(hold).await.is_err());
    assert!(
        server
            .subsystems
            .docs
            .ask(InjectFault {
                hold_down: Duration::ZERO
            })
            .await
            .is_err()
    );
    for name in ["net", "whois", "terminal", "docs"] {
        assert_eq!(until_running(&server, name).await["restarts"], 1, "{name}");
    }
    // The terminal manager kept its sessions across its restart.
    let ran = server.run(&session, "echo still here").await;
    assert_eq!(ran["output"], "still here");
    let (status, _) = server.get("/api/v1/net/addresses").await;
    assert_eq!(status, 200);
    let (status, found) = server.get("/api/v1/docs/search?query=bearer%20token").await;
    assert_eq!(status, 200, "{found}");
}
