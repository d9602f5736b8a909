//! `session_open`: start a local shell, a program (argv) or an ssh session.

use termbridge_actors::terminal::{Open, OpenSpec, SessionInfo};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_open` tool.
pub struct SessionOpen;

impl Tool for SessionOpen {
    const NAME: &'static str = "session_open";
    const TITLE: &'static str = "Open a terminal session";
    const DESCRIPTION: &'static str = "Opens a terminal session and returns it (keep its id). \
        kind \"shell\" (default) starts the user's shell with shell integration, so session_run \
        reports exact exit codes; kind \"command\" runs an argv array with no shell parsing \
        (e.g. [\"python3\", \"-q\"]); kind \"ssh\" logs in with the system ssh client (ssh: host, \
        user, port, identity_file, options; or a configured profile). Optional: name, cwd, env, \
        cols/rows (default 120x40), scrollback, shell_integration (auto|off), wait_ready_ms. It \
        answers once the shell shows its first prompt (ready: true) or asks a question first \
        (ready: false with prompt_hint, e.g. yes_no for an ssh host key). Pagers are disabled \
        (PAGER=cat) so commands do not stop in less.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/sessions";
    const SCOPE: Scope = Scope::Control;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    };
    type Input = OpenSpec;
    type Output = SessionInfo;

    fn call(ctx: ToolContext, input: OpenSpec) -> ToolFuture<SessionInfo> {
        Box::pin(async move { Ok(ctx.subsystems.terminal.ask(Open { spec: input }).await?) })
    }
}
