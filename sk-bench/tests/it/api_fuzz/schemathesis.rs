//! schemathesis as a subprocess: one run's configuration (a `schemathesis.toml` with the token
//! and the real values to mix in), its command line, a deadline, and its JSON report read back.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The same seed generates the same requests.
const SEED: &str = "20261130";
/// A request unanswered this long is a hang (the gateway's own route timeouts are shorter).
const REQUEST_TIMEOUT_SECS: &str = "60";
/// Longest one run may take before it is stopped and the test fails.
const RUN_DEADLINE: Duration = Duration::from_secs(420);
/// Schemathesis's phases: the schema's examples, its boundaries, random requests, and chains of
/// calls that feed one answer into the next request (a purchase's order id and token).
pub const ALL_PHASES: &str = "examples,coverage,fuzzing,stateful";

/// One schemathesis run.
#[derive(Debug)]
pub struct Run {
    pub name: &'static str,
    /// The OpenAPI document, as the gateway serves it.
    pub document: &'static str,
    /// The bearer token of the operations that declare one (none: they get none).
    pub bearer: Option<String>,
    pub max_examples: u32,
    /// Schemathesis's phases to run.
    pub phases: &'static str,
    /// Real values mixed into its parameters.
    pub real_values: Vec<RealValues>,
    /// More schemathesis settings (TOML).
    pub extra: &'static str,
}

/// Real values the generator uses for half of one parameter's values.
#[derive(Debug, Clone)]
pub struct RealValues {
    /// The path of the one operation they are for; `None`: every operation.
    operation: Option<&'static str>,
    /// `path.order_id`, `body.token`, …
    parameter: &'static str,
    values: Vec<String>,
}

impl RealValues {
    pub fn new(parameter: &'static str, values: Vec<String>) -> Self {
        Self {
            operation: None,
            parameter,
            values,
        }
    }

    pub fn only_for(self, operation: &'static str) -> Self {
        Self {
            operation: Some(operation),
            ..self
        }
    }
}

/// What one run reported.
#[derive(Debug)]
pub struct Outcome {
    pub test_cases: u64,
    pub took: Duration,
    pub version: String,
}

/// The schemathesis executable: `SK_TEST_SCHEMATHESIS`, else where `scripts/api-fuzz-tools`
/// installs it.
pub fn fuzzer() -> PathBuf {
    let installed = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .map(|cache| cache.join("sk-api-fuzz/bin/schemathesis"));
    let path = std::env::var_os("SK_TEST_SCHEMATHESIS")
        .map(PathBuf::from)
        .or(installed);
    match path {
        Some(path) if path.is_file() => path,
        _ => panic!(
            "schemathesis is missing ({path:?}): run the tests with scripts/test, which installs \
             it (scripts/api-fuzz-tools) and names it in SK_TEST_SCHEMATHESIS"
        ),
    }
}

/// Runs `run` against the gateway at `gateway`, its files in `dir`; panics with its findings
/// unless it passed.
pub async fn fuzz(fuzzer: &Path, run: &Run, gateway: &str, dir: &Path) -> Outcome {
    let config = dir.join(format!("{}.toml", run.name));
    std::fs::write(&config, run.config()).unwrap();
    let report = dir.join(format!("{}.json", run.name));
    let output = dir.join(format!("{}.log", run.name));
    let mut command = Command::new(fuzzer);
    command
        .arg("--config-file")
        .arg(&config)
        .args([
            "run",
            &format!("{gateway}{}", run.document),
            "--url",
            gateway,
        ])
        .args(["--checks", "not_a_server_error", "--seed", SEED])
        .args(["--max-examples", &run.max_examples.to_string()])
        .args(["--phases", run.phases])
        .args(["--request-timeout", REQUEST_TIMEOUT_SECS])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--report", "json", "--report-json-path"])
        .arg(&report)
        // Whatever else it writes stays in `dir`, out of the repository.
        .current_dir(dir);
    let shown = format!("{command:?}");
    let started = Instant::now();
    let status = run_bounded(command, &output).await;
    let took = started.elapsed();
    let report: Value = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let clean = report["failures"].as_array().is_some_and(Vec::is_empty)
        && report["errors"].as_array().is_some_and(Vec::is_empty);
    assert!(
        status.success() && clean,
        "schemathesis run `{}` ({status}) found server errors or could not finish:\n{}\n\
         failures: {}\nerrors: {}\ncommand: {shown}\noutput: {}",
        run.name,
        findings(&output),
        report["failures"],
        report["errors"],
        output.display()
    );
    Outcome {
        test_cases: report["test_cases"]["generated"].as_u64().unwrap_or(0),
        took,
        version: report["schemathesis_version"]
            .as_str()
            .unwrap_or("?")
            .to_owned(),
    }
}

impl Run {
    /// The run's schemathesis.toml: the token, and the real values, each parameter's in a
    /// dictionary of its own that the generator draws from half the time.
    fn config(&self) -> String {
        let mut toml = String::new();
        if let Some(token) = &self.bearer {
            writeln!(toml, "[auth.openapi.bearerAuth]\nbearer = \"{token}\"\n").unwrap();
        }
        for (i, real) in self.real_values.iter().enumerate() {
            writeln!(
                toml,
                "[dictionaries.real{i}]\nvalues = {}\n",
                json!(real.values)
            )
            .unwrap();
        }
        let bindings = |operation: Option<&str>| {
            let mut lines = String::new();
            for (i, real) in self.real_values.iter().enumerate() {
                if real.operation == operation {
                    let parameter = real.parameter;
                    let binding = format!("{{ dictionary = \"real{i}\", probability = 0.5 }}");
                    writeln!(lines, "\"{parameter}\" = {binding}").unwrap();
                }
            }
            lines
        };
        writeln!(toml, "[parameters]\n{}", bindings(None)).unwrap();
        let mut operations: Vec<&str> = self
            .real_values
            .iter()
            .filter_map(|r| r.operation)
            .collect();
        operations.sort_unstable();
        operations.dedup();
        for operation in operations {
            writeln!(
                toml,
                "[[operations]]\ninclude-path = \"{operation}\"\n[operations.parameters]\n{}",
                bindings(Some(operation))
            )
            .unwrap();
        }
        toml + self.extra
    }
}

/// Runs `command` to its end, its output into `output`; kills it after [`RUN_DEADLINE`].
async fn run_bounded(mut command: Command, output: &Path) -> ExitStatus {
    let log = std::fs::File::create(output).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "schemathesis did not finish within {RUN_DEADLINE:?}:\n{}",
                findings(output)
            );
        }
        // The platform serves the fuzzer on this runtime meanwhile.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The end of a run's output: its failures and summary (bounded).
fn findings(output: &Path) -> String {
    let text = std::fs::read_to_string(output).unwrap_or_default();
    let from = text
        .find("FAILURES")
        .or_else(|| text.find("ERRORS"))
        .unwrap_or(0)
        .max(text.len().saturating_sub(12_000));
    text[text.ceil_char_boundary(from)..].to_owned()
}
