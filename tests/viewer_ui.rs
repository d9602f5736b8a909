//! The web viewer's static files (src/ui.rs) against a real server: served
//! without a token, with the security headers, the vendored xterm.js with a
//! JavaScript content type, unknown files 404. And `termbridge serve`
//! printing the viewer link, and `--open` starting `xdg-open` with it (or
//! only warning when there is none).

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

/// `termbridge serve` with a fresh config dir and `PATH` set to `path`;
/// returns the child and the lines it printed up to the token file line.
fn serve(config_dir: &std::path::Path, path: &std::path::Path, extra: &[&str]) -> Served {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .arg("serve")
        .args(["--bind", "127.0.0.1:0"])
        .args(extra)
        .env("TERMBRIDGE_CONFIG_DIR", config_dir)
        .env("PATH", path)
        .env_remove("TERMBRIDGE_TOKEN")
        .env_remove("TERMBRIDGE_BIND")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start termbridge serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    loop {
        let line = lines.next().expect("serve printed its banner").unwrap();
        let last = line.starts_with("Token file:");
        banner.push(line);
        if last {
            break;
        }
    }
    Served { child, banner }
}

struct Served {
    child: std::process::Child,
    banner: Vec<String>,
}

impl Served {
    fn value(&self, label: &str) -> String {
        self.banner
            .iter()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line in {:?}", self.banner))
            .trim()
            .to_string()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[actix_web::test]
async fn serve_prints_the_viewer_link_and_open_never_fails() {
    let config = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    // No xdg-open on PATH: --open only warns, the server serves.
    let served = serve(config.path(), empty_path.path(), &["--open"]);
    let url = served.value("termbridge listening on");
    let token = served.value("Bearer token:");
    let link = served.value("Web viewer:");
    assert_eq!(link, format!("{url}/ui/#token={token}"));
    // The fragment never reaches the server; the page itself is public.
    let page = link.split('#').next().unwrap();
    let response = client().get(page).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("termbridge viewer"));
}

#[test]
fn serve_open_starts_xdg_open_with_the_link() {
    let config = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    // A stand-in xdg-open that writes its argument into a FIFO the test
    // reads: the test waits for that event, not for time to pass.
    let fifo = bin.path().join("opened");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let opener = bin.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", fifo.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let reader_fifo = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(reader_fifo));
    });
    let served = serve(config.path(), bin.path(), &["--open"]);
    let opened = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(read) => read.expect("read the FIFO"),
        Err(_) => {
            // Unblock the reader thread before failing.
            let _ = std::fs::write(&fifo, "");
            panic!("xdg-open was not started within 30 s");
        }
    };
    assert_eq!(opened, served.value("Web viewer:"));
}
