//! `session_command`: the state or result of a command, optionally waiting.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::terminal::{CommandResult, GetCommand};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_command` tool.
pub struct SessionCommand;

fn default_max_output() -> usize {
    16 * 1024
}

/// `session_command` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCommandInput {
    /// The session.
    pub session_id: String,
    /// The command_id from session_run.
    pub command_id: String,
    /// Wait up to this long for the command to finish or ask for input
    /// (default 0: answer at once; max 600000).
    #[serde(default)]
    pub wait_ms: u64,
    /// Bound on the returned output (default 16384).
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
}

impl Tool for SessionCommand {
    const NAME: &'static str = "session_command";
    const TITLE: &'static str = "Check on a command";
    const DESCRIPTION: &'static str = "Returns the status and result of a command started by \
        session_run (same fields), waiting up to wait_ms for it to finish or to ask for input. \
        Use it to follow a command that answered `running`.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/sessions/{id}/commands/{command_id}";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = SessionCommandInput;
    type Output = CommandResult;

    fn call(ctx: ToolContext, input: SessionCommandInput) -> ToolFuture<CommandResult> {
        Box::pin(async move {
            let wait = Duration::from_millis(input.wait_ms);
            let msg = GetCommand {
                session_id: input.session_id,
                command_id: input.command_id,
                wait,
                max_output_bytes: input.max_output_bytes,
            };
            let budget = wait.min(termbridge_actors::terminal::MAX_WAIT) + Duration::from_secs(30);
            Ok(ctx.subsystems.ask_session(msg, budget).await?)
        })
    }
}
