//! Property-based tests (proptest) of the terminal data model's parsers:
//! the key-name parser (`parse_key`) and the clean output log (`OutputLog`).
//!
//! Both take input straight from clients or from programs in a terminal, so
//! they must never panic, whatever arrives. Case counts are kept moderate
//! (256 per property) so the suite stays fast on a small machine.

use proptest::prelude::*;
use proptest::sample::Index;
use termbridge_actors::terminal::keys::parse_key;
use termbridge_actors::terminal::output::{LogEvent, OutputLog};
use termbridge_actors::terminal::screen::Screen;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- parse_key

/// Modifier spellings the parser documents (any ASCII case is accepted).
const MODIFIERS: &[&str] = &[
    "Ctrl-", "Ctrl+", "C-", "Control-", "Control+", "Alt-", "Alt+", "M-", "Meta-", "Meta+",
    "Shift-", "Shift+",
];

/// Multi-character key names (case-insensitive by contract).
const NAMED_KEYS: &[&str] = &[
    "Enter",
    "Return",
    "Tab",
    "Esc",
    "Escape",
    "Backspace",
    "Space",
    "Delete",
    "Del",
    "Insert",
    "Up",
    "Down",
    "Left",
    "Right",
    "Home",
    "End",
    "PageUp",
    "PageDown",
    "Page_Down",
    "PgUp",
    "PgDn",
    "F1",
    "F2",
    "F4",
    "F5",
    "F9",
    "F10",
    "F11",
    "F12",
    "F13",
    "F0",
    "ArrowLeft",
];

