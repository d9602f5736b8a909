//! Configuration: TOML file, then `TERMBRIDGE_*` environment, then command-line
//! flags (flags win), plus the bearer token and where it is kept.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use termbridge_actors::dns::parse_server;
use termbridge_actors::docs::DocsConfig;
use termbridge_actors::net::{IpNet, NetConfig};
use termbridge_actors::terminal::{IntegrationMode, SshTarget, TerminalConfig};
use termbridge_actors::whois::ServerList;

use crate::access::{AccessConfig, Grant, TokenFileConfig};

/// The default listen address.
pub const DEFAULT_BIND: &str = "127.0.0.1:1985";
/// The largest request body accepted, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Settings as they may appear in the TOML file (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address, e.g. `127.0.0.1:1985`.
    pub bind: Option<String>,
    /// Allow binding to a non-loopback address.
    pub allow_remote: Option<bool>,
    /// A fixed bearer token (otherwise one is generated and kept in the token file).
    pub token: Option<String>,
    /// Where the generated token is kept (default: `<config dir>/token`).
    pub token_file: Option<PathBuf>,
    /// Extra `Origin` values allowed to call the server (browser pages).
    pub allowed_origins: Option<Vec<String>>,
    /// Extra `Host` names accepted when bound to loopback.
    pub allowed_hosts: Option<Vec<String>>,
    /// DNS servers `dns_lookup` asks when a call names none (`ip` or
    /// `ip:port`); default: the system's resolvers.
    pub dns_servers: Option<Vec<String>>,
    /// A whois server list (JSON) replacing the built-in one.
    pub whois_servers_file: Option<PathBuf>,
    /// `[terminal]`: session limits and defaults.
    pub terminal: Option<TerminalFileConfig>,
    /// `[net]`: networks ping/traceroute refuse, the public address lookup.
    pub net: Option<NetFileConfig>,
    /// `[[tokens]]`: more tokens, each with a name, a scope and optionally
    /// the sessions it may touch.
    pub tokens: Option<Vec<TokenFileConfig>>,
    /// `[secrets]`: values `session_send_keys {secret}` can type.
    pub secrets: Option<BTreeMap<String, String>>,
    /// Extra regular expressions whose matches are hidden in answers and logs.
    pub redact: Option<Vec<String>>,
    /// The audit log file (default `<config dir>/audit.log`; `""` turns it off).
    pub audit_log: Option<PathBuf>,
    /// Size at which the audit log is rotated (default 10 MiB).
    pub audit_max_bytes: Option<u64>,
    /// Requests per second per token (burst twice that); 0 = unlimited (default 50).
    pub rate_limit_per_second: Option<u32>,
    /// Most operations in flight per network subsystem (net, dns, whois;
    /// default 64); more get 429.
    pub max_network_operations: Option<usize>,
    /// `[docs]`: what `docs_search` searches besides the bundled documentation.
    pub docs: Option<DocsFileConfig>,
    /// Where termbridge keeps data it writes (session recordings); default
    /// `~/.local/share/termbridge` (`$XDG_DATA_HOME/termbridge`).
    pub data_dir: Option<PathBuf>,
}

/// The `[docs]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocsFileConfig {
    /// Directories of Markdown and text files (`~/` is the home directory;
    /// relative paths are relative to the config file's directory).
    pub directories: Vec<PathBuf>,
    /// Index the system's man pages (default false).
    pub man_pages: Option<bool>,
    /// Man sections to index (default `["1", "8"]`).
    pub man_sections: Option<Vec<String>>,
    /// Bytes indexed per file; larger files are cut (default 4 MiB).
    pub max_file_bytes: Option<usize>,
    /// Re-index a directory when its files change (default true).
    pub watch: Option<bool>,
}

