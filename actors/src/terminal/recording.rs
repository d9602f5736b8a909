//! Session recordings: an asciinema v2 `.cast` file per recorded session.
//!
//! The format (<https://docs.asciinema.org/manual/asciicast/v2/>) is one
//! JSON header line (`version`, `width`, `height`, `timestamp`, `env`), then
//! one JSON array per event: `[seconds, "o", "text"]` for terminal output,
//! `[seconds, "r", "COLSxROWS"]` for a resize and `[seconds, "m", "label"]`
//! for a marker. Seconds count from the start of the recording.
//!
//! The session actor feeds [`Recorder::output`] with every PTY chunk and
//! [`Recorder::resize`] with every size change; nothing else in the session
//! knows about recordings. A chunk that ends inside a UTF-8 sequence keeps
//! its tail for the next chunk, so multi-byte characters are never split
//! (bytes that are not UTF-8 at all become U+FFFD). Writes are buffered;
//! [`Recorder::flush`] runs before the file is read and when the session
//! ends.
//!
//! A recording is bounded: once the file would grow past its limit, a last
//! marker event says so and nothing more is written (the session goes on).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The default bound on one recording file.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The text of the marker written when the limit is reached.
pub const LIMIT_MARKER: &str = "termbridge: recording stopped, size limit reached";

/// What `session_list` says about a session's recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordingInfo {
    /// The `.cast` file (asciinema v2) on the server's machine; also
    /// downloadable at `GET /api/v1/sessions/{id}/recording`.
    pub file: String,
    /// Bytes written so far.
    pub bytes: u64,
    /// The size limit was reached: recording stopped (the session goes on).
    pub limit_reached: bool,
}

/// Writes one session's `.cast` file.
pub struct Recorder {
    path: PathBuf,
    out: BufWriter<File>,
    started: Instant,
    written: u64,
    limit: u64,
    stopped: bool,
    /// The start of a UTF-8 sequence cut at the end of the last chunk.
    carry: Vec<u8>,
}

impl Recorder {
    /// Creates `path` (and its directory) and writes the header for a
    /// `cols`x`rows` terminal. The file is created fresh (mode 0600: it
    /// holds everything the session printed).
    pub fn create(path: &Path, cols: u16, rows: u16, limit: u64) -> std::io::Result<Recorder> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)?
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = json!({
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": timestamp,
            "env": {"TERM": "xterm-256color"},
        });
        let mut recorder = Recorder {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(64 * 1024, file),
            started: Instant::now(),
            written: 0,
            limit: limit.max(1024),
            stopped: false,
            carry: Vec::new(),
        };
        recorder.line(&header.to_string())?;
        recorder.out.flush()?;
        Ok(recorder)
    }

    /// Records terminal output.
    pub fn output(&mut self, bytes: &[u8]) {
        if self.stopped {
            return;
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(bytes);
        let keep = incomplete_utf8_tail(&data);
        self.carry = data.split_off(data.len() - keep);
        if data.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&data);
        self.event("o", &text);
    }

    /// Records a size change.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        if !self.stopped {
            self.event("r", &format!("{cols}x{rows}"));
        }
    }

    /// Records a full terminal reset (the session's program was restarted:
    /// a player must start from a blank screen, as the session did).
    pub fn reset(&mut self) {
        self.carry.clear();
        if !self.stopped {
            self.event("o", "\x1bc");
        }
    }

    /// Writes buffered events to the file.
    pub fn flush(&mut self) {
        if let Err(e) = self.out.flush() {
            log::warn!("recording {}: {e}", self.path.display());
        }
    }

    /// What `session_list` shows.
    pub fn info(&self) -> RecordingInfo {
        RecordingInfo {
            file: self.path.display().to_string(),
            bytes: self.written,
            limit_reached: self.stopped,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn event(&mut self, code: &str, data: &str) {
        let at = self.started.elapsed().as_secs_f64();
        let line = json!([(at * 1e6).round() / 1e6, code, data]).to_string();
        // Room is kept for the final marker, so the file never exceeds the limit.
        let reserve = LIMIT_MARKER.len() as u64 + 64;
        if self.written + line.len() as u64 + 1 + reserve > self.limit {
            let marker = json!([(at * 1e6).round() / 1e6, "m", LIMIT_MARKER]).to_string();
            let _ = self.line(&marker);
            self.stopped = true;
            self.carry.clear();
            self.flush();
            log::info!(
                "recording {} reached its limit of {} bytes: stopped",
                self.path.display(),
                self.limit
            );
            return;
        }
        if let Err(e) = self.line(&line) {
            log::warn!("recording {}: {e}; recording stopped", self.path.display());
            self.stopped = true;
        }
    }

    fn line(&mut self, line: &str) -> std::io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.written += line.len() as u64 + 1;
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if !self.carry.is_empty() && !self.stopped {
            let tail = String::from_utf8_lossy(&std::mem::take(&mut self.carry)).into_owned();
            self.event("o", &tail);
        }
        self.flush();
    }
}

