//! Full-screen programs against a real terminal: vim and less run in a
//! termbridge session and, on the same file at the same size, in tmux; the
//! `session_screen` lines and cursor must be what `tmux capture-pane` shows.
//! Quitting returns to the shell with the alternate screen off. Also:
//! `session_screen?scrollback=N` returns the lines that scrolled off.
//!
//! Environment, the same on both sides: `TERM=xterm-256color` (termbridge
//! sets it; tmux via `default-terminal`), `LANG=LC_ALL=C.UTF-8`, and
//! `LESS=` (empty). Sessions default to `LESS=-FRX` so that commands never
//! stop in a pager; `-X` keeps less off the alternate screen and `-F` makes
//! it quit on short files. We open the session with `env: {"LESS": ""}` so
//! that `less FILE` behaves as the pager a person gets in a plain terminal
//! (alternate screen, prompt, waits for keys); the same empty `LESS` goes
//! into the tmux session with `new-session -e`.
//!
//! Waiting: full-screen programs give no completion event, so screens are
//! polled with a deadline (by revision in `screen_until`, and until the two
//! terminals agree in `assert_same_as_tmux`); everything else waits on
//! termbridge's own events (`session_run` / `session_command` with a wait).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;
use common::terminal::lines;
use serde_json::{Value, json};

const COLS: u16 = 80;
const ROWS: u16 = 24;
/// Bound for polling screens that give no event of their own.
const SCREEN_DEADLINE: Duration = Duration::from_secs(20);
/// Session environment besides what termbridge sets (see the module docs).
const ENV: &[(&str, &str)] = &[("LANG", "C.UTF-8"), ("LC_ALL", "C.UTF-8"), ("LESS", "")];

