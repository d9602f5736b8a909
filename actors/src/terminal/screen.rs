//! The screen model of a terminal session, on top of `vt100` 0.18.
//!
//! [`Screen`] is fed every PTY chunk and answers `session_screen`: the
//! visible rows as text, the cursor, the window title, the alternate-screen
//! flag, a revision number and the scrollback above the screen. It is pure
//! data: no PTY here; the session actor writes the bytes returned by
//! [`Screen::process`] back to the PTY.
//!
//! # Terminal queries
//!
//! `vt100` keeps a screen but does not answer terminal queries, and programs
//! such as vim, readline or `ls` ask some (and some wait for the answer).
//! They reach us through `vt100`'s `Callbacks::unhandled_csi`; we answer:
//!
//! | query | reply |
//! |---|---|
//! | `CSI 6 n` cursor position report | `CSI row ; col R` (1-based) |
//! | `CSI 5 n` device status | `CSI 0 n` |
//! | `CSI c`, `CSI 0 c` primary device attributes | `CSI ? 62 ; 22 c` (VT220, ANSI color) |
//! | `CSI > c`, `CSI > 0 c` secondary device attributes | `CSI > 1 ; 10 ; 0 c` |
//! | `CSI 18 t` text area size | `CSI 8 ; rows ; cols t` |
//!
//! A query split across two `process` calls is answered when its last byte
//! arrives (the `vte` parser inside `vt100` keeps its state between calls).
//!
//! # Scrollback
//!
//! `vt100` stores scrollback as full cells (a few dozen bytes per column:
//! ~40 MiB for 10 000 lines of 120 columns). We run `vt100` with a scrollback
//! capacity of **0** and keep the scrolled-off lines ourselves as plain text:
//! `vt100` 0.18 calls `Callbacks::on_scroll` with each row pushed off the top
//! of the screen when its capacity is 0 (and only for scrolls of a region
//! that starts at the top row, as xterm does). We take the row's text (with
//! `RowContents::write_plain`, which our vendored `vt100` adds: formatting
//! the row with SGR codes only to strip them again took more than half of
//! the screen model's time on colored output), trim trailing blanks and keep
//! it in a [`History`]: one byte ring for the text of every line and one for
//! their lengths, so a line costs its bytes plus four and no allocation of
//! its own (a `Box<str>` per line, and freeing the oldest one as each new one
//! came, were about 8 % of a session's CPU while it absorbed fast output).
//! Rows scrolled off the
//! alternate screen are not history and are not kept. Resizing to fewer rows
//! pushes rows off the top too, and those are kept.
//!
//! Caveats of keeping the history outside `vt100`:
//! * When the screen grows taller, `vt100` would pull lines back from its
//!   scrollback (as xterm does); with capacity 0 it would pull *blank* rows
//!   instead, and those would later scroll off again as spurious empty lines.
//!   We avoid that by resetting `vt100`'s (empty) scrollback bookkeeping with
//!   `Screen::clear_scrollback` after each chunk, so a taller screen gets its
//!   new rows at the bottom and history stays in [`ScreenSnapshot::scrollback`].
//!   (Only if a chunk scrolled the main screen and then entered the alternate
//!   screen, and the screen grows before the next chunk, can blank rows still
//!   appear at the top of the main screen.)
//! * `CSI 3 J` (erase scrollback, sent by `clear`) is handled inside `vt100`
//!   without a callback when its scrollback is empty, so our history is kept.
//! * Lines are stored per screen row; a long line wrapped by the terminal is
//!   several history lines (like `tmux capture-pane` without `-J`).
//!
//! # Revision
//!
//! [`ScreenSnapshot::revision`] identifies the *observable* state (visible
//! lines, cursor position and visibility, title, alternate-screen flag,
//! size). Diffing `vt100` screens on every chunk would be expensive, and a
//! counter bumped on every byte would change on no-ops (a colour change, a
//! cursor hidden and shown again, a redraw of identical text). Instead,
//! `process` and `resize` only mark the screen *dirty* (free); when the
//! revision is observed ([`Screen::snapshot`] or [`Screen::revision`]) and the
//! screen is dirty, the current state is rendered and compared with the state
//! last observed: the revision is bumped only if they differ. So:
//! * two observations return the same revision exactly when they observe the
//!   same state, and a new revision always means something visible changed;
//! * a change that is undone before anyone looks (A -> B -> A between two
//!   observations) does not bump it — nobody can tell;
//! * the cost is one render + compare per observation after a change, none
//!   per chunk. An actor that wants to wake waiters on change calls
//!   [`Screen::revision`] after `process` only while someone waits.
//!
//! # OSC events
//!
//! Title (OSC 0/2), working directory (OSC 7 `file://host/path`,
//! percent-decoded) and OSC 133 `A`/`B`/`C`/`D[;exit]` shell-integration
//! markers are collected as [`ScreenEvent`]s (drained with
//! [`Screen::take_events`]); OSC 133 markers carry the cursor position at
//! which they arrived (e.g. where the prompt starts on the screen).

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::num::NonZeroU16;

