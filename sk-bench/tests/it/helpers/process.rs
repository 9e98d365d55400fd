//! One service binary running as a real process, as a deployment runs it: its own port on
//! 127.0.0.1 (kept across restarts, so its peers find it again), JSON logs (stdout and
//! stderr) appended to a file of its own, and every `SK_…` setting checked against the
//! service's `defaults.toml`. The process is killed when the value is dropped.
//!
//! Start, readiness, SIGTERM, SIGKILL and restart are separate steps, so a fault test can
//! kill a service mid-traffic and bring it back.

use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use reqwest::StatusCode;
use sk_common::testing::{DEADLINE, Vars, env_vars_of};

use super::daemon::{Daemon, Launch};

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
    daemon: Daemon,
    http: reqwest::Client,
}

impl ServiceProcess {
    /// Starts `service` listening on `addr` with `vars` (each must be a setting of its
    /// `defaults.toml`), logging JSON to `log_dir/<name>.log`, where `name` tells instances
    /// of one service apart. Does not wait: see [`Self::wait_ready`].
    ///
    /// # Panics
    /// When a variable is not one of the service's settings, or the binary cannot start.
    pub fn start(
        service: Service,
        name: &str,
        addr: SocketAddr,
        vars: Vars,
        log_dir: &Path,
    ) -> Self {
        check_documented(service, &vars);
        let mut launch = Launch::new(service.binary())
            .env("SK_HTTP__LISTEN", addr.to_string())
            .env("SK_LOG__FORMAT", "json");
        // Only the settings given here: none the test runner's environment happens to carry.
        launch.drop_env_prefix = Some("SK_");
        for (name, value) in vars {
            launch = launch.env(name, value);
        }
        Self {
            service,
            addr,
            daemon: Daemon::start(name, launch, log_dir.join(format!("{name}.log"))),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(DEADLINE)
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Which service this is.
    #[allow(dead_code, reason = "for the fault tests")]
    pub fn service(&self) -> Service {
        self.service
    }

    /// The instance's name (`sk-core-2`, or the service's name when it runs once).
    pub fn name(&self) -> &str {
        self.daemon.name()
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
        self.daemon.log_path()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        self.daemon.log_tail()
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.daemon.is_running()
    }

    /// Waits until `/readyz` answers 200.
    ///
    /// # Panics
    /// After [`DEADLINE`], or at once when the process exits, with the tail of its log.
    pub async fn wait_ready(&mut self) {
        self.wait_ready_within(DEADLINE).await;
    }

    /// [`Self::wait_ready`], for at most `patience`.
    pub async fn wait_ready_within(&mut self, patience: Duration) {
        let (http, readyz) = (self.http.clone(), self.url("/readyz"));
        self.daemon
            .wait_until_ready(patience, || async {
                let answer = http.get(&readyz).send().await;
                answer.is_ok_and(|a| a.status() == StatusCode::OK)
            })
            .await;
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
            .unwrap_or_else(|e| panic!("GET {path} on {}: {e}", self.name()));
        assert_eq!(answer.status(), StatusCode::OK, "GET {path}");
        answer.text().await.expect("a text body")
    }

    /// Sends SIGTERM and waits (bounded) for a graceful exit; the exit status (also when it
    /// had already exited).
    ///
    /// # Panics
    /// When it was never started or does not exit within [`DEADLINE`].
    pub async fn stop(&mut self) -> ExitStatus {
        self.daemon.stop().await
    }

    /// Sends SIGKILL (no chance to clean up) and reaps it; the exit status.
    ///
    /// # Panics
    /// When it was never started.
    pub async fn kill(&mut self) -> ExitStatus {
        self.daemon.kill().await
    }

    /// Starts it again with the same port, settings and log file (after a stop or kill).
    ///
    /// # Panics
    /// When it is still running.
    pub fn restart(&mut self) {
        self.daemon.restart();
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
