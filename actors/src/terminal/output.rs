//! The clean output log of a terminal session.
//!
//! Every chunk read from the PTY is fed to an [`OutputLog`]. A `vte` parser
//! turns the raw byte stream into plain text the way a reader wants to see it:
//! escape sequences are removed, `\r\n` becomes `\n`, a lone `\r` followed by
//! text overwrites the current line from column 0 (progress bars), backspace
//! and the cursor-left/right/column sequences move within the current line,
//! `CSI K` erases, tabs stay `\t`, other C0 controls, DEL and C1 controls
//! are dropped and UTF-8 is kept intact across chunk boundaries. Text drawn
//! while the alternate screen is active (vim, less, top…) is left out: it is
//! cursor-addressed drawing, not output, and the screen model shows it.
//!
//! The log is addressed by absolute byte offsets (`u64`) counted from the
//! start of the session, so a reader keeps a cursor (`next`) and pages on. It
//! is bounded by bytes; the oldest text is dropped and counted.
//!
//! OSC sequences become [`OutputEvent`]s stamped with the log offset at which
//! they occurred: window title (OSC 0/2), working directory (OSC 7) and the
//! shell-integration markers of OSC 133 (`A` prompt start, `B` command start,
//! `C` command executed, `D[;exit]` command finished). Their text never
//! reaches the log.
//!
//! # The unfinished line
//!
//! Text is *committed* to the log when a `\n` ends its line; committed text
//! never changes again and is what offsets address. The current unfinished
//! line (a prompt, a progress bar, a `Password: ` question) is still editable
//! by later `\r`, backspace or `CSI K`, so it has no offsets of its own yet:
//!
//! * [`OutputLog::read`] appends it to `text` when the read reaches the end of
//!   the committed log, and says how many trailing bytes of `text` it makes up
//!   in [`OutputChunk::partial`]. `next` stops *before* it, so the next read
//!   from `next` delivers the line again, in whatever form it has by then
//!   (e.g. `50%` first, later `75%`, finally `100%\n` once committed). A
//!   reader that concatenates chunks should drop the `partial` tail of the
//!   previous chunk before appending the next one.
//! * Events that occur inside the unfinished line get the offset the cursor
//!   position will have once the line is committed as it stands (committed
//!   end + byte index of the cursor in the line). If the line is rewritten
//!   afterwards (`\r` and new text), such an offset can point into different
//!   text; markers emitted by shell integration sit at line starts or after
//!   the command's output, where this does not happen in practice.
//! * A line longer than [`MAX_LINE`] bytes without a newline is committed in
//!   pieces of that size (no `\n` inserted); a later `\r` then only rewrites
//!   the piece not yet committed.

use std::collections::VecDeque;

/// Default bound of the committed log, in bytes (8 MiB).
pub const DEFAULT_CAPACITY: usize = 8 * 1024 * 1024;

/// Longest unfinished line kept editable before it is committed in pieces.
pub const MAX_LINE: usize = 64 * 1024;

/// Kinds of OSC 133 shell-integration markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Osc133Kind {
    /// `OSC 133 ; A`: the prompt starts.
    PromptStart,
    /// `OSC 133 ; B`: the prompt ends, the user types the command.
    CommandStart,
    /// `OSC 133 ; C`: the command was entered and runs; its output follows.
    CommandExecuted,
    /// `OSC 133 ; D [; exit]`: the command finished, with its exit code if
    /// the shell sent one.
    CommandFinished {
        /// Exit status as sent by the shell, if any and if it parses.
        exit_code: Option<i32>,
    },
}

/// An OSC event found in the output stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputEvent {
    /// OSC 133 shell-integration marker.
    Osc133 {
        /// Which marker.
        kind: Osc133Kind,
    },
    /// OSC 7 working directory: the percent-decoded path of the
    /// `file://host/path` URL (host dropped).
    Cwd(String),
    /// OSC 0 or OSC 2 window title.
    Title(String),
}

/// An [`OutputEvent`] with the clean-log offset at which it occurred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Absolute clean-log offset (see the module docs for events inside the
    /// unfinished line).
    pub offset: u64,
    /// What happened.
    pub event: OutputEvent,
}

/// A page of a session's clean output (escape sequences removed, `\r` and
/// backspace applied), addressed by absolute byte offsets.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct OutputChunk {
    /// The text: committed text `[from, next)`, followed by `partial` bytes of
    /// the unfinished current line when the read reached the committed end.
    pub text: String,
    /// Offset of the first byte of `text`.
    pub from: u64,
    /// Offset just past the committed text in `text`; read on from here.
    pub next: u64,
    /// More text is available after `next` than this chunk holds (the
    /// `max_bytes` bound cut it, or the unfinished line did not fit).
    pub truncated: bool,
    /// Bytes lost before the requested start because they were evicted;
    /// `from` is then the oldest available offset.
    pub dropped: u64,
    /// Number of trailing bytes of `text` that are the unfinished current
    /// line: not covered by `[from, next)`, delivered again by the next read.
    pub partial: usize,
}

