//! The command book of one session: every `session_run` with its state,
//! the idempotency index of `request_id`s, and how a command's output is
//! cut to a bounded answer. Pure data: the session actor feeds it events.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How long a `request_id` keeps pointing at its first command.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(600);
/// Finished commands kept for `session_command` beyond the window.
const KEEP_FINISHED: usize = 64;

/// Where a command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    /// Finished; `exit_code` is set when shell integration reported it.
    Completed,
    /// Still running (or queued behind another command, or not yet typed
    /// because the session is not at a prompt yet).
    Running,
    /// The program waits for terminal input; see `prompt_hint`.
    AwaitingInput,
    /// The wait ended and the client asked to interrupt: Ctrl-C was sent.
    TimedOut,
    /// The session's process exited before the command finished.
    SessionExited,
}

impl CommandStatus {
    /// True once nothing more will happen to the command.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CommandStatus::Completed | CommandStatus::TimedOut | CommandStatus::SessionExited
        )
    }
}

/// What kind of input a waiting program seems to want.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromptHint {
    /// A password or passphrase (echo is off, or the prompt says so).
    Password,
    /// A yes/no question.
    YesNo,
    /// A pager (less, more) waiting for a key.
    Pager,
    /// Something else.
    Other,
}

/// What decided that a command finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// OSC 133 markers from the shell (exact exit code).
    ShellIntegration,
    /// Output went quiet with a prompt-looking last line (no exit code).
    Quiescence,
    /// The session's process exited.
    SessionExit,
}

/// One command's life.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    /// Opaque id, unique within the server.
    pub id: String,
    /// The client's idempotency key, if any.
    pub request_id: Option<String>,
    /// The text typed.
    pub text: String,
    /// Current state.
    pub status: CommandStatus,
    /// Set when the command was typed into the terminal.
    pub typed: bool,
    /// Exit code, when known.
    pub exit_code: Option<i32>,
    /// Clean-log offset where this command's output starts.
    pub output_start: Option<u64>,
    /// Clean-log offset where it ends (once finished).
    pub output_end: Option<u64>,
    /// Set for commands decided by quiescence: the echoed command line at
    /// the start of the output must be dropped.
    pub strip_echo: bool,
    /// What decided completion.
    pub completion: Option<Completion>,
    /// For `awaiting_input`.
    pub prompt_hint: Option<PromptHint>,
    /// Working directory after the command, when the shell reports it.
    pub cwd: Option<String>,
    /// When it was accepted.
    pub accepted_at: Instant,
    /// The same, as seconds since the Unix epoch (for people).
    pub accepted_unix: u64,
    /// When it started running (typed).
    pub started_at: Option<Instant>,
    /// When it finished.
    pub finished_at: Option<Instant>,
}

impl CommandRecord {
    /// What a list or a watcher shows of the command.
    pub fn summary(&self) -> CommandSummary {
        CommandSummary {
            id: self.id.clone(),
            command: self.text.clone(),
            status: self.status,
            exit_code: self.exit_code,
            accepted_at: super::types::rfc3339(self.accepted_unix),
            duration_ms: self.duration_ms(),
            prompt_hint: (self.status == CommandStatus::AwaitingInput)
                .then_some(self.prompt_hint)
                .flatten(),
        }
    }

    /// Milliseconds from typing to finish (or to now while running).
    pub fn duration_ms(&self) -> u64 {
        let Some(start) = self.started_at else {
            return 0;
        };
        let end = self.finished_at.unwrap_or_else(Instant::now);
        end.saturating_duration_since(start).as_millis() as u64
    }
}

/// A command in brief: how lists and the live viewer show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandSummary {
    /// Command id (`session_command` gives its output).
    pub id: String,
    /// The text typed.
    pub command: String,
    /// Where it stands.
    pub status: CommandStatus,
    /// Exit code, when known.
    pub exit_code: Option<i32>,
    /// RFC 3339 time it was accepted.
    pub accepted_at: String,
    /// Milliseconds from typing to finish (so far, while running).
    pub duration_ms: u64,
    /// What the program waits for, while `awaiting_input`.
    pub prompt_hint: Option<PromptHint>,
}

/// All commands of a session.
#[derive(Debug, Default)]
pub struct CommandBook {
    records: HashMap<String, CommandRecord>,
    order: VecDeque<String>,
    /// The commands not finished yet, oldest first: a few at most, so the
    /// questions asked on every chunk of output (`active`, `next_pending`)
    /// do not walk every command of the last ten minutes.
    unfinished: VecDeque<String>,
    by_request: HashMap<String, String>,
}

impl CommandBook {
    /// The command a `request_id` already started within the window.
    pub fn by_request(&self, request_id: &str) -> Option<&CommandRecord> {
        let id = self.by_request.get(request_id)?;
        let record = self.records.get(id)?;
        (record.accepted_at.elapsed() < IDEMPOTENCY_WINDOW).then_some(record)
    }

