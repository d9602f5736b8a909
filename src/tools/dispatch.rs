//! The one way a tool is called, from REST and MCP alike: the token's scope
//! and session limits are checked, the tool runs, secrets are redacted from
//! its answer, state-changing calls are written to the audit log, and the
//! answer is serialized once: REST sends that text as its body, MCP embeds
//! it as `structuredContent` and as the text content.
//!
//! An answer nothing needs to look into goes from the tool's output type
//! straight to redacted JSON text ([`super::canonical`]); audited calls and
//! the session list of a limited token go through a `Value` first. Both
//! give the same bytes.

use serde_json::Value;
use termbridge_actors::terminal::DescribeSession;

use super::{Progress, Scope, ToolDef};
use crate::AppState;
use crate::access::Principal;
use crate::audit;
use crate::errors::ApiError;

/// Runs `def` with canonical `args` for `principal`; `cancel` fires when
/// the caller gives up (the tool sees it as `ToolContext::cancel`). The
/// answer is the redacted output as JSON text, compact, its object keys in
/// sorted order (as `serde_json` writes a `Value`).
pub async fn call(
    state: &AppState,
    def: &'static ToolDef,
    args: Value,
    principal: Principal,
    progress: Progress,
    cancel: tokio_util::sync::CancellationToken,
) -> Result<String, ApiError> {
    let checked = check(state, def, &args, &principal).await;
    // State-changing calls are audited with their arguments.
    let audit = state.audit.as_ref().filter(|_| def.scope == Scope::Control);
    let audited_args = audit.map(|_| args.clone());
    let outcome = match checked {
        Ok(()) => {
            let mut ctx = state.tool_context(progress, principal.clone());
            ctx.cancel = cancel;
            (def.invoke)(ctx, args).await
        }
        Err(e) => Err(e),
    };
    let redactor = &state.config.access.redactor;
    let filtered = def.name == "session_list" && principal.sessions.is_some();
    let outcome = match outcome {
        Ok(answer) if audit.is_none() && !filtered => match answer.to_redacted_json(redactor) {
            Ok(json) => return Ok(json),
            // What the direct writer does not handle, the `Value` path does
            // (or fails with the error it always gave).
            Err(_) => Ok(answer),
        },
        other => other,
    };
    let outcome = outcome
        .and_then(|answer| {
            answer
                .to_value()
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .map(|mut output| {
            if filtered {
                keep_allowed_sessions(&mut output, &principal);
            }
            redactor.redact_json(&mut output);
            output
        });
    if let (Some(log), Some(args)) = (audit, &audited_args) {
        let summary = outcome
            .as_ref()
            .map(Clone::clone)
            .map_err(|e| e.code().to_string());
        log.record(audit::entry(&principal.name, def.name, args, &summary));
    }
    outcome.map(|output| output.to_string())
}

/// Whether `principal` may call `def` with `args`.
async fn check(
    state: &AppState,
    def: &ToolDef,
    args: &Value,
    principal: &Principal,
) -> Result<(), ApiError> {
    if !principal.allows(def.scope) {
        return Err(ApiError::Forbidden(format!(
            "token {:?} has read scope; {} needs a control token",
            principal.name, def.name
        )));
    }
    if principal.sessions.is_none() {
        return Ok(());
    }
    if def.name == "session_open" {
        if args.get("kind").and_then(Value::as_str) == Some("ssh") && args.get("ssh").is_some() {
            return Err(ApiError::Forbidden(format!(
                "token {:?} may open ssh sessions only through a configured profile",
                principal.name
            )));
        }
        let name = args
            .get("name")
            .or_else(|| args.get("profile"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !principal.allows_session(name) {
            return Err(ApiError::Forbidden(format!(
                "token {:?} may only open sessions (or profiles) named {}; give a matching name",
                principal.name,
                principal.sessions.as_deref().unwrap_or_default().join(", ")
            )));
        }
        return Ok(());
    }
    if let Some(id) = args.get("session_id").and_then(Value::as_str) {
        may_use_session(state, principal, id).await?;
    }
    Ok(())
}

/// Whether `principal` may use session `id` (it exists and its name is
/// one the token is limited to, if it is limited).
pub async fn may_use_session(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(), ApiError> {
    if principal.sessions.is_none() {
        return Ok(());
    }
    let info = state
        .subsystems
        .ask_session(
            DescribeSession {
                session_id: id.to_string(),
            },
            termbridge_actors::supervisor::DEFAULT_ASK_TIMEOUT,
        )
        .await?;
    if !principal.allows_session(&info.name) {
        return Err(ApiError::Forbidden(format!(
            "token {:?} may not use session {:?}",
            principal.name, info.name
        )));
    }
    Ok(())
}

fn keep_allowed_sessions(output: &mut Value, principal: &Principal) {
    if let Some(list) = output.get_mut("sessions").and_then(Value::as_array_mut) {
        list.retain(|s| {
            s.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| principal.allows_session(n))
        });
    }
}
