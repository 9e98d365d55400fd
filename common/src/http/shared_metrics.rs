//! The metrics every service exposes (the `all` rows of `METRICS.md`): request counts and
//! latencies, recorded by the `observe` middleware, and the process's own figures (memory,
//! CPU, file descriptors, threads), collected on every scrape of `/metrics`.

use metrics::{describe_counter, describe_gauge, describe_histogram};
use metrics_process::Collector;

/// Counter: requests served, by `method`, `route` (template) and `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Histogram: time to answer a request, by `method` and `route`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";

/// The process metrics and their help texts; the names are `metrics-process`'s defaults.
const PROCESS_GAUGES: &[(&str, &str)] = &[
    (
        "process_resident_memory_bytes",
        "Resident memory of the process",
    ),
    (
        "process_virtual_memory_bytes",
        "Virtual memory of the process",
    ),
    (
        "process_virtual_memory_max_bytes",
        "Address-space limit of the process (0 = unlimited)",
    ),
    (
        "process_open_fds",
        "File descriptors the process holds open",
    ),
    (
        "process_max_fds",
        "File-descriptor limit of the process (0 = unlimited)",
    ),
    (
        "process_start_time_seconds",
        "Start time of the process, seconds since the Unix epoch",
    ),
    ("process_threads", "Threads of the process"),
];
const PROCESS_CPU: &str = "process_cpu_seconds_total";

/// Gives the shared metrics their help texts. The recorder keeps the first description of a
/// name, so these win over `metrics-process`'s own.
pub(super) fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests served, by method, route template and status code"
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        "Time to answer an HTTP request, by method and route template"
    );
    describe_counter!(
        PROCESS_CPU,
        "CPU time (user + system) used by the process, in whole seconds"
    );
    for (name, help) in PROCESS_GAUGES {
        describe_gauge!(*name, *help);
    }
}

/// Reads the process's figures into their gauges; called on every scrape so they are fresh
/// (and never idle long enough for the recorder to drop them).
#[derive(Debug, Clone, Default)]
pub struct ProcessMetrics(Collector);

impl ProcessMetrics {
    /// Records the current figures.
    pub fn collect(&self) {
        self.0.collect();
    }
}
