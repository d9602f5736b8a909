//! The `termbridge` command: `serve`, `stdio`, `bridge`, `token`, `openapi`,
//! `completions`.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use termbridge::config::{self, Config, Overrides};
use termbridge_actors::terminal::CloseAll;

#[derive(Parser)]
#[command(
    name = "termbridge",
    version,
    about = "Drive terminals and network tools over REST and MCP"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default command).
    Serve(ServeArgs),
    /// Print the bearer token (creating it if needed), or replace it.
    Token {
        /// Generate a new token and store it, invalidating the old one.
        #[arg(long)]
        rotate: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Print the OpenAPI 3 document.
    Openapi,
    /// Serve MCP over stdin/stdout (for clients that start servers as
    /// programs: Claude Desktop, Cursor, VS Code); logs go to stderr.
    Stdio {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Connect stdin/stdout to a running server's MCP endpoint (a stdio to
    /// streamable-HTTP proxy), so a stdio client shares its sessions.
    Bridge(BridgeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the MCP bundle manifest (used by scripts/build-mcpb.sh).
    #[command(hide = true)]
    McpbManifest,
}

#[derive(clap::Args)]
struct BridgeArgs {
    /// The server's MCP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:1985/mcp")]
    url: String,
    /// The environment variable holding the bearer token (never pass the
    /// token itself as an argument: it would show in `ps`). When it is unset
    /// or empty, the token file in the config directory is read.
    #[arg(long, default_value = "TERMBRIDGE_TOKEN")]
    token_env: String,
    /// Keep retrying a message the server cannot be reached for this long
    /// (seconds) before answering the client with an error.
    #[arg(long, default_value_t = 30)]
    retry_secs: u64,
    /// Cap on session_run `timeout_ms` and session_command `wait_ms`, so an
    /// answer comes before the client's own timeout (about 60 s).
    #[arg(long, default_value_t = 50_000)]
    max_wait_ms: u64,
    /// Directory holding the token file (default: ~/.config/termbridge).
    #[arg(long, env = "TERMBRIDGE_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
}

#[derive(clap::Args, Default)]
struct CommonArgs {
    /// Config file (TOML). Default: <config dir>/config.toml if it exists.
    #[arg(long, env = "TERMBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the config file and the token (default: ~/.config/termbridge).
    #[arg(long, env = "TERMBRIDGE_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TERMBRIDGE_BIND")]
    bind: Option<String>,
    /// Allow listening on a non-loopback address.
    #[arg(long, env = "TERMBRIDGE_ALLOW_REMOTE")]
    allow_remote: bool,
    /// Directory for data termbridge writes: session recordings
    /// (default: ~/.local/share/termbridge).
    #[arg(long, env = "TERMBRIDGE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Open the web viewer in a browser (with `xdg-open`, `open` on macOS)
    /// once the server listens.
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    common: CommonArgs,
}

impl CommonArgs {
    fn config_dir(&self) -> PathBuf {
        self.config_dir
            .clone()
            .unwrap_or_else(config::default_config_dir)
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(args),
        Command::Token { rotate, common } => token(rotate, &common),
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&termbridge::rest::openapi::document())
                    .expect("document serializes")
            );
            Ok(())
        }
        Command::Stdio { common } => stdio(&common),
        Command::Bridge(args) => bridge(args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "termbridge", &mut std::io::stdout());
            Ok(())
        }
        Command::McpbManifest => {
            println!(
                "{}",
                serde_json::to_string_pretty(&termbridge::mcpb::manifest())
                    .expect("manifest serializes")
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("termbridge: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(common: &CommonArgs, overrides: &Overrides) -> Result<Config, String> {
    Config::load(common.config.as_deref(), &common.config_dir(), overrides)
        .map_err(|e| e.to_string())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let overrides = Overrides {
        bind: args.bind.clone(),
        allow_remote: args.allow_remote.then_some(true),
        token: std::env::var("TERMBRIDGE_TOKEN").ok(),
        data_dir: args.data_dir.clone(),
    };
    let config = load(&args.common, &overrides)?;
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    if !local.ip().is_loopback() {
        log::warn!(
            "listening on non-loopback address {local}: anyone who can reach it can try the token"
        );
    }
    let url = format!("http://{local}");
    log::info!(
        "termbridge {} listening on {url} (REST {url}/api/v1, OpenAPI {url}/openapi.json, MCP {url}/mcp); token from {}",
        env!("CARGO_PKG_VERSION"),
        config.token_source
    );
    // The person starting the server needs the token to connect; it goes to
    // stdout only, never into the log. Write errors are ignored: a closed
    // stdout (`termbridge serve | head -1`) must not stop the server.
    // The viewer link carries the token in the fragment, which browsers
    // never send to the server; the page moves it to sessionStorage.
    let viewer = viewer_link(local, &config.token);
    let banner = format!(
        "termbridge listening on {url}\nMCP endpoint:  {url}/mcp\nWeb viewer:    {viewer}\nBearer token:  {}\nToken file:    {}\n",
        config.token, config.token_source
    );
    {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes());
        let _ = stdout.flush();
    }
    if args.open {
        open_in_browser(&viewer);
    }
    actix_web::rt::System::new().block_on(async move {
        let (server, subsystems) =
            termbridge::run_with_subsystems(listener, config).map_err(|e| e.to_string())?;
        let handle = server.handle();
        let serving = actix_web::rt::spawn(server);
        let signal = shutdown_signal().await;
        // Stop accepting, let in-flight requests finish (bounded by the
        // server's shutdown timeout), then close every session so no shell
        // outlives the server.
        log::info!("{signal} received: stopping");
        handle.stop(true).await;
        let closing = subsystems
            .terminal
            .ask_within(CloseAll, std::time::Duration::from_secs(15))
            .await;
        match closing {
            Ok(n) => log::info!("closed {n} session(s)"),
            Err(e) => log::warn!("closing sessions at shutdown: {e}"),
        }
        match serving.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// `http://ADDR/ui/#token=TOKEN`: the web viewer, logged in. A server
/// listening on every address (`0.0.0.0`, `[::]`) is linked on loopback.
fn viewer_link(local: std::net::SocketAddr, token: &str) -> String {
    let mut addr = local;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let mut encoded = String::with_capacity(token.len());
    for byte in token.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("http://{addr}/ui/#token={encoded}")
}

/// Starts the desktop's browser on `link`; a missing opener is a warning,
/// never an error (a server on a headless machine still serves).
fn open_in_browser(link: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(link)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reap it when it ends (xdg-open returns once the browser started).
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => log::warn!("--open: cannot run {opener} ({e}); open the web viewer link above"),
    }
}

/// Waits for SIGINT or SIGTERM; says which.
async fn shutdown_signal() -> &'static str {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

fn token(rotate: bool, common: &CommonArgs) -> Result<(), String> {
    let overrides = Overrides {
        token: std::env::var("TERMBRIDGE_TOKEN").ok(),
        ..Overrides::default()
    };
    let config = load(common, &overrides)?;
    let token = match (rotate, &config.token_file) {
        (false, _) => config.token,
        (true, Some(path)) => {
            let token =
                config::write_token(path, &config::generate_token()).map_err(|e| e.to_string())?;
            eprintln!(
                "new token stored in {}; a running server keeps the old one until restarted",
                path.display()
            );
            token
        }
        (true, None) => {
            return Err(format!(
                "the token is set by {}; change it there to rotate it",
                config.token_source
            ));
        }
    };
    println!("{token}");
    Ok(())
}

/// `termbridge stdio`: the MCP server on stdin/stdout, as the local user
/// (the main token's grant; no token is needed on a pipe).
fn stdio(common: &CommonArgs) -> Result<(), String> {
    let overrides = Overrides {
        token: std::env::var("TERMBRIDGE_TOKEN").ok(),
        data_dir: std::env::var_os("TERMBRIDGE_DATA_DIR").map(PathBuf::from),
        ..Overrides::default()
    };
    let config = load(common, &overrides)?;
    log::info!(
        "termbridge {} serving MCP on stdin/stdout",
        env!("CARGO_PKG_VERSION")
    );
    actix_web::rt::System::new().block_on(async move {
        let principal =
            config.access.grants.first().cloned().unwrap_or_else(|| {
                std::sync::Arc::new(termbridge::access::Grant::main(&config.token))
            });
        let (state, _subsystems) = termbridge::app_state(config);
        termbridge::mcp::stdio::serve(
            state,
            principal,
            tokio::io::stdin(),
            tokio::io::stdout(),
            async {
                shutdown_signal().await;
            },
            termbridge::mcp::stdio::Options::default(),
        )
        .await
        .map_err(|e| e.to_string())
    })
}

/// `termbridge bridge`: stdin/stdout to a running server's `/mcp`.
fn bridge(args: BridgeArgs) -> Result<(), String> {
    if !args.url.starts_with("http://") {
        return Err(format!(
            "--url {}: only http:// URLs are supported (termbridge listens on loopback; \
             reach a remote server through an ssh tunnel)",
            args.url
        ));
    }
    let token = match std::env::var(&args.token_env) {
        Ok(token) if !token.trim().is_empty() => Some(token.trim().to_string()),
        _ => {
            let dir = args
                .config_dir
                .clone()
                .unwrap_or_else(config::default_config_dir);
            let file = dir.join("token");
            match std::fs::read_to_string(&file) {
                Ok(text) if !text.trim().is_empty() => {
                    log::info!("bridge: token from {}", file.display());
                    Some(text.trim().to_string())
                }
                _ => {
                    log::warn!(
                        "bridge: no token: {} is not set and {} does not exist; the server will answer 401",
                        args.token_env,
                        file.display()
                    );
                    None
                }
            }
        }
    };
    let mut options = termbridge::bridge::Options::new(args.url, token);
    options.retry_for = std::time::Duration::from_secs(args.retry_secs);
    options.max_wait_ms = args.max_wait_ms;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(termbridge::bridge::run(
            options,
            tokio::io::stdin(),
            tokio::io::stdout(),
        ))
        .map_err(|e| e.to_string())
}
