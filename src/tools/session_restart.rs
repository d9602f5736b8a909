//! `session_restart`: a fresh process from the same definition, same id.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::terminal::{Restart, SessionInfo};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_restart` tool.
pub struct SessionRestart;

/// `session_restart` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRestartInput {
    /// The session.
    pub session_id: String,
}

impl Tool for SessionRestart {
    const NAME: &'static str = "session_restart";
    const TITLE: &'static str = "Restart a terminal session";
    const DESCRIPTION: &'static str = "Ends the session's process (SIGHUP, then SIGKILL) and starts \
        a fresh one from the same definition under the same id, with a clean screen; the output \
        log goes on (offsets stay valid). Commands still running end as session_exited.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/sessions/{id}/restart";
    const SCOPE: Scope = Scope::Control;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };
    type Input = SessionRestartInput;
    type Output = SessionInfo;

    fn call(ctx: ToolContext, input: SessionRestartInput) -> ToolFuture<SessionInfo> {
        Box::pin(async move {
            let msg = Restart {
                session_id: input.session_id,
            };
            Ok(ctx.subsystems.terminal.ask(msg).await?)
        })
    }
}
