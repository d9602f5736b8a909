//! The key-name parser of `session_send_keys` (`Ctrl-C`, `Alt-Left`, `F5`…)
//! and the bracketed-paste wrapper, on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termbridge_actors::terminal::keys::{bracketed_paste, parse_key};

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    for app_cursor in [false, true] {
        if let Ok(bytes) = parse_key(name, app_cursor) {
            assert!(!bytes.is_empty(), "{name:?} accepted without bytes");
        }
    }
    // Pasted text can never end the paste early.
    let pasted = bracketed_paste(name);
    let body = &pasted[6..pasted.len() - 6];
    assert!(!body.windows(6).any(|w| w == b"\x1b[201~"));
});
