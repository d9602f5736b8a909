//! Terminal sessions against a real server with real PTYs and shells:
//! command results, bounded output, waiting, prompts, idempotency, keys,
//! resize, restart, close, faults.

mod common;

use std::time::Duration;

use common::TestServer;
use common::terminal::lines;
use serde_json::{Value, json};

#[tokio::test]
async fn echo_false_and_exit_codes_are_exact() {
    let server = TestServer::start();
    let id = server.shell().await;
    let hi = server.run(&id, "echo hi").await;
    assert_eq!(hi["status"], "completed", "{hi}");
    assert_eq!(hi["exit_code"], 0);
    assert_eq!(hi["output"], "hi");
    assert_eq!(hi["completion"], "shell_integration");
    assert!(hi["command_id"].as_str().unwrap().starts_with("cmd_"));
    let f = server.run(&id, "false").await;
    assert_eq!(
        (f["status"].clone(), f["exit_code"].clone()),
        (json!("completed"), json!(1))
    );
    assert_eq!(f["output"], "");
    let code = server.run(&id, "(exit 42)").await;
    assert_eq!(code["exit_code"], 42);
    let cd = server.run(&id, "cd /tmp && pwd").await;
    assert_eq!(cd["output"], "/tmp");
    assert_eq!(cd["cwd"], "/tmp");
    let info = server.get("/api/v1/sessions").await.1;
    let me = &info["sessions"][0];
    assert_eq!(me["shell_integration"], true);
    assert_eq!(me["cwd"], "/tmp");
    assert_eq!(me["kind"], "shell");
    assert_eq!(me["status"], "running");
}

#[tokio::test]
async fn exit_in_a_command_session_is_session_exited_with_its_code() {
    let server = TestServer::start();
    let session = server
        .open_session(json!({"kind": "command", "command": ["sh"], "name": "plain sh"}))
        .await;
    assert_eq!(session["name"], "plain sh");
    assert_eq!(session["command"], json!(["sh"]));
    let id = session["id"].as_str().unwrap();
    let hello = server.run(id, "echo hello").await;
    assert_eq!(hello["status"], "completed", "{hello}");
    assert_eq!(hello["output"], "hello");
    assert_eq!(hello["completion"], "quiescence");
    assert_eq!(hello["exit_code"], Value::Null);
    let exit = server.run(id, "exit 3").await;
    assert_eq!(exit["status"], "session_exited", "{exit}");
    assert_eq!(exit["exit_code"], 3);
    // Still listed, still readable, refuses new commands with 409.
    let listed = server.get("/api/v1/sessions").await.1;
    assert_eq!(listed["sessions"][0]["status"], "exited");
    assert_eq!(listed["sessions"][0]["exit_code"], 3);
    let screen = server.screen(id, 0).await;
    assert!(lines(&screen).iter().any(|l| l.contains("hello")));
    let (status, body) = server.run_with(id, "echo again", json!({})).await;
    assert_eq!(status, 409);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 3")
    );
}

