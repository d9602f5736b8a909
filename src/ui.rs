//! The live web viewer's static files: the page at `/ui/` (ui/index.html,
//! app.js, app.css) and the vendored xterm.js it loads (ui/vendor/, see its
//! README), embedded in the binary so it serves without network or files
//! on disk.
//!
//! The files are public (the door lets `/ui` and `/ui/…` through without a
//! token): the page asks for the token and keeps it in the browser's
//! sessionStorage; everything it shows comes from the API and the session
//! stream WebSocket, which need the token. Every answer carries a strict
//! Content-Security-Policy (scripts, styles and connections only from this
//! server; xterm.js 5 styles its DOM renderer with constructed stylesheets,
//! which `style-src 'self'` allows), `nosniff`, no referrer and no framing.
//! See docs/viewer.md.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};

/// The Content-Security-Policy of every viewer answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Every file of the viewer: path under `/ui/` -> (content type, bytes).
/// `""` is the page itself.
pub const FILES: &[(&str, (&str, &[u8]))] = &[
    ("", (HTML, include_bytes!("../ui/index.html"))),
    ("index.html", (HTML, include_bytes!("../ui/index.html"))),
    ("app.js", (JS, include_bytes!("../ui/app.js"))),
    ("app.css", (CSS, include_bytes!("../ui/app.css"))),
    (
        "vendor/xterm/xterm.js",
        (JS, include_bytes!("../ui/vendor/xterm/xterm.js")),
    ),
    (
        "vendor/xterm/xterm.css",
        (CSS, include_bytes!("../ui/vendor/xterm/xterm.css")),
    ),
    (
        "vendor/xterm/LICENSE",
        (TEXT, include_bytes!("../ui/vendor/xterm/LICENSE")),
    ),
    (
        "vendor/addon-fit/addon-fit.js",
        (JS, include_bytes!("../ui/vendor/addon-fit/addon-fit.js")),
    ),
    (
        "vendor/addon-fit/LICENSE",
        (TEXT, include_bytes!("../ui/vendor/addon-fit/LICENSE")),
    ),
];

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Registers `/ui` (a redirect to `/ui/`) and `/ui/{file}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ui")
            .route(web::get().to(redirect))
            .route(web::head().to(redirect))
            .default_service(web::to(crate::rest::method_not_allowed)),
    );
    cfg.service(
        web::resource("/ui/{file:.*}")
            .route(web::get().to(file))
            .route(web::head().to(file))
            .default_service(web::to(crate::rest::method_not_allowed)),
    );
}

/// The headers every viewer answer carries.
fn secured(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // The files change with the binary; ask the browser to check.
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    builder
}

async fn redirect() -> HttpResponse {
    // Relative, so it works behind whatever host name the browser used; the
    // fragment (`#token=…`) of the original link is kept by the browser.
    secured(HttpResponse::MovedPermanently())
        .insert_header((header::LOCATION, "/ui/"))
        .finish()
}

async fn file(req: HttpRequest) -> HttpResponse {
    let path = req.match_info().get("file").unwrap_or("");
    match lookup(path) {
        Some((content_type, bytes)) => secured(HttpResponse::Ok())
            .content_type(content_type)
            .body(bytes),
        None => {
            let mut response = crate::rest::not_found(req).await;
            let headers = response.headers_mut();
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                header::HeaderValue::from_static("nosniff"),
            );
            response
        }
    }
}

/// The content type and bytes of `/ui/<path>`.
pub fn lookup(path: &str) -> Option<(&'static str, &'static [u8])> {
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, entry)| *entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_found_and_unknown_ones_are_not() {
        for (name, (content_type, bytes)) in FILES {
            assert!(!bytes.is_empty(), "{name} is empty");
            assert_eq!(lookup(name), Some((*content_type, *bytes)));
        }
        for unknown in ["x", "vendor/", "../Cargo.toml", "vendor/xterm/xterm.js.map"] {
            assert_eq!(lookup(unknown), None);
        }
    }
}
