//! `session_list`: every terminal session with its status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::terminal::{List, SessionInfo};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_list` tool.
pub struct SessionList;

/// `session_list` takes no arguments.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionListInput {}

/// What `session_list` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionListOutput {
    /// Every open session, oldest first (exited ones stay until closed).
    pub sessions: Vec<SessionInfo>,
}

impl Tool for SessionList {
    const NAME: &'static str = "session_list";
    const TITLE: &'static str = "List terminal sessions";
    const DESCRIPTION: &'static str = "Lists every terminal session: id, name, kind (shell, command, \
        ssh), status (running, exited, restarting), exit code, size, title, working directory, the \
        command now running. Exited sessions stay listed, readable, until session_close.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/sessions";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = SessionListInput;
    type Output = SessionListOutput;

    fn call(ctx: ToolContext, _input: SessionListInput) -> ToolFuture<SessionListOutput> {
        Box::pin(async move {
            let sessions = ctx.subsystems.terminal.ask(List).await?;
            Ok(SessionListOutput { sessions })
        })
    }
}