/// Randomly upper/lower-cases the ASCII letters of `text`.
fn recase(text: &str, flips: &[bool]) -> String {
    text.chars()
        .zip(flips.iter().cycle())
        .map(|(c, up)| {
            if *up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A string built from pieces that steer the parser into its interesting
/// branches (modifier soup, carets, named keys, odd characters).
fn key_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(MODIFIERS).prop_map(str::to_string),
        prop::sample::select(NAMED_KEYS).prop_map(str::to_string),
        Just("^".to_string()),
        Just("-".to_string()),
        Just("+".to_string()),
        Just(" ".to_string()),
        Just("f".to_string()),
        Just("F99999999999999999999".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
        "[a-zA-Z0-9@\\[\\]\\\\^_?]{1,2}",
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary strings never panic; an accepted name always yields bytes.
    #[test]
    fn parse_key_never_panics_and_accepted_names_give_bytes(
        name in prop_oneof![any::<String>(), key_soup()],
        app_cursor in any::<bool>(),
    ) {
        if let Ok(bytes) = parse_key(&name, app_cursor) {
            prop_assert!(!bytes.is_empty(), "{name:?} was accepted but gives no bytes");
        }
    }

    /// Modifier prefixes and named keys are case-insensitive: any casing of
    /// a name gives the same answer as its lower-case form.
    #[test]
    fn parse_key_named_keys_are_case_insensitive(
        mods in prop::collection::vec(prop::sample::select(MODIFIERS), 0..3),
        key in prop::sample::select(NAMED_KEYS),
        flips in prop::collection::vec(any::<bool>(), 1..40),
        app_cursor in any::<bool>(),
    ) {
        let name = format!("{}{}", mods.concat(), key);
        let lower = name.to_ascii_lowercase();
        let mixed = recase(&name, &flips);
        let expected = parse_key(&lower, app_cursor).ok();
        let got = parse_key(&mixed, app_cursor).ok();
        prop_assert_eq!(got, expected, "{:?} vs {:?}", mixed, lower);
    }

    /// Ctrl with a letter ignores the letter's case too (`Ctrl-c` = `CTRL-C`).
    #[test]
    fn parse_key_ctrl_letters_are_case_insensitive(
        spelling in prop::sample::select(&["Ctrl-", "Ctrl+", "C-", "Control-", "^"][..]),
        alt in prop::sample::select(&["", "Alt-", "M-", "Meta+"][..]),
        letter in proptest::char::range('a', 'z'),
        flips in prop::collection::vec(any::<bool>(), 1..20),
    ) {
        // The caret form must stand last, right before the letter.
        let name = format!("{alt}{spelling}{letter}");
        let mixed = recase(&name, &flips);
        let expected = parse_key(&name, false);
        prop_assert!(expected.is_ok(), "{name:?}: {expected:?}");
        prop_assert_eq!(parse_key(&mixed, false).ok(), expected.ok(), "{:?}", mixed);
    }
}

// ---------------------------------------------------------------- OutputLog

/// Fragments of real terminal traffic: escapes, OSC markers, alternate
/// screen, cursor motion, UTF-8 (whole and cut), control characters.
const FRAGMENTS: &[&[u8]] = &[
    b"\x1b[",
    b"\x1b]",
    b"\x1b[1;31m",
    b"\x1b[0m",
    b"\x1b[K",
    b"\x1b[1K",
    b"\x1b[2K",
    b"\x1b[3D",
    b"\x1b[5C",
    b"\x1b[2G",
    b"\x1b[2P",
    b"\x1b[3@",
    b"\x1b[4X",
    b"\x1b[65535C",
    b"\x1b[65535@",
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[?47h",
    b"\x1bc",
    b"\x1b]133;A\x07",
    b"\x1b]133;B\x07",
    b"\x1b]133;C\x07",
    b"\x1b]133;D;0\x07",
    b"\x1b]133;D;127\x1b\\",
    b"\x1b]7;file://host/tmp/a%20b\x07",
    b"\x1b]2;title;x\x07",
    b"\x1bP1$r\x1b\\",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x08",
    b"\t",
    b"\x07",
    b"\x00",
    b"\x7f",
    b"\x9b",
    "é".as_bytes(),
    "日本".as_bytes(),
    "🎉".as_bytes(),
    b"\xe6\x97",
    b"\xf0\x9f",
    b"\xff",
    b"\xc2\x85",
    b"hello",
    b"x",
    b" ",
];

/// Bytes that look like terminal output, or plain random bytes.
fn terminal_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::sample::select(FRAGMENTS).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..120).prop_map(|p| p.concat()),
        prop::collection::vec(any::<u8>(), 0..1500),
    ]
}

/// Splits `bytes` at the given cut points (sorted, deduplicated).
fn chunks<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

/// Everything observable after feeding: committed text, bounds, the
/// unfinished line, the alternate-screen flag and every event.
#[derive(Debug, PartialEq)]
struct Fed {
    committed: String,
    start: u64,
    end: u64,
    pending: String,
    alt_screen: bool,
    events: Vec<LogEvent>,
}

/// Feeds `pieces` into a fresh log of `capacity` bytes, checking after each
/// feed that the bounds only grow and that events never point before the
/// committed end they were found at.
fn feed_all(capacity: usize, pieces: &[&[u8]]) -> Result<(OutputLog, Fed), TestCaseError> {
    let mut log = OutputLog::with_capacity(capacity);
    let mut events = Vec::new();
    for piece in pieces {
        let (start, end) = (log.start(), log.end());
        let found = log.feed(piece);
        prop_assert!(log.start() >= start, "start went back");
        prop_assert!(log.end() >= end, "end went back");
        prop_assert!(log.start() <= log.end());
        prop_assert!(log.end() - log.start() <= capacity as u64, "over capacity");
        for event in &found {
            prop_assert!(event.offset >= end, "event {event:?} before the end {end}");
        }
        events.extend(found);
    }
    let all = log.read(0, usize::MAX);
    let committed = all.text[..all.text.len() - all.partial].to_string();
    let fed = Fed {
        committed,
        start: log.start(),
        end: log.end(),
        pending: log.pending_line().to_string(),
        alt_screen: log.alt_screen(),
        events,
    };
    Ok((log, fed))
}

/// No ESC and no C0 control character except `\n` and `\t`; no DEL and
/// no C1 control either.
fn is_clean(text: &str) -> bool {
    text.chars()
        .all(|c| c == '\n' || c == '\t' || !(c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)))
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes in any chunking: no panic, clean text only, and the same
    /// result as feeding them in another chunking.
    #[test]
    fn output_log_is_clean_and_independent_of_chunking(
        bytes in terminal_bytes(),
        cuts_a in prop::collection::vec(any::<Index>(), 0..12),
        cuts_b in prop::collection::vec(any::<Index>(), 0..40),
        capacity in prop_oneof![Just(8 * 1024 * 1024), 1usize..3000],
    ) {
        let (_, whole) = feed_all(capacity, &[&bytes])?;
        let (_, a) = feed_all(capacity, &chunks(&bytes, &cuts_a))?;
        let (_, b) = feed_all(capacity, &chunks(&bytes, &cuts_b))?;
        let one_by_one: Vec<&[u8]> = bytes.chunks(1).collect();
        let (_, single) = feed_all(capacity, &one_by_one)?;
        prop_assert!(is_clean(&whole.committed), "control characters in {:?}", whole.committed);
        prop_assert!(is_clean(&whole.pending), "control characters in {:?}", whole.pending);
        prop_assert!(!whole.pending.contains('\n'));
        prop_assert_eq!(&a, &whole);
        prop_assert_eq!(&b, &whole);
        prop_assert_eq!(&single, &whole);
    }

    /// Paging with `read(since, max)` from the start to `end()` gives back
    /// exactly the committed text, with offsets that only move forward.
    #[test]
    fn output_log_pages_reconstruct_the_committed_text(
        bytes in terminal_bytes(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
        capacity in prop_oneof![Just(8 * 1024 * 1024), 1usize..3000],
        page in 0usize..64,
    ) {
        let (log, fed) = feed_all(capacity, &chunks(&bytes, &cuts))?;
        let mut since = 0u64;
        let mut text = String::new();
        let mut first = true;
        loop {
            let chunk = log.read(since, page);
            if first {
                prop_assert_eq!(chunk.dropped, log.start());
                prop_assert_eq!(chunk.from, log.start());
                first = false;
            } else {
                prop_assert_eq!(chunk.dropped, 0);
                prop_assert_eq!(chunk.from, since);
            }
            prop_assert!(chunk.from <= chunk.next && chunk.next <= log.end());
            prop_assert!(chunk.text.len() <= page.max(4));
            prop_assert_eq!(
                chunk.text.len() as u64,
                chunk.next - chunk.from + chunk.partial as u64
            );
            text.push_str(&chunk.text[..chunk.text.len() - chunk.partial]);
            if chunk.next == log.end() {
                prop_assert!(!chunk.truncated || chunk.partial < log.pending_line().len());
                if chunk.partial > 0 {
                    prop_assert!(log.pending_line().starts_with(&chunk.text[chunk.text.len() - chunk.partial..]));
                }
                break;
            }
            prop_assert!(chunk.truncated, "a page that stops before the end says so");
            prop_assert!(chunk.next > since, "no progress at {}", since);
            since = chunk.next;
        }
        prop_assert_eq!(&text, &fed.committed);
        // Reading from the end gives nothing committed.
        let tail = log.read(log.end(), page);
        prop_assert_eq!(tail.next, log.end());
        prop_assert_eq!(tail.text.len(), tail.partial);
    }

    /// `slice` and `read_range` between any two offsets stay within bounds
    /// and agree with a whole read.
    #[test]
    fn output_log_ranges_agree_with_whole_reads(
        bytes in terminal_bytes(),
        capacity in prop_oneof![Just(8 * 1024 * 1024), 1usize..3000],
        a in any::<Index>(),
        b in any::<Index>(),
        max in 0usize..100,
    ) {
        let (log, fed) = feed_all(capacity, &[&bytes])?;
        let span = (log.end() + 8) as usize;
        let (x, y) = (a.index(span) as u64, b.index(span) as u64);
        let (from, to) = (x.min(y), x.max(y));
        let slice = log.slice(from, to);
        prop_assert!(slice.next <= log.end());
        let committed = &slice.text[..slice.text.len() - slice.partial];
        let offset = usize::try_from(slice.from - log.start()).unwrap();
        prop_assert!(fed.committed.is_char_boundary(offset));
        prop_assert_eq!(committed, &fed.committed[offset..offset + committed.len()]);
        let bounded = log.read_range(from, to, max);
        prop_assert!(bounded.text.len() <= max.max(4));
        prop_assert!(slice.text.starts_with(&bounded.text[..bounded.text.len() - bounded.partial]));
    }
}

proptest! {
    #![proptest_config(config())]

    /// The screen model shows the same thing whatever the chunking of the
    /// bytes it was fed (PTY reads split escapes and characters anywhere).
    #[test]
    fn screen_is_independent_of_chunking(
        bytes in terminal_bytes(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
        rows in 1u16..30,
        cols in 1u16..90,
    ) {
        let mut whole = Screen::new(rows, cols, 50);
        let replies = whole.process(&bytes);
        let mut split = Screen::new(rows, cols, 50);
        let mut split_replies = Vec::new();
        for piece in chunks(&bytes, &cuts) {
            split_replies.extend(split.process(piece));
        }
        let (a, b) = (whole.snapshot(50), split.snapshot(50));
        prop_assert_eq!(&a.lines, &b.lines);
        prop_assert_eq!(&a.scrollback, &b.scrollback);
        prop_assert_eq!(&a.cursor, &b.cursor);
        prop_assert_eq!(&a.title, &b.title);
        prop_assert_eq!(a.alt_screen, b.alt_screen);
        prop_assert_eq!(replies, split_replies);
        prop_assert_eq!(a.lines.len(), usize::from(rows));
    }
}
