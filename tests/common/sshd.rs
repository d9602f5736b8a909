//! A private OpenSSH server on 127.0.0.1 for the SSH terminal tests.
//!
//! [`TestSshd::start`] makes a fresh temp dir with an ed25519 host key, an
//! ed25519 user key that the server trusts, an `sshd_config` and a
//! `known_hosts` that pins the host key, then runs `/usr/sbin/sshd -D -e` on a
//! free loopback port and waits until it listens. Dropping it kills the
//! server and every process it forked (connection handlers, login shells).
//!
//! Needs `openssh-server` and `openssh-client` (installed by
//! `scripts/setup-test-env.sh`) and root: the tests log in as the current user,
//! which is root here (`PermitRootLogin prohibit-password`).
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Where Debian's `openssh-server` puts the daemon. sshd must be started by
/// absolute path (it re-executes itself for every connection).
pub const SSHD: &str = "/usr/sbin/sshd";
/// sshd's privilege separation directory; it refuses to start without it.
const PRIVSEP_DIR: &str = "/run/sshd";
/// How long sshd may take to listen.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// How many free ports to try when sshd loses the race for one.
const PORT_ATTEMPTS: usize = 5;

/// A running sshd on 127.0.0.1; killed (with everything it forked) on drop.
pub struct TestSshd {
    /// The port it listens on (127.0.0.1 only).
    pub port: u16,
    /// The user to log in as: the current user (`id -un`).
    pub user: String,
    /// Private ed25519 key the server accepts (no passphrase).
    pub identity_file: PathBuf,
    /// A known_hosts file holding `[127.0.0.1]:PORT <host key>`.
    pub known_hosts: PathBuf,
    /// The host public key, `ssh-ed25519 AAAA…` (no comment).
    pub host_key_pub: String,
    dir: TempDir,
    child: Child,
}

