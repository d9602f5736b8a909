//! The door: every request passes here first. Checks the `Host` header (DNS
//! rebinding), the `Origin` header (browser pages), the bearer token
//! (constant time) and the declared body size, and decides which paths are
//! public.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};
use subtle::ConstantTimeEq;

use crate::access::{Principal, RateLimiter};
use crate::config::Config;
use crate::errors::ApiError;

/// Paths anyone may read without a token.
const PUBLIC_PATHS: &[&str] = &["/health", "/openapi.json"];

/// The rules the door applies, fixed at start.
#[derive(Debug)]
pub struct Door {
    grants: Vec<Principal>,
    rate_limit_per_second: u32,
    limiter: RateLimiter,
    check_host: bool,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    max_body_bytes: usize,
}

/// What the door decided about a request.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Let it through, with the token's grant (none on public paths).
    Pass(Option<Principal>),
    /// Answer with this error.
    Refuse(Refusal),
}

/// Door refusals, kept small and comparable for tests.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// Bad `Host`.
    Host(String),
    /// Bad `Origin`.
    Origin(String),
    /// No or wrong token.
    Unauthorized {
        /// A token was sent.
        token_sent: bool,
    },
    /// Declared body too large.
    TooLarge,
    /// The token made too many requests; retry after this many seconds.
    RateLimited {
        /// Seconds.
        retry_after: u64,
    },
    /// `/.well-known/…`: no OAuth here.
    WellKnown,
}

impl Door {
    /// The door for a server with `config` listening on `local`.
    pub fn new(config: &Config, local: SocketAddr) -> Door {
        let port = local.port();
        let mut allowed_origins: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|h| format!("http://{h}:{port}"))
            .collect();
        allowed_origins.extend(config.allowed_origins.iter().cloned());
        // host.docker.internal is how a container (WebSSH's Docker-based
        // Claude Desktop extension) reaches the host; a web page cannot make
        // a browser send it, so DNS-rebinding protection stays intact.
        let mut allowed_hosts: Vec<String> =
            ["localhost", "127.0.0.1", "[::1]", "host.docker.internal"]
                .iter()
                .map(|h| h.to_string())
                .collect();
        allowed_hosts.extend(config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Door {
            grants: config.access.grants.clone(),
            rate_limit_per_second: config.access.rate_limit_per_second,
            limiter: RateLimiter::default(),
            check_host: local.ip().is_loopback(),
            allowed_hosts,
            allowed_origins,
            max_body_bytes: config.max_body_bytes,
        }
    }

    /// Decides on a request from its path and headers.
    pub fn judge(
        &self,
        path: &str,
        host: Option<&str>,
        origin: Option<&str>,
        authorization: Option<&str>,
        content_length: Option<u64>,
    ) -> Verdict {
        if self.check_host
            && let Some(host) = host
        {
            let name = host_name(host).to_ascii_lowercase();
            if !self.allowed_hosts.contains(&name) {
                return Verdict::Refuse(Refusal::Host(host.to_string()));
            }
        }
        if let Some(origin) = origin
            && !self.allowed_origins.iter().any(|o| o == origin)
        {
            return Verdict::Refuse(Refusal::Origin(origin.to_string()));
        }
        if path.starts_with("/.well-known/") {
            return Verdict::Refuse(Refusal::WellKnown);
        }
        if PUBLIC_PATHS.contains(&path) || is_viewer_page(path) {
            return Verdict::Pass(None);
        }
        // Browsers cannot put headers on a WebSocket upgrade: the stream
        // handler takes the token from the first message instead.
        if authorization.is_none() && is_session_stream(path) {
            return Verdict::Pass(None);
        }
        let Some(sent) = authorization.and_then(bearer_token) else {
            return Verdict::Refuse(Refusal::Unauthorized {
                token_sent: authorization.is_some(),
            });
        };
        let principal = match self.authenticate(sent) {
            Ok(principal) => principal,
            Err(refusal) => return Verdict::Refuse(refusal),
        };
        if content_length.is_some_and(|n| n > self.max_body_bytes as u64) {
            return Verdict::Refuse(Refusal::TooLarge);
        }
        Verdict::Pass(Some(principal))
    }

    /// The grant of bearer token `sent`, counted against its rate limit.
    pub fn authenticate(&self, sent: &str) -> Result<Principal, Refusal> {
        // Compare against every token in constant time, without stopping at
        // the first match, so timing says nothing about which one matched.
        let mut matched = None;
        for grant in &self.grants {
            if bool::from(sent.as_bytes().ct_eq(grant.token.as_bytes())) {
                matched = Some(grant.clone());
            }
        }
        let Some(principal) = matched else {
            return Err(Refusal::Unauthorized { token_sent: true });
        };
        if let Err(retry_after) = self
            .limiter
            .take(&principal.name, self.rate_limit_per_second)
        {
            return Err(Refusal::RateLimited { retry_after });
        }
        Ok(principal)
    }

    /// The error to answer for a refusal.
    pub fn error_for(&self, kind: Refusal) -> ApiError {
        match kind {
            Refusal::Host(host) => ApiError::Forbidden(format!(
                "Host header {host:?} is not allowed (DNS rebinding protection); use localhost or 127.0.0.1, or add it to allowed_hosts"
            )),
            Refusal::Origin(origin) => ApiError::Forbidden(format!(
                "Origin {origin:?} is not allowed; add it to allowed_origins to let that page call termbridge"
            )),
            Refusal::Unauthorized { token_sent } => ApiError::Unauthorized { token_sent },
            Refusal::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            Refusal::TooLarge => ApiError::PayloadTooLarge {
                limit: self.max_body_bytes,
            },
            Refusal::WellKnown => ApiError::NotFound(
                "termbridge uses a static bearer token; there is no OAuth metadata".to_string(),
            ),
        }
    }
}

