//! Key names for `session_send_keys`, turned into the bytes a terminal
//! (xterm, `TERM=xterm-256color`) sends for them.
//!
//! Names are case-insensitive: `Enter` (`Return`), `Tab`, `Esc`/`Escape`,
//! `Backspace`, `Space`, `Delete`, `Insert`, `Up`/`Down`/`Left`/`Right`,
//! `Home`/`End`, `PageUp`/`PageDown`, `F1`…`F12`, or a single character.
//! Modifier prefixes, combinable: `Ctrl-`/`Ctrl+`/`C-`/`Control-`/`^`,
//! `Alt-`/`Alt+`/`M-`/`Meta-` (sends an ESC prefix), `Shift-`/`Shift+`.
//!
//! Cursor keys use the SS3 forms (`ESC O A`) when the program turned on
//! application cursor mode (DECCKM, see `Screen::application_cursor`) and the
//! CSI forms (`ESC [ A`) otherwise; `Home`/`End` follow the same rule. With
//! modifiers, cursor and function keys use xterm's `CSI 1 ; m X` / `CSI n ; m ~`
//! encodings (m = 1 + Shift 1 + Alt 2 + Ctrl 4). `Backspace` sends DEL
//! (0x7f), as xterm and most terminals do by default; `Ctrl-Backspace` sends
//! BS (0x08).

use std::fmt;

/// Human-readable list of the accepted forms, used in errors.
pub const ACCEPTED_KEYS: &str = "Enter (Return), Tab, Esc/Escape, Backspace, Space, Delete, Insert, \
Up, Down, Left, Right, Home, End, PageUp, PageDown, F1-F12, or a single character; \
with modifiers Ctrl-<letter> (also C-x, Ctrl+x, ^X), Ctrl-[ Ctrl-\\ Ctrl-] Ctrl-^ Ctrl-_ \
Ctrl-@/Ctrl-Space, Alt-<key> (also M-x, Meta-x; sends ESC first), Shift-Tab, Shift-<letter>, \
and Ctrl/Alt/Shift with cursor, Home/End, PageUp/PageDown, Insert/Delete and F-keys \
(e.g. Ctrl-Left, Shift-F5, Ctrl-Alt-Delete); names are case-insensitive";

/// A key name that could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The name as given.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid key {:?}: {}. Accepted: {}",
            self.key, self.reason, ACCEPTED_KEYS
        )
    }
}

impl std::error::Error for KeyError {}

#[derive(Debug, Default, Clone, Copy)]
struct Mods {
    ctrl: bool,
    alt: bool,
    shift: bool,
}

impl Mods {
    /// xterm's modifier parameter.
    fn param(self) -> u8 {
        1 + u8::from(self.shift) + 2 * u8::from(self.alt) + 4 * u8::from(self.ctrl)
    }
}

const MODIFIER_PREFIXES: &[(&str, u8)] = &[
    ("control-", 0),
    ("control+", 0),
    ("ctrl-", 0),
    ("ctrl+", 0),
    ("c-", 0),
    ("alt-", 1),
    ("alt+", 1),
    ("meta-", 1),
    ("meta+", 1),
    ("m-", 1),
    ("shift-", 2),
    ("shift+", 2),
];

