//! A long-running child process a test supervises: started from a fixed command line, its
//! stdout and stderr appended to a log file of its own, signalled (SIGTERM, SIGKILL), reaped,
//! started again with the same command line, and killed when dropped. Service binaries and
//! the stores a fault test owns (Redis, MariaDB, the broker) are both run this way.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use sk_common::testing::DEADLINE;

/// How often a wait polls.
pub const POLL: Duration = Duration::from_millis(20);
/// Log lines shown when a process fails a test.
const LOG_TAIL_LINES: usize = 40;

/// What to run: program, arguments, environment and working directory.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Variables set on top of the test runner's environment.
    pub envs: Vec<(String, String)>,
    /// Variables of the test runner's environment removed first, by prefix.
    pub drop_env_prefix: Option<&'static str>,
    pub current_dir: Option<PathBuf>,
}

impl Launch {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
            drop_env_prefix: None,
            current_dir: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.push((name.into(), value.into()));
        self
    }
}

/// A supervised child process.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    launch: Launch,
    log: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `launch`, appending its output to `log`. Does not wait for anything.
    ///
    /// # Panics
    /// When the program cannot start.
    pub fn start(name: &str, launch: Launch, log: PathBuf) -> Self {
        let mut daemon = Self {
            name: name.to_owned(),
            launch,
            log,
            child: None,
        };
        daemon.spawn();
        daemon
    }

    /// The name it is shown by.
    pub fn name(&self) -> &str {
        &self.name
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

    /// Panics with the tail of its log unless it still runs (for readiness loops).
    pub fn assert_running(&mut self, waiting_for: &str) {
        if !self.is_running() {
            panic!(
                "{} exited before {waiting_for}; its log ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_tail()
            );
        }
    }

    /// Polls `ready` until it answers `true`, for at most `patience`.
    ///
    /// # Panics
    /// After `patience`, or at once when the process exits, with the tail of its log.
    pub async fn wait_until_ready<F, Fut>(&mut self, patience: Duration, ready: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        loop {
            self.assert_running("it was ready");
            if ready().await {
                return;
            }
            assert!(
                started.elapsed() < patience,
                "{} not ready within {patience:?}; its log ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_tail()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends SIGTERM and waits (bounded) for it to exit; the exit status.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal(Signal::TERM);
        self.wait_exit().await
    }

    /// Sends SIGKILL (no chance to clean up) and reaps it; the exit status.
    pub async fn kill(&mut self) -> ExitStatus {
        self.signal(Signal::KILL);
        self.wait_exit().await
    }

    /// Starts it again with the same command line and log (after a stop or kill).
    ///
    /// # Panics
    /// When it is still running.
    pub fn restart(&mut self) {
        assert!(
            !self.is_running(),
            "{} is still running: stop or kill it first",
            self.name
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
        let launch = &self.launch;
        let mut command = Command::new(&launch.program);
        if let Some(prefix) = launch.drop_env_prefix {
            for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with(prefix)) {
                command.env_remove(name);
            }
        }
        if let Some(dir) = &launch.current_dir {
            command.current_dir(dir);
        }
        let child = command
            .args(&launch.args)
            .envs(launch.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({}): {e}",
                    self.name,
                    launch.program.display()
                )
            });
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
        let name = &self.name;
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

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first of `names` found on `PATH`, in `~/.cargo/bin` (where cargo installs the broker)
/// or in `/usr/sbin` and `/sbin` (where Debian puts database servers).
///
/// # Panics
/// When none is found: the stores come from `scripts/stack up`, which the test command runs.
pub fn find_program(names: &[&str]) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "none of {names:?} is installed; `scripts/stack up` (run by scripts/test) installs it"
            )
        })
}