use super::output::{Osc133Kind, OutputEvent, parse_osc};

/// Primary device attributes reply: VT220 with ANSI color.
const DA1_REPLY: &[u8] = b"\x1b[?62;22c";
/// Secondary device attributes reply: VT220, firmware 10, no cartridge.
const DA2_REPLY: &[u8] = b"\x1b[>1;10;0c";
/// At most this many undrained events are kept (oldest dropped).
const MAX_EVENTS: usize = 1024;

/// Cursor position (0-based) and visibility.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub struct Cursor {
    /// Row, 0-based from the top of the visible screen.
    pub row: u16,
    /// Column, 0-based; clamped to the last column (a cursor waiting to wrap
    /// after writing the last column reports the last column, as xterm's
    /// cursor position report does).
    pub col: u16,
    /// Whether the cursor is shown (DECTCEM, `CSI ? 25 h/l`).
    pub visible: bool,
}

/// What `session_screen` returns.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ScreenSnapshot {
    /// Visible rows, top to bottom, trailing blanks trimmed; always `rows`
    /// entries.
    pub lines: Vec<String>,
    /// The cursor.
    pub cursor: Cursor,
    /// Window title (OSC 0/2), empty if never set.
    pub title: String,
    /// Whether the alternate screen is active (full-screen programs).
    pub alt_screen: bool,
    /// Width in columns.
    pub cols: u16,
    /// Height in rows.
    pub rows: u16,
    /// Changes whenever the visible screen (text, cursor, title, alternate
    /// screen) changes; equal revisions mean an identical screen.
    pub revision: u64,
    /// Up to the requested number of most recent lines above the screen,
    /// oldest first.
    pub scrollback: Vec<String>,
}

/// Events surfaced from OSC sequences, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenEvent {
    /// The window title changed (OSC 0 or 2).
    Title(String),
    /// The shell reported its working directory (OSC 7).
    Cwd(String),
    /// OSC 133 marker, with the cursor position at which it arrived.
    Osc133 {
        /// Which marker.
        kind: Osc133Kind,
        /// Cursor row when it arrived.
        row: u16,
        /// Cursor column when it arrived.
        col: u16,
    },
}

/// The screen model. See the module docs.
pub struct Screen {
    parser: vt100::Parser<Hooks>,
    /// Never splits a UTF-8 character between two `process` calls (a `vte`
    /// bug loses text then; see `output::Utf8Joiner`).
    joiner: super::output::Utf8Joiner,
    dirty: Cell<bool>,
    revision: Cell<u64>,
    /// The state last observed; `None` only transiently.
    observed: Cell<Option<Box<View>>>,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, cols) = self.size();
        f.debug_struct("Screen")
            .field("rows", &rows)
            .field("cols", &cols)
            .field("scrollback_len", &self.scrollback_len())
            .field("revision", &self.revision.get())
            .finish_non_exhaustive()
    }
}

/// The observable state the revision covers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    lines: Vec<String>,
    cursor: Cursor,
    title: String,
    alt_screen: bool,
    rows: u16,
    cols: u16,
}

fn non_zero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap_or(NonZeroU16::MIN)
}

impl Screen {
    /// A blank screen of `rows` x `cols` (each at least 1) keeping up to
    /// `scrollback` lines of history as plain text.
    pub fn new(rows: u16, cols: u16, scrollback: usize) -> Self {
        let hooks = Hooks {
            scrollback: History::default(),
            scrollback_cap: scrollback,
            replies: Vec::new(),
            events: VecDeque::new(),
            title: String::new(),
            cwd: None,
            scratch: Vec::new(),
        };
        let parser = vt100::Parser::new_with_callbacks(non_zero(rows), non_zero(cols), 0, hooks);
        let screen = Self {
            parser,
            joiner: Default::default(),
            dirty: Cell::new(false),
            revision: Cell::new(0),
            observed: Cell::new(None),
        };
        screen.observed.set(Some(Box::new(screen.view())));
        screen
    }

