//! From a `session_open` request to a program to start: validation of every
//! field (hostile input), the ssh command line, the environment and the
//! shell-integration wiring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::integration::{self, IntegrationFiles, ShellFlavor};
use super::types::{IntegrationMode, OpenSpec, SessionKind, SshTarget};
use crate::error::{ActorError, ActorResult};

/// Settings of the terminal subsystem.
#[derive(Debug, Clone)]
pub struct TerminalConfig {
    /// Most sessions open at once.
    pub max_sessions: usize,
    /// Default width.
    pub default_cols: u16,
    /// Default height.
    pub default_rows: u16,
    /// Default scrollback lines.
    pub default_scrollback: usize,
    /// Bytes of clean output kept per session.
    pub output_log_bytes: usize,
    /// Set PAGER=cat and friends so commands never stop in a pager.
    pub disable_pagers: bool,
    /// Default shell-integration mode.
    pub shell_integration: IntegrationMode,
    /// Close sessions idle (no input, no output) this long; `None` = never.
    pub idle_timeout: Option<Duration>,
    /// Named ssh destinations for `profile`.
    pub ssh_profiles: BTreeMap<String, SshTarget>,
    /// The shell for `shell` sessions (default `$SHELL`, then `/bin/bash`).
    pub shell: Option<String>,
    /// Time between SIGHUP and SIGKILL when closing.
    pub close_grace: Duration,
    /// Record sessions whose `session_open` does not say (`record`).
    pub record: bool,
    /// Where recordings (`<session id>.cast`) are written.
    pub recordings_dir: PathBuf,
    /// Largest recording file; recording stops with a marker past it.
    pub max_recording_bytes: u64,
}

/// `$XDG_DATA_HOME/termbridge/recordings`, else
/// `~/.local/share/termbridge/recordings`.
pub fn default_recordings_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("termbridge").join("recordings")
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig {
            max_sessions: 64,
            default_cols: 120,
            default_rows: 40,
            default_scrollback: 10_000,
            output_log_bytes: super::output::DEFAULT_CAPACITY,
            disable_pagers: true,
            shell_integration: IntegrationMode::Auto,
            idle_timeout: None,
            ssh_profiles: BTreeMap::new(),
            shell: None,
            close_grace: Duration::from_secs(2),
            record: false,
            recordings_dir: default_recordings_dir(),
            max_recording_bytes: super::recording::DEFAULT_MAX_BYTES,
        }
    }
}

/// A validated session definition, ready to start (and to restart).
#[derive(Debug, Clone)]
pub struct Definition {
    /// `shell`, `command` or `ssh`.
    pub kind: SessionKind,
    /// Name for people.
    pub name: String,
    /// Program and arguments as started (before integration wiring).
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Width.
    pub cols: u16,
    /// Height.
    pub rows: u16,
    /// Scrollback lines.
    pub scrollback: usize,
    /// Whether to inject shell integration.
    pub integration: IntegrationMode,
    /// Pagers off.
    pub disable_pagers: bool,
    /// Input refused.
    pub read_only: bool,
}

fn invalid(message: impl Into<String>) -> ActorError {
    ActorError::InvalidInput(message.into())
}

fn check_text(field: &str, value: &str, max: usize) -> ActorResult<()> {
    if value.len() > max {
        return Err(invalid(format!("{field} is longer than {max} bytes")));
    }
    if value.contains('\0') {
        return Err(invalid(format!("{field} contains a NUL byte")));
    }
    Ok(())
}

/// A host name or IP literal safe to hand to ssh as a destination.
fn check_host(host: &str) -> ActorResult<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('-')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:%[]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "ssh.host {host:?} is not a valid host name or IP address"
        )))
    }
}

fn check_user(user: &str) -> ActorResult<()> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && !user.starts_with('-')
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "ssh.user {user:?} is not a valid user name"
        )))
    }
}