impl DocsFileConfig {
    fn into_config(self, base: &Path) -> Result<DocsConfig, ConfigError> {
        let mut docs = DocsConfig::default();
        for dir in self.directories {
            let expanded = match dir.strip_prefix("~") {
                Ok(rest) => dirs::home_dir()
                    .ok_or_else(|| {
                        ConfigError::Invalid(format!(
                            "docs.directories: {} starts with ~ but there is no home directory",
                            dir.display()
                        ))
                    })?
                    .join(rest),
                Err(_) if dir.is_relative() => base.join(&dir),
                Err(_) => dir,
            };
            docs.directories.push(expanded);
        }
        if let Some(v) = self.man_pages {
            docs.man_pages = v;
        }
        if let Some(sections) = self.man_sections {
            for s in &sections {
                if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(ConfigError::Invalid(format!(
                        "docs.man_sections: {s:?} is not a man section (1, 8, 3p…)"
                    )));
                }
            }
            docs.man_sections = sections;
        }
        if let Some(n) = self.max_file_bytes {
            if !(1024..=256 * 1024 * 1024).contains(&n) {
                return Err(ConfigError::Invalid(format!(
                    "docs.max_file_bytes must be 1024..=268435456, got {n}"
                )));
            }
            docs.max_file_bytes = n;
        }
        if let Some(v) = self.watch {
            docs.watch = v;
        }
        Ok(docs)
    }
}

/// The `[net]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetFileConfig {
    /// Networks ping and traceroute refuse to probe (`10.0.0.0/8`,
    /// `2001:db8::/32`, or single addresses); default none.
    pub deny: Vec<String>,
    /// The name whose A/AAAA answer is the asker's public address (default
    /// `myip.opendns.com`).
    pub public_ip_name: Option<String>,
    /// The resolvers that answer it, `ip` or `ip:port` (default
    /// resolver1.opendns.com: `208.67.222.222`, `[2620:119:35::35]`).
    pub public_ip_resolvers: Option<Vec<String>>,
}

