//! `session_screen`: what a person would see in the terminal right now.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::supervisor::DEFAULT_ASK_TIMEOUT;
use termbridge_actors::terminal::{Screen, ScreenSnapshot};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_screen` tool.
pub struct SessionScreen;

/// Most scrollback lines one call returns.
pub const MAX_SCROLLBACK_LINES: usize = 10_000;

/// `session_screen` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionScreenInput {
    /// The session.
    pub session_id: String,
    /// Also return up to this many lines that scrolled off the top (max 10000).
    #[serde(default)]
    pub scrollback: usize,
}

impl Tool for SessionScreen {
    const NAME: &'static str = "session_screen";
    const TITLE: &'static str = "Read a terminal's screen";
    const DESCRIPTION: &'static str = "Returns the visible screen of a session exactly as a \
        terminal of its size shows it: lines (trailing blanks trimmed), cursor row/col/visible, \
        window title, alt_screen (true while a full-screen program such as vim, less or top runs), \
        cols, rows, and a revision number that changes whenever the screen does. Pass scrollback=N \
        for the N lines above the screen. Use it for full-screen programs; use session_output for \
        long command output.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/sessions/{id}/screen";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = SessionScreenInput;
    type Output = ScreenSnapshot;

    fn call(ctx: ToolContext, input: SessionScreenInput) -> ToolFuture<ScreenSnapshot> {
        Box::pin(async move {
            if input.scrollback > MAX_SCROLLBACK_LINES {
                return Err(crate::errors::ApiError::InvalidParams(format!(
                    "scrollback must be at most {MAX_SCROLLBACK_LINES}"
                )));
            }
            let msg = Screen {
                session_id: input.session_id,
                scrollback: input.scrollback,
            };
            Ok(ctx.subsystems.ask_session(msg, DEFAULT_ASK_TIMEOUT).await?)
        })
    }
}