    /// Accepts a new command (not yet typed); returns its id.
    pub fn accept(&mut self, text: String, request_id: Option<String>) -> String {
        let id = format!("cmd_{}", hex_id());
        if let Some(rid) = &request_id {
            self.by_request.insert(rid.clone(), id.clone());
        }
        self.records.insert(
            id.clone(),
            CommandRecord {
                id: id.clone(),
                request_id,
                text,
                status: CommandStatus::Running,
                typed: false,
                exit_code: None,
                output_start: None,
                output_end: None,
                strip_echo: false,
                completion: None,
                prompt_hint: None,
                cwd: None,
                accepted_at: Instant::now(),
                accepted_unix: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                started_at: None,
                finished_at: None,
            },
        );
        self.order.push_back(id.clone());
        self.unfinished.push_back(id.clone());
        self.prune();
        id
    }

    /// A command by id.
    pub fn get(&self, id: &str) -> Option<&CommandRecord> {
        self.records.get(id)
    }

    /// The newest `n` commands, oldest first.
    pub fn recent(&self, n: usize) -> impl Iterator<Item = &CommandRecord> {
        let skip = self.order.len().saturating_sub(n);
        self.order
            .iter()
            .skip(skip)
            .filter_map(|id| self.records.get(id))
    }

    /// The newest command.
    pub fn last(&self) -> Option<&CommandRecord> {
        self.order.back().and_then(|id| self.records.get(id))
    }

    /// A command by id, to change it.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut CommandRecord> {
        self.records.get_mut(id)
    }

    /// The command typed and not finished, if any.
    pub fn active(&self) -> Option<&CommandRecord> {
        self.unfinished_records().find(|r| r.typed)
    }

    /// Id of the active command.
    pub fn active_id(&self) -> Option<String> {
        self.active().map(|r| r.id.clone())
    }

    /// The oldest accepted command not yet typed.
    pub fn next_pending(&self) -> Option<&CommandRecord> {
        self.unfinished_records().find(|r| !r.typed)
    }

    /// Commands not final (typed or waiting to be typed).
    pub fn unfinished_ids(&self) -> Vec<String> {
        self.unfinished_records().map(|r| r.id.clone()).collect()
    }

    /// Whether any command is not final.
    pub fn has_unfinished(&self) -> bool {
        self.unfinished_records().next().is_some()
    }

    fn unfinished_records(&self) -> impl Iterator<Item = &CommandRecord> {
        self.unfinished
            .iter()
            .filter_map(|id| self.records.get(id))
            .filter(|r| !r.status.is_final())
    }

    /// Finishes a command.
    pub fn finish(
        &mut self,
        id: &str,
        status: CommandStatus,
        exit_code: Option<i32>,
        end: u64,
        completion: Option<Completion>,
    ) {
        if status.is_final() {
            self.unfinished.retain(|x| x != id);
        }
        if let Some(r) = self.records.get_mut(id) {
            r.status = status;
            r.exit_code = exit_code;
            r.output_end = Some(end);
            r.completion = completion;
            r.prompt_hint = None;
            r.finished_at = Some(Instant::now());
            if r.started_at.is_none() {
                r.started_at = r.finished_at;
            }
        }
    }

    /// Forgets finished commands beyond the window, keeping the newest few.
    fn prune(&mut self) {
        // Commands are in acceptance order, so only a prefix is older than
        // the window; a finished one there goes once at least
        // `KEEP_FINISHED` finished commands are newer than it.
        let mut newer_finished = self.records.len() - self.unfinished_records().count();
        let mut forget = Vec::new();
        for id in &self.order {
            let Some(r) = self.records.get(id) else {
                continue;
            };
            if r.accepted_at.elapsed() < IDEMPOTENCY_WINDOW {
                break;
            }
            if r.status.is_final() {
                newer_finished -= 1;
                if newer_finished >= KEEP_FINISHED {
                    forget.push(id.clone());
                }
            }
        }
        if forget.is_empty() {
            return;
        }
        for id in &forget {
            if let Some(r) = self.records.remove(id)
                && let Some(rid) = r.request_id
                && self.by_request.get(&rid) == Some(id)
            {
                self.by_request.remove(&rid);
            }
        }
        let forgotten: std::collections::HashSet<&String> = forget.iter().collect();
        self.order.retain(|x| !forgotten.contains(x));
    }
}