/// Turns a key name into the bytes to write to the PTY. `app_cursor` is the
/// program's application-cursor mode (DECCKM).
pub fn parse_key(name: &str, app_cursor: bool) -> Result<Vec<u8>, KeyError> {
    let err = |reason: String| KeyError {
        key: name.to_string(),
        reason,
    };
    let mut rest = name.trim();
    let mut mods = Mods::default();
    loop {
        // `^X` caret notation, only as the last modifier of a one-char key.
        if let Some(after) = rest.strip_prefix('^')
            && after.chars().count() == 1
        {
            mods.ctrl = true;
            rest = after;
            break;
        }
        let lower_head: String = rest
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let Some((prefix, which)) = MODIFIER_PREFIXES
            .iter()
            .find(|(p, _)| lower_head.starts_with(p) && rest.len() > p.len())
        else {
            break;
        };
        match which {
            0 => mods.ctrl = true,
            1 => mods.alt = true,
            _ => mods.shift = true,
        }
        rest = &rest[prefix.len()..];
    }
    if rest.is_empty() {
        return Err(err("empty key name".into()));
    }

    let mut chars = rest.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return single_char(c, mods).map_err(err);
    }

    let normalized: String = rest
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    let m = mods.param();
    let alt_prefix = |bytes: &[u8]| -> Vec<u8> {
        let mut v = Vec::with_capacity(bytes.len() + 1);
        if mods.alt {
            v.push(0x1b);
        }
        v.extend_from_slice(bytes);
        v
    };
    let no_ctrl_shift = |what: &str| -> Result<(), String> {
        if mods.ctrl || mods.shift {
            Err(format!(
                "{what} has no distinct Ctrl/Shift encoding in a terminal"
            ))
        } else {
            Ok(())
        }
    };
    let cursor = |letter: u8| -> Vec<u8> {
        if m > 1 {
            format!("\x1b[1;{m}{}", char::from(letter)).into_bytes()
        } else if app_cursor {
            vec![0x1b, b'O', letter]
        } else {
            vec![0x1b, b'[', letter]
        }
    };
    let tilde = |n: u8| -> Vec<u8> {
        if m > 1 {
            format!("\x1b[{n};{m}~").into_bytes()
        } else {
            format!("\x1b[{n}~").into_bytes()
        }
    };

    let bytes = match normalized.as_str() {
        "enter" | "return" | "cr" => {
            no_ctrl_shift("Enter").map_err(err)?;
            alt_prefix(b"\r")
        }
        "tab" => {
            if mods.ctrl {
                return Err(err("Tab has no distinct Ctrl encoding in a terminal".into()));
            }
            if mods.shift {
                alt_prefix(b"\x1b[Z")
            } else {
                alt_prefix(b"\t")
            }
        }
        "esc" | "escape" => {
            no_ctrl_shift("Esc").map_err(err)?;
            alt_prefix(b"\x1b")
        }
        "backspace" | "bs" => {
            if mods.ctrl {
                alt_prefix(b"\x08")
            } else {
                alt_prefix(b"\x7f")
            }
        }
        "space" | "spc" => {
            if mods.ctrl {
                alt_prefix(b"\x00")
            } else {
                alt_prefix(b" ")
            }
        }
        "up" | "arrowup" => cursor(b'A'),
        "down" | "arrowdown" => cursor(b'B'),
        "right" | "arrowright" => cursor(b'C'),
        "left" | "arrowleft" => cursor(b'D'),
        "home" => cursor(b'H'),
        "end" => cursor(b'F'),
        "insert" | "ins" => tilde(2),
        "delete" | "del" => tilde(3),
        "pageup" | "pgup" | "prior" => tilde(5),
        "pagedown" | "pgdn" | "pgdown" | "next" => tilde(6),
        f if f.starts_with('f') && f.len() > 1 && f[1..].bytes().all(|b| b.is_ascii_digit()) => {
            let n: u8 = f[1..]
                .parse()
                .map_err(|_| err("function keys are F1 to F12".into()))?;
            match n {
                1..=4 => {
                    let letter = b'P' + (n - 1);
                    if m > 1 {
                        format!("\x1b[1;{m}{}", char::from(letter)).into_bytes()
                    } else {
                        vec![0x1b, b'O', letter]
                    }
                }
                5 => tilde(15),
                6 => tilde(17),
                7 => tilde(18),
                8 => tilde(19),
                9 => tilde(20),
                10 => tilde(21),
                11 => tilde(23),
                12 => tilde(24),
                _ => return Err(err("function keys are F1 to F12".into())),
            }
        }
        _ => return Err(err(format!("unknown key name {rest:?}"))),
    };
    Ok(bytes)
}