/// How many bytes at the end of `data` start a UTF-8 sequence that is not
/// complete yet (0 when the end is complete or not UTF-8 at all).
fn incomplete_utf8_tail(data: &[u8]) -> usize {
    for back in 1..=3.min(data.len()) {
        let b = data[data.len() - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte: look further back
        }
        let needed = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return 0,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

/// One event of a parsed recording.
#[derive(Debug, Clone, PartialEq)]
pub struct CastEvent {
    /// Seconds since the start.
    pub time: f64,
    /// `o`, `r`, `m` (or `i`).
    pub code: String,
    /// The event's data.
    pub data: String,
}

/// A parsed `.cast` file: the header and the events, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    /// The header line.
    pub header: serde_json::Value,
    /// The events.
    pub events: Vec<CastEvent>,
}

/// Parses an asciinema v2 file; says which line is wrong.
pub fn parse_cast(text: &str) -> Result<Cast, String> {
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().ok_or("empty recording")?;
    let header: serde_json::Value =
        serde_json::from_str(first).map_err(|e| format!("line 1 (header): {e}"))?;
    if header["version"] != 2 {
        return Err(format!("line 1: version is {}, not 2", header["version"]));
    }
    let mut events = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let (time, code, data): (f64, String, String) =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        events.push(CastEvent { time, code, data });
    }
    Ok(Cast { header, events })
}

impl Cast {
    /// Plays the recording into a fresh screen model: output is fed,
    /// resizes applied, markers skipped.
    pub fn replay(&self, scrollback: usize) -> super::screen::Screen {
        let cols = self.header["width"].as_u64().unwrap_or(80) as u16;
        let rows = self.header["height"].as_u64().unwrap_or(24) as u16;
        let mut screen = super::screen::Screen::new(rows, cols, scrollback);
        for event in &self.events {
            match event.code.as_str() {
                "o" => {
                    screen.process(event.data.as_bytes());
                }
                "r" => {
                    if let Some((c, r)) = event.data.split_once('x')
                        && let (Ok(c), Ok(r)) = (c.parse(), r.parse())
                    {
                        screen.resize(r, c);
                    }
                }
                _ => {}
            }
        }
        screen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> Cast {
        parse_cast(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn header_output_and_resize_events_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec/s_1.cast");
        let mut rec = Recorder::create(&path, 80, 24, DEFAULT_MAX_BYTES).unwrap();
        rec.output(b"hello\r\n");
        rec.resize(100, 30);
        rec.output(b"\x1b[1mbold\x1b[0m");
        drop(rec);
        let cast = read(&path);
        assert_eq!(cast.header["width"], 80);
        assert_eq!(cast.header["height"], 24);
        assert!(cast.header["timestamp"].as_u64().unwrap() > 1_600_000_000);
        let codes: Vec<(&str, &str)> = cast
            .events
            .iter()
            .map(|e| (e.code.as_str(), e.data.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("o", "hello\r\n"),
                ("r", "100x30"),
                ("o", "\x1b[1mbold\x1b[0m")
            ]
        );
        assert!(cast.events.windows(2).all(|w| w[0].time <= w[1].time));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_character_split_across_chunks_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.cast");
        let mut rec = Recorder::create(&path, 80, 24, DEFAULT_MAX_BYTES).unwrap();
        let text = "é€😀".as_bytes();
        for b in text {
            rec.output(&[*b]);
        }
        rec.output(b"\xff!");
        drop(rec);
        let joined: String = read(&path).events.iter().map(|e| e.data.clone()).collect();
        assert_eq!(joined, "é€😀\u{fffd}!");
        assert_eq!(incomplete_utf8_tail(b"ab\xe2\x82"), 2);
        assert_eq!(incomplete_utf8_tail(b"ab\xe2\x82\xac"), 0);
        assert_eq!(incomplete_utf8_tail(b"\xf0"), 1);
        assert_eq!(incomplete_utf8_tail(b"a\x80"), 0);
    }

    #[test]
    fn the_limit_ends_the_recording_with_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.cast");
        let mut rec = Recorder::create(&path, 80, 24, 4096).unwrap();
        for _ in 0..200 {
            rec.output(b"0123456789012345678901234567890123456789\r\n");
        }
        assert!(rec.info().limit_reached);
        let bytes = rec.info().bytes;
        rec.output(b"more");
        rec.resize(10, 10);
        assert_eq!(
            rec.info().bytes,
            bytes,
            "nothing is written after the marker"
        );
        drop(rec);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 4096, "{size} bytes");
        let cast = read(&path);
        let last = cast.events.last().unwrap();
        assert_eq!(
            (last.code.as_str(), last.data.as_str()),
            ("m", LIMIT_MARKER)
        );
        assert!(cast.events.len() > 10);
    }

    #[test]
    fn replay_applies_output_and_resizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.cast");
        let mut rec = Recorder::create(&path, 20, 5, DEFAULT_MAX_BYTES).unwrap();
        rec.output(b"one\r\ntwo\r\n");
        rec.resize(30, 6);
        rec.output(b"three");
        rec.reset();
        rec.output(b"fresh");
        drop(rec);
        let screen = read(&path).replay(100);
        let snap = screen.snapshot(0);
        assert_eq!((snap.cols, snap.rows), (30, 6));
        assert_eq!(snap.lines[0], "fresh");
        assert_eq!(snap.cursor.col, 5);
    }
}