    /// Feeds PTY output. Returns the bytes to write back to the PTY as
    /// answers to terminal queries (usually empty).
    pub fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        if bytes.is_empty() {
            return Vec::new();
        }
        let parser = &mut self.parser;
        self.joiner.feed(bytes, |whole| parser.process(whole));
        self.dirty.set(true);
        self.reset_vt100_scrollback();
        std::mem::take(&mut self.parser.callbacks_mut().replies)
    }

    /// Resizes the screen (each dimension at least 1). Rows pushed off the
    /// top go to the scrollback; new rows are added at the bottom; columns
    /// are truncated or padded (no reflow).
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (non_zero(rows), non_zero(cols));
        if self.parser.screen().size() == (rows, cols) {
            return;
        }
        self.reset_vt100_scrollback();
        self.parser.set_size(rows, cols);
        self.dirty.set(true);
    }

    /// See "Scrollback" in the module docs: keep `vt100`'s theoretical
    /// scrollback length at 0 so a taller screen does not pull blank rows in.
    fn reset_vt100_scrollback(&mut self) {
        let screen = self.parser.screen_mut();
        if !screen.alternate_screen() {
            screen.clear_scrollback();
        }
    }

    /// The screen as `session_screen` shows it, with up to
    /// `scrollback_lines` lines of history.
    pub fn snapshot(&self, scrollback_lines: usize) -> ScreenSnapshot {
        let view = self.view();
        let revision = self.resolve_revision(&view);
        let history = &self.parser.callbacks().scrollback;
        ScreenSnapshot {
            lines: view.lines,
            cursor: view.cursor,
            title: view.title,
            alt_screen: view.alt_screen,
            cols: view.cols,
            rows: view.rows,
            revision,
            scrollback: history.last(scrollback_lines),
        }
    }

    /// The current revision (renders the screen if it changed since the last
    /// observation; see the module docs).
    pub fn revision(&self) -> u64 {
        if !self.dirty.get() {
            return self.revision.get();
        }
        let view = self.view();
        self.resolve_revision(&view)
    }

    fn resolve_revision(&self, view: &View) -> u64 {
        if self.dirty.replace(false) {
            let old = self.observed.take();
            if old.as_deref() == Some(view) {
                self.observed.set(old);
            } else {
                self.revision.set(self.revision.get() + 1);
                self.observed.set(Some(Box::new(view.clone())));
            }
        }
        self.revision.get()
    }

    fn view(&self) -> View {
        let screen = self.parser.screen();
        let (rows, cols) = screen.size();
        let lines = screen
            .rows(0, cols.get())
            .map(|mut line| {
                let trimmed = line.trim_end_matches(' ').len();
                line.truncate(trimmed);
                line
            })
            .collect();
        let (row, col) = screen.cursor_position();
        View {
            lines,
            cursor: Cursor {
                row,
                col: col.min(cols.get() - 1),
                visible: !screen.hide_cursor(),
            },
            title: self.parser.callbacks().title.clone(),
            alt_screen: screen.alternate_screen(),
            rows: rows.get(),
            cols: cols.get(),
        }
    }

    /// Drains the OSC events collected since the last call (at most the
    /// last 1024 are kept).
    pub fn take_events(&mut self) -> Vec<ScreenEvent> {
        self.parser.callbacks_mut().events.drain(..).collect()
    }

    /// Current window title (empty if never set).
    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// Last working directory reported with OSC 7.
    pub fn cwd(&self) -> Option<&str> {
        self.parser.callbacks().cwd.as_deref()
    }

    /// `(rows, cols)`.
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.parser.screen().size();
        (rows.get(), cols.get())
    }

    /// Whether the alternate screen is active.
    pub fn alt_screen(&self) -> bool {
        self.parser.screen().alternate_screen()
    }

    /// Whether the program asked for application cursor keys (DECCKM); pass
    /// it to `keys::parse_key`.
    pub fn application_cursor(&self) -> bool {
        self.parser.screen().application_cursor()
    }

    /// Whether the program enabled bracketed paste (`CSI ? 2004 h`).
    pub fn bracketed_paste(&self) -> bool {
        self.parser.screen().bracketed_paste()
    }

    /// Number of history lines kept.
    pub fn scrollback_len(&self) -> usize {
        self.parser.callbacks().scrollback.len()
    }

    /// Access to the underlying `vt100` screen (colours, cells, modes).
    pub fn vt100(&self) -> &vt100::Screen {
        self.parser.screen()
    }
}

