//! Shell integration: the scripts that make bash and zsh report prompts,
//! command starts and exit codes with OSC 133 markers and the working
//! directory with OSC 7, loaded without touching the user's rc files (they
//! are sourced first, then the hooks are added).

use std::path::{Path, PathBuf};

/// bash: sourced via `--rcfile` instead of `~/.bashrc`. `__TB_LOGIN=1`
/// makes it read the login files first (ssh sessions).
pub const BASH_HOOKS: &str = r#"
if [ -n "$__TB_LOGIN" ]; then
  [ -r /etc/profile ] && . /etc/profile
  if [ -r ~/.bash_profile ]; then . ~/.bash_profile
  elif [ -r ~/.bash_login ]; then . ~/.bash_login
  elif [ -r ~/.profile ]; then . ~/.profile
  fi
else
  [ -r /etc/bash.bashrc ] && . /etc/bash.bashrc
  [ -r ~/.bashrc ] && . ~/.bashrc
fi
unset __TB_LOGIN
__tb_status() {
  local ec=$?
  printf '\033]133;D;%s\007\033]7;file://%s%s\007' "$ec" "${HOSTNAME:-localhost}" "$PWD"
  return $ec
}
__tb_mark_prompt() {
  case "$PS1" in
    *'133;A'*) ;;
    *) PS1='\[\e]133;A\a\]'"$PS1"'\[\e]133;B\a\]' ;;
  esac
}
__tb_user_pc=$PROMPT_COMMAND
while [[ "$__tb_user_pc" == *[\;[:space:]] ]]; do __tb_user_pc=${__tb_user_pc%?}; done
PROMPT_COMMAND="__tb_status${__tb_user_pc:+;$__tb_user_pc};__tb_mark_prompt"
unset __tb_user_pc
PS0="${PS0}\e]133;C\a"
"#;

/// zsh: `.zshenv` in our `ZDOTDIR`, chaining to the user's.
pub const ZSH_ENV: &str = r#"
__tb_zdotdir="${TB_USER_ZDOTDIR:-$HOME}"
[ -r "$__tb_zdotdir/.zshenv" ] && . "$__tb_zdotdir/.zshenv"
"#;

/// zsh: `.zshrc` in our `ZDOTDIR`: the user's rc, then the hooks.
pub const ZSH_RC: &str = r#"
ZDOTDIR="$__tb_zdotdir"
unset TB_USER_ZDOTDIR
[ -r "$ZDOTDIR/.zshrc" ] && . "$ZDOTDIR/.zshrc"
__tb_precmd() {
  local ec=$?
  printf '\033]133;D;%s\007\033]7;file://%s%s\007' "$ec" "${HOST:-localhost}" "$PWD"
  [[ "$PS1" == *'133;A'* ]] || PS1=$'%{\e]133;A\a%}'"$PS1"$'%{\e]133;B\a%}'
  return $ec
}
__tb_preexec() { printf '\033]133;C\007'; }
precmd_functions=(__tb_precmd $precmd_functions)
preexec_functions=($preexec_functions __tb_preexec)
"#;

/// Which shell a program is, by its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellFlavor {
    /// GNU bash.
    Bash,
    /// zsh.
    Zsh,
    /// Anything else: no integration, quiescence decides completion.
    Other,
}

/// The flavor of the shell at `program`.
pub fn flavor(program: &str) -> ShellFlavor {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program)
        .trim_start_matches('-');
    match name {
        "bash" => ShellFlavor::Bash,
        "zsh" => ShellFlavor::Zsh,
        _ => ShellFlavor::Other,
    }
}

/// Files written for one session, removed with it.
pub struct IntegrationFiles {
    dir: tempfile::TempDir,
}

impl IntegrationFiles {
    /// Writes the rc files into a fresh private directory.
    pub fn write() -> std::io::Result<IntegrationFiles> {
        let dir = tempfile::Builder::new()
            .prefix("termbridge-sh-")
            .tempdir()?;
        std::fs::write(dir.path().join("bashrc"), BASH_HOOKS)?;
        std::fs::write(dir.path().join(".zshenv"), ZSH_ENV)?;
        std::fs::write(dir.path().join(".zshrc"), ZSH_RC)?;
        Ok(IntegrationFiles { dir })
    }

    /// The bash `--rcfile`.
    pub fn bashrc(&self) -> PathBuf {
        self.dir.path().join("bashrc")
    }

    /// The `ZDOTDIR` for zsh.
    pub fn zdotdir(&self) -> &Path {
        self.dir.path()
    }
}

/// Quotes `s` for a POSIX shell as one word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r#"'\''"#))
}

/// The remote command for an ssh session with integration: bash with our
/// hooks (after the login files) when the remote has bash, else the user's
/// login shell as is. Parsed by the remote login shell, so POSIX only.
pub fn ssh_remote_command() -> String {
    let inner = r#"exec bash --rcfile <(printf %s "$1") -i"#;
    format!(
        "if command -v bash >/dev/null 2>&1; then __TB_LOGIN=1 exec bash -c {} bash {}; else exec \"${{SHELL:-sh}}\" -l; fi",
        sh_quote(inner),
        sh_quote(BASH_HOOKS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors_by_name() {
        assert_eq!(flavor("/bin/bash"), ShellFlavor::Bash);
        assert_eq!(flavor("-zsh"), ShellFlavor::Zsh);
        assert_eq!(flavor("/usr/bin/fish"), ShellFlavor::Other);
    }

    #[test]
    fn quoting_survives_single_quotes() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", sh_quote("it's $HOME `x` \"q\"")))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "it's $HOME `x` \"q\""
        );
    }

    #[test]
    fn remote_command_is_valid_posix_sh() {
        let out = std::process::Command::new("sh")
            .arg("-n")
            .arg("-c")
            .arg(ssh_remote_command())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
