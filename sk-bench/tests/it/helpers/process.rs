//! One service binary running as a real process, as a deployment runs it: its own port on
//! 127.0.0.1 (kept across restarts, so its peers find it again), JSON logs (stdout and
//! stderr) appended to a file of its own, and every `SK_…` setting checked against the
//! service's `defaults.toml`. The process is killed when the value is dropped.
//!
//! Start, readiness, SIGTERM, SIGKILL and restart are separate steps, so a fault test can
//! kill a service mid-traffic and bring it back.

use std::fs::OpenOptions;
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rustix::process::{Pid, Signal, kill_process};
use sk_common::testing::{DEADLINE, Vars, env_vars_of};

/// How often a wait polls.
const POLL: Duration = Duration::from_millis(20);
/// Log lines shown when a process fails a test.
const LOG_TAIL_LINES: usize = 40;

/// The five services: their binaries and their documented settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Gateway,
    SkApp,
    SkCore,
    SkAdmin,
    OrderConsumer,
}

impl Service {
    /// Every service, in the order a platform starts them (sk-admin migrates first).
    pub const ALL: [Self; 5] = [
        Self::SkAdmin,
        Self::SkCore,
        Self::OrderConsumer,
        Self::SkApp,
        Self::Gateway,
    ];

    /// The binary's (and package's) name, as `METRICS.md` names the service.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::SkApp => "sk-app",
            Self::SkCore => "sk-core",
            Self::SkAdmin => "sk-admin",
            Self::OrderConsumer => "order-consumer",
        }
    }

    /// The service's `defaults.toml`, which documents every setting it reads.
    const fn defaults(self) -> &'static str {
        match self {
            Self::Gateway => include_str!("../../../../gateway/defaults.toml"),
            Self::SkApp => include_str!("../../../../sk-app/defaults.toml"),
            Self::SkCore => include_str!("../../../../sk-core/defaults.toml"),
            Self::SkAdmin => include_str!("../../../../sk-admin/defaults.toml"),
            Self::OrderConsumer => include_str!("../../../../order-consumer/defaults.toml"),
        }
    }

    /// The workspace binary: built next to sk-bench's own by `cargo build --workspace` or
    /// `cargo nextest run --workspace`.
    ///
    /// # Panics
    /// When it has not been built.
    pub fn binary(self) -> PathBuf {
        let dir = Path::new(env!("CARGO_BIN_EXE_sk-bench"))
            .parent()
            .expect("sk-bench's binary lives in a directory");
        let binary = dir.join(self.name());
        assert!(
            binary.is_file(),
            "{} is missing: these tests run the real binaries; build them with \
             `cargo build --workspace` (or run `cargo nextest run --workspace`)",
            binary.display()
        );
        binary
    }
}