/// Our `vt100::Callbacks`: query replies, OSC events, compact scrollback.
struct Hooks {
    scrollback: History,
    scrollback_cap: usize,
    replies: Vec<u8>,
    events: VecDeque<ScreenEvent>,
    title: String,
    cwd: Option<String>,
    /// Reused buffer for rendering scrolled-off rows.
    scratch: Vec<u8>,
}

impl Hooks {
    fn push_event(&mut self, event: ScreenEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    fn set_title(&mut self, title: String) {
        self.title.clone_from(&title);
        self.push_event(ScreenEvent::Title(title));
    }
}

impl vt100::Callbacks for Hooks {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.set_title(String::from_utf8_lossy(title).into_owned());
    }

    fn unhandled_osc(&mut self, screen: &mut vt100::Screen, params: &[&[u8]]) {
        match parse_osc(params) {
            // vt100 only matches `OSC 0;title` with exactly two parameters;
            // a title containing `;` arrives here split into several.
            Some(OutputEvent::Title(title)) => self.set_title(title),
            Some(OutputEvent::Cwd(cwd)) => {
                self.cwd = Some(cwd.clone());
                self.push_event(ScreenEvent::Cwd(cwd));
            }
            Some(OutputEvent::Osc133 { kind }) => {
                let (row, col) = screen.cursor_position();
                self.push_event(ScreenEvent::Osc133 { kind, row, col });
            }
            None => {}
        }
    }

    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        let p0 = params.first().and_then(|p| p.first()).copied().unwrap_or(0);
        match (i1, i2, c, p0) {
            (None, None, 'n', 6) => {
                let (row, col) = screen.cursor_position();
                let (_, cols) = screen.size();
                let col = col.min(cols.get() - 1);
                let _ = write!(Replies(&mut self.replies), "\x1b[{};{}R", row + 1, col + 1);
            }
            (None, None, 'n', 5) => self.replies.extend_from_slice(b"\x1b[0n"),
            (None, None, 'c', 0) => self.replies.extend_from_slice(DA1_REPLY),
            (Some(b'>'), None, 'c', 0) => self.replies.extend_from_slice(DA2_REPLY),
            (None, None, 't', 18) => {
                let (rows, cols) = screen.size();
                let _ = write!(Replies(&mut self.replies), "\x1b[8;{rows};{cols}t");
            }
            _ => {}
        }
    }

    fn on_scroll(&mut self, contents: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen || self.scrollback_cap == 0 {
            return;
        }
        // The row's text without formatting (`write_plain` is our addition
        // to the vendored vt100: vendor/vt100/TERMBRIDGE.md).
        self.scratch.clear();
        contents.write_plain(&mut self.scratch);
        let end = self
            .scratch
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |i| i + 1);
        self.scrollback
            .push(&self.scratch[..end], self.scrollback_cap);
    }
}

/// Lines of history, oldest first: their text back to back in one ring of
/// bytes and their lengths in another (see "Scrollback" in the module
/// docs). The text is what vt100's cells hold, whole UTF-8 characters;
/// [`History::last`] still reads it lossily.
#[derive(Default)]
struct History {
    text: VecDeque<u8>,
    lens: VecDeque<u32>,
}

impl History {
    fn len(&self) -> usize {
        self.lens.len()
    }

    /// Appends `line`, dropping the oldest lines to keep at most `cap`.
    fn push(&mut self, line: &[u8], cap: usize) {
        while self.lens.len() >= cap.max(1) {
            let Some(oldest) = self.lens.pop_front() else {
                break;
            };
            self.text.drain(..oldest as usize);
        }
        // Grow by an eighth rather than doubling: a full history keeps about
        // the same amount of text, so the ring settles near its size.
        let free = self.text.capacity() - self.text.len();
        if line.len() > free {
            self.text.reserve_exact(line.len().max(self.text.len() / 8));
        }
        self.text.extend(line);
        // A row is at most 65 535 cells of at most 22 bytes.
        self.lens.push_back(line.len() as u32);
    }

