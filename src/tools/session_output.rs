//! `session_output`: page through everything a session printed, as clean text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::supervisor::DEFAULT_ASK_TIMEOUT;
use termbridge_actors::terminal::{Output, OutputChunk};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_output` tool.
pub struct SessionOutput;

fn default_max_bytes() -> usize {
    16 * 1024
}

/// `session_output` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionOutputInput {
    /// The session.
    pub session_id: String,
    /// Offset to read from (0 = the oldest kept; a command's output_cursor.from;
    /// or the `next` of the previous page).
    #[serde(default)]
    pub since: u64,
    /// At most this many bytes (default 16384, max 1048576).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
}

impl Tool for SessionOutput {
    const NAME: &'static str = "session_output";
    const TITLE: &'static str = "Read a session's output";
    const DESCRIPTION: &'static str = "Returns the session's output stream as clean text (escape \
        sequences removed, carriage returns and backspaces applied) from offset `since`, at most \
        max_bytes. The answer gives `from`, `next` (pass it as `since` to read on), `truncated` \
        (more is available), `dropped` (bytes lost to the bounded log before `since`) and \
        `partial` (trailing bytes of an unfinished line, delivered again by the next read).";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/sessions/{id}/output";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = SessionOutputInput;
    type Output = OutputChunk;

    fn call(ctx: ToolContext, input: SessionOutputInput) -> ToolFuture<OutputChunk> {
        Box::pin(async move {
            let msg = Output {
                session_id: input.session_id,
                since: input.since,
                max_bytes: input.max_bytes,
            };
            Ok(ctx.subsystems.ask_session(msg, DEFAULT_ASK_TIMEOUT).await?)
        })
    }
}
