//! A `termbridge` child process spoken to line by line: stdin written by
//! the test, stdout and stderr read on threads into channels, so a test
//! waits for a line (bounded) instead of sleeping.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest wait for one line before the test fails.
pub const LINE_WAIT: Duration = Duration::from_secs(60);

/// A running child with line channels.
pub struct LineChild {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stderr line read so far.
    pub stderr_seen: Vec<String>,
}

impl LineChild {
    /// Starts `termbridge ARGS` with `env`.
    pub fn termbridge(args: &[&str], env: &[(&str, &str)]) -> LineChild {
        let mut command = Command::new(env!("CARGO_BIN_EXE_termbridge"));
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        Self::spawn(command)
    }

    /// Starts `command` with piped stdio.
    pub fn spawn(mut command: Command) -> LineChild {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        LineChild {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    /// Writes one line (a newline is added).
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Writes one JSON message as a line.
    pub fn send(&mut self, message: &Value) {
        self.send_line(&message.to_string());
    }

    /// Closes stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next stdout line; panics after [`LINE_WAIT`].
    pub fn next_line(&mut self) -> String {
        match self.stdout.recv_timeout(LINE_WAIT) {
            Ok(line) => line,
            Err(e) => {
                self.drain_stderr();
                panic!(
                    "no stdout line ({e:?}); stderr so far:\n{}",
                    self.stderr_seen.join("\n")
                )
            }
        }
    }

    /// The next stdout line parsed as JSON (every line must be JSON).
    pub fn next_json(&mut self) -> Value {
        let line = self.next_line();
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"))
    }

    /// Reads stdout messages until the response with `id`; returns the
    /// messages before it and the response.
    pub fn until_response(&mut self, id: &Value) -> (Vec<Value>, Value) {
        let mut before = Vec::new();
        loop {
            let message = self.next_json();
            if message.get("id") == Some(id)
                && (message.get("result").is_some() || message.get("error").is_some())
            {
                return (before, message);
            }
            before.push(message);
        }
    }

    /// Sends a request and returns its response (skipping other messages).
    pub fn request(&mut self, id: Value, method: &str, params: Value) -> Value {
        self.send(
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        self.until_response(&id).1
    }

    /// Waits for a stderr line containing `needle`; returns it.
    pub fn wait_stderr(&mut self, needle: &str) -> String {
        if let Some(line) = self.stderr_seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + LINE_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "no stderr line containing {needle:?}; stderr:\n{}",
                    self.stderr_seen.join("\n")
                ),
            }
        }
    }

    /// Everything on stderr until now (non-blocking).
    pub fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
    }

    /// Waits (bounded) for the child to exit; panics if it does not.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + LINE_WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            // The stdout channel closes when the child ends: wait on it.
            match self.stdout.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => panic!("unexpected stdout line while waiting for exit: {line}"),
                Err(RecvTimeoutError::Disconnected) => {
                    return self.child.wait().unwrap();
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(RecvTimeoutError::Timeout) => panic!("the child did not exit"),
            }
        }
    }
}

impl Drop for LineChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