    /// The last `n` lines (fewer if there are fewer), oldest first.
    fn last(&self, n: usize) -> Vec<String> {
        let skip = self.len().saturating_sub(n);
        let mut start: usize = self.lens.iter().take(skip).map(|&l| l as usize).sum();
        self.lens
            .iter()
            .skip(skip)
            .map(|&l| {
                let end = start + l as usize;
                let bytes: Vec<u8> = self.text.range(start..end).copied().collect();
                start = end;
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            })
            .collect()
    }
}

/// `fmt::Write` into the reply buffer.
struct Replies<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Replies<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &Screen) -> Vec<String> {
        s.snapshot(0).lines
    }

    #[test]
    fn basic_text_cursor_and_trimming() {
        let mut s = Screen::new(3, 10, 100);
        assert!(s.process(b"hello   \r\n\x1b[31mworld\x1b[m").is_empty());
        let snap = s.snapshot(0);
        assert_eq!(snap.lines, vec!["hello", "world", ""]);
        assert_eq!(
            snap.cursor,
            Cursor {
                row: 1,
                col: 5,
                visible: true
            }
        );
        assert_eq!((snap.rows, snap.cols), (3, 10));
        assert!(!snap.alt_screen);
        s.process(b"\x1b[?25l");
        assert!(!s.snapshot(0).cursor.visible);
    }

    #[test]
    fn cursor_in_pending_wrap_is_clamped() {
        let mut s = Screen::new(2, 5, 0);
        s.process(b"abcde");
        assert_eq!(s.snapshot(0).cursor.col, 4);
        assert_eq!(s.process(b"\x1b[6n"), b"\x1b[1;5R");
    }

    #[test]
    fn answers_queries() {
        let mut s = Screen::new(24, 80, 0);
        s.process(b"ab\r\ncd");
        assert_eq!(s.process(b"\x1b[6n"), b"\x1b[2;3R");
        assert_eq!(s.process(b"\x1b[5n"), b"\x1b[0n");
        assert_eq!(s.process(b"\x1b[c"), DA1_REPLY);
        assert_eq!(s.process(b"\x1b[0c"), DA1_REPLY);
        assert_eq!(s.process(b"\x1b[>c"), DA2_REPLY);
        assert_eq!(s.process(b"\x1b[>0c"), DA2_REPLY);
        assert_eq!(s.process(b"\x1b[18t"), b"\x1b[8;24;80t");
        // Several in one chunk, in order, with the cursor where it was.
        assert_eq!(
            s.process(b"\x1b[H\x1b[6nxyz\x1b[6n\x1b[c"),
            b"\x1b[1;1R\x1b[1;4R\x1b[?62;22c".to_vec()
        );
        // Not queries: no reply.
        assert!(
            s.process(b"\x1b[1c\x1b[7n\x1b[?6n\x1b[>1c\x1b[14t")
                .is_empty()
        );
    }

    #[test]
    fn query_split_across_calls() {
        let mut s = Screen::new(24, 80, 0);
        s.process(b"xy");
        assert!(s.process(b"\x1b").is_empty());
        assert!(s.process(b"[").is_empty());
        assert!(s.process(b"6").is_empty());
        assert_eq!(s.process(b"n"), b"\x1b[1;3R");
        assert!(s.process(b"\x1b[>").is_empty());
        assert_eq!(s.process(b"c"), DA2_REPLY);
    }

    #[test]
    fn revision_changes_only_on_visible_change() {
        let mut s = Screen::new(5, 20, 10);
        let r0 = s.snapshot(0).revision;
        assert_eq!(s.revision(), r0);
        s.process(b"");
        assert_eq!(s.revision(), r0);
        // Colour change, a query, cursor hidden and shown again: nothing
        // visible changed.
        s.process(b"\x1b[31m\x1b[6n\x1b[?25l\x1b[?25h\x1b[m");
        assert_eq!(s.revision(), r0);
        s.process(b"x");
        let r1 = s.revision();
        assert!(r1 > r0);
        assert_eq!(s.snapshot(0).revision, r1);
        // Redrawing the same text at the same place: no change.
        s.process(b"\rx");
        assert_eq!(s.revision(), r1);
        // Cursor move alone is a change.
        s.process(b"\x1b[3;3H");
        let r2 = s.revision();
        assert!(r2 > r1);
        // Title is a change.
        s.process(b"\x1b]2;t\x07");
        let r3 = s.revision();
        assert!(r3 > r2);
        // Alt screen on is a change; leaving restores the same state as r3,
        // which is still a new revision because r4 was observed.
        s.process(b"\x1b[?1049h");
        let r4 = s.revision();
        assert!(r4 > r3);
        s.process(b"\x1b[?1049l");
        let r5 = s.revision();
        assert!(r5 > r4);
        // A -> B -> A unobserved: same revision.
        s.process(b"\x1b[?1049h");
        s.process(b"\x1b[?1049l");
        assert_eq!(s.revision(), r5);
        // Resize is a change; resizing to the same size is not.
        s.resize(5, 20);
        assert_eq!(s.revision(), r5);
        s.resize(6, 20);
        assert!(s.revision() > r5);
    }

    #[test]
    fn history_ring_matches_a_list_of_lines_and_stays_compact() {
        let mut history = History::default();
        let mut expected: VecDeque<String> = VecDeque::new();
        let cap = 300;
        let mut seed = 7u64;
        for i in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Empty lines, short ones, full 120-column ones, multi-byte text.
            let line = match (seed >> 33) % 4 {
                0 => String::new(),
                1 => format!("{i}"),
                2 => "x".repeat(120),
                _ => format!("{i} データ → ✓ é"),
            };
            history.push(line.as_bytes(), cap);
            if expected.len() == cap {
                expected.pop_front();
            }
            expected.push_back(line);
            if i % 997 == 0 || i == 19_999 {
                assert_eq!(history.len(), expected.len());
                for n in [0, 1, 5, cap, cap + 10] {
                    let want: Vec<String> = expected
                        .iter()
                        .skip(expected.len().saturating_sub(n))
                        .cloned()
                        .collect();
                    assert_eq!(history.last(n), want, "after line {i}, last {n}");
                }
            }
        }
        // The ring settles near the text it holds instead of growing.
        let text: usize = expected.iter().map(String::len).sum();
        assert_eq!(history.text.len(), text);
        assert!(
            history.text.capacity() < 2 * text + 4096,
            "{}",
            history.text.capacity()
        );
    }

    #[test]
    fn scrollback_kept_as_text() {
        let mut s = Screen::new(3, 10, 5);
        for i in 0..10 {
            s.process(format!("\x1b[3{}mline {i}\x1b[m\r\n", i % 8).as_bytes());
        }
        let snap = s.snapshot(100);
        assert_eq!(snap.lines, vec!["line 8", "line 9", ""]);
        // Capacity 5: lines 3..=7, oldest first.
        assert_eq!(
            snap.scrollback,
            vec!["line 3", "line 4", "line 5", "line 6", "line 7"]
        );
        assert_eq!(s.snapshot(2).scrollback, vec!["line 6", "line 7"]);
        assert!(s.snapshot(0).scrollback.is_empty());
        // vt100 itself keeps none.
        assert_eq!(s.vt100().scrollback_len(), 0);
        // Wide characters and attributes survive as plain text.
        s.process("日本語 \x1b[7mrev\x1b[m\r\n\r\n\r\n".as_bytes());
        assert_eq!(s.snapshot(1).scrollback, vec!["日本語 rev"]);
        // No history when capacity is 0.
        let mut s = Screen::new(2, 10, 0);
        s.process(b"a\r\nb\r\nc\r\n");
        assert!(s.snapshot(10).scrollback.is_empty());
    }

    #[test]
    fn alt_screen_scrolling_is_not_history() {
        let mut s = Screen::new(3, 10, 100);
        s.process(b"main\r\n");
        s.process(b"\x1b[?1049h");
        assert!(s.alt_screen());
        for i in 0..10 {
            s.process(format!("alt {i}\r\n").as_bytes());
        }
        assert_eq!(s.scrollback_len(), 0);
        s.process(b"\x1b[?1049l");
        let snap = s.snapshot(10);
        assert!(!snap.alt_screen);
        assert_eq!(snap.lines, vec!["main", "", ""]);
    }

    #[test]
    fn scroll_region_not_at_top_is_not_history() {
        let mut s = Screen::new(5, 10, 100);
        // Region rows 2..=5: scrolling it does not push to history.
        s.process(b"top\x1b[2;5r\x1b[5;1H");
        for i in 0..6 {
            s.process(format!("\r\nr{i}").as_bytes());
        }
        assert_eq!(s.scrollback_len(), 0);
        assert_eq!(lines(&s)[0], "top");
    }

    #[test]
    fn resize_shrink_pushes_to_history_and_grow_adds_rows_at_bottom() {
        let mut s = Screen::new(4, 10, 100);
        s.process(b"1\r\n2\r\n3\r\n4");
        s.resize(2, 10);
        let snap = s.snapshot(10);
        assert_eq!(snap.lines, vec!["3", "4"]);
        assert_eq!(snap.scrollback, vec!["1", "2"]);
        assert_eq!(snap.cursor.row, 1);
        s.resize(4, 5);
        let snap = s.snapshot(10);
        assert_eq!(snap.lines, vec!["3", "4", "", ""]);
        assert_eq!(snap.scrollback, vec!["1", "2"]);
        assert_eq!((snap.rows, snap.cols), (4, 5));
        // Scrolling after the grow produces no spurious blank history lines.
        s.process(b"\r\n5\r\n6\r\n7");
        assert_eq!(s.snapshot(10).scrollback, vec!["1", "2", "3"]);
        // Zero sizes are clamped.
        s.resize(0, 0);
        assert_eq!(s.size(), (1, 1));
    }

    #[test]
    fn title_cwd_and_osc133_events() {
        let mut s = Screen::new(5, 40, 0);
        s.process(b"\x1b]0;first\x07\x1b]2;a;b\x1b\\\x1b]7;file://host/home/u%20x\x07");
        s.process(b"\x1b]133;A\x07$ \x1b]133;B\x07");
        s.process(b"ls\r\n\x1b]133;C\x07out\r\n\x1b]133;D;2\x07");
        assert_eq!(s.title(), "a;b");
        assert_eq!(s.cwd(), Some("/home/u x"));
        assert_eq!(s.snapshot(0).title, "a;b");
        let ev = s.take_events();
        assert_eq!(
            ev,
            vec![
                ScreenEvent::Title("first".into()),
                ScreenEvent::Title("a;b".into()),
                ScreenEvent::Cwd("/home/u x".into()),
                ScreenEvent::Osc133 {
                    kind: Osc133Kind::PromptStart,
                    row: 0,
                    col: 0
                },
                ScreenEvent::Osc133 {
                    kind: Osc133Kind::CommandStart,
                    row: 0,
                    col: 2
                },
                ScreenEvent::Osc133 {
                    kind: Osc133Kind::CommandExecuted,
                    row: 1,
                    col: 0
                },
                ScreenEvent::Osc133 {
                    kind: Osc133Kind::CommandFinished { exit_code: Some(2) },
                    row: 2,
                    col: 0
                },
            ]
        );
        assert!(s.take_events().is_empty());
        // Marker text never reaches the screen.
        assert_eq!(lines(&s), vec!["$ ls", "out", "", "", ""]);
    }

    #[test]
    fn events_are_bounded() {
        let mut s = Screen::new(2, 10, 0);
        for i in 0..(MAX_EVENTS + 10) {
            s.process(format!("\x1b]2;{i}\x07").as_bytes());
        }
        let ev = s.take_events();
        assert_eq!(ev.len(), MAX_EVENTS);
        assert_eq!(ev[0], ScreenEvent::Title("10".into()));
    }

    #[test]
    fn screen_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Screen>();
        assert_send::<ScreenSnapshot>();
    }

    #[test]
    fn modes_exposed() {
        let mut s = Screen::new(2, 10, 0);
        assert!(!s.application_cursor());
        s.process(b"\x1b[?1h\x1b[?2004h");
        assert!(s.application_cursor());
        assert!(s.bracketed_paste());
    }

    /// Random bytes, with escape-heavy alphabets, random resizes and
    /// snapshots must never panic.
    #[test]
    fn random_input_does_not_panic() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: &[u8] = b"\x1b[]?;0123456789HJKmhlrABCDnc\r\n\x08\t\x07 abc\xe6\x97\xa5\xff";
        for round in 0..200 {
            let mut s = Screen::new(1 + (next() % 30) as u16, 1 + (next() % 100) as u16, 50);
            for _ in 0..20 {
                let len = (next() % 300) as usize;
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        if round % 2 == 0 {
                            alphabet[(next() % alphabet.len() as u64) as usize]
                        } else {
                            (next() & 0xff) as u8
                        }
                    })
                    .collect();
                let _ = s.process(&bytes);
                if next() % 7 == 0 {
                    s.resize((next() % 40) as u16, (next() % 120) as u16);
                }
                let snap = s.snapshot(10);
                assert_eq!(snap.lines.len(), usize::from(snap.rows));
                assert!(snap.cursor.row < snap.rows && snap.cursor.col < snap.cols);
            }
        }
    }

    /// vt100 0.18.1 panicked on this (vendor/vt100/TERMBRIDGE.md), and the
    /// session lost the rest of the chunk: U+FE0F widens ☀ in the
    /// bottom-right cell (it moves to a new bottom row), then `x` is written
    /// where it was, now one row up.
    #[test]
    fn character_widened_in_the_bottom_right_cell_then_written_over() {
        let mut s = Screen::new(24, 80, 100);
        s.process("\x1b[24;80H\u{2600}\u{fe0f}\x1b[23;80Hx\x1b[22;1Hrest of the chunk".as_bytes());
        let snap = s.snapshot(10);
        assert_eq!(snap.lines[21], "rest of the chunk");
        assert_eq!(snap.lines[22], format!("{}x", " ".repeat(79)));
        assert_eq!(snap.lines[23], "\u{2600}\u{fe0f}");
        assert_eq!(snap.scrollback, vec![String::new()]);
    }

    /// Captures every scrolled-off row both ways: `write_plain` (what the
    /// scrollback keeps) and `write_formatted_basic` with the SGR codes
    /// stripped (what it kept before the vendored addition).
    #[derive(Default)]
    struct BothCaptures {
        rows: usize,
        mismatches: Vec<(String, String)>,
    }

    impl vt100::Callbacks for BothCaptures {
        fn on_scroll(&mut self, contents: vt100::capture::RowContents<'_>, _alt: bool) {
            let mut plain = Vec::new();
            contents.write_plain(&mut plain);
            let plain = String::from_utf8(plain).expect("cells hold whole characters");
            let mut formatted = String::new();
            let mut state = vt100::capture::BasicFormattedCaptureState::new();
            contents
                .write_formatted_basic(&mut formatted, &mut state)
                .unwrap();
            let stripped: String = vt100::capture::basic_formatted_to_plain(&formatted).collect();
            self.rows += 1;
            if plain != stripped {
                self.mismatches.push((plain, stripped));
            }
        }
    }

    #[test]
    fn plain_row_capture_is_the_formatted_capture_without_sgr() {
        let fragments: &[&str] = &[
            "plain text",
            "\x1b[31mred\x1b[0m",
            "\x1b[1;44mbold on blue\x1b[0m",
            "\x1b[41m\x1b[K\x1b[0m",
            "\x1b[42m   \x1b[0m",
            "\x1b[7m \x1b[0m",
            "   ",
            "\t",
            "日本語",
            "e\u{301}",
            "\u{1F600}",
            "x",
            "\x1b[5C",
            "\x1b[2D",
            "\x1b[10G",
            "\x1b[1K",
            "\x1b[3X",
            "\x1b[38;5;208morange\x1b[39m",
            "\x1b[4munder\x1b[24m",
            "\r",
            "\r\n",
            "\r\n",
            "\r\n",
        ];
        let mut seed = 0x5DEE_CE66_D1CE_4E5Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for cols in [1u16, 2, 7, 20, 80] {
            let mut parser = vt100::Parser::new_with_callbacks(
                NonZeroU16::new(3).unwrap(),
                NonZeroU16::new(cols).unwrap(),
                0,
                BothCaptures::default(),
            );
            for _ in 0..4000 {
                let piece = fragments[(next() % fragments.len() as u64) as usize];
                parser.process(piece.as_bytes());
            }
            let both = parser.callbacks();
            assert!(both.rows > 200, "{cols} columns: only {} rows", both.rows);
            assert!(
                both.mismatches.is_empty(),
                "{cols} columns: {:?}",
                &both.mismatches[..both.mismatches.len().min(3)]
            );
        }
    }
}
