//! `ActorError`: the one error type every subsystem answers with.
//!
//! It says what went wrong in terms of the domain (bad input, unknown thing,
//! conflict, timeout…), never in terms of a transport; `src/errors.rs` maps
//! each kind to an HTTP status and an MCP tool error.

use thiserror::Error;

/// What a subsystem can answer instead of a result.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ActorError {
    /// The caller's input is invalid; the message says which field and why.
    #[error("{0}")]
    InvalidInput(String),
    /// The named thing (session, command, document…) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (session exited, busy…).
    #[error("{0}")]
    Conflict(String),
    /// A configured limit was reached (max sessions, concurrency…).
    #[error("{0}")]
    LimitReached(String),
    /// The operation did not finish within its deadline.
    #[error("{0}")]
    Timeout(String),
    /// The subsystem is restarting or not running; the caller may retry.
    #[error("{0}")]
    Unavailable(String),
    /// The operation is not allowed by policy (deny-list, read-only session…).
    #[error("{0}")]
    Forbidden(String),
    /// An upstream service (DNS, whois server…) failed in a way worth reporting.
    #[error("{0}")]
    Upstream(String),
    /// A fault inside termbridge; the message is safe to show to clients.
    #[error("{0}")]
    Internal(String),
}

impl ActorError {
    /// A stable, machine-readable name for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            ActorError::InvalidInput(_) => "invalid_input",
            ActorError::NotFound(_) => "not_found",
            ActorError::Conflict(_) => "conflict",
            ActorError::LimitReached(_) => "limit_reached",
            ActorError::Timeout(_) => "timeout",
            ActorError::Unavailable(_) => "unavailable",
            ActorError::Forbidden(_) => "forbidden",
            ActorError::Upstream(_) => "upstream_error",
            ActorError::Internal(_) => "internal",
        }
    }
}

/// The reply type of every subsystem message.
pub type ActorResult<T> = Result<T, ActorError>;
