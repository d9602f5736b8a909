//! `session_send_keys`: type raw text and named keys into a session.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::supervisor::DEFAULT_ASK_TIMEOUT;
use termbridge_actors::terminal::SendKeys;

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `session_send_keys` tool.
pub struct SessionSendKeys;

/// `session_send_keys` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionSendKeysInput {
    /// The session.
    pub session_id: String,
    /// Literal text to type first (no Enter is added; multi-line text is
    /// sent as a bracketed paste when the program asked for that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Named keys typed after the text: Enter, Tab, Esc, Backspace, Space,
    /// Delete, Up, Down, Left, Right, Home, End, PageUp, PageDown, F1–F12,
    /// Ctrl-<letter> (Ctrl-C interrupts), Alt-<letter>.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Type the secret of this name (from the server's `[secrets]` config
    /// or its `TERMBRIDGE_SECRET_<NAME>` environment) before the keys: a
    /// password reaches the prompt without passing through the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// What `session_send_keys` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionSendKeysOutput {
    /// The session.
    pub session_id: String,
    /// Bytes written to the terminal.
    pub bytes_sent: usize,
}

impl Tool for SessionSendKeys {
    const NAME: &'static str = "session_send_keys";
    const TITLE: &'static str = "Type keys into a terminal";
    const DESCRIPTION: &'static str = "Types text and/or named keys into a session, e.g. \
        {\"text\": \"yes\", \"keys\": [\"Enter\"]} to answer a prompt, {\"keys\": [\"Ctrl-C\"]} \
        to interrupt, {\"text\": \":q\", \"keys\": [\"Enter\"]} to leave vim. Arrow keys follow the \
        program's cursor mode. Answers how many bytes were sent; read the effect with \
        session_screen or session_command.";
    const METHOD: HttpMethod = HttpMethod::Post;
    const PATH: &'static str = "/api/v1/sessions/{id}/input";
    const SCOPE: Scope = Scope::Control;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: true,
    };
    type Input = SessionSendKeysInput;
    type Output = SessionSendKeysOutput;

    fn call(ctx: ToolContext, input: SessionSendKeysInput) -> ToolFuture<SessionSendKeysOutput> {
        Box::pin(async move {
            if input.text.as_deref().is_none_or(str::is_empty)
                && input.keys.is_empty()
                && input.secret.is_none()
            {
                return Err(crate::errors::ApiError::InvalidParams(
                    "give text, secret, keys or a combination".into(),
                ));
            }
            let mut text = input.text;
            if let Some(name) = &input.secret {
                let value = ctx.config.access.secret(name).ok_or_else(|| {
                    crate::errors::ApiError::InvalidParams(format!(
                        "no secret named {name:?} (configure it under [secrets] or as TERMBRIDGE_SECRET_{})",
                        name.to_ascii_uppercase()
                    ))
                })?;
                text = Some(text.unwrap_or_default() + &value);
            }
            let session_id = input.session_id.clone();
            let msg = SendKeys {
                session_id: input.session_id,
                text,
                keys: input.keys,
            };
            let bytes_sent = ctx.subsystems.ask_session(msg, DEFAULT_ASK_TIMEOUT).await?;
            Ok(SessionSendKeysOutput {
                session_id,
                bytes_sent,
            })
        })
    }
}