impl TestSshd {
    /// Starts a server; panics (with sshd's log) if it does not come up
    /// within ~10 s.
    pub fn start() -> TestSshd {
        assert!(
            Path::new(SSHD).is_file(),
            "{SSHD} is missing: install openssh-server (run scripts/setup-test-env.sh)"
        );
        ensure_privsep_dir();

        let dir = tempfile::Builder::new()
            .prefix("termbridge-sshd-")
            .tempdir()
            .expect("create temp dir for sshd");
        let root = dir.path().to_path_buf();
        let host_key = root.join("ssh_host_ed25519_key");
        let identity_file = root.join("id_ed25519");
        keygen(&host_key, "termbridge-test-host");
        keygen(&identity_file, "termbridge-test-user");
        let host_key_pub = strip_comment(&read(&host_key.with_extension("pub")));
        let user_key_pub = read(&identity_file.with_extension("pub"));
        let authorized_keys = root.join("authorized_keys");
        fs::write(&authorized_keys, user_key_pub).expect("write authorized_keys");
        let user = current_user();

        let config = root.join("sshd_config");
        let log = root.join("sshd.log");
        let mut failures = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            fs::write(
                &config,
                sshd_config(port, &root, &host_key, &authorized_keys),
            )
            .expect("write sshd_config");
            let mut child = spawn_sshd(&config, &log);
            match wait_listening(&mut child, port, &log) {
                Ok(()) => {
                    let known_hosts = root.join("known_hosts");
                    fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_key_pub}\n"))
                        .expect("write known_hosts");
                    return TestSshd {
                        port,
                        user,
                        identity_file,
                        known_hosts,
                        host_key_pub,
                        dir,
                        child,
                    };
                }
                Err(Failure::PortTaken) => {
                    failures.push(format!("port {port}: address in use"));
                    let _ = child.kill();
                    let _ = child.wait();
                }
                Err(Failure::Fatal(why)) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "sshd did not start: {why}\n--- {}:\n{}",
                        log.display(),
                        read_lossy(&log)
                    );
                }
            }
        }
        panic!(
            "sshd could not bind a free port in {PORT_ATTEMPTS} attempts: {}\n--- last log:\n{}",
            failures.join("; "),
            read_lossy(&log)
        );
    }

    /// Client options for a non-interactive login that trusts the pinned host
    /// key: `-p PORT -i KEY -o UserKnownHostsFile=… -o StrictHostKeyChecking=yes
    /// -o BatchMode=yes -o IdentitiesOnly=yes USER@127.0.0.1`. Append `--` and a
    /// command, or nothing for a login shell (use a PTY then).
    pub fn ssh_args(&self) -> Vec<String> {
        self.ssh_args_with(&self.known_hosts, "yes", true)
    }

    /// Like [`ssh_args`](Self::ssh_args) with another known_hosts file, another
    /// `StrictHostKeyChecking` value (`yes`, `ask`, `accept-new`, `no`) and
    /// BatchMode on or off. A host-key prompt test needs
    /// `ssh_args_with(&sshd.empty_known_hosts(), "ask", false)`: `BatchMode=yes`
    /// would suppress the prompt. (ssh keeps the first value it sees for an
    /// option, so options appended after these do not override them.)
    pub fn ssh_args_with(
        &self,
        known_hosts: &Path,
        strict_host_key_checking: &str,
        batch_mode: bool,
    ) -> Vec<String> {
        let mut args = vec![
            "-p".to_string(),
            self.port.to_string(),
            "-i".to_string(),
            self.identity_file.display().to_string(),
            "-o".to_string(),
            format!("UserKnownHostsFile={}", known_hosts.display()),
            "-o".to_string(),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "-o".to_string(),
            format!("StrictHostKeyChecking={strict_host_key_checking}"),
        ];
        if batch_mode {
            args.extend(["-o".to_string(), "BatchMode=yes".to_string()]);
        }
        args.extend([
            "-o".to_string(),
            "IdentitiesOnly=yes".to_string(),
            self.destination(),
        ]);
        args
    }

    /// `USER@127.0.0.1`.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1", self.user)
    }

    /// A fresh empty known_hosts file (for host-key prompt tests with
    /// `StrictHostKeyChecking=ask`). Each call truncates the same file.
    pub fn empty_known_hosts(&self) -> PathBuf {
        let path = self.dir.path().join("known_hosts.empty");
        fs::write(&path, "").expect("write empty known_hosts");
        path
    }

    /// The host key's fingerprint as ssh prints it in the host-key prompt,
    /// `SHA256:…`.
    pub fn host_key_fingerprint(&self) -> String {
        let output = Command::new("ssh-keygen")
            .arg("-l")
            .arg("-E")
            .arg("sha256")
            .arg("-f")
            .arg(self.dir.path().join("ssh_host_ed25519_key.pub"))
            .output()
            .expect("run ssh-keygen -l");
        assert!(output.status.success(), "ssh-keygen -l failed: {output:?}");
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint in ssh-keygen -l output")
            .to_string()
    }

    /// sshd's log so far (`-e`, LogLevel VERBOSE): attach it to assertion
    /// messages.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("sshd.log"))
    }

    /// The temp dir holding keys, config, log and pid file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `sshd_config` path (it appears on the listener's command line).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("sshd_config")
    }

    /// The listening sshd's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Process ids of everything the listener forked, transitively
    /// (connection handlers, session processes, login shells).
    pub fn descendants(&self) -> Vec<u32> {
        let mut all = Vec::new();
        let mut frontier = vec![self.child.id()];
        while !frontier.is_empty() {
            frontier = children_of(&frontier);
            all.extend(&frontier);
        }
        all
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        // Connection handlers call setsid(), so a process-group kill misses
        // them, and once the listener is gone they are re-parented away from
        // it. So: freeze the listener (no new forks), then freeze its
        // descendants level by level (each frozen process's children list is
        // final), then kill them all.
        let pid = self.child.id();
        let mut all = vec![pid];
        signal("STOP", &[pid]);
        wait_stopped(&[pid]);
        let mut frontier = vec![pid];
        loop {
            let children = children_of(&frontier);
            if children.is_empty() {
                break;
            }
            signal("STOP", &children);
            wait_stopped(&children);
            all.extend(&children);
            frontier = children;
        }
        signal("KILL", &all);
        let _ = self.child.kill();
        let _ = self.child.wait();
        wait_dead(&all[1..]);
    }
}

enum Failure {
    /// sshd exited because the port was taken in the meantime: try another.
    PortTaken,
    Fatal(String),
}

