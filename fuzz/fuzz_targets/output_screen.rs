//! The output cleaner and the screen model on arbitrary PTY bytes:
//! `OutputLog::feed` (small capacity, so eviction and long-line commits
//! happen) and `Screen::process`, fed in chunks whose sizes come from the
//! input itself; then reads, snapshots and a resize.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termbridge_actors::terminal::output::OutputLog;
use termbridge_actors::terminal::screen::Screen;

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let Some((&chunk, bytes)) = rest.split_first() else {
        return;
    };
    let capacity = 1 + usize::from(shape) * 37;
    let chunk = 1 + usize::from(chunk);
    let rows = 1 + u16::from(shape % 50);
    let cols = 1 + u16::from(shape / 2);
    let mut log = OutputLog::with_capacity(capacity);
    let mut screen = Screen::new(rows, cols, usize::from(shape) * 3);
    for piece in bytes.chunks(chunk) {
        let end = log.end();
        for event in log.feed(piece) {
            assert!(event.offset >= end);
        }
        assert!(log.end() >= end && log.start() <= log.end());
        let _ = screen.process(piece);
    }
    // The clean text has no escapes or other C0 controls but \n and \t.
    let all = log.read(0, usize::MAX);
    assert!(
        all.text
            .chars()
            .all(|c| c == '\n' || c == '\t' || u32::from(c) >= 0x20)
    );
    // Paging reconstructs the committed text.
    let committed = &all.text[..all.text.len() - all.partial];
    let mut paged = String::new();
    let mut since = log.start();
    loop {
        let page = log.read(since, chunk);
        paged.push_str(&page.text[..page.text.len() - page.partial]);
        if page.next == log.end() {
            break;
        }
        assert!(page.next > since);
        since = page.next;
    }
    assert_eq!(paged, committed);
    let _ = log.slice(log.start(), log.end() + 10);
    let snapshot = screen.snapshot(usize::from(shape));
    assert_eq!(snapshot.lines.len(), usize::from(rows));
    assert!(snapshot.scrollback.len() <= usize::from(shape));
    screen.resize(cols, rows);
    let _ = screen.snapshot(1);
});