fn single_char(c: char, mods: Mods) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(5);
    if mods.alt {
        out.push(0x1b);
    }
    if mods.ctrl {
        let code = match c {
            'a'..='z' | 'A'..='Z' => (c.to_ascii_uppercase() as u8) & 0x1f,
            '@' | ' ' | '2' => 0x00,
            '[' => 0x1b,
            '\\' => 0x1c,
            ']' => 0x1d,
            '^' => 0x1e,
            '_' => 0x1f,
            '?' => 0x7f,
            _ => {
                return Err(format!(
                    "Ctrl-{c} has no control code (use a letter or one of @ [ \\ ] ^ _ ? Space)"
                ));
            }
        };
        out.push(code);
        return Ok(out);
    }
    let c = if mods.shift {
        if c.is_ascii_alphabetic() {
            c.to_ascii_uppercase()
        } else {
            return Err(format!(
                "Shift-{c}: send the shifted character itself (Shift applies to letters, Tab, and cursor/function keys)"
            ));
        }
    } else {
        c
    };
    let mut tmp = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    Ok(out)
}

/// Wraps `text` in bracketed-paste markers (`ESC [200~` … `ESC [201~`), for
/// programs that enabled bracketed paste (`Screen::bracketed_paste`). Any
/// paste markers inside `text` are removed first, so pasted text cannot end
/// the paste early and have the rest typed as keystrokes.
pub fn bracketed_paste(text: &str) -> Vec<u8> {
    let mut body = text.to_string();
    while body.contains("\x1b[200~") || body.contains("\x1b[201~") {
        body = body.replace("\x1b[200~", "").replace("\x1b[201~", "");
    }
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(b"\x1b[200~");
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(b"\x1b[201~");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str) -> Vec<u8> {
        match parse_key(name, false) {
            Ok(b) => b,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    fn ka(name: &str) -> Vec<u8> {
        match parse_key(name, true) {
            Ok(b) => b,
            Err(e) => panic!("{name}: {e}"),
        }
    }

    #[test]
    fn basic_named_keys() {
        assert_eq!(k("Enter"), b"\r");
        assert_eq!(k("return"), b"\r");
        assert_eq!(k("Tab"), b"\t");
        assert_eq!(k("Esc"), b"\x1b");
        assert_eq!(k("ESCAPE"), b"\x1b");
        assert_eq!(k("Backspace"), b"\x7f");
        assert_eq!(k("Space"), b" ");
        assert_eq!(k("Delete"), b"\x1b[3~");
        assert_eq!(k("Insert"), b"\x1b[2~");
        assert_eq!(k("PageUp"), b"\x1b[5~");
        assert_eq!(k("page_down"), b"\x1b[6~");
        assert_eq!(k("PgDn"), b"\x1b[6~");
        assert_eq!(k("  enter  "), b"\r");
    }

    #[test]
    fn cursor_keys_follow_application_mode() {
        for (name, letter) in [
            ("Up", b'A'),
            ("Down", b'B'),
            ("Right", b'C'),
            ("Left", b'D'),
        ] {
            assert_eq!(k(name), vec![0x1b, b'[', letter]);
            assert_eq!(ka(name), vec![0x1b, b'O', letter]);
        }
        assert_eq!(k("Home"), b"\x1b[H");
        assert_eq!(k("End"), b"\x1b[F");
        assert_eq!(ka("Home"), b"\x1bOH");
        assert_eq!(ka("End"), b"\x1bOF");
        // Modified cursor keys use the CSI 1;m form in both modes.
        assert_eq!(k("Ctrl-Left"), b"\x1b[1;5D");
        assert_eq!(ka("Ctrl-Left"), b"\x1b[1;5D");
        assert_eq!(k("Shift-Up"), b"\x1b[1;2A");
        assert_eq!(k("Alt-Right"), b"\x1b[1;3C");
        assert_eq!(k("Ctrl-Shift-End"), b"\x1b[1;6F");
    }

    #[test]
    fn function_keys() {
        let expect: [&[u8]; 12] = [
            b"\x1bOP",
            b"\x1bOQ",
            b"\x1bOR",
            b"\x1bOS",
            b"\x1b[15~",
            b"\x1b[17~",
            b"\x1b[18~",
            b"\x1b[19~",
            b"\x1b[20~",
            b"\x1b[21~",
            b"\x1b[23~",
            b"\x1b[24~",
        ];
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(k(&format!("F{}", i + 1)), *e);
            assert_eq!(k(&format!("f{}", i + 1)), *e);
        }
        assert_eq!(k("Shift-F1"), b"\x1b[1;2P");
        assert_eq!(k("Ctrl-F5"), b"\x1b[15;5~");
        assert_eq!(k("Ctrl-Alt-Delete"), b"\x1b[3;7~");
        assert!(parse_key("F13", false).is_err());
        assert!(parse_key("F0", false).is_err());
        assert!(parse_key("F999", false).is_err());
    }

    #[test]
    fn ctrl_letters_all_spellings() {
        for name in [
            "Ctrl-C",
            "ctrl-c",
            "CTRL-C",
            "C-c",
            "c-C",
            "Ctrl+C",
            "ctrl+c",
            "Control-c",
            "^C",
            "^c",
        ] {
            assert_eq!(k(name), b"\x03", "{name}");
        }
        assert_eq!(k("Ctrl-a"), b"\x01");
        assert_eq!(k("Ctrl-z"), b"\x1a");
        assert_eq!(k("Ctrl-D"), b"\x04");
        assert_eq!(k("Ctrl-["), b"\x1b");
        assert_eq!(k("Ctrl-\\"), b"\x1c");
        assert_eq!(k("Ctrl-]"), b"\x1d");
        assert_eq!(k("Ctrl-^"), b"\x1e");
        assert_eq!(k("Ctrl-_"), b"\x1f");
        assert_eq!(k("Ctrl-@"), b"\x00");
        assert_eq!(k("Ctrl-Space"), b"\x00");
        assert_eq!(k("Ctrl-Backspace"), b"\x08");
    }

    #[test]
    fn alt_prefixes_escape() {
        assert_eq!(k("Alt-x"), b"\x1bx");
        assert_eq!(k("Alt-X"), b"\x1bX");
        assert_eq!(k("M-x"), b"\x1bx");
        assert_eq!(k("meta+b"), b"\x1bb");
        assert_eq!(k("Alt-."), b"\x1b.");
        assert_eq!(k("Alt--"), b"\x1b-");
        assert_eq!(k("Alt-Enter"), b"\x1b\r");
        assert_eq!(k("Alt-Backspace"), b"\x1b\x7f");
        assert_eq!(k("Ctrl-Alt-x"), b"\x1b\x18");
        assert_eq!(k("C-M-x"), b"\x1b\x18");
    }

    #[test]
    fn shift_and_single_chars() {
        assert_eq!(k("Shift-Tab"), b"\x1b[Z");
        assert_eq!(k("Shift-a"), b"A");
        assert_eq!(k("a"), b"a");
        assert_eq!(k("é"), "é".as_bytes());
        // A lone "c" or "m" is the character, not a modifier.
        assert_eq!(k("c"), b"c");
        assert_eq!(k("-"), b"-");
        assert_eq!(k("^"), b"^");
    }

    #[test]
    fn errors_are_precise() {
        let e = parse_key("Hyper-x", false).err();
        let e = match e {
            Some(e) => e,
            None => panic!("expected an error"),
        };
        assert_eq!(e.key, "Hyper-x");
        let msg = e.to_string();
        assert!(msg.contains("unknown key name \"Hyper-x\""), "{msg}");
        assert!(msg.contains("Ctrl-<letter>") && msg.contains("PageUp") && msg.contains("F1-F12"));
        for bad in [
            "",
            "Ctrl-",
            "Ctrl-1",
            "Shift-1",
            "Ctrl-Enter",
            "Ctrl-Tab",
            "Shift-Esc",
            "Upp",
            "Ctrl-é",
        ] {
            assert!(parse_key(bad, false).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn bracketed_paste_wraps_and_sanitizes() {
        assert_eq!(bracketed_paste("echo hi\n"), b"\x1b[200~echo hi\n\x1b[201~");
        assert_eq!(bracketed_paste(""), b"\x1b[200~\x1b[201~");
        assert_eq!(
            bracketed_paste("a\x1b[201~rm -rf /\n"),
            b"\x1b[200~arm -rf /\n\x1b[201~"
        );
        // Nested attempt that reassembles after one removal.
        assert_eq!(
            bracketed_paste("x\x1b[20\x1b[201~1~y"),
            b"\x1b[200~xy\x1b[201~"
        );
    }
}
