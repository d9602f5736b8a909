//! Proves the test sshd of `tests/common/sshd.rs` works: logins with the
//! pinned host key, exit codes, host-key refusal, several servers at once, and
//! a drop that leaves nothing behind.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::sshd::TestSshd;

/// Bound on any one ssh client run.
const SSH_DEADLINE: Duration = Duration::from_secs(30);

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn ssh(args: &[String], command: &[&str]) -> Child {
    Command::new("ssh")
        .args(args)
        .arg("--")
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ssh (install openssh-client)")
}

/// Waits for `child` (killing it past `deadline`) and collects its output.
fn finish(mut child: Child, deadline: Duration) -> Run {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ssh still running after {deadline:?}; stderr: {}",
                err_reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn run(args: &[String], command: &[&str]) -> Run {
    finish(ssh(args, command), SSH_DEADLINE)
}

fn connects(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(2),
    )
    .is_ok()
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmdline.contains(needle).then_some((pid, cmdline))
        })
        .collect()
}

/// Field 22 of `/proc/PID/stat` (start time): tells a process from a later
/// one that reuses its pid. `None` once it is gone or a zombie.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19).map(|s| s.to_string())
}

#[test]
fn runs_a_command_and_prints_its_output() {
    let sshd = TestSshd::start();
    let r = run(&sshd.ssh_args(), &["echo", "ok"]);
    assert!(
        r.status.success() && r.stdout == "ok\n",
        "status {:?}, stdout {:?}, stderr {:?}\n--- sshd log:\n{}",
        r.status,
        r.stdout,
        r.stderr,
        sshd.log()
    );
    assert!(
        sshd.log().contains("Accepted publickey for"),
        "{}",
        sshd.log()
    );
}

#[test]
fn passes_the_remote_exit_code() {
    let sshd = TestSshd::start();
    let r = run(&sshd.ssh_args(), &["exit", "7"]);
    assert_eq!(
        r.status.code(),
        Some(7),
        "stderr {:?}\n--- sshd log:\n{}",
        r.stderr,
        sshd.log()
    );
}

#[test]
fn unknown_host_key_is_refused_in_strict_mode() {
    let sshd = TestSshd::start();
    let empty = sshd.empty_known_hosts();
    assert_eq!(std::fs::read(&empty).unwrap().len(), 0);
    let r = run(&sshd.ssh_args_with(&empty, "yes", true), &["echo", "ok"]);
    assert_eq!(r.status.code(), Some(255), "stderr {:?}", r.stderr);
    assert!(r.stdout.is_empty(), "stdout {:?}", r.stdout);
    assert!(
        r.stderr.contains("Host key verification failed"),
        "stderr {:?}",
        r.stderr
    );
    // Nothing was learnt.
    assert_eq!(std::fs::read(&empty).unwrap().len(), 0);
}

#[test]
fn known_hosts_and_fingerprint_match_the_served_key() {
    let sshd = TestSshd::start();
    let known = std::fs::read_to_string(&sshd.known_hosts).unwrap();
    assert_eq!(
        known,
        format!("[127.0.0.1]:{} {}\n", sshd.port, sshd.host_key_pub)
    );
    assert!(sshd.host_key_pub.starts_with("ssh-ed25519 AAAA"));

    // accept-new on an empty file: ssh learns the key the server presents,
    // and -v names its fingerprint.
    let learnt = sshd.empty_known_hosts();
    let mut args = vec!["-v".to_string()];
    args.extend(sshd.ssh_args_with(&learnt, "accept-new", true));
    let r = run(&args, &["true"]);
    assert!(r.status.success(), "stderr {:?}", r.stderr);
    let fingerprint = sshd.host_key_fingerprint();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    assert!(
        r.stderr
            .contains(&format!("Server host key: ssh-ed25519 {fingerprint}")),
        "fingerprint {fingerprint} not in: {}",
        r.stderr
    );
    let learnt = std::fs::read_to_string(&learnt).unwrap();
    assert!(
        learnt.contains(&sshd.host_key_pub),
        "learnt {learnt:?}, served {:?}",
        sshd.host_key_pub
    );
}

#[test]
fn two_servers_run_at_once_on_different_ports() {
    let a = TestSshd::start();
    let b = TestSshd::start();
    assert_ne!(a.port, b.port);
    assert_ne!(a.host_key_pub, b.host_key_pub);
    let ra = ssh(&a.ssh_args(), &["echo", "a"]);
    let rb = ssh(&b.ssh_args(), &["echo", "b"]);
    let (ra, rb) = (finish(ra, SSH_DEADLINE), finish(rb, SSH_DEADLINE));
    assert_eq!(
        (ra.stdout.as_str(), rb.stdout.as_str()),
        ("a\n", "b\n"),
        "stderr a {:?}, b {:?}",
        ra.stderr,
        rb.stderr
    );
    // Each server's key is pinned to its own port: b with a's known_hosts
    // fails verification.
    let cross = b.ssh_args_with(&a.known_hosts, "yes", true);
    let r = run(&cross, &["true"]);
    assert_eq!(r.status.code(), Some(255), "stderr {:?}", r.stderr);
}

#[test]
fn drop_stops_the_server_and_everything_it_started() {
    let sshd = TestSshd::start();
    let port = sshd.port;
    let config = sshd.config_path().display().to_string();
    let dir = sshd.dir().to_path_buf();
    assert!(
        !processes_mentioning(&config).is_empty(),
        "the listener's command line names its config"
    );

    // Keep a session open across the drop.
    let mut client = ssh(&sshd.ssh_args(), &["echo ready; exec sleep 300"]);
    let mut line = String::new();
    BufReader::new(client.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n", "--- sshd log:\n{}", sshd.log());
    let descendants = sshd.descendants();
    let started: Vec<(u32, String)> = descendants
        .iter()
        .filter_map(|&pid| Some((pid, start_time(pid)?)))
        .collect();
    // Connection handler (+ privsep child) and the `sleep` at least.
    assert!(
        started.len() >= 2,
        "descendants {descendants:?}\n--- sshd log:\n{}",
        sshd.log()
    );

    drop(sshd);

    assert!(!connects(port), "port {port} still accepts connections");
    let left = processes_mentioning(&config);
    assert!(left.is_empty(), "sshd processes left: {left:?}");
    let alive: Vec<_> = started
        .iter()
        .filter(|(pid, t)| start_time(*pid).as_ref() == Some(t))
        .collect();
    assert!(alive.is_empty(), "session processes left: {alive:?}");
    assert!(!Path::new(&dir).exists(), "temp dir {dir:?} left behind");
    // The client notices the dead connection.
    let r = finish(client, SSH_DEADLINE);
    assert!(!r.status.success(), "stderr {:?}", r.stderr);
}
