//! The web viewer's static files (src/ui.rs) against a real server: served
//! without a token, with the security headers, the vendored xterm.js with a
//! JavaScript content type, unknown files 404.

mod common;

use common::{TestServer, client};

const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'";

fn assert_secured(response: &reqwest::Response) {
    let headers = response.headers();
    let csp = headers
        .get("content-security-policy")
        .expect("Content-Security-Policy")
        .to_str()
        .unwrap();
    assert!(csp.starts_with(CSP), "unexpected CSP: {csp}");
    assert!(
        !csp.contains("unsafe"),
        "the CSP must not allow inline code: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[actix_web::test]
async fn page_is_served_without_a_token_with_security_headers() {
    let server = TestServer::start();
    let response = client().get(server.at("/ui/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_secured(&response);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<title>termbridge viewer</title>"));
    // Everything the page loads comes from this server, relative to /ui/.
    for asset in [
        "vendor/xterm/xterm.js",
        "vendor/xterm/xterm.css",
        "vendor/addon-fit/addon-fit.js",
        "app.js",
        "app.css",
    ] {
        assert!(page.contains(&format!("\"{asset}\"")), "page loads {asset}");
        let response = client()
            .get(server.at(&format!("/ui/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert_secured(&response);
    }
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("style="), "no inline styles (CSP)");

    let response = client()
        .get(server.at("/ui/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), page);
}

#[actix_web::test]
async fn bare_ui_redirects_to_the_page() {
    let server = TestServer::start();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects.get(server.at("/ui")).send().await.unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], "/ui/");
    assert_secured(&response);
    // Followed, it lands on the page.
    let response = client().get(server.at("/ui")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("termbridge viewer"));
}

#[actix_web::test]
async fn vendored_xterm_is_served_as_javascript() {
    let server = TestServer::start();
    for (path, marker) in [
        ("/ui/vendor/xterm/xterm.js", "Terminal"),
        ("/ui/vendor/addon-fit/addon-fit.js", "FitAddon"),
        ("/ui/app.js", "termbridgeViewer"),
    ] {
        let response = client().get(server.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{path}"
        );
        assert!(response.text().await.unwrap().contains(marker), "{path}");
    }
    let css = client()
        .get(server.at("/ui/vendor/xterm/xterm.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // The license travels with the code.
    let license = client()
        .get(server.at("/ui/vendor/xterm/LICENSE"))
        .send()
        .await
        .unwrap();
    assert_eq!(license.status(), 200);
    assert!(license.text().await.unwrap().contains("MIT"));
}

#[actix_web::test]
async fn unknown_viewer_files_are_not_found() {
    let server = TestServer::start();
    for path in [
        "/ui/nope.js",
        "/ui/vendor/",
        "/ui/vendor/xterm/xterm.js.map",
        "/ui/..%2FCargo.toml",
        "/ui/app.js/",
    ] {
        let response = client().get(server.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    // The other API paths still need the token.
    let response = client()
        .get(server.at("/api/v1/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[actix_web::test]
async fn viewer_files_are_read_only() {
    let server = TestServer::start();
    let response = client()
        .post(server.at("/ui/app.js"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let response = client().head(server.at("/ui/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
