//! Is the program in a terminal waiting for the user? Reads the kernel's view
//! of the PTY's foreground process group (Linux `/proc`) and guesses the kind
//! of input from the termios flags and the prompt text.

use std::os::fd::BorrowedFd;
use std::path::Path;

use super::commands::PromptHint;

/// What the foreground of a terminal is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Foreground {
    /// The terminal's foreground process group.
    pub pgrp: i32,
    /// A process of that group is blocked reading the terminal.
    pub reading: bool,
    /// A process of that group waits in poll/select with the terminal as
    /// its input (full-screen programs, pagers).
    pub polling: bool,
    /// Echo is off.
    pub echo_off: bool,
    /// A pager (less, more…) is in the foreground group.
    pub pager: bool,
    /// Canonical (line) mode is on: `read`, password prompts; line editors
    /// (readline, zle) turn it off while they edit.
    pub canonical: bool,
}

/// Looks at the foreground process group of the terminal whose master is
/// `master` and whose slave device is `pts` (e.g. `/dev/pts/3`).
pub fn foreground(master: BorrowedFd<'_>, pts: &Path) -> Option<Foreground> {
    let pgrp = nix::unistd::tcgetpgrp(master).ok()?.as_raw();
    let (echo_off, canonical) = nix::sys::termios::tcgetattr(master)
        .map(|t| {
            use nix::sys::termios::LocalFlags;
            (
                !t.local_flags.contains(LocalFlags::ECHO),
                t.local_flags.contains(LocalFlags::ICANON),
            )
        })
        .unwrap_or((false, true));
    let mut fg = Foreground {
        pgrp,
        reading: false,
        polling: false,
        pager: false,
        echo_off,
        canonical,
    };
    for pid in processes_in_group(pgrp) {
        if std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| PAGERS.contains(&c.trim_end()))
        {
            fg.pager = true;
        }
        match blocked_on(pid, pts) {
            Some(Blocked::Read) => fg.reading = true,
            Some(Blocked::Poll) => fg.polling = true,
            None => {}
        }
    }
    Some(fg)
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const READ_SYSCALLS: &[u64] = &[0, 17, 19]; // read, pread64, readv
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const POLL_SYSCALLS: &[u64] = &[7, 23, 270, 271, 232, 281]; // poll, select, pselect6, ppoll, epoll_wait, epoll_pwait
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
const READ_SYSCALLS: &[u64] = &[63, 67, 65]; // read, pread64, readv
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
const POLL_SYSCALLS: &[u64] = &[72, 73, 22]; // pselect6, ppoll, epoll_pwait
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
const READ_SYSCALLS: &[u64] = &[];
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
const POLL_SYSCALLS: &[u64] = &[];

/// Programs that are pagers, by process name.
const PAGERS: &[&str] = &["less", "more", "most", "pg"];

enum Blocked {
    Read,
    Poll,
}

/// Pids whose process group is `pgrp` (from `/proc/*/stat`).
fn processes_in_group(pgrp: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat_fields(*pid).is_some_and(|f| f.pgrp == pgrp))
        .collect()
}

/// The fields of `/proc/PID/stat` we need.
pub struct StatFields {
    /// One-letter state (`R`, `S`, `D`, `Z`…).
    pub state: char,
    /// Process group.
    pub pgrp: i32,
    /// Session id.
    pub session: i32,
}

/// Reads `/proc/PID/stat` (the command name may hold spaces and parens, so
/// fields are counted from the last `)`).
pub fn stat_fields(pid: i32) -> Option<StatFields> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<StatFields> {
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(StatFields {
        state,
        pgrp,
        session,
    })
}