/// Ports handed to service processes: below Linux's ephemeral range (32768–60999), which the
/// in-process servers of parallel tests (bound to port 0) and every outgoing connection draw
/// from. A port found free there and released for the child to bind was once taken by such a
/// server in between ("Address already in use"); below the range only another cluster's pick,
/// at random among 12,000, could take it.
const SERVICE_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A port on 127.0.0.1 that is free now, from [`SERVICE_PORTS`].
pub fn free_local_addr() -> SocketAddr {
    let span = u64::from(SERVICE_PORTS.end - SERVICE_PORTS.start);
    for _ in 0..1_000 {
        let random = RandomState::new().build_hasher().finish();
        let offset = u16::try_from(random % span).expect("below the range's width");
        let addr = SocketAddr::from(([127, 0, 0, 1], SERVICE_PORTS.start + offset));
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free port in {SERVICE_PORTS:?} on 127.0.0.1")
}

/// A service binary running as a process of the test's.
#[derive(Debug)]
pub struct ServiceProcess {
    service: Service,
    addr: SocketAddr,
    vars: Vars,
    log: PathBuf,
    child: Option<Child>,
    http: reqwest::Client,
}

impl ServiceProcess {
    /// Starts `service` listening on `addr` with `vars` (each must be a setting of its
    /// `defaults.toml`), logging JSON to `log_dir/<service>.log`. Does not wait: see
    /// [`Self::wait_ready`].
    ///
    /// # Panics
    /// When a variable is not one of the service's settings, or the binary cannot start.
    pub fn start(service: Service, addr: SocketAddr, vars: Vars, log_dir: &Path) -> Self {
        check_documented(service, &vars);
        let mut process = Self {
            service,
            addr,
            vars,
            log: log_dir.join(format!("{}.log", service.name())),
            child: None,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(DEADLINE)
                .build()
                .expect("an HTTP client"),
        };
        process.spawn();
        process
    }

    /// Which service this is.
    #[allow(dead_code, reason = "for the fault tests")]
    pub fn service(&self) -> Service {
        self.service
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The file its stdout and stderr go to (appended across restarts).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Waits until `/readyz` answers 200.
    ///
    /// # Panics
    /// After [`DEADLINE`], or at once when the process exits, with the tail of its log.
    pub async fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if !self.is_running() {
                panic!(
                    "{} exited before it was ready; its log ({}):\n{}",
                    self.service.name(),
                    self.log.display(),
                    self.log_tail()
                );
            }
            let answer = self.http.get(self.url("/readyz")).send().await;
            if answer.is_ok_and(|a| a.status() == StatusCode::OK) {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{} not ready within {DEADLINE:?}; its log ({}):\n{}",
                self.service.name(),
                self.log.display(),
                self.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// `GET path` as text.
    ///
    /// # Panics
    /// When the call fails or does not answer 200.
    pub async fn get_text(&self, path: &str) -> String {
        let answer = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.service.name()));
        assert_eq!(answer.status(), StatusCode::OK, "GET {path}");
        answer.text().await.expect("a text body")
    }

    /// Sends SIGTERM and waits (bounded) for a graceful exit; the exit status (also when it
    /// had already exited).
    ///
    /// # Panics
    /// When it was never started or does not exit within [`DEADLINE`].
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal(Signal::TERM);
        self.wait_exit().await
    }

    /// Sends SIGKILL (no chance to clean up) and reaps it; the exit status.
    ///
    /// # Panics
    /// When it was never started.
    pub async fn kill(&mut self) -> ExitStatus {
        self.signal(Signal::KILL);
        self.wait_exit().await
    }

    /// Starts it again with the same port, settings and log file (after a stop or kill).
    ///
    /// # Panics
    /// When it is still running.
    pub fn restart(&mut self) {
        assert!(
            !self.is_running(),
            "{} is still running: stop or kill it first",
            self.service.name()
        );
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log.display()));
        let stderr = log.try_clone().expect("a second handle on the log");
        let mut command = Command::new(self.service.binary());
        // Only the settings given here: none the test runner's environment happens to carry.
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("SK_")) {
            command.env_remove(name);
        }
        let child = command
            .env("SK_HTTP__LISTEN", self.addr.to_string())
            .env("SK_LOG__FORMAT", "json")
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.service.name()));
        self.child = Some(child);
    }

    /// Signals the process if it still runs (one that exited is reaped: its id may be
    /// another's by now).
    fn signal(&mut self, signal: Signal) {
        if !self.is_running() {
            return;
        }
        let pid = self
            .pid()
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(Pid::from_raw)
            .expect("a running child has a valid pid");
        kill_process(pid, signal).expect("the child can be signalled");
    }

    async fn wait_exit(&mut self) -> ExitStatus {
        let name = self.service.name();
        let child = self
            .child
            .as_mut()
            .unwrap_or_else(|| panic!("{name} was never started"));
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("the child's status") {
                return status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{name} did not exit within {DEADLINE:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Panics unless every variable is one of `service`'s documented settings (a misspelt one
/// would be ignored and the test would run on a default).
fn check_documented(service: Service, vars: &Vars) {
    let documented = env_vars_of(service.defaults());
    let unknown: Vec<&str> = vars
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !documented.iter().any(|d| d == name))
        .collect();
    assert!(
        unknown.is_empty(),
        "{} has no settings {unknown:?} (see its defaults.toml)",
        service.name()
    );
}

/// A directory of the test's own for its processes' logs, under Cargo's target directory.
pub fn log_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(sk_common::testing::unique(test));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