fn check_option(option: &str) -> ActorResult<()> {
    let (key, value) = option.split_once('=').ok_or_else(|| {
        invalid(format!(
            "ssh.options entry {option:?} must be Key=Value (e.g. StrictHostKeyChecking=accept-new)"
        ))
    })?;
    let key_ok = !key.is_empty()
        && key.len() <= 64
        && key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key.bytes().all(|b| b.is_ascii_alphanumeric());
    if !key_ok {
        return Err(invalid(format!(
            "ssh.options key {key:?} is not an ssh option name"
        )));
    }
    // Options that make the local ssh client run commands of their own:
    // a scoped token limited to ssh profiles must not get a local shell.
    const LOCAL_COMMAND_OPTIONS: &[&str] = &[
        "proxycommand",
        "localcommand",
        "permitlocalcommand",
        "knownhostscommand",
        "remotecommand",
        "match",
        "include",
    ];
    if LOCAL_COMMAND_OPTIONS.contains(&key.to_ascii_lowercase().as_str()) {
        return Err(invalid(format!(
            "ssh.options {key} is not allowed: it makes ssh run local commands"
        )));
    }
    check_text("ssh.options value", value, 1024)?;
    if value.contains(['\n', '\r']) {
        return Err(invalid("ssh.options values must be on one line"));
    }
    Ok(())
}

/// Variables termbridge sets for its own machinery.
const RESERVED_ENV: &[&str] = &["TERMBRIDGE_SESSION_ID", "ZDOTDIR", "TB_USER_ZDOTDIR"];

fn check_env_name(name: &str) -> ActorResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "env name {name:?} is not valid (letters, digits and _; not starting with a digit)"
        )))
    }
}

/// The shell to start for `shell` sessions.
pub fn default_shell(config: &TerminalConfig) -> String {
    config
        .shell
        .clone()
        .or_else(|| std::env::var("SHELL").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "/bin/bash".to_string())
}

/// The ssh client command line for `target` (integration: remote command).
pub fn ssh_argv(target: &SshTarget, integration: bool) -> Vec<String> {
    let mut argv = vec!["ssh".to_string()];
    if let Some(port) = target.port {
        argv.push("-p".into());
        argv.push(port.to_string());
    }
    if let Some(identity) = &target.identity_file {
        argv.push("-i".into());
        argv.push(identity.clone());
    }
    for option in &target.options {
        argv.push("-o".into());
        argv.push(option.clone());
    }
    if let Some(user) = &target.user {
        argv.push("-l".into());
        argv.push(user.clone());
    }
    if integration {
        argv.push("-t".into());
    }
    argv.push("--".into());
    argv.push(target.host.clone());
    if integration {
        argv.push(integration::ssh_remote_command());
    }
    argv
}

