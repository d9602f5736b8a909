//! Heap cost of 10 000 lines of 120-column scrollback: our plain-text
//! history versus `vt100`'s own cell scrollback. Uses a counting global
//! allocator, so it lives in its own test binary and runs as one test.
//! `cargo test --release --test memory -- --nocapture` prints the numbers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicUsize, Ordering};

use termbridge_actors::terminal::screen::Screen;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const LINES: usize = 10_000;
const ROWS: u16 = 40;
const COLS: u16 = 120;

/// 120 visible columns per line, a few colour changes.
fn line(i: usize) -> String {
    let body = format!("{i:06} \x1b[32mINFO\x1b[0m ");
    let visible = 6 + 1 + 4 + 1;
    let filler: String = (0..(usize::from(COLS) - visible))
        .map(|k| char::from(b'a' + ((i + k) % 26) as u8))
        .collect();
    format!("{body}{filler}\r\n")
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[test]
fn scrollback_memory_10k_lines_120_cols() {
    let total = LINES + usize::from(ROWS);
    let input: Vec<String> = (0..total).map(line).collect();

    let before = LIVE.load(Ordering::Relaxed);
    let rss0 = rss_kib();
    let mut screen = Screen::new(ROWS, COLS, LINES);
    for l in &input {
        let _ = screen.process(l.as_bytes());
    }
    let ours = LIVE.load(Ordering::Relaxed) - before;
    let rss_ours = rss_kib().saturating_sub(rss0);
    let snap = screen.snapshot(LINES);
    assert_eq!(snap.scrollback.len(), LINES);
    assert_eq!(snap.scrollback[0].chars().count(), usize::from(COLS));
    drop(snap);

    let before = LIVE.load(Ordering::Relaxed);
    let rss1 = rss_kib();
    let mut parser = vt100::Parser::new(
        NonZeroU16::new(ROWS).unwrap_or(NonZeroU16::MIN),
        NonZeroU16::new(COLS).unwrap_or(NonZeroU16::MIN),
        LINES,
    );
    for l in &input {
        parser.process(l.as_bytes());
    }
    let theirs = LIVE.load(Ordering::Relaxed) - before;
    let rss_theirs = rss_kib().saturating_sub(rss1);
    assert_eq!(parser.screen().scrollback_len(), LINES);

    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!(
        "10 000 lines x 120 cols ({ROWS}x{COLS} screen): Screen (text history) heap {:.2} MiB, RSS growth {:.1} MiB; \
         vt100 cell scrollback heap {:.2} MiB, RSS growth {:.1} MiB",
        mib(ours),
        rss_ours as f64 / 1024.0,
        mib(theirs),
        rss_theirs as f64 / 1024.0
    );
    // Guard: the text history must stay several times smaller.
    assert!(ours * 5 < theirs, "ours {ours} theirs {theirs}");
    assert!(ours < 4 * 1024 * 1024, "ours {ours}");
    drop(screen);
    drop(parser);
}
