//! `session_close`: end a session and forget it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::terminal::{Close, SessionInfo};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_close` tool.
pub struct SessionClose;

/// `session_close` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCloseInput {
    /// The session.
    pub session_id: String,
}

impl Tool for SessionClose {
    const NAME: &'static str = "session_close";
    const TITLE: &'static str = "Close a terminal session";
    const DESCRIPTION: &'static str = "Ends a session: SIGHUP to its processes, SIGKILL after a \
        grace period, then forgets it. Returns the session as it ended, with its exit code.";
    const METHOD: HttpMethod = HttpMethod::Delete;
    const PATH: &'static str = "/api/v1/sessions/{id}";
    const SCOPE: Scope = Scope::Control;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };
    type Input = SessionCloseInput;
    type Output = SessionInfo;

    fn call(ctx: ToolContext, input: SessionCloseInput) -> ToolFuture<SessionInfo> {
        Box::pin(async move {
            let msg = Close {
                session_id: input.session_id,
                grace: None,
            };
            Ok(ctx.subsystems.terminal.ask(msg).await?)
        })
    }
}