/// Validates a request and turns it into a definition.
pub fn define(spec: &OpenSpec, config: &TerminalConfig) -> ActorResult<Definition> {
    if let Some(name) = &spec.name {
        check_text("name", name, 128)?;
        if name.chars().any(char::is_control) {
            return Err(invalid("name must not contain control characters"));
        }
    }
    let cols = spec.cols.unwrap_or(config.default_cols);
    let rows = spec.rows.unwrap_or(config.default_rows);
    if !(2..=1000).contains(&cols) {
        return Err(invalid(format!(
            "cols must be between 2 and 1000, got {cols}"
        )));
    }
    if !(2..=500).contains(&rows) {
        return Err(invalid(format!(
            "rows must be between 2 and 500, got {rows}"
        )));
    }
    let scrollback = spec.scrollback.unwrap_or(config.default_scrollback);
    if scrollback > 100_000 {
        return Err(invalid(format!(
            "scrollback must be at most 100000 lines, got {scrollback}"
        )));
    }
    if spec.env.len() > 128 {
        return Err(invalid("env has more than 128 variables"));
    }
    for (name, value) in &spec.env {
        check_env_name(name)?;
        if RESERVED_ENV.contains(&name.as_str()) {
            return Err(invalid(format!(
                "env {name} is set by termbridge and cannot be overridden"
            )));
        }
        check_text(&format!("env.{name}"), value, 32 * 1024)?;
    }
    let cwd = match &spec.cwd {
        Some(dir) => {
            check_text("cwd", dir, 4096)?;
            let path = PathBuf::from(dir);
            if !path.is_dir() {
                return Err(invalid(format!("cwd {dir:?} is not an existing directory")));
            }
            path
        }
        None => dirs_home(),
    };
    let integration = spec.shell_integration.unwrap_or(config.shell_integration);
    let argv = match spec.kind {
        SessionKind::Shell => {
            if spec.command.is_some() || spec.ssh.is_some() || spec.profile.is_some() {
                return Err(invalid(
                    "a shell session takes no command, ssh or profile; use kind \"command\" or \"ssh\"",
                ));
            }
            vec![default_shell(config)]
        }
        SessionKind::Command => {
            if spec.ssh.is_some() || spec.profile.is_some() {
                return Err(invalid("a command session takes no ssh or profile"));
            }
            let argv = spec
                .command
                .clone()
                .ok_or_else(|| invalid("kind \"command\" needs command: [program, args…]"))?;
            if argv.is_empty() || argv[0].is_empty() {
                return Err(invalid("command must name a program"));
            }
            if argv.len() > 256 {
                return Err(invalid("command has more than 256 arguments"));
            }
            for arg in &argv {
                check_text("command argument", arg, 32 * 1024)?;
            }
            argv
        }
        SessionKind::Ssh => {
            if spec.command.is_some() {
                return Err(invalid(
                    "an ssh session takes no command; run commands with session_run",
                ));
            }
            let target = match (&spec.ssh, &spec.profile) {
                (Some(_), Some(_)) => return Err(invalid("give either ssh or profile, not both")),
                (Some(t), None) => t.clone(),
                (None, Some(p)) => config.ssh_profiles.get(p).cloned().ok_or_else(|| {
                    invalid(format!("no ssh profile named {p:?} in the configuration"))
                })?,
                (None, None) => return Err(invalid("kind \"ssh\" needs ssh: {host…} or profile")),
            };
            check_host(&target.host)?;
            if let Some(user) = &target.user {
                check_user(user)?;
            }
            if target.port == Some(0) {
                return Err(invalid("ssh.port must be between 1 and 65535"));
            }
            if let Some(identity) = &target.identity_file {
                check_text("ssh.identity_file", identity, 4096)?;
                if !Path::new(identity).is_file() {
                    return Err(invalid(format!(
                        "ssh.identity_file {identity:?} is not a readable file on the server"
                    )));
                }
            }
            if target.options.len() > 32 {
                return Err(invalid("ssh.options has more than 32 entries"));
            }
            for option in &target.options {
                check_option(option)?;
            }
            ssh_argv(&target, integration == IntegrationMode::Auto)
        }
    };
    let name = spec.name.clone().unwrap_or_else(|| match spec.kind {
        SessionKind::Shell => "shell".to_string(),
        SessionKind::Command => argv[0].clone(),
        SessionKind::Ssh => "ssh".to_string(),
    });
    Ok(Definition {
        kind: spec.kind,
        name,
        argv,
        cwd,
        env: spec.env.clone(),
        cols,
        rows,
        scrollback,
        integration,
        disable_pagers: config.disable_pagers,
        read_only: spec.read_only.unwrap_or(false),
    })
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// What is actually executed for a definition.
pub struct Launch {
    /// Program.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Environment to add.
    pub env: Vec<(String, String)>,
    /// rc files kept alive as long as the process may read them.
    pub files: Option<IntegrationFiles>,
}

/// Environment every session gets (before the request's own `env`).
pub fn base_env(definition: &Definition, session_id: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("TERM".to_string(), "xterm-256color".to_string()),
        ("TERMBRIDGE_SESSION_ID".to_string(), session_id.to_string()),
    ];
    if definition.disable_pagers {
        for (k, v) in [
            ("PAGER", "cat"),
            ("GIT_PAGER", "cat"),
            ("MANPAGER", "cat"),
            ("SYSTEMD_PAGER", ""),
            ("AWS_PAGER", ""),
            ("PSQL_PAGER", "cat"),
            ("LESS", "-FRX"),
        ] {
            env.push((k.to_string(), v.to_string()));
        }
    }
    env
}

