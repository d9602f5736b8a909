//! `session_resize`: change a terminal's size (the program gets SIGWINCH).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::terminal::{Resize, SessionInfo};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_resize` tool.
pub struct SessionResize;

/// `session_resize` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionResizeInput {
    /// The session.
    pub session_id: String,
    /// Columns (2–1000).
    #[schemars(range(min = 2, max = 1000))]
    pub cols: u16,
    /// Rows (2–500).
    #[schemars(range(min = 2, max = 500))]
    pub rows: u16,
}

impl Tool for SessionResize {
    const NAME: &'static str = "session_resize";
    const TITLE: &'static str = "Resize a terminal";
    const DESCRIPTION: &'static str = "Sets a session's terminal size in columns and rows; the \
        program is told (SIGWINCH) and redraws. Returns the session.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/sessions/{id}/resize";
    const SCOPE: Scope = Scope::Control;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
    type Input = SessionResizeInput;
    type Output = SessionInfo;

    fn call(ctx: ToolContext, input: SessionResizeInput) -> ToolFuture<SessionInfo> {
        Box::pin(async move {
            let msg = Resize {
                session_id: input.session_id,
                cols: input.cols,
                rows: input.rows,
            };
            Ok(ctx.subsystems.terminal.ask(msg).await?)
        })
    }
}