/// The generated file: 40 lines, one of them wrapping over four rows at 80
/// columns, one with accents, a wide (CJK) run, an ambiguous-width dash, a
/// combining accent and a check mark, one with tabs.
fn sample_text() -> String {
    let mut text = String::new();
    for n in 1..=40 {
        let line = match n {
            5 => {
                let words: Vec<String> = (1..40).map(|w| format!("word{w:02}")).collect();
                format!("long line: {}", words.join(" "))
            }
            8 => "utf-8: héllo wörld — ñandú ÆØÅ 日本語 テスト cafe\u{301} ✓".to_string(),
            12 => "tabs:\tone\ttwo\tthree".to_string(),
            _ => format!("line {n:02}: the quick brown fox jumps over the lazy dog"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn write_sample(dir: &Path) {
    std::fs::write(dir.join("sample.txt"), sample_text()).unwrap();
}

/// A private tmux server (its own socket name, no config file) running one
/// program in a detached session of `COLS` x `ROWS`. Killed when dropped.
struct Tmux {
    socket: String,
    /// The socket file (tmux leaves it behind after `kill-server`).
    socket_path: Option<String>,
}

impl Tmux {
    fn start(name: &str, cwd: &Path, program: &str) -> Tmux {
        let mut tmux = Tmux {
            socket: format!("termbridge-test-{}-{name}", std::process::id()),
            socket_path: None,
        };
        let (cols, rows) = (COLS.to_string(), ROWS.to_string());
        let mut args: Vec<String> = [
            "start-server",
            ";",
            "set",
            "-g",
            "default-terminal",
            "xterm-256color",
            ";",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &cols,
            "-y",
            &rows,
            "-c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(cwd.display().to_string());
        for (k, v) in ENV {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        args.push(program.into());
        tmux.cmd(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let path = tmux.cmd(&["display", "-p", "-t", "t", "#{socket_path}"]);
        tmux.socket_path = Some(path.trim().to_string());
        tmux
    }

    /// Runs a tmux command on this server; panics unless it succeeds.
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("tmux prints UTF-8")
    }

    /// Visible lines (trailing spaces trimmed), cursor `(col, row, visible)`
    /// and the alternate-screen flag.
    fn capture(&self) -> View {
        let text = self.cmd(&["capture-pane", "-p", "-t", "t"]);
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.trim_end_matches(' ').to_string())
            .collect();
        // The text ends with a newline.
        lines.truncate(usize::from(ROWS));
        let info = self.cmd(&[
            "display",
            "-p",
            "-t",
            "t",
            "#{cursor_x} #{cursor_y} #{cursor_flag} #{alternate_on}",
        ]);
        let fields: Vec<u64> = info
            .split_whitespace()
            .map(|f| f.parse().unwrap())
            .collect();
        (
            lines,
            (fields[0], fields[1], fields[2] == 1),
            fields[3] == 1,
        )
    }

    fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.cmd(&args);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null", "kill-server"])
            .output();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A session of `COLS` x `ROWS` in `dir` with `ENV`.
async fn open(server: &TestServer, dir: &Path) -> String {
    let env: serde_json::Map<String, Value> =
        ENV.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let session = server
        .open_session(json!({
            "cols": COLS,
            "rows": ROWS,
            "cwd": dir.display().to_string(),
            "env": env,
        }))
        .await;
    assert_eq!(session["status"], "running", "{session}");
    session["id"].as_str().unwrap().to_string()
}

/// Lines, cursor `(col, row, visible)`, alternate-screen flag.
type View = (Vec<String>, (u64, u64, bool), bool);

/// The [`View`] of a `session_screen` answer.
fn view(screen: &Value) -> View {
    (
        lines(screen),
        (
            screen["cursor"]["col"].as_u64().unwrap(),
            screen["cursor"]["row"].as_u64().unwrap(),
            screen["cursor"]["visible"].as_bool().unwrap(),
        ),
        screen["alt_screen"].as_bool().unwrap(),
    )
}

/// Polls both terminals until they show the same lines, cursor and
/// alternate-screen flag (bounded); panics with both screens otherwise.
/// Returns termbridge's screen.
async fn assert_same_as_tmux(server: &TestServer, id: &str, tmux: &Tmux, what: &str) -> Value {
    let deadline = Instant::now() + SCREEN_DEADLINE;
    loop {
        let screen = server.screen(id, 0).await;
        let ours = view(&screen);
        let theirs = tmux.capture();
        if ours == theirs {
            return screen;
        }
        if Instant::now() >= deadline {
            let mut diff = String::new();
            for (n, (a, b)) in ours.0.iter().zip(theirs.0.iter()).enumerate() {
                let mark = if a == b { ' ' } else { '!' };
                diff.push_str(&format!("{mark}{n:2} tb  |{a}|\n{mark}{n:2} tmux|{b}|\n"));
            }
            panic!(
                "{what}: termbridge and tmux disagree\n\
                 cursor (col,row,visible) termbridge {:?} tmux {:?}; alt_screen {} vs {}; \
                 lines {} vs {}\n{diff}",
                ours.1,
                theirs.1,
                ours.2,
                theirs.2,
                ours.0.len(),
                theirs.0.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls tmux (bounded) until `pred` holds for its lines.
fn tmux_until(tmux: &Tmux, what: &str, pred: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + SCREEN_DEADLINE;
    loop {
        let (lines, _, _) = tmux.capture();
        if pred(&lines) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tmux never showed {what}:\n{}",
            lines.join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `session_command` (bounded) until the command reports
/// `prompt_hint`; the hint is re-evaluated while the program waits.
async fn hint_until(server: &TestServer, id: &str, command_id: &str, hint: &str) -> Value {
    let deadline = Instant::now() + SCREEN_DEADLINE;
    loop {
        let state = server.poll(id, command_id, 0).await;
        if state["status"] == "awaiting_input" && state["prompt_hint"] == hint {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "never awaiting_input with hint {hint}: {state}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The main screen before a full-screen program: the prompt row and text.
struct Before {
    row: usize,
    /// Where the cursor waits after the prompt.
    col: usize,
    /// The prompt's text (trailing blanks trimmed, as screen lines are).
    prompt: String,
}

/// Whether the cursor's row looks like a shell prompt (the shell prints it
/// just after the end-of-command marker, so it may still be on its way).
fn at_prompt(screen: &Value) -> bool {
    let row = screen["cursor"]["row"].as_u64().unwrap() as usize;
    let line = &lines(screen)[row];
    line.ends_with('$') || line.ends_with('#')
}

async fn before(server: &TestServer, id: &str) -> Before {
    let screen = server.screen_until(id, "a prompt", at_prompt).await;
    assert_eq!(screen["alt_screen"], false);
    let row = screen["cursor"]["row"].as_u64().unwrap() as usize;
    let col = screen["cursor"]["col"].as_u64().unwrap() as usize;
    let prompt = lines(&screen)[row].clone();
    Before { row, col, prompt }
}

/// After the program quit: `command_id` completed with exit 0, the main
/// screen is back (alt_screen off) with the command line where it was typed
/// and a fresh prompt under it, and the shell takes commands again.
async fn assert_back_at_the_shell(
    server: &TestServer,
    id: &str,
    command_id: &str,
    command: &str,
    before: &Before,
) {
    // The program is gone once the main screen and the prompt are back
    // (polling first: right after the keys, a tick may still see the program
    // waiting and report awaiting_input again)...
    let screen = server
        .screen_until(id, "the prompt after the program", |s| {
            let row = s["cursor"]["row"].as_u64().unwrap() as usize;
            s["alt_screen"] == false && lines(s)[row] == before.prompt
        })
        .await;
    // ...and the shell reported the end of the command before that prompt.
    let done = server.poll(id, command_id, 20_000).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["exit_code"], 0, "{done}");
    assert_eq!(done["completion"], "shell_integration", "{done}");
    let shown = lines(&screen);
    assert_eq!(
        shown[before.row],
        format!("{:<width$}{command}", before.prompt, width = before.col),
        "the command line stays on the main screen: {screen}"
    );
    let row = screen["cursor"]["row"].as_u64().unwrap() as usize;
    assert_eq!(
        row,
        before.row + 1,
        "prompt right under the command: {screen}"
    );
    assert_eq!(
        screen["cursor"]["col"].as_u64().unwrap() as usize,
        before.col,
        "cursor after the prompt: {screen}"
    );
    // Nothing of the program's screen leaked onto the main screen.
    assert!(
        shown.iter().all(|l| !l.contains("quick brown fox")),
        "{screen}"
    );
    let echo = server.run(id, "echo back at the shell").await;
    assert_eq!(echo["status"], "completed", "{echo}");
    assert_eq!(echo["output"], "back at the shell");
}

#[tokio::test]
async fn vim_renders_like_tmux_and_quits_back_to_the_shell() {
    // Each terminal gets its own copy: two vims on one file would fight
    // over its swap file.
    let (dir, tmux_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_sample(dir.path());
    write_sample(tmux_dir.path());
    let command = "vim -u NONE -N -i NONE sample.txt";
    let tmux = Tmux::start("vim", tmux_dir.path(), command);
    let server = TestServer::start();
    let id = open(&server, dir.path()).await;
    let before = before(&server, &id).await;

    let (status, started) = server
        .run_with(&id, command, json!({"timeout_ms": 20_000}))
        .await;
    assert_eq!(status, 200, "{started}");
    // vim waits for keys in raw mode on the alternate screen: it is a
    // program asking for input, not a running command.
    assert_eq!(started["status"], "awaiting_input", "{started}");
    assert_eq!(started["prompt_hint"], "other", "{started}");
    let command_id = started["command_id"].as_str().unwrap().to_string();

    let loaded = |l: &[String]| {
        l.last()
            .is_some_and(|l| l.starts_with("\"sample.txt\" 40L"))
    };
    server
        .screen_until(&id, "vim with the file loaded", |s| loaded(&lines(s)))
        .await;
    tmux_until(&tmux, "vim with the file loaded", loaded);
    let screen = assert_same_as_tmux(&server, &id, &tmux, "vim, first screen").await;
    // Independent of tmux: what the first screen must hold.
    let shown = lines(&screen);
    assert_eq!(shown.len(), usize::from(ROWS));
    assert_eq!(
        shown[0],
        "line 01: the quick brown fox jumps over the lazy dog"
    );
    assert!(shown[4].starts_with("long line: word01"), "{screen}");
    assert!(
        shown.iter().any(|l| l.contains("日本語 テスト")),
        "{screen}"
    );
    assert_eq!(screen["alt_screen"], true);
    assert_eq!(
        (
            screen["cursor"]["row"].clone(),
            screen["cursor"]["col"].clone()
        ),
        (json!(0), json!(0))
    );

    // Move to the last line: vim scrolls; both terminals agree again.
    let (status, _) = server.keys(&id, Some("G"), &[]).await;
    assert_eq!(status, 200);
    tmux.send_keys(&["G"]);
    let at_end = |l: &[String]| l.iter().any(|l| l.starts_with("line 40:"));
    server
        .screen_until(&id, "vim at the last line", |s| at_end(&lines(s)))
        .await;
    tmux_until(&tmux, "vim at the last line", at_end);
    assert_same_as_tmux(&server, &id, &tmux, "vim after G").await;

    let (status, _) = server.keys(&id, Some(":q"), &["Enter"]).await;
    assert_eq!(status, 200);
    assert_back_at_the_shell(&server, &id, &command_id, command, &before).await;
}

#[tokio::test]
async fn less_renders_like_tmux_and_quits_back_to_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path());
    let command = "less sample.txt";
    let tmux = Tmux::start("less", dir.path(), command);
    let server = TestServer::start();
    let id = open(&server, dir.path()).await;
    assert_eq!(
        server.run(&id, "echo \"LESS=[$LESS]\"").await["output"],
        "LESS=[]"
    );
    let before = before(&server, &id).await;

    let (status, started) = server
        .run_with(&id, command, json!({"timeout_ms": 20_000}))
        .await;
    assert_eq!(status, 200, "{started}");
    // less reads its keys from the terminal: awaiting input, as a pager
    // (recognised by process name even on the first page, whose prompt is
    // just the file name).
    assert_eq!(started["status"], "awaiting_input", "{started}");
    assert_eq!(started["prompt_hint"], "pager", "{started}");
    let command_id = started["command_id"].as_str().unwrap().to_string();

    // First page: less's prompt is the file name.
    let first_page = |l: &[String]| l.last().is_some_and(|l| l == "sample.txt");
    server
        .screen_until(&id, "less's first page", |s| first_page(&lines(s)))
        .await;
    tmux_until(&tmux, "less's first page", first_page);
    let screen = assert_same_as_tmux(&server, &id, &tmux, "less, first page").await;
    assert_eq!(screen["alt_screen"], true);
    assert_eq!(
        lines(&screen)[0],
        "line 01: the quick brown fox jumps over the lazy dog"
    );

    // Next page: the end of the file and less's `(END)` prompt.
    let (status, _) = server.keys(&id, Some(" "), &[]).await;
    assert_eq!(status, 200);
    tmux.send_keys(&["Space"]);
    let end = |l: &[String]| l.last().is_some_and(|l| l == "(END)");
    server
        .screen_until(&id, "less at (END)", |s| end(&lines(s)))
        .await;
    tmux_until(&tmux, "less at (END)", end);
    let screen = assert_same_as_tmux(&server, &id, &tmux, "less, second page").await;
    assert_eq!(
        lines(&screen)[usize::from(ROWS) - 2],
        "line 40: the quick brown fox jumps over the lazy dog"
    );
    hint_until(&server, &id, &command_id, "pager").await;

    let (status, _) = server.keys(&id, Some("q"), &[]).await;
    assert_eq!(status, 200);
    assert_back_at_the_shell(&server, &id, &command_id, command, &before).await;
}

#[tokio::test]
async fn scrollback_returns_the_lines_that_scrolled_off_in_order() {
    let server = TestServer::start();
    let session = server
        .open_session(json!({"cols": COLS, "rows": ROWS}))
        .await;
    let id = session["id"].as_str().unwrap();
    let seq = server.run(id, "seq 1 100").await;
    assert_eq!(seq["status"], "completed", "{seq}");
    assert_eq!(seq["exit_code"], 0);
    let expected: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    assert_eq!(seq["output"], expected.join("\n"));

    let screen = server.screen(id, 1000).await;
    let visible = lines(&screen);
    let history: Vec<String> = screen["scrollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    // The screen ends with the tail of the sequence and a prompt.
    let first_visible: usize = visible[0]
        .parse()
        .unwrap_or_else(|_| panic!("the screen should start inside the sequence: {visible:?}"));
    let last = visible.iter().rposition(|l| l == "100").expect("100 shown");
    assert_eq!(
        visible[..=last],
        expected[first_visible - 1..],
        "{visible:?}"
    );
    // The history holds the command line, then 1 up to the line just above
    // the screen, in order, nothing else after it.
    let one = history
        .iter()
        .position(|l| l == "1")
        .unwrap_or_else(|| panic!("1 not in the scrollback: {history:?}"));
    assert!(history[one - 1].ends_with("seq 1 100"), "{history:?}");
    assert_eq!(history[one..], expected[..first_visible - 1]);
    // N lines: the N most recent, oldest first.
    let ten = server.screen(id, 10).await;
    assert_eq!(
        ten["scrollback"],
        json!(expected[first_visible - 11..first_visible - 1])
    );
    assert_eq!(server.screen(id, 0).await["scrollback"], json!([]));
    let (status, _) = server
        .get(&format!("/api/v1/sessions/{id}/screen?scrollback=10001"))
        .await;
    assert_eq!(status, 400);
}
