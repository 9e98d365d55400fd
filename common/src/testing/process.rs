use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::DEADLINE;

/// A service binary running as a real process, told to listen on a free port.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    /// Where it listens (read from its "listening" log line).
    pub addr: SocketAddr,
}

impl ServiceProcess {
    /// Starts `binary` with `vars` (plus JSON logs on port 0) and waits until it listens.
    pub fn start(binary: &str, vars: &[(&str, String)]) -> Self {
        let mut child = Command::new(binary)
            .env("SK_HTTP__LISTEN", "127.0.0.1:0")
            .env("SK_LOG__FORMAT", "json")
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (found, addr) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            // Keep reading to the end so the child never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(addr) = listening_addr(&line) {
                    sent = found.send(addr).is_ok();
                }
            }
        });
        let addr = addr.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("{binary} did not log its listening address in time")
        });
        Self { child, addr }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        wait_with_deadline(&mut self.child)
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `binary` with `vars` to completion (bounded); returns its status and stderr.
pub fn run_to_exit(binary: &str, vars: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut child = Command::new(binary)
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_deadline(&mut child);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    (status, stderr)
}

fn wait_with_deadline(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("process {} did not exit within {DEADLINE:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let event: serde_json::Value = serde_json::from_str(line).ok()?;
    if event.get("message")?.as_str()? != "listening" {
        return None;
    }
    event.get("addr")?.as_str()?.parse().ok()
}