/// The bounded clean output log with its `vte` cleaner. See the module docs.
pub struct OutputLog {
    parser: vte::Parser,
    state: Cleaner,
    /// An incomplete UTF-8 character at the end of the last feed, held back
    /// (see [`Utf8Joiner`]).
    joiner: Utf8Joiner,
}

impl Default for OutputLog {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OutputLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputLog")
            .field("start", &self.state.start)
            .field("end", &self.end())
            .field("capacity", &self.state.capacity)
            .field("line", &self.state.line)
            .finish_non_exhaustive()
    }
}

impl OutputLog {
    /// A log bounded by [`DEFAULT_CAPACITY`] bytes.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A log that keeps at most `capacity` bytes of committed text
    /// (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            parser: vte::Parser::new(),
            joiner: Utf8Joiner::default(),
            state: Cleaner {
                buf: VecDeque::new(),
                start: 0,
                capacity,
                max_line: MAX_LINE.min(capacity),
                line: String::new(),
                cursor: 0,
                pad: 0,
                alt_screen: false,
                events: Vec::new(),
                #[cfg(test)]
                fast_path: true,
            },
        }
    }

    /// Feeds raw PTY bytes; returns the OSC events found in them, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<LogEvent> {
        let (parser, state) = (&mut self.parser, &mut self.state);
        self.joiner
            .feed(bytes, |whole| parser.advance(state, whole));
        std::mem::take(&mut self.state.events)
    }

    /// Offset just past the last committed byte (the unfinished line is not
    /// counted).
    pub fn end(&self) -> u64 {
        self.state.end()
    }

    /// Oldest offset still available; equals the number of bytes evicted.
    pub fn start(&self) -> u64 {
        self.state.start
    }

    /// The unfinished current line, as it stands.
    pub fn pending_line(&self) -> &str {
        &self.state.line
    }

    /// Whether the stream is currently drawing on the alternate screen (its
    /// text is then left out of the log).
    pub fn alt_screen(&self) -> bool {
        self.state.alt_screen
    }

    /// Bound of the committed log in bytes.
    pub fn capacity(&self) -> usize {
        self.state.capacity
    }

    /// Reads up to `max_bytes` bytes from `since` on (see the module docs for
    /// the unfinished line). A `since` past the end reads from the end; one
    /// inside a character (not an offset this log handed out) moves on to the
    /// next character.
    /// `max_bytes` is treated as at least 4 so a whole character always fits;
    /// `text` never splits a UTF-8 character.
    pub fn read(&self, since: u64, max_bytes: usize) -> OutputChunk {
        self.read_range(since, u64::MAX, max_bytes)
    }

    /// The text between two offsets (e.g. a command's output between its
    /// OSC 133 `C` and `D` markers). When `to` lies past the committed end,
    /// the unfinished line is included up to `to`. Not bounded: use
    /// [`read_range`](Self::read_range) for a bounded piece.
    pub fn slice(&self, from: u64, to: u64) -> OutputChunk {
        self.read_range(from, to, usize::MAX)
    }

    /// Like [`slice`](Self::slice) but returns at most `max_bytes` bytes from
    /// the start of the range; `truncated` says more of the range remains.
    pub fn read_range(&self, from: u64, to: u64, max_bytes: usize) -> OutputChunk {
        self.state.read_range(from, to, max_bytes.max(4))
    }
}

/// Hands bytes on so that no UTF-8 character is ever split between two
/// calls: an incomplete character at the end of one chunk is held back and
/// handed on with the next one.
///
/// `vte` 0.15 mishandles a character split across two `advance` calls: it
/// drops the characters that follow it in the next chunk when a further
/// multi-byte character starts within four bytes (`\xc3` + `\xa9a\xe6\x97\xa5`
/// loses the `a`), and it prints a split C1 control instead of executing it.
/// PTY reads split characters anywhere, so every `vte` user here feeds
/// through this.
#[derive(Debug, Default)]
pub(crate) struct Utf8Joiner {
    held: Vec<u8>,
}

impl Utf8Joiner {
    /// Calls `advance` with `bytes` (after what was held back), minus an
    /// incomplete character at its end, which is kept for the next call.
    pub(crate) fn feed(&mut self, bytes: &[u8], advance: impl FnOnce(&[u8])) {
        let mut joined;
        let bytes = if self.held.is_empty() {
            bytes
        } else {
            joined = std::mem::take(&mut self.held);
            joined.extend_from_slice(bytes);
            &joined[..]
        };
        let whole = bytes.len() - incomplete_utf8_tail(bytes);
        advance(&bytes[..whole]);
        self.held.extend_from_slice(&bytes[whole..]);
    }
}

/// Length of the incomplete UTF-8 character at the end of `bytes` (a lead
/// byte followed by fewer continuation bytes than it announces), or 0.
fn incomplete_utf8_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        let needed = match b {
            0x80..=0xbf => continue,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return 0,
        };
        return if back < needed { back } else { 0 };
    }
    0
}