impl NetFileConfig {
    fn into_config(self) -> Result<NetConfig, ConfigError> {
        let mut net = NetConfig::default();
        for text in &self.deny {
            let network: IpNet = text
                .parse()
                .map_err(|e| ConfigError::Invalid(format!("net.deny: {e}")))?;
            net.deny.push(network);
        }
        if let Some(name) = self.public_ip_name {
            termbridge_actors::dns::check_domain_name(
                "net.public_ip_name",
                &name,
                termbridge_actors::dns::NameRules::Dns,
            )
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
            net.public_ip.name = name;
        }
        if let Some(resolvers) = self.public_ip_resolvers {
            if resolvers.is_empty() {
                return Err(ConfigError::Invalid(
                    "net.public_ip_resolvers must list at least one resolver".to_string(),
                ));
            }
            net.public_ip.resolvers = resolvers
                .iter()
                .map(|text| {
                    parse_server(text).map_err(|_| {
                        ConfigError::Invalid(format!(
                            "invalid net.public_ip_resolvers entry {text:?}: expected an IP \
                             address or IP:port such as 208.67.222.222 or [2620:119:35::35]:53"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
        }
        Ok(net)
    }
}

/// The `[terminal]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TerminalFileConfig {
    /// Most sessions open at once (default 64).
    pub max_sessions: Option<usize>,
    /// Close sessions idle this many seconds (default: never).
    pub idle_timeout_secs: Option<u64>,
    /// Set PAGER=cat and friends in sessions (default true).
    pub disable_pagers: Option<bool>,
    /// `auto` (default) or `off`.
    pub shell_integration: Option<IntegrationMode>,
    /// Shell for `shell` sessions (default `$SHELL`, then /bin/bash).
    pub shell: Option<String>,
    /// Default scrollback lines (default 10000).
    pub scrollback: Option<usize>,
    /// Bytes of clean output kept per session (default 8 MiB).
    pub output_log_bytes: Option<usize>,
    /// Named ssh destinations usable as `profile` in session_open.
    pub ssh_profiles: BTreeMap<String, SshTarget>,
    /// Record every session (asciinema v2) unless its session_open says
    /// `record: false` (default false).
    pub record: Option<bool>,
    /// Largest recording file in bytes; recording stops past it (default 64 MiB).
    pub max_recording_bytes: Option<u64>,
}

impl TerminalFileConfig {
    fn into_config(self) -> Result<TerminalConfig, ConfigError> {
        let mut terminal = TerminalConfig::default();
        if let Some(n) = self.max_sessions {
            if n == 0 || n > 10_000 {
                return Err(ConfigError::Invalid(format!(
                    "terminal.max_sessions must be 1..=10000, got {n}"
                )));
            }
            terminal.max_sessions = n;
        }
        terminal.idle_timeout = self
            .idle_timeout_secs
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        if let Some(v) = self.disable_pagers {
            terminal.disable_pagers = v;
        }
        if let Some(v) = self.shell_integration {
            terminal.shell_integration = v;
        }
        terminal.shell = self.shell;
        if let Some(v) = self.scrollback {
            terminal.default_scrollback = v.min(100_000);
        }
        if let Some(v) = self.output_log_bytes {
            terminal.output_log_bytes = v.clamp(64 * 1024, 1024 * 1024 * 1024);
        }
        terminal.ssh_profiles = self.ssh_profiles;
        if let Some(v) = self.record {
            terminal.record = v;
        }
        if let Some(n) = self.max_recording_bytes {
            if n < 4096 {
                return Err(ConfigError::Invalid(format!(
                    "terminal.max_recording_bytes must be at least 4096, got {n}"
                )));
            }
            terminal.max_recording_bytes = n;
        }
        Ok(terminal)
    }
}

/// Values given on the command line or in the environment; `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--bind` / `TERMBRIDGE_BIND`.
    pub bind: Option<String>,
    /// `--allow-remote` / `TERMBRIDGE_ALLOW_REMOTE`.
    pub allow_remote: Option<bool>,
    /// `TERMBRIDGE_TOKEN`.
    pub token: Option<String>,
    /// `TERMBRIDGE_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
}

/// The server's resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Whether a non-loopback bind was explicitly allowed.
    pub allow_remote: bool,
    /// The bearer token every protected request must carry.
    pub token: String,
    /// Where the token came from, for the start-up line (never the token itself).
    pub token_source: String,
    /// The file the token is kept in; `None` when the configuration sets it.
    pub token_file: Option<PathBuf>,
    /// Extra allowed `Origin` values.
    pub allowed_origins: Vec<String>,
    /// Extra allowed `Host` names.
    pub allowed_hosts: Vec<String>,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// DNS servers asked when a lookup names none; empty: the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// The whois server list; `None`: the built-in one.
    pub whois_servers: Option<ServerList>,
    /// Terminal sessions: limits, defaults, ssh profiles.
    pub terminal: TerminalConfig,
    /// Network tools: the deny-list of ping/traceroute, the public address lookup.
    pub net: NetConfig,
    /// Documentation search: extra directories, man pages.
    pub docs: DocsConfig,
    /// Tokens and scopes, secrets, redaction, audit log, rate limit.
    pub access: AccessConfig,
    /// Most operations in flight per network subsystem.
    pub max_network_operations: usize,
}

/// A configuration problem, said plainly.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for termbridge.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The token file could not be written or read.
    #[error("token file {path}: {source}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Config {
    /// A configuration with defaults and the given token, for embedding and tests.
    pub fn with_token(token: impl Into<String>) -> Config {
        let token = token.into();
        Config {
            bind: DEFAULT_BIND.parse().expect("default bind address parses"),
            allow_remote: false,
            token: token.clone(),
            token_source: "given by the caller".to_string(),
            token_file: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dns_servers: Vec::new(),
            whois_servers: None,
            terminal: TerminalConfig::default(),
            net: NetConfig::default(),
            docs: DocsConfig::default(),
            access: AccessConfig::with_main_token(&token),
            max_network_operations: termbridge_actors::supervisor::DEFAULT_MAX_NETWORK_OPERATIONS,
        }
    }

    /// Builds the configuration from the file (if any), then the overrides;
    /// generates and stores a token when none is configured.
    pub fn load(
        file: Option<&Path>,
        config_dir: &Path,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let default_file = config_dir.join("config.toml");
        let mut file_config = match file {
            Some(path) => read_file_config(path)?,
            None if default_file.exists() => read_file_config(&default_file)?,
            None => FileConfig::default(),
        };
        let bind_text = overrides
            .bind
            .clone()
            .or(file_config.bind.take())
            .unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "invalid bind address {bind_text:?}: expected IP:PORT such as 127.0.0.1:1985 or [::1]:1985"
            ))
        })?;
        let allow_remote = overrides
            .allow_remote
            .or(file_config.allow_remote)
            .unwrap_or(false);
        if !bind.ip().is_loopback() && !allow_remote {
            return Err(ConfigError::Invalid(format!(
                "refusing to listen on non-loopback address {bind}: anyone who can reach it could \
                 try the token. Pass --allow-remote (or allow_remote = true) if you mean it."
            )));
        }
        let (token, token_source, token_file) =
            match overrides.token.clone().or(file_config.token.take()) {
                Some(token) => {
                    check_token(&token)?;
                    let source = "configuration (TERMBRIDGE_TOKEN or config file)".to_string();
                    (token, source, None)
                }
                None => {
                    let path = file_config
                        .token_file
                        .take()
                        .unwrap_or_else(|| config_dir.join("token"));
                    let token = load_or_create_token(&path)?;
                    (token, path.display().to_string(), Some(path))
                }
            };
        let access = access_config(&mut file_config, &token, config_dir)?;
        let dns_servers = file_config
            .dns_servers
            .unwrap_or_default()
            .iter()
            .map(|text| {
                parse_server(text).map_err(|_| {
                    ConfigError::Invalid(format!(
                        "invalid dns_servers entry {text:?}: expected an IP address or IP:port \
                         such as 9.9.9.9 or [2620:fe::fe]:53"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut terminal = file_config
            .terminal
            .take()
            .unwrap_or_default()
            .into_config()?;
        if let Some(dir) = overrides.data_dir.clone().or(file_config.data_dir.take()) {
            terminal.recordings_dir = dir.join("recordings");
        }
        let docs_base = match file {
            Some(path) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => config_dir.to_path_buf(),
        };
        let docs = file_config
            .docs
            .take()
            .unwrap_or_default()
            .into_config(&docs_base)?;
        let net = file_config.net.take().unwrap_or_default().into_config()?;
        let whois_servers = match &file_config.whois_servers_file {
            Some(path) => Some(read_whois_servers(path)?),
            None => None,
        };
        Ok(Config {
            bind,
            allow_remote,
            access,
            max_network_operations: match file_config.max_network_operations {
                Some(0) => {
                    return Err(ConfigError::Invalid(
                        "max_network_operations must be at least 1".into(),
                    ));
                }
                Some(n) => n,
                None => termbridge_actors::supervisor::DEFAULT_MAX_NETWORK_OPERATIONS,
            },
            token,
            token_source,
            token_file,
            allowed_origins: file_config.allowed_origins.unwrap_or_default(),
            allowed_hosts: file_config.allowed_hosts.unwrap_or_default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dns_servers,
            whois_servers,
            terminal,
            net,
            docs,
        })
    }
}

/// Tokens, secrets, redaction, audit log and rate limit from the file.
fn access_config(
    file: &mut FileConfig,
    main_token: &str,
    config_dir: &Path,
) -> Result<AccessConfig, ConfigError> {
    let mut access = AccessConfig::with_main_token(main_token);
    let mut names = vec!["default".to_string()];
    for entry in file.tokens.take().unwrap_or_default() {
        check_token(&entry.token)?;
        if entry.name.is_empty() || names.contains(&entry.name) {
            return Err(ConfigError::Invalid(format!(
                "tokens: each token needs a unique, non-empty name (got {:?})",
                entry.name
            )));
        }
        if access.grants.iter().any(|g| g.token == entry.token) {
            return Err(ConfigError::Invalid(format!(
                "tokens: {:?} reuses another token's value",
                entry.name
            )));
        }
        names.push(entry.name.clone());
        access.grants.push(std::sync::Arc::new(Grant {
            name: entry.name,
            token: entry.token,
            scope: entry.scope,
            sessions: entry.sessions,
        }));
    }
    access.secrets = file.secrets.take().unwrap_or_default();
    access.audit_log = match file.audit_log.take() {
        Some(path) if path.as_os_str().is_empty() => None,
        Some(path) => Some(path),
        None => Some(config_dir.join("audit.log")),
    };
    if let Some(n) = file.audit_max_bytes {
        access.audit_max_bytes = n.max(4096);
    }
    access.rate_limit_per_second = file.rate_limit_per_second.unwrap_or(50);
    let extra = file.redact.take().unwrap_or_default();
    access.with_redaction(&extra).map_err(ConfigError::Invalid)
}

/// Reads and checks a whois server list file.
fn read_whois_servers(path: &Path) -> Result<ServerList, ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| {
        ConfigError::Invalid(format!(
            "cannot read whois server list {}: {e}",
            path.display()
        ))
    })?;
    ServerList::from_json(&text).map_err(|message| {
        ConfigError::Invalid(format!(
            "invalid whois server list {}: {message}",
            path.display()
        ))
    })
}

/// The directory for config and token: `$TERMBRIDGE_CONFIG_DIR`, else the
/// user's config dir (`~/.config/termbridge` on Linux).
pub fn default_config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TERMBRIDGE_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("termbridge")
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Tokens are sent in a header, so they must be printable ASCII without spaces.
fn check_token(token: &str) -> Result<(), ConfigError> {
    if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::Invalid(
            "a configured token must be at least 16 printable ASCII characters without spaces"
                .to_string(),
        ));
    }
    Ok(())
}

