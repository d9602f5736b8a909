//! Install paths: shell completions from clap (`termbridge completions
//! SHELL`), the systemd user unit and the launchd agent in contrib/.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::python;

fn termbridge(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_termbridge"))
        .args(args)
        .output()
        .expect("run termbridge")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn completions_for_each_shell_name_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = termbridge(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for command in [
            "serve",
            "stdio",
            "bridge",
            "token",
            "openapi",
            "completions",
        ] {
            assert!(
                script.contains(command),
                "{shell} completions lack {command}"
            );
        }
        assert!(script.contains("token-env"), "{shell}: bridge flags");
    }
    let dir = tempfile::tempdir().unwrap();
    // The scripts parse in their shells.
    for (shell, check) in [("bash", "bash"), ("zsh", "zsh")] {
        let file = dir.path().join(format!("termbridge.{shell}"));
        std::fs::write(&file, termbridge(&["completions", shell]).stdout).unwrap();
        let status = Command::new(check).arg("-n").arg(&file).status();
        match status {
            Ok(status) => assert!(status.success(), "{shell} -n rejects the completions"),
            Err(e) => panic!(
                "{check} is needed to check the completions ({e}); scripts/setup-test-env.sh installs it"
            ),
        }
    }
    // bash: loading it registers the completion function.
    let file = dir.path().join("termbridge.bash");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p termbridge",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("termbridge"));
    let bad = termbridge(&["completions", "tcsh"]);
    assert!(!bad.status.success());
}

#[test]
fn the_systemd_user_unit_runs_serve_and_passes_systemd_analyze() {
    let unit = std::fs::read_to_string(repo("contrib/termbridge.service")).unwrap();
    assert!(unit.contains("\nExecStart=%h/.cargo/bin/termbridge serve\n"));
    assert!(unit.contains("\nWantedBy=default.target\n"), "a user unit");
    assert!(
        unit.contains("\nStandardOutput=null\n"),
        "the token banner stays out of the journal"
    );
    assert!(unit.contains("\nKillSignal=SIGTERM\n"));
    // systemd's own check, on a copy whose ExecStart is the built binary
    // (%h/.cargo/bin may not exist here; --user needs a login session).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("termbridge.service");
    std::fs::write(
        &copy,
        unit.replace("%h/.cargo/bin/termbridge", env!("CARGO_BIN_EXE_termbridge")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze (package systemd) checks the unit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.contains("termbridge.service"),
        "systemd-analyze complains about the unit: {stderr}"
    );
}

#[test]
fn the_launchd_agent_is_a_valid_plist_that_runs_serve() {
    let script = r#"
import json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    d = plistlib.load(f)
print(json.dumps({k: d[k] for k in ("Label", "ProgramArguments", "RunAtLoad", "KeepAlive")}))
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(repo("contrib/dev.termbridge.plist"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "not a valid plist: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plist: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plist["Label"], "dev.termbridge");
    assert_eq!(plist["RunAtLoad"], true);
    assert_eq!(plist["KeepAlive"]["SuccessfulExit"], false);
    let args = plist["ProgramArguments"].as_array().unwrap();
    assert_eq!(args[0], "/bin/sh");
    let command = args[2].as_str().unwrap();
    assert!(
        command.starts_with("exec \"$HOME/.cargo/bin/termbridge\" serve"),
        "{command}"
    );
    // The command line works in a POSIX shell (with a stand-in binary).
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".cargo/bin")).unwrap();
    std::fs::create_dir_all(home.path().join("Library/Logs")).unwrap();
    let stand_in = home.path().join(".cargo/bin/termbridge");
    std::fs::write(&stand_in, "#!/bin/sh\necho \"args: $*\" >&2\n").unwrap();
    let mut perms = std::fs::metadata(&stand_in).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&stand_in, perms).unwrap();
    let status = Command::new("/bin/sh")
        .args(["-c", command])
        .env("HOME", home.path())
        .status()
        .unwrap();
    assert!(status.success());
    let log = std::fs::read_to_string(home.path().join("Library/Logs/termbridge.log")).unwrap();
    assert_eq!(log, "args: serve\n");
}