#[tokio::test]
async fn long_output_is_bounded_flagged_and_fully_readable_by_paging() {
    let server = TestServer::start();
    let id = server.shell().await;
    let (status, result) = server
        .run_with(
            &id,
            "seq 1 200000",
            json!({"max_output_bytes": 4096, "timeout_ms": 120000}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["output_truncated"], true);
    let output = result["output"].as_str().unwrap();
    assert!(output.len() <= 4096 + 100, "{}", output.len());
    assert!(output.starts_with("1\n2\n3\n"));
    assert!(output.ends_with("199999\n200000"));
    assert!(output.contains("bytes omitted"));
    // Page through the whole command output with session_output.
    let from = result["output_cursor"]["from"].as_u64().unwrap();
    let to = result["output_cursor"]["to"].as_u64().unwrap();
    let mut since = from;
    let mut text = String::new();
    while since < to {
        let (status, page) = server
            .get(&format!(
                "/api/v1/sessions/{id}/output?since={since}&max_bytes=65536"
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(page["dropped"], 0);
        let next = page["next"].as_u64().unwrap();
        assert!(next > since, "paging must progress");
        let page_text = page["text"].as_str().unwrap();
        let committed = page_text.len() - page["partial"].as_u64().unwrap() as usize;
        text.push_str(&page_text[..committed]);
        since = next;
    }
    let expected: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    assert_eq!(text.len(), expected.len());
    assert!(text == expected, "paged output differs from seq's");
}

#[tokio::test]
async fn a_command_outliving_its_wait_is_running_then_completes() {
    let server = TestServer::start();
    let id = server.shell().await;
    let (_, first) = server
        .run_with(&id, "sleep 2", json!({"timeout_ms": 200}))
        .await;
    assert_eq!(first["status"], "running", "{first}");
    assert_eq!(first["exit_code"], Value::Null);
    let listed = server.get("/api/v1/sessions").await.1;
    assert_eq!(listed["sessions"][0]["running_command"], "sleep 2");
    let done = server
        .poll(&id, first["command_id"].as_str().unwrap(), 10_000)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["exit_code"], 0);
    assert!(done["duration_ms"].as_u64().unwrap() >= 1900);
}

#[tokio::test]
async fn prompts_are_awaiting_input_with_hints_and_answers_complete_them() {
    let server = TestServer::start();
    let id = server.shell().await;
    let (_, asked) = server
        .run_with(
            &id,
            "read -p 'Name: ' x; echo \"hello $x\"",
            json!({"timeout_ms": 10000}),
        )
        .await;
    assert_eq!(asked["status"], "awaiting_input", "{asked}");
    assert_eq!(asked["prompt_hint"], "other");
    assert!(asked["prompt_text"].as_str().unwrap().ends_with("Name:"));
    let (status, _) = server.keys(&id, Some("bob"), &["Enter"]).await;
    assert_eq!(status, 200);
    let done = server
        .poll(&id, asked["command_id"].as_str().unwrap(), 10_000)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["output"].as_str().unwrap().ends_with("hello bob"));

    // A sudo-style password prompt: echo off.
    let script = "read -s -p 'Password: ' pw; echo; echo \"got ${#pw} chars\"";
    let (_, asked) = server
        .run_with(&id, script, json!({"timeout_ms": 10000}))
        .await;
    assert_eq!(asked["status"], "awaiting_input", "{asked}");
    assert_eq!(asked["prompt_hint"], "password");
    server.keys(&id, Some("hunter2"), &["Enter"]).await;
    let done = server
        .poll(&id, asked["command_id"].as_str().unwrap(), 10_000)
        .await;
    assert_eq!(done["status"], "completed");
    assert!(done["output"].as_str().unwrap().ends_with("got 7 chars"));
    assert!(!done["output"].as_str().unwrap().contains("hunter2"));

    // A yes/no question.
    let (_, asked) = server
        .run_with(
            &id,
            "read -p 'Continue? [y/N] ' a; echo \"answer=$a\"",
            json!({"timeout_ms": 10000}),
        )
        .await;
    assert_eq!(asked["prompt_hint"], "yes_no", "{asked}");
    server.keys(&id, Some("y"), &["Enter"]).await;
    let done = server
        .poll(&id, asked["command_id"].as_str().unwrap(), 10_000)
        .await;
    assert!(done["output"].as_str().unwrap().ends_with("answer=y"));
}

#[tokio::test]
async fn the_same_request_id_twice_concurrently_runs_once() {
    let server = TestServer::start();
    let id = server.shell().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("count");
    let command = format!("echo ran >> {} && sleep 0.3 && echo done", file.display());
    let body = json!({"command": command, "request_id": "req-1"});
    let path = format!("/api/v1/sessions/{id}/commands");
    let (a, b) = tokio::join!(server.post(&path, &body), server.post(&path, &body));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["command_id"], b.1["command_id"]);
    assert_eq!(a.1["status"], "completed");
    assert_eq!(b.1["status"], "completed");
    assert_eq!(a.1["output"], "done");
    // A later retry gets the same result, still without running again.
    let (_, c) = server.post(&path, &body).await;
    assert_eq!(c["command_id"], a.1["command_id"]);
    // The REST Idempotency-Key header is the same key.
    let keyed = |key: &'static str| {
        common::client()
            .post(server.at(&path))
            .header("Authorization", server.bearer())
            .header("Idempotency-Key", key)
            .json(&json!({"command": format!("echo ran >> {}", file.display())}))
            .send()
    };
    let first: Value = keyed("key-2").await.unwrap().json().await.unwrap();
    let second: Value = keyed("key-2").await.unwrap().json().await.unwrap();
    assert_eq!(first["command_id"], second["command_id"]);
    let count = std::fs::read_to_string(&file).unwrap();
    assert_eq!(count, "ran\nran\n", "each request id ran exactly once");
}

