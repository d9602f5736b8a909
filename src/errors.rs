//! The one place that maps errors to HTTP answers and MCP tool results.
//!
//! `ApiError` is the transport layer's error: either a subsystem's
//! `ActorError` or a fault found at the door (bad arguments, auth, size).
//! REST answers `{"error":{"code","message"}}` with the status below; MCP
//! answers a tool result with `isError: true` carrying the same code and text.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Value, json};
use termbridge_actors::ActorError;
use thiserror::Error;

/// An error as the transports see it.
#[derive(Debug, Error)]
pub enum ApiError {
    /// A subsystem's answer.
    #[error(transparent)]
    Actor(#[from] ActorError),
    /// Arguments that do not fit the tool's input type.
    #[error("{0}")]
    InvalidParams(String),
    /// No token, or a wrong one.
    #[error("{}", if *.token_sent { "the bearer token is not valid" } else { "a bearer token is required (Authorization: Bearer <token>)" })]
    Unauthorized {
        /// True when a token was sent but did not match.
        token_sent: bool,
    },
    /// Refused at the door (Origin, Host, scope).
    #[error("{0}")]
    Forbidden(String),
    /// No such route or thing.
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request body is larger than allowed.
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Too many requests from one token.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a retry is welcome.
        retry_after: u64,
    },
    /// A fault inside termbridge.
    #[error("{0}")]
    Internal(String),
}

/// The REST error body.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`invalid_input`, `not_found`, `unauthorized`…).
    pub code: String,
    /// What went wrong, for people and agents.
    pub message: String,
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Actor(e) => match e {
                ActorError::InvalidInput(_) => StatusCode::BAD_REQUEST,
                ActorError::NotFound(_) => StatusCode::NOT_FOUND,
                ActorError::Conflict(_) => StatusCode::CONFLICT,
                ActorError::LimitReached(_) => StatusCode::TOO_MANY_REQUESTS,
                ActorError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                ActorError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                ActorError::Forbidden(_) => StatusCode::FORBIDDEN,
                ActorError::Upstream(_) => StatusCode::BAD_GATEWAY,
                ActorError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::InvalidParams(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Actor(e) => e.code(),
            ApiError::InvalidParams(_) => "invalid_input",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The message clients get: the error's text, cut to
    /// [`MAX_MESSAGE_BYTES`] (a message may quote the offending input, and
    /// a 1 MiB input must not come back as a 1 MiB error).
    pub fn message(&self) -> String {
        cap_message(self.to_string())
    }

    /// The REST body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.message(),
            },
        }
    }

    /// The MCP `tools/call` result for this error: readable text plus the
    /// same code, with `isError: true` (never a JSON-RPC error).
    pub fn to_tool_result(&self) -> Value {
        json!({
            "content": [{"type": "text", "text": format!("{} ({}): {}", self.code(), self.status().as_u16(), self.message())}],
            "isError": true,
        })
    }
}

/// Longest error message sent to a client.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// `message` cut to [`MAX_MESSAGE_BYTES`] at a character boundary, saying
/// how much was left out.
fn cap_message(mut message: String) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let total = message.len();
    let mut cut = MAX_MESSAGE_BYTES - 40;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    message.truncate(cut);
    message.push_str(&format!("… ({} more bytes)", total - cut));
    message
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if let ApiError::Unauthorized { token_sent } = self {
            let challenge = if *token_sent {
                r#"Bearer realm="termbridge", error="invalid_token""#
            } else {
                r#"Bearer realm="termbridge""#
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let ApiError::RateLimited { retry_after } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let short = ApiError::InvalidParams("name is empty".into());
        assert_eq!(short.message(), "name is empty");
        let huge =
            ApiError::InvalidParams(format!("ssh.host {:?} is not valid", "é".repeat(500_000)));
        let message = huge.message();
        assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
        assert!(message.starts_with("ssh.host \"éé"));
        assert!(message.ends_with(" more bytes)"), "{message}");
        assert_eq!(huge.body().error.message, message);
        let text = huge.to_tool_result()["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.len() <= MAX_MESSAGE_BYTES + 32);
    }

    #[test]
    fn actor_errors_map_to_documented_statuses() {
        let cases = [
            (ActorError::InvalidInput("x".into()), 400),
            (ActorError::NotFound("x".into()), 404),
            (ActorError::Conflict("x".into()), 409),
            (ActorError::LimitReached("x".into()), 429),
            (ActorError::Unavailable("x".into()), 503),
            (ActorError::Timeout("x".into()), 504),
        ];
        for (err, status) in cases {
            assert_eq!(ApiError::from(err).status().as_u16(), status);
        }
    }

    #[test]
    fn tool_result_carries_code_and_message() {
        let result = ApiError::from(ActorError::NotFound("no session abc".into())).to_tool_result();
        assert_eq!(result["isError"], true);
        assert_eq!(
            result["content"][0]["text"],
            "not_found (404): no session abc"
        );
    }
}