/// The web viewer's static files (`/ui`, `/ui/…`): public, the page asks
/// for the token itself.
fn is_viewer_page(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

/// `/api/v1/sessions/{id}/stream`, the viewer's WebSocket.
pub fn is_session_stream(path: &str) -> bool {
    path.strip_prefix("/api/v1/sessions/")
        .and_then(|rest| rest.strip_suffix("/stream"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The name part of a `Host` header (`[::1]:1985` -> `[::1]`, `a:80` -> `a`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = token.trim();
        (!token.is_empty()).then_some(token)
    } else {
        None
    }
}

/// actix-web middleware applying `door` to every request.
pub async fn guard(
    door: Arc<Door>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let text = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let verdict = door.judge(
        req.path(),
        text(header::HOST),
        text(header::ORIGIN),
        text(header::AUTHORIZATION),
        text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
    );
    match verdict {
        Verdict::Pass(principal) => {
            if let Some(principal) = principal {
                req.extensions_mut().insert(principal);
            }
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Verdict::Refuse(kind) => {
            let response: HttpResponse =
                actix_web::ResponseError::error_response(&door.error_for(kind));
            Ok(req.into_response(response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn door() -> Door {
        let mut config = Config::with_token("secret-token-0123456789");
        config.allowed_hosts = vec!["Termbridge.Test".into()];
        Door::new(&config, "127.0.0.1:1985".parse().unwrap())
    }

    const GOOD: Option<&str> = Some("Bearer secret-token-0123456789");

    #[test]
    fn host_names_are_parsed() {
        assert_eq!(host_name("localhost:1985"), "localhost");
        assert_eq!(host_name("[::1]:1985"), "[::1]");
        assert_eq!(host_name("[::1]"), "[::1]");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn token_checks() {
        let d = door();
        let path = "/api/v1/info";
        let Verdict::Pass(Some(p)) = d.judge(path, None, None, GOOD, None) else {
            panic!("the main token passes")
        };
        assert_eq!(p.name, "default");
        assert!(matches!(
            d.judge(
                path,
                None,
                None,
                Some("bearer secret-token-0123456789"),
                None
            ),
            Verdict::Pass(_)
        ));
        assert_eq!(
            d.judge(path, None, None, None, None),
            Verdict::Refuse(Refusal::Unauthorized { token_sent: false })
        );
        for wrong in [
            "Bearer nope",
            "Basic abc",
            "Bearer ",
            "secret-token-0123456789",
        ] {
            assert_eq!(
                d.judge(path, None, None, Some(wrong), None),
                Verdict::Refuse(Refusal::Unauthorized { token_sent: true }),
                "{wrong}"
            );
        }
        assert_eq!(
            d.judge("/health", None, None, None, None),
            Verdict::Pass(None)
        );
    }

    #[test]
    fn host_and_origin_checks() {
        let d = door();
        let p = "/health";
        assert!(matches!(
            d.judge(p, Some("localhost:1985"), None, None, None),
            Verdict::Pass(_)
        ));
        assert!(matches!(
            d.judge(p, Some("termbridge.test"), None, None, None),
            Verdict::Pass(_)
        ));
        assert!(matches!(
            d.judge(p, Some("evil.example:1985"), None, None, None),
            Verdict::Refuse(Refusal::Host(_))
        ));
        assert!(matches!(
            d.judge(p, None, Some("http://127.0.0.1:1985"), None, None),
            Verdict::Pass(_)
        ));
        assert!(matches!(
            d.judge(p, None, Some("http://127.0.0.1:9999"), None, None),
            Verdict::Refuse(Refusal::Origin(_))
        ));
        assert!(matches!(
            d.judge(p, None, Some("null"), None, None),
            Verdict::Refuse(Refusal::Origin(_))
        ));
    }

    #[test]
    fn size_and_well_known() {
        let d = door();
        assert_eq!(
            d.judge("/mcp", None, None, GOOD, Some(2 * 1024 * 1024)),
            Verdict::Refuse(Refusal::TooLarge)
        );
        assert_eq!(
            d.judge(
                "/.well-known/oauth-protected-resource",
                None,
                None,
                None,
                None
            ),
            Verdict::Refuse(Refusal::WellKnown)
        );
    }

    #[test]
    fn viewer_page_and_stream_paths() {
        let d = door();
        for public in ["/ui", "/ui/", "/ui/app.js", "/ui/vendor/xterm/xterm.js"] {
            assert_eq!(d.judge(public, None, None, None, None), Verdict::Pass(None));
        }
        assert!(matches!(
            d.judge("/uix", None, None, None, None),
            Verdict::Refuse(Refusal::Unauthorized { .. })
        ));
        // The stream authenticates in its handler when no header is sent…
        assert_eq!(
            d.judge("/api/v1/sessions/abc/stream", None, None, None, None),
            Verdict::Pass(None)
        );
        // …but a header sent is checked here, and other paths need one.
        assert!(matches!(
            d.judge(
                "/api/v1/sessions/abc/stream",
                None,
                None,
                Some("Bearer nope"),
                None
            ),
            Verdict::Refuse(Refusal::Unauthorized { token_sent: true })
        ));
        for not_stream in [
            "/api/v1/sessions/a/b/stream",
            "/api/v1/sessions//stream",
            "/api/v1/sessions/abc/streams",
        ] {
            assert!(matches!(
                d.judge(not_stream, None, None, None, None),
                Verdict::Refuse(Refusal::Unauthorized { .. })
            ));
        }
        // Origin is checked before any of it.
        assert!(matches!(
            d.judge("/ui/", None, Some("http://evil.example"), None, None),
            Verdict::Refuse(Refusal::Origin(_))
        ));
    }
}