#[tokio::test]
async fn multi_line_commands_and_heredocs_work() {
    let server = TestServer::start();
    let id = server.shell().await;
    let heredoc = server
        .run(&id, "cat <<EOF\nline one\nline two\nEOF\necho after")
        .await;
    assert_eq!(heredoc["output"], "line one\nline two\nafter", "{heredoc}");
    assert_eq!(heredoc["exit_code"], 0);
    let loop_ = server
        .run(&id, "for i in 1 2 3; do\n  echo n$i\ndone\nfalse")
        .await;
    assert_eq!(loop_["output"], "n1\nn2\nn3");
    let log = server
        .get(&format!("/api/v1/sessions/{id}/output?since=0"))
        .await
        .1;
    assert_eq!(
        loop_["exit_code"],
        1,
        "{loop_}\n{}",
        log["text"].as_str().unwrap()
    );
}

#[tokio::test]
async fn a_busy_session_refuses_a_second_command_unless_queued() {
    let server = TestServer::start();
    let id = server.shell().await;
    let (_, first) = server
        .run_with(&id, "sleep 1; echo one", json!({"timeout_ms": 50}))
        .await;
    assert_eq!(first["status"], "running");
    let (status, refused) = server.run_with(&id, "echo two", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(refused["error"]["code"], "conflict");
    let (status, queued) = server
        .run_with(&id, "echo two", json!({"queue": true, "timeout_ms": 10000}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(queued["status"], "completed", "{queued}");
    assert_eq!(queued["output"], "two");
    let done = server
        .poll(&id, first["command_id"].as_str().unwrap(), 0)
        .await;
    assert_eq!(done["output"], "one");
}

#[tokio::test]
async fn ctrl_c_interrupts_and_bad_key_names_are_refused() {
    let server = TestServer::start();
    let id = server.shell().await;
    let (_, running) = server
        .run_with(&id, "sleep 30", json!({"timeout_ms": 100}))
        .await;
    assert_eq!(running["status"], "running");
    let (status, sent) = server.keys(&id, None, &["Ctrl-C"]).await;
    assert_eq!(status, 200);
    assert_eq!(sent["bytes_sent"], 1);
    let done = server
        .poll(&id, running["command_id"].as_str().unwrap(), 10_000)
        .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["exit_code"], 130);
    let (status, body) = server.keys(&id, None, &["Hyper-Q"]).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("keys: "),
        "{body}"
    );
    let (status, _) = server.keys(&id, None, &[]).await;
    assert_eq!(status, 400);
    // interrupt_on_timeout: Ctrl-C at the deadline, answered timed_out.
    let (_, timed) = server
        .run_with(
            &id,
            "sleep 30",
            json!({"timeout_ms": 200, "interrupt_on_timeout": true}),
        )
        .await;
    assert_eq!(timed["status"], "timed_out", "{timed}");
    let next = server.run(&id, "echo alive").await;
    assert_eq!(next["output"], "alive");
}

#[tokio::test]
async fn resize_reaches_the_program() {
    let server = TestServer::start();
    let session = server.open_session(json!({"cols": 100, "rows": 30})).await;
    let id = session["id"].as_str().unwrap();
    assert_eq!(
        (session["cols"].clone(), session["rows"].clone()),
        (json!(100), json!(30))
    );
    let size = server.run(id, "tput cols; tput lines").await;
    assert_eq!(size["output"], "100\n30", "{size}");
    let (status, resized) = server
        .post(
            &format!("/api/v1/sessions/{id}/resize"),
            &json!({"cols": 132, "rows": 43}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(resized["cols"], 132);
    assert_eq!(
        server.run(id, "tput cols; tput lines").await["output"],
        "132\n43"
    );
    let screen = server.screen(id, 0).await;
    assert_eq!(
        (screen["cols"].clone(), screen["rows"].clone()),
        (json!(132), json!(43))
    );
    assert_eq!(lines(&screen).len(), 43);
    let (status, _) = server
        .post(
            &format!("/api/v1/sessions/{id}/resize"),
            &json!({"cols": 0, "rows": 43}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn sessions_get_a_sane_environment_and_answers_to_terminal_queries() {
    let server = TestServer::start();
    let session = server
        .open_session(json!({"env": {"GREETING": "hi there"}, "cwd": "/tmp"}))
        .await;
    let id = session["id"].as_str().unwrap();
    let env = server
        .run(id, "echo \"$TERM|$PAGER|$GIT_PAGER|$GREETING|$PWD\"")
        .await;
    assert_eq!(env["output"], "xterm-256color|cat|cat|hi there|/tmp");
    // A program asking for the cursor position gets an answer (no hang).
    let query = server
        .run(
            id,
            "stty -echo; printf '\\033[6n'; IFS= read -rs -d R pos; stty echo; echo \"pos=${pos#*[}\"",
        )
        .await;
    assert_eq!(query["status"], "completed", "{query}");
    let pos = query["output"].as_str().unwrap();
    assert!(pos.starts_with("pos=") && pos.contains(';'), "{pos}");
}

#[tokio::test]
async fn restart_keeps_the_id_and_brings_a_fresh_process() {
    let server = TestServer::start();
    let session = server.open_session(json!({})).await;
    let id = session["id"].as_str().unwrap();
    server.run(id, "export MARK=old").await;
    let (status, restarted) = server
        .post(&format!("/api/v1/sessions/{id}/restart"), &json!({}))
        .await;
    assert_eq!(status, 200, "{restarted}");
    assert_eq!(restarted["id"], session["id"]);
    assert_eq!(restarted["status"], "running");
    assert_eq!(restarted["restarted"], true);
    assert_ne!(restarted["pid"], session["pid"]);
    let mark = server.run(id, "echo \"mark=${MARK:-none}\"").await;
    assert_eq!(mark["output"], "mark=none");
}

#[tokio::test]
async fn close_ends_the_process_and_forgets_the_session() {
    let server = TestServer::start();
    let session = server.open_session(json!({})).await;
    let id = session["id"].as_str().unwrap();
    let pid = session["pid"].as_u64().unwrap();
    server
        .run_with(id, "sleep 300 & sleep 300", json!({"timeout_ms": 100}))
        .await;
    let (status, closed) = server.close(id).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "exited");
    assert!(closed["exit_code"].is_i64());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            // A zombie not yet reaped would still show; it must not be running.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.contains(") Z ")
        }
    );
    // Nothing of that terminal session survives (background jobs included).
    let leftovers = termbridge_actors::terminal::waiting::session_members(pid as i32);
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    let (status, _) = server.get(&format!("/api/v1/sessions/{id}/screen")).await;
    assert_eq!(status, 404);
    let (status, _) = server.close(id).await;
    assert_eq!(status, 404);
    assert_eq!(
        server.get("/api/v1/sessions").await.1["sessions"],
        json!([])
    );
}

#[tokio::test]
async fn hostile_session_requests_are_refused_precisely() {
    let server = TestServer::start();
    for (spec, message) in [
        (json!({"kind": "command"}), "needs command"),
        (
            json!({"kind": "command", "command": ["/no/such/program"]}),
            "cannot start",
        ),
        (json!({"cwd": "/no/such/dir"}), "not an existing directory"),
        (json!({"rows": 1000}), "rows must be between"),
        (
            json!({"kind": "ssh", "ssh": {"host": "-oProxyCommand=touch /tmp/pwned"}}),
            "not a valid host",
        ),
        (json!({"kind": "teleport"}), "unknown variant"),
        (json!({"bogus": 1}), "unknown field"),
    ] {
        let (status, body) = server.post("/api/v1/sessions", &spec).await;
        assert_eq!(status, 400, "{spec} -> {body}");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{spec}: {text}");
    }
    let (status, body) = server.get("/api/v1/sessions/s_nope/screen").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = server.run_with("s_nope", "echo", json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_session_limit_answers_429() {
    let server = TestServer::start_with(|c| c.terminal.max_sessions = 2);
    server.shell().await;
    server.shell().await;
    let (status, body) = server.post("/api/v1/sessions", &json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "limit_reached");
}

#[tokio::test]
async fn idle_sessions_are_closed_when_configured() {
    let server = TestServer::start_with(|c| c.terminal.idle_timeout = Some(Duration::from_secs(1)));
    let id = server.shell().await;
    server.run(&id, "true").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = server.get("/api/v1/sessions").await.1;
        if listed["sessions"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "idle session never closed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_panicking_session_actor_comes_back_and_others_are_untouched() {
    let server = TestServer::start();
    let victim = server.shell().await;
    let bystander = server.shell().await;
    server.run(&victim, "export KEEP=1").await;
    let answer = server
        .subsystems
        .terminal
        .ask(termbridge_actors::terminal::InjectSessionPanic {
            session_id: victim.clone(),
        })
        .await;
    assert!(
        answer.is_err(),
        "the injected fault must surface as an error"
    );
    // The session is back, marked restarted, with its shell and state intact.
    let after = server.run(&victim, "echo \"keep=$KEEP\"").await;
    assert_eq!(after["output"], "keep=1", "{after}");
    let listed = server.get("/api/v1/sessions").await.1;
    let find = |id: &str| {
        listed["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(find(&victim)["restarted"], true);
    assert_eq!(find(&bystander)["restarted"], false);
    assert_eq!(server.run(&bystander, "echo fine").await["output"], "fine");
}

#[tokio::test]
async fn session_tools_work_over_mcp_too() {
    let server = TestServer::start();
    let call = |name: &str, args: Value| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}});
    let (_, opened) = server
        .mcp(&call("session_open", json!({"name": "mcp"})))
        .await;
    let session = &opened["result"]["structuredContent"];
    let id = session["id"].as_str().unwrap();
    let (_, ran) = server
        .mcp(&call(
            "session_run",
            json!({"session_id": id, "command": "echo over mcp"}),
        ))
        .await;
    assert_eq!(
        ran["result"]["structuredContent"]["output"], "over mcp",
        "{ran}"
    );
    let (_, screen) = server
        .mcp(&call("session_screen", json!({"session_id": id})))
        .await;
    assert!(screen["result"]["structuredContent"]["lines"].is_array());
    let (_, missing) = server
        .mcp(&call(
            "session_run",
            json!({"session_id": "s_gone", "command": "true"}),
        ))
        .await;
    assert_eq!(missing["result"]["isError"], true);
    let (_, closed) = server
        .mcp(&call("session_close", json!({"session_id": id})))
        .await;
    assert_eq!(closed["result"]["structuredContent"]["status"], "exited");
}

#[tokio::test]
async fn zsh_gets_shell_integration_too() {
    let zsh = ["/usr/bin/zsh", "/bin/zsh"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("zsh is installed by scripts/setup-test-env.sh");
    let server = TestServer::start_with(|c| c.terminal.shell = Some(zsh.to_string()));
    let session = server.open_session(json!({})).await;
    assert_eq!(session["command"], json!([zsh]));
    let id = session["id"].as_str().unwrap();
    let hi = server.run(id, "echo hi from $ZSH_NAME").await;
    assert_eq!(hi["output"], "hi from zsh", "{hi}");
    assert_eq!(hi["completion"], "shell_integration");
    assert_eq!(server.run(id, "false").await["exit_code"], 1);
    let cd = server.run(id, "cd /tmp && print -r -- $PWD").await;
    assert_eq!(
        (cd["output"].clone(), cd["cwd"].clone()),
        (json!("/tmp"), json!("/tmp"))
    );
    let multi = server
        .run(id, "for i in 1 2; do\n  echo z$i\ndone\n(exit 4)")
        .await;
    assert_eq!(multi["output"], "z1\nz2", "{multi}");
    assert_eq!(multi["exit_code"], 4);
}

#[tokio::test]
async fn a_second_restart_while_restarting_is_refused() {
    let server = TestServer::start();
    let id = server.shell().await;
    // A shell that ignores SIGHUP makes the restart wait out the grace
    // period before SIGKILL: a window in which a second restart arrives.
    server.run(&id, "trap '' HUP").await;
    let path = format!("/api/v1/sessions/{id}/restart");
    let empty = json!({});
    let first = server.post(&path, &empty);
    let second = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let listed = server.get("/api/v1/sessions").await.1;
            if listed["sessions"][0]["status"] == "restarting" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never restarting: {listed}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.post(&path, &empty).await
    };
    let (a, b) = tokio::join!(first, second);
    assert_eq!((a.0, b.0), (200, 409), "{a:?} {b:?}");
    assert!(
        b.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already restarting")
    );
    let listed = server.get("/api/v1/sessions").await.1;
    let pid = listed["sessions"][0]["pid"].as_u64().unwrap();
    let (_, closed) = server.close(&id).await;
    assert_eq!(closed["status"], "exited");
    let leftovers = termbridge_actors::terminal::waiting::session_members(pid as i32);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_silent_running_command_is_not_idleness() {
    let server = TestServer::start_with(|c| c.terminal.idle_timeout = Some(Duration::from_secs(1)));
    let id = server.shell().await;
    let (_, running) = server
        .run_with(&id, "sleep 3", json!({"timeout_ms": 100}))
        .await;
    let done = server
        .poll(&id, running["command_id"].as_str().unwrap(), 20_000)
        .await;
    assert_eq!(
        done["status"], "completed",
        "the session was closed under its command: {done}"
    );
}

#[tokio::test]
async fn a_request_id_reused_for_another_command_is_a_conflict() {
    let server = TestServer::start();
    let id = server.shell().await;
    let (status, _) = server
        .run_with(&id, "echo one", json!({"request_id": "r"}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .run_with(&id, "echo two", json!({"request_id": "r"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("different command")
    );
}

#[tokio::test]
async fn server_settings_and_local_command_options_stay_out_of_sessions() {
    let server = TestServer::start();
    // scripts/test.sh exports TERMBRIDGE_TEST_PYTHON into this process.
    assert!(std::env::var_os("TERMBRIDGE_TEST_PYTHON").is_some());
    let id = server.shell().await;
    let seen = server
        .run(&id, "echo \"[${TERMBRIDGE_TEST_PYTHON:-unset}]\"")
        .await;
    assert_eq!(seen["output"], "[unset]");
    for (spec, message) in [
        (
            json!({"kind": "ssh", "ssh": {"host": "127.0.0.1", "options": ["ProxyCommand=sh -c id"]}}),
            "makes ssh run local commands",
        ),
        (
            json!({"kind": "ssh", "ssh": {"host": "127.0.0.1", "options": ["localcommand=id"]}}),
            "makes ssh run local commands",
        ),
        (
            json!({"env": {"TERMBRIDGE_SESSION_ID": "x"}}),
            "cannot be overridden",
        ),
    ] {
        let (status, body) = server.post("/api/v1/sessions", &spec).await;
        assert_eq!(status, 400, "{spec}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
}