/// A new random 256-bit token, hex-encoded.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Reads the token file, creating it (mode 0600) with a fresh token if absent.
pub fn load_or_create_token(path: &Path) -> Result<String, ConfigError> {
    let err = |source| ConfigError::Token {
        path: path.to_path_buf(),
        source,
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            check_token(&token)?;
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_token(path, &generate_token()),
        Err(e) => Err(err(e)),
    }
}

/// Writes a new token to `path` with mode 0600 and returns it.
pub fn write_token(path: &Path, token: &str) -> Result<String, ConfigError> {
    let err = |source| ConfigError::Token {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(format!("{token}\n").as_bytes())
        .map_err(err)?;
    file.sync_all().map_err(err)?;
    fs::rename(&tmp, path).map_err(err)?;
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("token");
        let first = load_or_create_token(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create_token(&path).unwrap(), first);
    }

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        fs::write(
            &file,
            "bind = \"127.0.0.1:2000\"\ntoken = \"file-token-0123456789\"\n",
        )
        .unwrap();
        let from_file = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap();
        assert_eq!(from_file.bind.port(), 2000);
        assert_eq!(from_file.token, "file-token-0123456789");
        let overrides = Overrides {
            bind: Some("127.0.0.1:3000".into()),
            token: Some("env-token-0123456789".into()),
            ..Overrides::default()
        };
        let flagged = Config::load(Some(&file), dir.path(), &overrides).unwrap();
        assert_eq!(flagged.bind.port(), 3000);
        assert_eq!(flagged.token, "env-token-0123456789");
    }

    #[test]
    fn recording_settings_and_the_data_dir_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        fs::write(
            &file,
            "token = \"file-token-0123456789\"\ndata_dir = \"/srv/tb\"\n\
             [terminal]\nrecord = true\nmax_recording_bytes = 100000\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap();
        assert!(config.terminal.record);
        assert_eq!(config.terminal.max_recording_bytes, 100_000);
        assert_eq!(
            config.terminal.recordings_dir,
            PathBuf::from("/srv/tb/recordings")
        );
        let overrides = Overrides {
            data_dir: Some("/elsewhere".into()),
            ..Overrides::default()
        };
        let flagged = Config::load(Some(&file), dir.path(), &overrides).unwrap();
        assert_eq!(
            flagged.terminal.recordings_dir,
            PathBuf::from("/elsewhere/recordings")
        );
        let plain = Config::with_token("file-token-0123456789");
        assert!(!plain.terminal.record);
        assert!(
            plain
                .terminal
                .recordings_dir
                .ends_with("termbridge/recordings")
        );
        fs::write(
            &file,
            "token = \"file-token-0123456789\"\n[terminal]\nmax_recording_bytes = 10\n",
        )
        .unwrap();
        let err = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("max_recording_bytes"), "{err}");
    }

    #[test]
    fn non_loopback_needs_explicit_permission() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            bind: Some("0.0.0.0:1985".into()),
            token: Some("a-token-0123456789abcdef".into()),
            ..Overrides::default()
        };
        let err = Config::load(None, dir.path(), &overrides).unwrap_err();
        assert!(err.to_string().contains("--allow-remote"), "{err}");
        let allowed = Overrides {
            allow_remote: Some(true),
            ..overrides
        };
        assert!(Config::load(None, dir.path(), &allowed).is_ok());
    }

    #[test]
    fn dns_servers_and_whois_server_list_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("whois.json");
        fs::write(
            &list,
            r#"{"_": {"ip": "127.0.0.1:4343"}, "test": "127.0.0.1:4344"}"#,
        )
        .unwrap();
        let file = dir.path().join("c.toml");
        fs::write(
            &file,
            format!(
                "token = \"file-token-0123456789\"\ndns_servers = [\"127.0.0.1:5353\", \"::1\"]\nwhois_servers_file = {:?}\n",
                list.display().to_string()
            ),
        )
        .unwrap();
        let config = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap();
        assert_eq!(
            config.dns_servers,
            vec![
                "127.0.0.1:5353".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        let servers = config.whois_servers.unwrap();
        assert_eq!(servers.for_ip().address(), "127.0.0.1:4343");
        assert_eq!(
            servers.for_domain("a.test").unwrap().address(),
            "127.0.0.1:4344"
        );
        // Defaults: system resolvers, built-in list.
        let plain = Config::with_token("file-token-0123456789");
        assert!(plain.dns_servers.is_empty() && plain.whois_servers.is_none());
    }

    #[test]
    fn bad_dns_servers_and_whois_lists_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        fs::write(
            &file,
            "token = \"file-token-0123456789\"\ndns_servers = [\"dns.google\"]\n",
        )
        .unwrap();
        let err = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid dns_servers entry \"dns.google\": expected an IP address or IP:port such as 9.9.9.9 or [2620:fe::fe]:53"
        );
        let list = dir.path().join("whois.json");
        fs::write(&list, r#"{"com": "whois.verisign-grs.com"}"#).unwrap();
        fs::write(
            &file,
            format!(
                "token = \"file-token-0123456789\"\nwhois_servers_file = {:?}\n",
                list.display().to_string()
            ),
        )
        .unwrap();
        let err = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("invalid whois server list {}: ", list.display())),
            "{err}"
        );
        fs::remove_file(&list).unwrap();
        let err = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "cannot read whois server list {}: ",
                list.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn net_table_sets_the_deny_list_and_the_public_address_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        fs::write(
            &file,
            "token = \"file-token-0123456789\"\n[net]\ndeny = [\"10.0.0.0/8\", \"2001:db8::1\"]\n\
             public_ip_name = \"myip.example\"\npublic_ip_resolvers = [\"127.0.0.1:5353\"]\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap();
        let deny: Vec<String> = config.net.deny.iter().map(|n| n.to_string()).collect();
        assert_eq!(deny, vec!["10.0.0.0/8", "2001:db8::1/128"]);
        assert_eq!(config.net.public_ip.name, "myip.example");
        assert_eq!(
            config.net.public_ip.resolvers,
            vec!["127.0.0.1:5353".parse().unwrap()]
        );
        // Defaults: nothing denied, OpenDNS.
        let plain = Config::with_token("file-token-0123456789");
        assert!(plain.net.deny.is_empty());
        assert_eq!(plain.net.public_ip.name, "myip.opendns.com");
        fs::write(
            &file,
            "token = \"file-token-0123456789\"\n[net]\ndeny = [\"10.0.0.0/33\"]\n",
        )
        .unwrap();
        let err = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("net.deny: \"10.0.0.0/33\" is not a network"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        fs::write(&file, "bnd = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), dir.path(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let overrides = Overrides {
            bind: Some("localhost".into()),
            ..Overrides::default()
        };
        let err = Config::load(None, dir.path(), &overrides).unwrap_err();
        assert!(err.to_string().contains("invalid bind address"), "{err}");
    }
}