/// Prepares the launch: wires shell integration into local bash/zsh.
pub fn launch(definition: &Definition, session_id: &str) -> ActorResult<Launch> {
    let mut env = base_env(definition, session_id);
    let mut args: Vec<String> = definition.argv[1..].to_vec();
    let program = definition.argv[0].clone();
    let mut files = None;
    if definition.kind == SessionKind::Shell {
        let flavor = integration::flavor(&program);
        let inject =
            definition.integration == IntegrationMode::Auto && flavor != ShellFlavor::Other;
        if inject {
            let written = IntegrationFiles::write().map_err(|e| {
                ActorError::Internal(format!("cannot write shell integration files: {e}"))
            })?;
            match flavor {
                ShellFlavor::Bash => {
                    args = vec![
                        "--rcfile".into(),
                        written.bashrc().display().to_string(),
                        "-i".into(),
                    ];
                }
                ShellFlavor::Zsh => {
                    if let Ok(user_zdotdir) = std::env::var("ZDOTDIR") {
                        env.push(("TB_USER_ZDOTDIR".into(), user_zdotdir));
                    }
                    env.push(("ZDOTDIR".into(), written.zdotdir().display().to_string()));
                    args = vec!["-i".into()];
                }
                ShellFlavor::Other => {}
            }
            files = Some(written);
        } else {
            args = vec!["-i".into()];
        }
    }
    env.extend(definition.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Launch {
        program,
        args,
        env,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> OpenSpec {
        OpenSpec::default()
    }

    #[test]
    fn defaults_for_a_shell() {
        let d = define(&spec(), &TerminalConfig::default()).unwrap();
        assert_eq!((d.cols, d.rows, d.scrollback), (120, 40, 10_000));
        assert_eq!(d.kind, SessionKind::Shell);
    }

    #[test]
    fn hostile_fields_are_refused_with_precise_messages() {
        let c = TerminalConfig::default();
        let cases: Vec<(OpenSpec, &str)> = vec![
            (
                OpenSpec {
                    cols: Some(0),
                    ..spec()
                },
                "cols must be between 2 and 1000",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Command,
                    ..spec()
                },
                "needs command",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Command,
                    command: Some(vec![]),
                    ..spec()
                },
                "must name a program",
            ),
            (
                OpenSpec {
                    cwd: Some("/no/such/dir".into()),
                    ..spec()
                },
                "not an existing directory",
            ),
            (
                OpenSpec {
                    env: [("A B".to_string(), "x".to_string())].into(),
                    ..spec()
                },
                "env name",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Ssh,
                    ssh: Some(SshTarget {
                        host: "-oProxyCommand=x".into(),
                        ..Default::default()
                    }),
                    ..spec()
                },
                "not a valid host name",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Ssh,
                    ssh: Some(SshTarget {
                        host: "h; rm -rf /".into(),
                        ..Default::default()
                    }),
                    ..spec()
                },
                "not a valid host name",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Ssh,
                    ssh: Some(SshTarget {
                        host: "h".into(),
                        options: vec!["Bad Key=1".into()],
                        ..Default::default()
                    }),
                    ..spec()
                },
                "not an ssh option name",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Ssh,
                    ssh: Some(SshTarget {
                        host: "h".into(),
                        user: Some("-x".into()),
                        ..Default::default()
                    }),
                    ..spec()
                },
                "not a valid user name",
            ),
            (
                OpenSpec {
                    kind: SessionKind::Ssh,
                    profile: Some("nope".into()),
                    ..spec()
                },
                "no ssh profile named",
            ),
            (
                OpenSpec {
                    command: Some(vec!["ls".into()]),
                    ..spec()
                },
                "takes no command",
            ),
        ];
        for (s, expected) in cases {
            let err = define(&s, &c).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn ssh_command_line_is_argv_not_a_shell_string() {
        let target = SshTarget {
            host: "127.0.0.1".into(),
            user: Some("root".into()),
            port: Some(2222),
            identity_file: Some("/k".into()),
            options: vec!["StrictHostKeyChecking=yes".into()],
        };
        assert_eq!(
            ssh_argv(&target, false),
            [
                "ssh",
                "-p",
                "2222",
                "-i",
                "/k",
                "-o",
                "StrictHostKeyChecking=yes",
                "-l",
                "root",
                "--",
                "127.0.0.1"
            ]
        );
        let with = ssh_argv(&target, true);
        assert!(with.contains(&"-t".to_string()));
        assert!(with.last().unwrap().contains("133;A"));
    }
}