/// Whether `pid` sleeps in a read of the terminal or a poll.
fn blocked_on(pid: i32, pts: &Path) -> Option<Blocked> {
    let stat = stat_fields(pid)?;
    if stat.state != 'S' {
        return None;
    }
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let mut parts = syscall.split_whitespace();
    let nr: u64 = parts.next()?.parse().ok()?;
    if READ_SYSCALLS.contains(&nr) {
        let fd = u64::from_str_radix(parts.next()?.trim_start_matches("0x"), 16).ok()?;
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
        // `/dev/tty` is the controlling terminal: ours, for a process in
        // our foreground group (ssh and sudo ask their questions there).
        return (target == pts || target == Path::new("/dev/tty")).then_some(Blocked::Read);
    }
    if POLL_SYSCALLS.contains(&nr) {
        let stdin = std::fs::read_link(format!("/proc/{pid}/fd/0")).ok();
        let tty = std::fs::read_link(format!("/proc/{pid}/fd/3")).ok();
        if stdin.as_deref() == Some(pts) || tty.as_deref() == Some(pts) {
            return Some(Blocked::Poll);
        }
    }
    None
}

/// Every live process in session `sid` (the session leader and all it
/// started on that terminal; zombies excluded).
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat_fields(*pid).is_some_and(|f| f.session == sid && f.state != 'Z'))
        .collect()
}

/// Guesses what input a prompt asks for from the last non-blank lines of
/// the screen.
pub fn hint_from_text(last_lines: &[String], echo_off: bool) -> PromptHint {
    let text = last_lines
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.to_lowercase())
        .unwrap_or_default();
    let yes_no = [
        "(yes/no",
        "[y/n]",
        "(y/n)",
        "[yes/no]",
        "yes/no/[fingerprint]",
    ];
    if yes_no.iter().any(|p| text.contains(p)) {
        return PromptHint::YesNo;
    }
    let secret = ["password", "passphrase", "passcode", "pin:", "token:"];
    if echo_off || secret.iter().any(|p| text.contains(p)) {
        return PromptHint::Password;
    }
    let trimmed = text.trim();
    if trimmed == ":"
        || trimmed.ends_with("(end)")
        || trimmed.starts_with("--more--")
        || trimmed.contains("(press return)")
        || (trimmed.starts_with("lines ") && trimmed.contains('-'))
    {
        return PromptHint::Pager;
    }
    PromptHint::Other
}

/// Whether a screen line looks like a shell or REPL prompt waiting for a
/// command (used when there is no shell integration).
pub fn looks_like_prompt(line: &str) -> bool {
    let line = line.trim_end();
    ["$", "#", "%", ">", "❯", "➜"]
        .iter()
        .any(|p| line.ends_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_odd_names() {
        let f = parse_stat("42 (a (b) c) S 1 40 41 34816 40 4194560 0 0").unwrap();
        assert_eq!((f.state, f.pgrp, f.session), ('S', 40, 41));
    }

    #[test]
    fn hints_from_prompt_text() {
        let l = |s: &str| vec![s.to_string(), String::new()];
        assert_eq!(
            hint_from_text(&l("[sudo] password for root: "), false),
            PromptHint::Password
        );
        assert_eq!(
            hint_from_text(&l("Enter passphrase for key '/x':"), false),
            PromptHint::Password
        );
        assert_eq!(hint_from_text(&l("Secret: "), true), PromptHint::Password);
        assert_eq!(
            hint_from_text(
                &l("Are you sure you want to continue connecting (yes/no/[fingerprint])? "),
                false
            ),
            PromptHint::YesNo
        );
        assert_eq!(
            hint_from_text(&l("Proceed? [Y/n] "), false),
            PromptHint::YesNo
        );
        assert_eq!(hint_from_text(&l(":"), false), PromptHint::Pager);
        assert_eq!(hint_from_text(&l("(END)"), false), PromptHint::Pager);
        assert_eq!(
            hint_from_text(&l("--More--(42%)"), false),
            PromptHint::Pager
        );
        assert_eq!(hint_from_text(&l("Name: "), false), PromptHint::Other);
    }

    #[test]
    fn prompt_shapes() {
        assert!(looks_like_prompt("user@host:~$ "));
        assert!(looks_like_prompt("# "));
        assert!(looks_like_prompt(">>> "));
        assert!(!looks_like_prompt("compiling foo"));
    }
}