/// The `vte::Perform` side: the unfinished line and the committed ring.
struct Cleaner {
    /// Committed text; always valid UTF-8 starting at a char boundary.
    buf: VecDeque<u8>,
    /// Absolute offset of `buf[0]`.
    start: u64,
    capacity: usize,
    max_line: usize,
    /// The unfinished line.
    line: String,
    /// Cursor as a byte index into `line` (always on a char boundary).
    cursor: usize,
    /// Columns the cursor stands past the end of `line` (after `CSI C`,
    /// `CSI G` or `CSI 2K`); turned into spaces when text follows.
    pad: usize,
    alt_screen: bool,
    events: Vec<LogEvent>,
    /// Tests only: `false` sends every printed character through the
    /// general path (`print_general`), so a test can check both agree.
    #[cfg(test)]
    fast_path: bool,
}

fn is_char_start(b: u8) -> bool {
    (b & 0xC0) != 0x80
}

impl Cleaner {
    /// Whether `print` may take its fast path (always, outside tests).
    #[cfg(not(test))]
    #[inline(always)]
    fn fast_path(&self) -> bool {
        true
    }

    #[cfg(test)]
    fn fast_path(&self) -> bool {
        self.fast_path
    }

    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }

    fn event(&mut self, event: OutputEvent) {
        let offset = self.end() + (self.cursor + self.pad) as u64;
        self.events.push(LogEvent { offset, event });
    }

    fn commit(&mut self, newline: bool) {
        self.buf.extend(self.line.as_bytes());
        if newline {
            self.buf.push_back(b'\n');
        }
        self.line.clear();
        self.cursor = 0;
        self.pad = 0;
        if self.buf.len() > self.capacity {
            let mut excess = self.buf.len() - self.capacity;
            while excess < self.buf.len() && !is_char_start(self.buf[excess]) {
                excess += 1;
            }
            self.buf.drain(..excess);
            self.start += excess as u64;
        }
    }

    #[inline]
    fn put(&mut self, c: char) {
        if self.pad > 0 {
            // Only possible with the cursor at the end of the line.
            for _ in 0..self.pad {
                self.line.push(' ');
            }
            self.cursor = self.line.len();
            self.pad = 0;
        }
        if self.cursor == self.line.len() {
            self.line.push(c);
            self.cursor = self.line.len();
        } else {
            let old = self.line[self.cursor..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            let mut tmp = [0u8; 4];
            let new = c.encode_utf8(&mut tmp);
            self.line.replace_range(self.cursor..self.cursor + old, new);
            self.cursor += new.len();
        }
        if self.line.len() >= self.max_line {
            self.commit(false);
        }
    }

    fn left(&mut self, n: usize) {
        let mut n = n;
        let from_pad = n.min(self.pad);
        self.pad -= from_pad;
        n -= from_pad;
        while n > 0 && self.cursor > 0 {
            self.cursor -= 1;
            while self.cursor > 0 && !self.line.is_char_boundary(self.cursor) {
                self.cursor -= 1;
            }
            n -= 1;
        }
    }

    fn right(&mut self, n: usize) {
        let mut n = n;
        while n > 0 && self.cursor < self.line.len() {
            self.cursor += self.line[self.cursor..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            n -= 1;
        }
        self.pad = self.pad.saturating_add(n).min(self.max_line);
    }

    /// Byte index in `line` of the end of the `n` characters after the
    /// cursor (or the line end).
    fn chars_after_cursor(&self, n: usize) -> usize {
        self.line[self.cursor..]
            .char_indices()
            .nth(n)
            .map_or(self.line.len(), |(i, _)| self.cursor + i)
    }

    fn read_range(&self, from: u64, to: u64, max_bytes: usize) -> OutputChunk {
        let end = self.end();
        let mut chunk = OutputChunk::default();
        let from = if from < self.start {
            chunk.dropped = self.start - from;
            self.start
        } else {
            from.min(end)
        };
        // An offset inside a character (not one we handed out) moves on to
        // the next character start.
        let mut from = from;
        while from < end
            && usize::try_from(from - self.start)
                .ok()
                .and_then(|i| self.buf.get(i))
                .is_some_and(|b| !is_char_start(*b))
        {
            from += 1;
        }
        chunk.from = from;
        let to = to.max(from);
        // Committed part [from, committed_to).
        let committed_to = to.min(end);
        let want = usize::try_from(committed_to - from).unwrap_or(usize::MAX);
        let mut take = want.min(max_bytes);
        let a = usize::try_from(from - self.start).unwrap_or(usize::MAX);
        // Never split a character: back off to a char start.
        while take > 0 && a + take < self.buf.len() && !is_char_start(self.buf[a + take]) {
            take -= 1;
        }
        let mut bytes = Vec::with_capacity(take);
        let (s1, s2) = self.buf.as_slices();
        let b = a + take;
        if a < s1.len() {
            bytes.extend_from_slice(&s1[a..b.min(s1.len())]);
        }
        if b > s1.len() {
            bytes.extend_from_slice(&s2[a.max(s1.len()) - s1.len()..b - s1.len()]);
        }
        chunk.next = from + take as u64;
        let mut text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if take < want {
            chunk.truncated = true;
        } else if to > end && !self.line.is_empty() {
            // The unfinished line, up to `to` and within the budget.
            let line_want = usize::try_from(to - end)
                .unwrap_or(usize::MAX)
                .min(self.line.len());
            let budget = max_bytes - take;
            let mut n = line_want.min(budget);
            while n > 0 && !self.line.is_char_boundary(n) {
                n -= 1;
            }
            text.push_str(&self.line[..n]);
            chunk.partial = n;
            chunk.truncated = n < line_want;
        }
        chunk.text = text;
        chunk
    }
}

fn first_param(params: &vte::Params, default: u16) -> u16 {
    match params.iter().next().and_then(|p| p.first().copied()) {
        None | Some(0) => default,
        Some(n) => n,
    }
}

impl Cleaner {
    /// `print` for everything its fast path does not take.
    #[inline(never)]
    fn print_general(&mut self, c: char) {
        // DEL, and C1 controls that `vte` prints rather than executes when
        // their UTF-8 form was split across two reads (it executes them
        // otherwise), are dropped like the other controls.
        if !self.alt_screen && !matches!(c, '\x7f' | '\u{80}'..='\u{9f}') {
            self.put(c);
        }
    }
}

impl vte::Perform for Cleaner {
    #[inline]
    fn print(&mut self, c: char) {
        // Fast path, for most output: printable ASCII appended to the line
        // (the cursor at its end, no columns to pad) outside the alternate
        // screen, where it does not fill the line to `max_line`. That is
        // what `put` does for it, without its other cases: inlined into
        // vte's loop instead of a call per character (saving and restoring
        // six registers each time was most of `put`'s time).
        if (' '..='~').contains(&c)
            && self.pad == 0
            && self.cursor == self.line.len()
            && self.line.len() + 1 < self.max_line
            && !self.alt_screen
            && self.fast_path()
        {
            self.line.push(c);
            self.cursor += 1;
            return;
        }
        self.print_general(c);
    }

    fn execute(&mut self, byte: u8) {
        if self.alt_screen {
            return;
        }
        match byte {
            b'\n' => self.commit(true),
            b'\r' => {
                self.cursor = 0;
                self.pad = 0;
            }
            0x08 => self.left(1),
            b'\t' => self.put('\t'),
            _ => {}
        }
    }

    fn csi_dispatch(
        &mut self,
        params: &vte::Params,
        intermediates: &[u8],
        _ignore: bool,
        action: char,
    ) {
        match intermediates {
            [b'?']
                if (action == 'h' || action == 'l')
                    && params
                        .iter()
                        .any(|p| matches!(p.first(), Some(47 | 1047 | 1049))) =>
            {
                self.alt_screen = action == 'h';
            }
            [] if !self.alt_screen => {
                let n = usize::from(first_param(params, 1));
                match action {
                    'K' => match first_param(params, 0) {
                        0 => {
                            self.line.truncate(self.cursor);
                        }
                        1 => {
                            // Erase from column 0 through the cursor; the
                            // cursor keeps its column (now all 1-byte spaces).
                            let column = self.line[..self.cursor].chars().count();
                            let upto = self.chars_after_cursor(1);
                            let count = self.line[..upto].chars().count();
                            self.line.replace_range(..upto, &" ".repeat(count));
                            self.cursor = column;
                        }
                        2 => {
                            self.pad += self.line[..self.cursor].chars().count();
                            self.line.clear();
                            self.cursor = 0;
                        }
                        _ => {}
                    },
                    'D' => self.left(n),
                    'C' => self.right(n),
                    'G' | '`' => {
                        self.cursor = 0;
                        self.pad = 0;
                        self.right(n - 1);
                    }
                    // Inserting blanks past the end of the line changes nothing.
                    '@' if self.pad == 0 => {
                        let n = n.min(self.max_line);
                        self.line.insert_str(self.cursor, &" ".repeat(n));
                        if self.line.len() >= self.max_line {
                            self.commit(false);
                        }
                    }
                    'P' => {
                        let upto = self.chars_after_cursor(n);
                        self.line.replace_range(self.cursor..upto, "");
                    }
                    'X' => {
                        let upto = self.chars_after_cursor(n);
                        let count = self.line[self.cursor..upto].chars().count();
                        self.line
                            .replace_range(self.cursor..upto, &" ".repeat(count));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        // RIS (ESC c) resets the terminal, leaving the alternate screen.
        if intermediates.is_empty() && byte == b'c' {
            self.alt_screen = false;
        }
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], _bell_terminated: bool) {
        if let Some(event) = parse_osc(params) {
            self.event(event);
        }
    }
}

/// Parses the OSC sequences termbridge cares about (title, cwd, OSC 133).
/// `params` are the `;`-separated parts as `vte` hands them over. Shared with
/// the screen model.
pub fn parse_osc(params: &[&[u8]]) -> Option<OutputEvent> {
    let (first, rest) = params.split_first()?;
    match *first {
        b"0" | b"2" => Some(OutputEvent::Title(join_lossy(rest))),
        b"7" => Some(OutputEvent::Cwd(cwd_from_url(&join_lossy(rest)))),
        b"133" => {
            let kind = match rest.first().and_then(|k| k.first()) {
                Some(b'A') => Osc133Kind::PromptStart,
                Some(b'B') => Osc133Kind::CommandStart,
                Some(b'C') => Osc133Kind::CommandExecuted,
                Some(b'D') => Osc133Kind::CommandFinished {
                    exit_code: rest
                        .get(1)
                        .and_then(|p| std::str::from_utf8(p).ok())
                        .and_then(|s| s.trim().parse::<i32>().ok()),
                },
                _ => return None,
            };
            Some(OutputEvent::Osc133 { kind })
        }
        _ => None,
    }
}

/// Joins OSC parameters back with `;` (vte splits on every `;`, so a title
/// such as `a;b` arrives as two parameters).
fn join_lossy(parts: &[&[u8]]) -> String {
    let joined = parts.join(&b';');
    String::from_utf8_lossy(&joined).into_owned()
}

/// `file://host/some%20dir` -> `/some dir`. Anything without `scheme://` is
/// taken as a path as it is.
fn cwd_from_url(url: &str) -> String {
    let path = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            match after.find('/') {
                Some(j) => &after[j..],
                None => "/",
            }
        }
        None => url,
    };
    percent_decode(path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(chunks: &[&[u8]]) -> String {
        let mut log = OutputLog::new();
        for c in chunks {
            log.feed(c);
        }
        let chunk = log.read(0, usize::MAX);
        chunk.text
    }

    #[test]
    fn log_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<OutputLog>();
    }

    #[test]
    fn strips_escapes_and_crlf() {
        assert_eq!(
            clean(&[b"\x1b[1;31mred\x1b[0m plain\r\nnext\r\n"]),
            "red plain\nnext\n"
        );
        assert_eq!(clean(&[b"a\nb\n"]), "a\nb\n");
    }

    #[test]
    fn lone_cr_overwrites_from_column_zero() {
        assert_eq!(clean(&[b"10%\r50%\r100%\r\n"]), "100%\n");
        // Terminal semantics: only the written columns are replaced.
        assert_eq!(clean(&[b"abcdef\rXY\n"]), "XYcdef\n");
        // CR at a chunk end followed by LF in the next chunk.
        assert_eq!(clean(&[b"done\r", b"\nok\n"]), "done\nok\n");
        // CR then erase-line then new text: the usual progress redraw.
        assert_eq!(clean(&[b"downloading 10/100\r\x1b[Kdone\n"]), "done\n");
    }

    #[test]
    fn backspace_moves_left() {
        assert_eq!(clean(&[b"a\x08b\n"]), "b\n");
        assert_eq!(clean(&[b"abc\x08\x08X\n"]), "aXc\n");
        assert_eq!(clean(&[b"\x08\x08x\n"]), "x\n");
        // Backspace over a multi-byte char.
        assert_eq!(clean(&["é\x08e\n".as_bytes()]), "e\n");
        // readline's erase: BS, CSI K.
        assert_eq!(clean(&[b"lss\x08\x1b[K -l\n"]), "ls -l\n");
    }

    #[test]
    fn erase_in_line_variants() {
        assert_eq!(clean(&[b"abcdef\x08\x08\x08\x1b[K\n"]), "abc\n");
        assert_eq!(clean(&[b"abcdef\x08\x08\x08\x1b[1K\n"]), "    ef\n");
        assert_eq!(clean(&[b"abc\x1b[2Kxy\n"]), "   xy\n");
        assert_eq!(clean(&[b"abc\x1b[2K\rxy\n"]), "xy\n");
    }

    #[test]
    fn cursor_motion_within_line() {
        // CSI D / C / G and DCH / ICH / ECH as readline uses them.
        assert_eq!(clean(&[b"hello\x1b[3DX\n"]), "heXlo\n");
        assert_eq!(clean(&[b"ab\x1b[3Cc\n"]), "ab   c\n");
        assert_eq!(clean(&[b"hello\x1b[2GA\n"]), "hAllo\n");
        assert_eq!(clean(&[b"hello\x1b[4D\x1b[2P\n"]), "hlo\n");
        assert_eq!(clean(&[b"hlo\x1b[2D\x1b[2@el\n"]), "hello\n");
        assert_eq!(clean(&[b"hello\x1b[4D\x1b[3X\n"]), "h   o\n");
        // Unknown/vertical movement is ignored.
        assert_eq!(clean(&[b"a\x1b[5;5Hb\x1b[2J\n"]), "ab\n");
    }

    #[test]
    fn tabs_kept_and_other_controls_dropped() {
        assert_eq!(clean(&[b"a\tb\x07\x00\x01c\x0e\x0f\n"]), "a\tbc\n");
    }

    #[test]
    fn utf8_across_chunks() {
        let s = "héllo 日本 🎉\n".as_bytes();
        for split in 0..s.len() {
            assert_eq!(
                clean(&[&s[..split], &s[split..]]),
                "héllo 日本 🎉\n",
                "split {split}"
            );
        }
        // Byte by byte.
        let chunks: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(clean(&chunks), "héllo 日本 🎉\n");
    }

    #[test]
    fn utf8_split_keeps_the_characters_after_it() {
        // vte 0.15 alone drops the `a` when `é` is split (see Utf8Joiner).
        let s = "é a日 Ȼ S\u{85}x\n".as_bytes();
        for split in 0..s.len() {
            let want = "é a日 Ȼ Sx\n";
            assert_eq!(clean(&[&s[..split], &s[split..]]), want, "split {split}");
        }
        assert_eq!(clean(&[b"\xc3", b"\xa9a\xe6\x97\xa5\n"]), "éa日\n");
        assert_eq!(incomplete_utf8_tail(b"a\xe6\x97"), 2);
        assert_eq!(incomplete_utf8_tail(b"a\xe6\x97\xa5"), 0);
        assert_eq!(incomplete_utf8_tail(b"\xf0\x9f\x8e"), 3);
        assert_eq!(incomplete_utf8_tail(b"\x80\x80\x80"), 0);
        assert_eq!(incomplete_utf8_tail(b"\xff"), 0);
    }

    #[test]
    fn escape_split_across_chunks() {
        assert_eq!(clean(&[b"a\x1b[3", b"1mb\x1b", b"[0mc\n"]), "abc\n");
        assert_eq!(clean(&[b"x\x1b]0;ti", b"tle\x07y\n"]), "xy\n");
    }

    #[test]
    fn alt_screen_text_is_left_out() {
        assert_eq!(
            clean(&[b"before\r\n\x1b[?1049h\x1b[Hvim stuff\r\nmore\x1b[?1049lafter\r\n"]),
            "before\nafter\n"
        );
        assert_eq!(clean(&[b"a\x1b[?47hhidden\x1b[?47lb\n"]), "ab\n");
    }

    #[test]
    fn events_with_offsets() {
        let mut log = OutputLog::new();
        let ev = log.feed(
            b"\x1b]133;A\x07$ \x1b]133;B\x07ls\r\n\x1b]133;C\x07file1\r\nfile2\r\n\x1b]133;D;0\x07\
              \x1b]7;file://host/tmp/a%20b\x07\x1b]2;my;title\x07\x1b]133;D;x\x07\x1b]133;D\x1b\\",
        );
        let text = log.read(0, 1000).text;
        assert_eq!(text, "$ ls\nfile1\nfile2\n");
        assert!(!text.contains("133"));
        let expect = vec![
            LogEvent {
                offset: 0,
                event: OutputEvent::Osc133 {
                    kind: Osc133Kind::PromptStart,
                },
            },
            LogEvent {
                offset: 2,
                event: OutputEvent::Osc133 {
                    kind: Osc133Kind::CommandStart,
                },
            },
            LogEvent {
                offset: 5,
                event: OutputEvent::Osc133 {
                    kind: Osc133Kind::CommandExecuted,
                },
            },
            LogEvent {
                offset: 17,
                event: OutputEvent::Osc133 {
                    kind: Osc133Kind::CommandFinished { exit_code: Some(0) },
                },
            },
            LogEvent {
                offset: 17,
                event: OutputEvent::Cwd("/tmp/a b".into()),
            },
            LogEvent {
                offset: 17,
                event: OutputEvent::Title("my;title".into()),
            },
            LogEvent {
                offset: 17,
                event: OutputEvent::Osc133 {
                    kind: Osc133Kind::CommandFinished { exit_code: None },
                },
            },
            LogEvent {
                offset: 17,
                event: OutputEvent::Osc133 {
                    kind: Osc133Kind::CommandFinished { exit_code: None },
                },
            },
        ];
        assert_eq!(ev, expect);
        // The command output between C and D.
        assert_eq!(log.slice(5, 17).text, "file1\nfile2\n");
    }

    #[test]
    fn event_inside_unfinished_line_and_slice_into_it() {
        let mut log = OutputLog::new();
        log.feed(b"\x1b]133;C\x07foo");
        let ev = log.feed(b"\x1b]133;D;1\x07$ ");
        assert_eq!(ev[0].offset, 3);
        let s = log.slice(0, 3);
        assert_eq!(s.text, "foo");
        assert_eq!(s.partial, 3);
        assert_eq!(s.next, 0);
    }

    #[test]
    fn osc_parsing_variants() {
        assert_eq!(
            parse_osc(&[b"0", b"t"]),
            Some(OutputEvent::Title("t".into()))
        );
        assert_eq!(parse_osc(&[b"1", b"icon"]), None);
        assert_eq!(
            parse_osc(&[b"7", b"file:///"]),
            Some(OutputEvent::Cwd("/".into()))
        );
        assert_eq!(
            parse_osc(&[b"7", b"file://h/%E6%97%A5%zz"]),
            Some(OutputEvent::Cwd("/日%zz".into()))
        );
        assert_eq!(
            parse_osc(&[b"133", b"D", b"130"]),
            Some(OutputEvent::Osc133 {
                kind: Osc133Kind::CommandFinished {
                    exit_code: Some(130)
                }
            })
        );
        assert_eq!(
            parse_osc(&[b"133", b"A", b"aid=1"]),
            Some(OutputEvent::Osc133 {
                kind: Osc133Kind::PromptStart
            })
        );
        assert_eq!(parse_osc(&[b"133", b"Z"]), None);
        assert_eq!(parse_osc(&[b"133"]), None);
        assert_eq!(parse_osc(&[]), None);
    }

    #[test]
    fn partial_line_is_visible_and_redelivered() {
        let mut log = OutputLog::new();
        log.feed(b"line1\r\n50%");
        let c = log.read(0, 100);
        assert_eq!(c.text, "line1\n50%");
        assert_eq!((c.from, c.next, c.partial, c.truncated), (0, 6, 3, false));
        log.feed(b"\r75%");
        let c = log.read(c.next, 100);
        assert_eq!(c.text, "75%");
        assert_eq!((c.from, c.next, c.partial), (6, 6, 3));
        log.feed(b"\r100%\r\n");
        let c = log.read(c.next, 100);
        assert_eq!(c.text, "100%\n");
        assert_eq!((c.next, c.partial), (11, 0));
        assert_eq!(log.end(), 11);
        // Reading past the end reads from the end.
        let c = log.read(500, 100);
        assert_eq!((c.text.as_str(), c.from, c.next), ("", 11, 11));
    }

    #[test]
    fn bounded_reads_never_split_utf8() {
        let mut log = OutputLog::new();
        log.feed("aé日🎉\n".as_bytes());
        // a(1) é(2) 日(3) 🎉(4) \n(1)
        let c = log.read(0, 4);
        assert_eq!(c.text, "aé");
        assert!(c.truncated);
        assert_eq!(c.next, 3);
        let c = log.read(c.next, 4);
        assert_eq!(c.text, "日");
        let c = log.read(c.next, 4);
        assert_eq!(c.text, "🎉");
        let c = log.read(c.next, 4);
        assert_eq!(c.text, "\n");
        assert!(!c.truncated);
        // max_bytes < 4 is raised to 4 so progress is always possible.
        let c = log.read(0, 1);
        assert_eq!(c.text, "aé");
        // A start inside a character moves on to the next character.
        let c = log.read(2, 100);
        assert_eq!((c.from, c.text.as_str()), (3, "日🎉\n"));
        // Partial line cut at a char boundary, reported truncated.
        log.feed("xy日本".as_bytes());
        let c = log.read(11, 6);
        assert_eq!(c.text, "xy日");
        assert_eq!((c.partial, c.truncated, c.next), (5, true, 11));
    }

    #[test]
    fn eviction_counts_dropped_bytes() {
        let mut log = OutputLog::with_capacity(10);
        log.feed(b"0123456789\n"); // 11 bytes: 1 evicted
        assert_eq!(log.start(), 1);
        assert_eq!(log.end(), 11);
        let c = log.read(0, 100);
        assert_eq!(c.dropped, 1);
        assert_eq!(c.from, 1);
        assert_eq!(c.text, "123456789\n");
        log.feed(b"abc\n");
        let c = log.read(3, 100);
        assert_eq!((c.dropped, c.from), (2, 5));
        assert_eq!(c.text, "56789\nabc\n");
        // Eviction never leaves half a character at the front.
        let mut log = OutputLog::with_capacity(4);
        log.feed("é日\n".as_bytes()); // 2 + 3 + 1 = 6 bytes
        let c = log.read(0, 100);
        assert_eq!(c.text, "日\n");
        assert_eq!(c.dropped, 2);
    }

    #[test]
    fn ring_wraparound_reads_are_contiguous() {
        let mut log = OutputLog::with_capacity(64);
        let mut all = String::new();
        for i in 0..200 {
            let line = format!("line {i}\n");
            all.push_str(&line);
            log.feed(line.as_bytes());
            let c = log.read(log.start(), usize::MAX);
            let start = usize::try_from(log.start()).unwrap_or(0);
            assert_eq!(c.text, all[start..]);
        }
    }

    #[test]
    fn very_long_line_is_committed_in_pieces() {
        let mut log = OutputLog::new();
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        log.feed(&long);
        assert_eq!(log.end(), (MAX_LINE * 2) as u64);
        assert_eq!(log.pending_line().len(), 10);
        log.feed(b"\ry\n");
        let c = log.read(0, usize::MAX);
        assert_eq!(c.text.len(), MAX_LINE * 2 + 11);
        assert!(c.text.ends_with("yxxxxxxxxx\n"));
    }

    #[test]
    fn huge_cursor_moves_are_bounded() {
        let mut log = OutputLog::with_capacity(1000);
        log.feed(b"\x1b[65535C\x1b[65535@x\x1b[65535P\x1b[65535X\x1b[65535D\n");
        assert!(log.read(0, usize::MAX).text.len() <= 1001);
    }

    /// Differential test of `print`'s fast path: two logs get the same
    /// random streams cut into the same chunks, one with the fast path (the
    /// default), one sending every character through `print_general`; after
    /// every chunk their events, committed text, unfinished line, offsets
    /// and alternate-screen flag must agree. The streams mix ASCII runs with
    /// what the fast path must step aside for: the cursor moved into the
    /// line (`\r`, backspace, `CSI D/G`) or past its end (`CSI C`, `CSI 2K`),
    /// the alternate screen, lines reaching `max_line` (small capacities),
    /// DEL, C1, tabs, multi-byte characters, edits and OSC events.
    #[test]
    fn fast_path_matches_the_general_path() {
        let fragments: &[&[u8]] = &[
            b"\r",
            b"\n",
            b"\r\n",
            b"\x08",
            b"\x08\x08\x08",
            b"\t",
            b"\x7f",
            b"\xc2\x85",
            b"\x00\x07",
            "\u{e9}".as_bytes(),
            "\u{65e5}\u{672c}".as_bytes(),
            "\u{1f389}".as_bytes(),
            b"\x1b[K",
            b"\x1b[1K",
            b"\x1b[2K",
            b"\x1b[31m",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b[?47h",
            b"\x1b[?47l",
            b"\x1bc",
            b"\x1b]133;A\x07",
            b"\x1b]0;t\x07",
            b"\x1b]133;D;0\x1b\\",
        ];
        let csi_finals = b"DCG`@PX";
        let mut seed: u64 = 0x6A09_E667_F3BC_C908;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..1500 {
            let capacity = match next() % 4 {
                0 => DEFAULT_CAPACITY,
                _ => 1 + (next() % 120) as usize,
            };
            let mut fast = OutputLog::with_capacity(capacity);
            let mut general = OutputLog::with_capacity(capacity);
            general.state.fast_path = false;
            let mut input = Vec::new();
            for step in 0..12 {
                let mut chunk = Vec::new();
                for _ in 0..1 + next() % 20 {
                    match next() % 10 {
                        0..=3 => {
                            for _ in 0..1 + next() % 70 {
                                chunk.push(b' ' + (next() % 95) as u8);
                            }
                        }
                        4 => {
                            let n = next() % 12;
                            let fin = csi_finals[(next() % csi_finals.len() as u64) as usize];
                            chunk.extend_from_slice(format!("\x1b[{n}").as_bytes());
                            chunk.push(fin);
                        }
                        _ => {
                            let f = fragments[(next() % fragments.len() as u64) as usize];
                            chunk.extend_from_slice(f);
                        }
                    }
                }
                input.extend_from_slice(&chunk);
                let cut = (next() % (chunk.len() as u64 + 1)) as usize;
                for part in [&chunk[..cut], &chunk[cut..]] {
                    let (a, b) = (fast.feed(part), general.feed(part));
                    let context = || {
                        format!(
                            "case {case}, step {step}, capacity {capacity}, input {:?}",
                            String::from_utf8_lossy(&input)
                        )
                    };
                    assert_eq!(a, b, "events: {}", context());
                    assert_eq!(
                        fast.read(0, usize::MAX),
                        general.read(0, usize::MAX),
                        "{}",
                        context()
                    );
                    assert_eq!(fast.pending_line(), general.pending_line(), "{}", context());
                    assert_eq!(
                        (fast.start(), fast.end(), fast.alt_screen()),
                        (general.start(), general.end(), general.alt_screen()),
                        "{}",
                        context()
                    );
                    assert_eq!(
                        (fast.state.cursor, fast.state.pad),
                        (general.state.cursor, general.state.pad),
                        "{}",
                        context()
                    );
                }
            }
        }
    }

    /// Random bytes and random reads never panic, and reads stay consistent.
    #[test]
    fn random_input_and_reads_do_not_panic() {
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: &[u8] =
            b"\x1b[]?;0123456789KDCGP@XhlJm\r\n\x08\t\x07 ab\xc3\xa9\xe6\x97\xa5\xff";
        for round in 0..200 {
            let mut log = OutputLog::with_capacity(1 + (next() % 2000) as usize);
            for _ in 0..30 {
                let len = (next() % 200) as usize;
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        if round % 2 == 0 {
                            alphabet[(next() % alphabet.len() as u64) as usize]
                        } else {
                            (next() & 0xff) as u8
                        }
                    })
                    .collect();
                let _ = log.feed(&bytes);
                let end = log.end();
                let since = next() % (end + 10);
                let c = log.read(since, (next() % 50) as usize);
                assert!(c.from >= log.start() && c.next <= end && c.from <= c.next);
                assert_eq!(c.text.len() as u64, c.next - c.from + c.partial as u64);
                let to = next() % (end + 10);
                let _ = log.slice(since.min(to), to);
            }
        }
    }
}