/// A random 96-bit hex id.
pub fn hex_id() -> String {
    let bytes: [u8; 12] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A command's output cut to at most `max_bytes`: when longer, the head and
/// the tail are kept with a marker between them saying what was left out.
/// Returns the text and whether it was cut. Never splits a UTF-8 character.
pub fn bound_output(text: &str, max_bytes: usize, from: u64) -> (String, bool) {
    if text.len() <= max_bytes {
        return (text.to_string(), false);
    }
    let mut head_len = floor_char_boundary(text, max_bytes / 2);
    // Cut at line ends when a line end is near, so no line is half shown.
    if let Some(nl) = text[..head_len].rfind('\n')
        && nl + 1 >= head_len / 2
    {
        head_len = nl + 1;
    }
    let mut tail_start = ceil_char_boundary(text, text.len() - (max_bytes - head_len));
    if let Some(nl) = text[tail_start..].find('\n')
        && tail_start + nl + 1 < text.len()
        && nl < (text.len() - tail_start) / 2
    {
        tail_start += nl + 1;
    }
    let omitted_from = from + head_len as u64;
    let marker = format!(
        "\n[… {} bytes omitted: read them with session_output since={} …]\n",
        tail_start - head_len,
        omitted_from
    );
    (
        format!("{}{}{}", &text[..head_len], marker, &text[tail_start..]),
        true,
    )
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Removes the echoed command line(s) at the start of quiescence-decided
/// output and the prompt line at its end.
pub fn strip_echo_and_prompt(output: &str, command: &str) -> String {
    let mut rest = output;
    for line in command.lines() {
        match rest.split_once('\n') {
            Some((first, after)) if first.trim_end().ends_with(line.trim_end()) => rest = after,
            _ => break,
        }
    }
    rest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_point_at_the_first_command() {
        let mut book = CommandBook::default();
        let id = book.accept("echo hi".into(), Some("r1".into()));
        assert_eq!(book.by_request("r1").unwrap().id, id);
        assert!(book.by_request("r2").is_none());
        assert_eq!(book.next_pending().unwrap().id, id);
        assert!(book.active().is_none());
        book.get_mut(&id).unwrap().typed = true;
        assert_eq!(book.active_id(), Some(id.clone()));
        book.finish(
            &id,
            CommandStatus::Completed,
            Some(0),
            10,
            Some(Completion::ShellIntegration),
        );
        assert!(book.active().is_none());
        assert_eq!(book.get(&id).unwrap().exit_code, Some(0));
    }

    #[test]
    fn commands_are_typed_and_finished_in_order() {
        let mut book = CommandBook::default();
        let ids: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|c| book.accept(c.to_string(), None))
            .collect();
        assert_eq!(book.unfinished_ids(), ids);
        assert_eq!(book.next_pending().unwrap().id, ids[0]);
        assert!(book.active().is_none());
        book.get_mut(&ids[0]).unwrap().typed = true;
        assert_eq!(book.active_id(), Some(ids[0].clone()));
        assert_eq!(book.next_pending().unwrap().id, ids[1]);
        book.finish(&ids[0], CommandStatus::Completed, Some(0), 5, None);
        assert!(book.active().is_none());
        assert_eq!(book.next_pending().unwrap().id, ids[1]);
        assert_eq!(book.unfinished_ids(), ids[1..].to_vec());
        for id in &ids[1..] {
            book.finish(id, CommandStatus::SessionExited, None, 9, None);
        }
        assert!(!book.has_unfinished());
        assert!(book.next_pending().is_none());
    }

    #[test]
    fn old_finished_commands_are_forgotten_beyond_the_newest_64() {
        let Some(long_ago) =
            Instant::now().checked_sub(IDEMPOTENCY_WINDOW + Duration::from_secs(1))
        else {
            return; // the clock started less than ten minutes ago
        };
        let mut book = CommandBook::default();
        let ids: Vec<String> = (0..70)
            .map(|n| book.accept(format!("echo {n}"), Some(format!("r{n}"))))
            .collect();
        for (n, id) in ids.iter().enumerate() {
            book.finish(id, CommandStatus::Completed, Some(0), n as u64, None);
            if n < 10 {
                book.get_mut(id).unwrap().accepted_at = long_ago;
            }
        }
        let pending = book.accept("echo new".into(), None);
        // Old and with at least 64 finished commands newer: the first six.
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(book.get(id).is_none(), n < 6, "command {n}");
            assert_eq!(book.by_request(&format!("r{n}")).is_none(), n < 10, "r{n}");
        }
        assert_eq!(book.unfinished_ids(), vec![pending]);
    }

    #[test]
    fn long_output_keeps_head_and_tail() {
        let text: String = (0..1000).map(|n| format!("{n}\n")).collect();
        let (cut, truncated) = bound_output(&text, 100, 500);
        assert!(truncated);
        assert!(cut.starts_with("0\n1\n2\n"));
        assert!(cut.ends_with("998\n999\n"));
        assert!(cut.contains("bytes omitted: read them with session_output since="));
        assert!(cut.len() <= 100 + 80, "{}", cut.len());
        // Whole lines only on both sides of the marker.
        let (head, rest) = cut.split_once("\n[…").unwrap();
        assert!(head.ends_with('\n') || head.ends_with(|c: char| c.is_ascii_digit()));
        assert!(
            rest.split_once("…]\n")
                .unwrap()
                .1
                .starts_with(|c: char| c.is_ascii_digit())
        );
        let (same, truncated) = bound_output("short", 100, 0);
        assert_eq!((same.as_str(), truncated), ("short", false));
    }

    #[test]
    fn cutting_never_splits_characters() {
        let text = "é".repeat(100);
        let (cut, truncated) = bound_output(&text, 51, 0);
        assert!(truncated);
        assert!(cut.starts_with(&"é".repeat(12)));
    }

    #[test]
    fn echo_is_stripped() {
        assert_eq!(strip_echo_and_prompt("$ echo hi\nhi\n", "echo hi"), "hi\n");
        assert_eq!(strip_echo_and_prompt("hi\n", "true"), "hi\n");
    }
}