fn sshd_config(port: u16, root: &Path, host_key: &Path, authorized_keys: &Path) -> String {
    format!(
        "# termbridge test sshd (tests/common/sshd.rs)\n\
         Port {port}\n\
         ListenAddress 127.0.0.1\n\
         AddressFamily inet\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {authorized_keys}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         LogLevel VERBOSE\n\
         UseDNS no\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         Subsystem sftp internal-sftp\n",
        host_key = host_key.display(),
        pid = root.join("sshd.pid").display(),
        authorized_keys = authorized_keys.display(),
    )
}

fn spawn_sshd(config: &Path, log: &Path) -> Child {
    let log_file = fs::File::create(log).expect("create sshd log");
    Command::new(SSHD)
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("clone log handle"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {SSHD}: {e}"))
}

/// Waits for sshd's own "Server listening on 127.0.0.1 port PORT." and a
/// successful connect. The log line, not the connect alone, proves that *this*
/// sshd holds the port (another one may have won it in the meantime).
fn wait_listening(child: &mut Child, port: u16, log: &Path) -> Result<(), Failure> {
    let listening = format!("Server listening on 127.0.0.1 port {port}.");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let text = read_lossy(log);
        if text.contains(&listening) {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .map_err(|e| Failure::Fatal(format!("logged listening but connect failed: {e}")))?;
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("set read timeout");
            let mut banner = [0u8; 8];
            stream
                .read_exact(&mut banner)
                .map_err(|e| Failure::Fatal(format!("no SSH banner on port {port}: {e}")))?;
            if &banner != b"SSH-2.0-" {
                return Err(Failure::Fatal(format!(
                    "unexpected banner on port {port}: {:?}",
                    String::from_utf8_lossy(&banner)
                )));
            }
            return Ok(());
        }
        if let Some(status) = child.try_wait().expect("poll sshd") {
            let text = read_lossy(log);
            if text.contains("Address already in use") || text.contains("Cannot bind any address") {
                return Err(Failure::PortTaken);
            }
            return Err(Failure::Fatal(format!("sshd exited with {status}")));
        }
        if Instant::now() >= deadline {
            return Err(Failure::Fatal(format!(
                "not listening on 127.0.0.1:{port} after {START_DEADLINE:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ensure_privsep_dir() {
    let dir = Path::new(PRIVSEP_DIR);
    if !dir.is_dir() {
        fs::create_dir_all(dir).unwrap_or_else(|e| {
            panic!("create {PRIVSEP_DIR} (sshd's privilege separation dir; needs root): {e}")
        });
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod 0755 {PRIVSEP_DIR}: {e}"));
    }
}

fn keygen(path: &Path, comment: &str) {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run ssh-keygen (install openssh-client): {e}"));
    assert!(
        output.status.success(),
        "ssh-keygen -f {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn current_user() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    assert!(output.status.success(), "id -un failed: {output:?}");
    String::from_utf8(output.stdout)
        .expect("user name is UTF-8")
        .trim()
        .to_string()
}

/// A port that was free a moment ago (bound to 127.0.0.1:0, then released).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// `type base64` of a public key line, without its comment.
fn strip_comment(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("<cannot read {}: {e}>", path.display()))
}

/// `kill -SIG pid…` (std can only SIGKILL its own children).
fn signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .args(pids.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Fields of `/proc/PID/stat` after the command name: state, ppid, ….
fn proc_stat(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Live processes whose parent is one of `parents`.
fn children_of(parents: &[u32]) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            proc_stat(pid).is_some_and(|f| {
                f.len() > 1
                    && f[0] != "Z"
                    && f[1]
                        .parse::<u32>()
                        .is_ok_and(|ppid| parents.contains(&ppid))
            })
        })
        .collect()
}

/// Waits (bounded) until each process is stopped, a zombie or gone, so that
/// it can no longer fork.
fn wait_stopped(pids: &[u32]) {
    wait_state(pids, &["T", "t", "Z", "X"], Duration::from_secs(2));
}

/// Waits (bounded) until each process has died (a zombie or gone): a signal
/// is delivered asynchronously, and these are not our children to wait for.
fn wait_dead(pids: &[u32]) {
    wait_state(pids, &["Z", "X"], Duration::from_secs(5));
}

fn wait_state(pids: &[u32], states: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let settled = pids.iter().all(|&pid| match proc_stat(pid) {
            None => true,
            Some(f) => f
                .first()
                .is_some_and(|state| states.contains(&state.as_str())),
        });
        if settled {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
