//! Recorded-screen fixtures: the exact bytes vim, less, top and a shell-like
//! script wrote to an 80x24 tmux pane, replayed into `Screen` and compared
//! line by line with tmux's own view of the pane (`capture-pane -p`), the
//! cursor and the alternate-screen flag, at every checkpoint. See
//! `tests/fixtures/terminal/README.md`.

use std::path::{Path, PathBuf};

use serde_json::Value;
use termbridge_actors::terminal::output::{OutputEvent, OutputLog};
use termbridge_actors::terminal::screen::Screen;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/terminal")
}

fn read(name: &str) -> Vec<u8> {
    match std::fs::read(dir().join(name)) {
        Ok(b) => b,
        Err(e) => panic!("reading fixture {name}: {e}"),
    }
}

fn text_lines(name: &str) -> Vec<String> {
    String::from_utf8_lossy(&read(name))
        .lines()
        .map(|l| l.trim_end_matches(' ').to_string())
        .collect()
}

fn num(v: &Value, key: &str) -> u64 {
    match v.get(key).and_then(Value::as_u64) {
        Some(n) => n,
        None => panic!("fixture JSON: missing number {key:?} in {v}"),
    }
}

fn flag(v: &Value, key: &str) -> bool {
    match v.get(key).and_then(Value::as_bool) {
        Some(b) => b,
        None => panic!("fixture JSON: missing bool {key:?} in {v}"),
    }
}

fn string<'a>(v: &'a Value, key: &str) -> &'a str {
    match v.get(key).and_then(Value::as_str) {
        Some(s) => s,
        None => panic!("fixture JSON: missing string {key:?} in {v}"),
    }
}

/// Replays fixture `name`, feeding the bytes in chunks of `chunk` bytes
/// (splitting escape sequences and UTF-8 at arbitrary places), and checks
/// every checkpoint. Returns the replies the screen produced.
fn replay(name: &str, chunk: usize) -> Vec<u8> {
    let meta: Value = match serde_json::from_slice(&read(&format!("{name}.json"))) {
        Ok(v) => v,
        Err(e) => panic!("{name}.json: {e}"),
    };
    let rows = u16::try_from(num(&meta, "rows")).unwrap_or(24);
    let cols = u16::try_from(num(&meta, "cols")).unwrap_or(80);
    let bytes = read(&format!("{name}.bytes"));
    let mut screen = Screen::new(rows, cols, 1000);
    let mut fed = 0usize;
    let mut replies = Vec::new();
    let checkpoints = match meta.get("checkpoints").and_then(Value::as_array) {
        Some(c) => c.clone(),
        None => panic!("{name}.json: no checkpoints"),
    };
    for cp in &checkpoints {
        let cp_name = string(cp, "name");
        let upto = usize::try_from(num(cp, "bytes"))
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        for piece in bytes[fed..upto].chunks(chunk.max(1)) {
            replies.extend(screen.process(piece));
        }
        fed = upto;
        let snap = screen.snapshot(1000);
        let what = format!("{name}/{cp_name} (chunks of {chunk})");

        let mut expected = text_lines(string(cp, "screen"));
        expected.resize(usize::from(rows), String::new());
        assert_eq!(snap.lines.len(), usize::from(rows), "{what}: row count");
        for (i, (got, want)) in snap.lines.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "{what}: row {i} differs");
        }
        let cursor = cp.get("cursor").cloned().unwrap_or(Value::Null);
        assert_eq!(
            (snap.cursor.row, snap.cursor.col, snap.cursor.visible),
            (
                u16::try_from(num(&cursor, "row")).unwrap_or(0),
                u16::try_from(num(&cursor, "col")).unwrap_or(0),
                flag(&cursor, "visible")
            ),
            "{what}: cursor (row, col, visible)"
        );
        assert_eq!(
            snap.alt_screen,
            flag(cp, "alt_screen"),
            "{what}: alt_screen"
        );

        if let Some(sb) = cp.get("scrollback").and_then(Value::as_str) {
            let expected_sb = text_lines(sb);
            assert_eq!(snap.scrollback, expected_sb, "{what}: scrollback");
        }
    }
    replies
}

#[test]
fn vim_open_navigate_edit_quit() {
    let whole = replay("vim", usize::MAX);
    // Same result when the stream arrives in small, awkward pieces.
    assert_eq!(replay("vim", 7), whole);
    assert_eq!(replay("vim", 1), whole);
    println!("vim replies: {:?}", String::from_utf8_lossy(&whole));
}

#[test]
fn less_open_page_search_quit() {
    let whole = replay("less", usize::MAX);
    assert_eq!(replay("less", 5), whole);
}

#[test]
fn top_open_quit() {
    let whole = replay("top", usize::MAX);
    assert_eq!(replay("top", 3), whole);
}

#[test]
fn shell_stream_with_scrollback() {
    replay("shell", usize::MAX);
    replay("shell", 2);
}

/// The output cleaner on the same recordings: no escape sequence survives,
/// the progress bar collapses, the title is an event, and text drawn by the
/// full-screen programs stays out of the log.
#[test]
fn output_log_on_recordings() {
    let mut log = OutputLog::new();
    let mut events = Vec::new();
    for piece in read("shell.bytes").chunks(3) {
        events.extend(log.feed(piece));
    }
    let out = log.read(0, usize::MAX);
    assert!(!out.text.contains('\x1b'), "{:?}", out.text);
    assert!(
        out.text
            .starts_with("line 01 some text\nline 02 some text\n")
    );
    assert!(
        out.text
            .contains("\nline 40 some text\nprogress 100%\nwide: 日本 end\nlong: ")
    );
    assert!(!out.text.contains("progress 10%"));
    assert!(out.text.ends_with("|\n$ "), "{:?}", out.text);
    assert_eq!(out.partial, 2);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, OutputEvent::Title("fixture title".into()));

    for (name, first_line) in [
        ("vim", "$ vim -u NONE -N sample.txt\n"),
        ("less", "$ less sample.txt\n"),
    ] {
        let mut log = OutputLog::new();
        log.feed(&read(&format!("{name}.bytes")));
        let out = log.read(0, usize::MAX);
        assert!(out.text.starts_with(first_line), "{name}: {:?}", out.text);
        assert!(
            !out.text.contains("quick brown fox"),
            "{name}: {:?}",
            out.text
        );
        assert!(!out.text.contains('\x1b'));
        assert!(!log.alt_screen());
    }
}
