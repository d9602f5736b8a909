//! `session_run`: type a command, wait for it, return its exit code and output.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::terminal::{CommandResult, RunCommand};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_run` tool.
pub struct SessionRun;

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_max_output() -> usize {
    16 * 1024
}

/// `session_run` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRunInput {
    /// The session.
    pub session_id: String,
    /// The command line to type (several lines and heredocs work).
    pub command: String,
    /// How long to wait for completion (default 30000, max 600000). A command
    /// still running then is NOT killed: the answer says `running`.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Bound on the returned output (default 16384); longer output keeps its
    /// head and tail and says `output_truncated`.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
    /// Idempotency key: the same request_id within 10 minutes returns the
    /// first call's result (or current state) and never types the command twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Queue behind a command that is still running instead of failing with 409.
    #[serde(default)]
    pub queue: bool,
    /// Send Ctrl-C when timeout_ms passes and answer `timed_out`.
    #[serde(default)]
    pub interrupt_on_timeout: bool,
}

impl Tool for SessionRun {
    const NAME: &'static str = "session_run";
    const TITLE: &'static str = "Run a command in a terminal";
    const DESCRIPTION: &'static str = "Types a command into a session, waits until it finishes \
        (up to timeout_ms) and returns status, exit_code, this command's output only (bounded), \
        output_cursor, cwd and duration. status: completed; running (still going after the wait: \
        poll session_command with command_id; it is not killed); awaiting_input (the program waits \
        for terminal input; prompt_hint password/yes_no/pager/other: answer with \
        session_send_keys); timed_out (only with interrupt_on_timeout); session_exited. completion \
        says what decided the end: shell_integration (exact exit code) or quiescence. Pass \
        request_id so a retry never runs the command twice. With a progressToken, progress \
        notifications come when the command is sent and every second while it runs.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/sessions/{id}/commands";
    const SCOPE: Scope = Scope::Control;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: true,
    };
    const ACCEPTS_REQUEST_ID: bool = true;
    type Input = SessionRunInput;
    type Output = CommandResult;

    fn call(ctx: ToolContext, input: SessionRunInput) -> ToolFuture<CommandResult> {
        Box::pin(async move {
            if let Some(rid) = &input.request_id
                && (rid.is_empty() || rid.len() > 200)
            {
                return Err(crate::errors::ApiError::InvalidParams(
                    "request_id must be 1 to 200 characters".into(),
                ));
            }
            let wait = Duration::from_millis(input.timeout_ms);
            let msg = RunCommand {
                session_id: input.session_id,
                command: input.command,
                wait,
                max_output_bytes: input.max_output_bytes,
                request_id: input.request_id,
                queue: input.queue,
                interrupt_on_timeout: input.interrupt_on_timeout,
            };
            let budget = wait.min(termbridge_actors::terminal::MAX_WAIT) + Duration::from_secs(30);
            let command = msg.command.clone();
            let answer = ctx.subsystems.ask_session(msg, budget);
            if !ctx.progress.wanted() {
                return Ok(answer.await?);
            }
            // Progress: elapsed milliseconds out of the wait, once a second.
            let total = wait.as_millis() as f64;
            let started = std::time::Instant::now();
            ctx.progress
                .report(0.0, Some(total), format!("sent: {}", first_line(&command)));
            tokio::pin!(answer);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tokio::select! {
                    result = &mut answer => return Ok(result?),
                    _ = tick.tick() => {
                        let elapsed = started.elapsed();
                        ctx.progress.report(
                            elapsed.as_millis() as f64,
                            Some(total),
                            format!("running for {} s", elapsed.as_secs()),
                        );
                    }
                }
            }
        })
    }
}

/// The first line of a command, for progress messages (at most 80 characters).
fn first_line(command: &str) -> String {
    let line = command.lines().next().unwrap_or_default();
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}
