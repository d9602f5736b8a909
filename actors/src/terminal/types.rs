//! The terminal subsystem's public data: what a session is, how to open one,
//! and the answers of its messages. Field names are public API.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::commands::{CommandStatus, Completion, PromptHint};

/// What runs in a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// The user's shell (`$SHELL`, default bash), interactive, with shell
    /// integration for bash and zsh.
    #[default]
    Shell,
    /// A program given as an argv array (no shell parsing).
    Command,
    /// The system `ssh` client logging in to a host.
    Ssh,
}

/// A session's life state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// The process runs.
    Running,
    /// The process ended; screen and output stay readable until closed.
    Exited,
    /// The process is being replaced (session_restart).
    Restarting,
}

/// Whether termbridge injects its shell hooks (exact exit codes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationMode {
    /// Into bash and zsh (local, and remote over ssh when the host has bash).
    #[default]
    Auto,
    /// Never; completion is decided by quiescence and prompt shape.
    Off,
}

/// An ssh destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SshTarget {
    /// Host name or IP address.
    pub host: String,
    /// Remote user (default: ssh's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Port (default 22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Private key file on the server's machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
    /// Extra `-o` options as `Key=Value` (e.g. `StrictHostKeyChecking=accept-new`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// `session_open`: what to start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSpec {
    /// `shell` (default), `command` or `ssh`.
    #[serde(default)]
    pub kind: SessionKind,
    /// For `command`: the program and its arguments, e.g. `["python3", "-q"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// For `ssh`: where to log in (or use `profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshTarget>,
    /// For `ssh`: a host profile named in the server's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A name for people (default: derived from the kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Working directory (default: the server's home directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Width in columns, 2–1000 (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 1000))]
    pub cols: Option<u16>,
    /// Height in rows, 2–500 (default 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 500))]
    pub rows: Option<u16>,
    /// Lines of scrollback kept for session_screen (default 10 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrollback: Option<usize>,
    /// `auto` (default) or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell_integration: Option<IntegrationMode>,
    /// Refuse input (session_run, session_send_keys) for every token: the
    /// session can only be watched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Wait up to this long for the first prompt (or a question such as an
    /// ssh host-key prompt) before answering (default 10000, max 60000;
    /// 0 answers at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ready_ms: Option<u64>,
    /// Record the session as an asciinema v2 `.cast` file in the server's
    /// data directory (default: the `[terminal] record` setting, off).
    /// Download it at `GET /api/v1/sessions/{id}/recording`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<bool>,
}

/// A terminal session as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionInfo {
    /// Opaque, unguessable id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// `shell`, `command` or `ssh`.
    pub kind: SessionKind,
    /// `running`, `exited` or `restarting`.
    pub status: SessionStatus,
    /// Exit code once exited (128+N when killed by signal N).
    pub exit_code: Option<i32>,
    /// Width.
    pub cols: u16,
    /// Height.
    pub rows: u16,
    /// Window title set by the program.
    pub title: String,
    /// Working directory reported by the shell (OSC 7), if any.
    pub cwd: Option<String>,
    /// RFC 3339 time the session was opened.
    pub created_at: String,
    /// True once the session's process or actor was restarted.
    pub restarted: bool,
    /// The program started (argv).
    pub command: Vec<String>,
    /// Process id of the session's program while it runs.
    pub pid: Option<u32>,
    /// True when shell integration markers were seen (exact exit codes).
    pub shell_integration: bool,
    /// The command now running (or queued), if any.
    pub running_command: Option<String>,
    /// Input is refused: the session can only be watched.
    pub read_only: bool,
    /// At a prompt or running a command: not still starting up or stuck
    /// at a question.
    pub ready: bool,
    /// Set while the program waits for input before reaching a prompt
    /// (ssh host-key question, password): `password`, `yes_no`, `pager`, `other`.
    pub prompt_hint: Option<PromptHint>,
    /// The newest command given to the session (`session_run`), if any.
    pub last_command: Option<super::commands::CommandSummary>,
    /// The session's recording (asciinema v2), when it is recorded.
    pub recording: Option<super::recording::RecordingInfo>,
}

/// Which part of the output a command produced, for paging with
/// session_output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutputRange {
    /// Offset of the command's first output byte.
    pub from: u64,
    /// Offset just past its last byte (while running: the current end).
    pub to: u64,
}

/// The state or result of one command (`session_run`, `session_command`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandResult {
    /// Id to poll with session_command.
    pub command_id: String,
    /// The command text.
    pub command: String,
    /// `completed`, `running`, `awaiting_input`, `timed_out` or `session_exited`.
    pub status: CommandStatus,
    /// Exit code: exact with shell integration; the session's exit code for
    /// `session_exited`; null when unknown.
    pub exit_code: Option<i32>,
    /// This command's output only (clean text, bounded; see output_truncated).
    pub output: String,
    /// True when the middle of the output was left out to respect
    /// max_output_bytes; page through output_cursor with session_output.
    pub output_truncated: bool,
    /// Bytes of this command's output already evicted from the session's
    /// bounded output log (its start is lost; `output` begins later).
    pub output_dropped: u64,
    /// Where this command's output lies in the session's output stream.
    pub output_cursor: Option<OutputRange>,
    /// For awaiting_input: `password`, `yes_no`, `pager` or `other`.
    pub prompt_hint: Option<PromptHint>,
    /// The last lines of the screen when input is awaited (the prompt).
    pub prompt_text: Option<String>,
    /// What decided completion: `shell_integration`, `quiescence` or `session_exit`.
    pub completion: Option<Completion>,
    /// Working directory after the command (shell integration), if known.
    pub cwd: Option<String>,
    /// Time from typing the command to its end (or to now).
    pub duration_ms: u64,
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_600_000), "2026-11-25T09:46:40Z");
    }
}
