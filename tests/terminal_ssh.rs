//! ssh sessions against a real sshd on loopback (tests/common/sshd.rs):
//! key login, exact exit codes through remotely injected shell integration,
//! and the host-key question reported as awaiting_input (yes_no).

mod common;

use common::TestServer;
use common::sshd::TestSshd;
use serde_json::{Value, json};

fn ssh_spec(sshd: &TestSshd, known_hosts: &std::path::Path, strict: &str) -> Value {
    json!({
        "kind": "ssh",
        "name": "loopback",
        "ssh": {
            "host": "127.0.0.1",
            "port": sshd.port,
            "user": sshd.user,
            "identity_file": sshd.identity_file,
            "options": [
                format!("UserKnownHostsFile={}", known_hosts.display()),
                "GlobalKnownHostsFile=/dev/null".to_string(),
                format!("StrictHostKeyChecking={strict}"),
                "IdentitiesOnly=yes".to_string(),
                "PasswordAuthentication=no".to_string(),
            ]
        }
    })
}

#[tokio::test]
async fn ssh_session_logs_in_with_a_key_and_reports_exact_exit_codes() {
    let sshd = TestSshd::start();
    let server = TestServer::start();
    let session = server
        .open_session(ssh_spec(&sshd, &sshd.known_hosts, "yes"))
        .await;
    assert_eq!(session["kind"], "ssh");
    assert_eq!(session["ready"], true, "{session}");
    let id = session["id"].as_str().unwrap();
    let whoami = server.run(id, "echo \"$USER@$SSH_CONNECTION\"").await;
    assert_eq!(whoami["status"], "completed", "{whoami}");
    assert_eq!(whoami["completion"], "shell_integration");
    let text = whoami["output"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("{}@127.0.0.1 ", sshd.user)),
        "{text}"
    );
    assert!(text.ends_with(&format!(" {}", sshd.port)), "{text}");
    let failed = server.run(id, "false").await;
    assert_eq!(failed["exit_code"], 1);
    let code = server.run(id, "(exit 7)").await;
    assert_eq!(code["exit_code"], 7);
    let cwd = server.run(id, "cd /tmp").await;
    assert_eq!(cwd["cwd"], "/tmp");
    let listed = server.get("/api/v1/sessions").await.1;
    assert_eq!(listed["sessions"][0]["shell_integration"], true);
    // Logging out ends the session with the remote shell's status.
    let bye = server.run(id, "exit 5").await;
    assert_eq!(bye["status"], "session_exited", "{bye}");
    assert_eq!(bye["exit_code"], 5);
}

#[tokio::test]
async fn ssh_without_integration_falls_back_to_quiescence() {
    let sshd = TestSshd::start();
    let server = TestServer::start();
    let mut spec = ssh_spec(&sshd, &sshd.known_hosts, "yes");
    spec["shell_integration"] = json!("off");
    let session = server.open_session(spec).await;
    let id = session["id"].as_str().unwrap();
    let echo = server.run(id, "echo plain").await;
    assert_eq!(echo["status"], "completed", "{echo}");
    assert_eq!(echo["completion"], "quiescence");
    let log = server
        .get(&format!("/api/v1/sessions/{id}/output?since=0"))
        .await
        .1;
    assert_eq!(echo["output"], "plain", "{:?}", log["text"]);
    assert_eq!(echo["exit_code"], Value::Null);
}

#[tokio::test]
async fn unknown_host_key_question_is_awaiting_input_yes_no() {
    let sshd = TestSshd::start();
    let server = TestServer::start();
    let known_hosts = sshd.empty_known_hosts();
    let session = server
        .open_session(ssh_spec(&sshd, &known_hosts, "ask"))
        .await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(session["ready"], false, "{session}");
    assert_eq!(session["prompt_hint"], "yes_no", "{session}");
    // A command sent now is not typed into the question: it waits, and the
    // answer says why.
    let (_, pending) = server
        .run_with(id, "echo logged in", json!({"timeout_ms": 300}))
        .await;
    assert_eq!(pending["status"], "awaiting_input", "{pending}");
    assert_eq!(pending["prompt_hint"], "yes_no");
    assert!(
        pending["prompt_text"]
            .as_str()
            .unwrap()
            .contains("continue connecting")
    );
    // Answer the question; the queued command then runs after login.
    server.keys(id, Some("yes"), &["Enter"]).await;
    let done = server
        .poll(id, pending["command_id"].as_str().unwrap(), 20_000)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["output"], "logged in");
    assert_eq!(done["exit_code"], 0);
    let saved = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(saved.contains(&sshd.host_key_pub.split(' ').nth(1).unwrap().to_string()));
}
