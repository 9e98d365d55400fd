//! Where the CPU went during a measurement, from Linux's `/proc`: cores used by each watched
//! process (sk-core, Redis, the broker, …), by sk-bench itself, by everything else, and idle.
//! On a 2-core box with everything co-located this says which process is the limit better
//! than any throughput figure. Elsewhere (no `/proc`) the figures are simply absent.

use std::fmt;
use std::time::Instant;

use serde_json::{Map, Value};

/// `/proc` counts CPU time in USER_HZ ticks, which Linux fixes at 100 per second for userspace.
const TICKS_PER_SEC: f64 = 100.0;

/// A process to account for, as `name=pid`.
#[derive(Debug, Clone)]
pub struct Watched {
    name: String,
    pid: u32,
}

/// Parses `name=pid` (for clap).
///
/// # Errors
/// When the text is not `name=pid` with a numeric pid.
pub fn parse_watched(text: &str) -> Result<Watched, String> {
    let (name, pid) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not name=pid"))?;
    let pid = pid
        .parse()
        .map_err(|_| format!("{pid:?} is not a process id"))?;
    Ok(Watched {
        name: name.to_owned(),
        pid,
    })
}

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    /// Busy and idle ticks of the whole machine.
    machine: (u64, u64),
    own: u64,
    watched: Vec<(String, Option<u64>)>,
}

impl Snapshot {
    /// Reads the counters now; `None` without a readable `/proc/stat`.
    #[must_use]
    pub fn take(watched: &[Watched]) -> Option<Self> {
        Some(Self {
            at: Instant::now(),
            machine: machine_ticks()?,
            own: process_ticks("self")?,
            watched: watched
                .iter()
                .map(|w| (w.name.clone(), process_ticks(&w.pid.to_string())))
                .collect(),
        })
    }

    /// Cores used since `earlier`: each watched process, then sk-bench, other, idle.
    #[must_use]
    pub fn cores_since(&self, earlier: &Self) -> CoresUsed {
        let secs = (self.at - earlier.at).as_secs_f64().max(1e-3);
        let cores = |ticks: u64| ticks as f64 / TICKS_PER_SEC / secs;
        let own = self.own.saturating_sub(earlier.own);
        let mut accounted = own;
        let mut figures = Vec::new();
        for ((name, now), (_, then)) in self.watched.iter().zip(&earlier.watched) {
            // A process that exited or was never there has no figure, rather than a wrong one.
            if let (Some(now), Some(then)) = (now, then) {
                let used = now.saturating_sub(*then);
                accounted += used;
                figures.push((name.clone(), cores(used)));
            }
        }
        let busy = self.machine.0.saturating_sub(earlier.machine.0);
        let idle = self.machine.1.saturating_sub(earlier.machine.1);
        figures.push(("sk-bench".to_owned(), cores(own)));
        figures.push(("other".to_owned(), cores(busy.saturating_sub(accounted))));
        figures.push(("idle".to_owned(), cores(idle)));
        CoresUsed(figures)
    }
}

/// Cores used per process over a measurement, by name.
#[derive(Debug, Clone)]
pub struct CoresUsed(Vec<(String, f64)>);

impl CoresUsed {
    /// `{"<name>": cores, …}`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let figures: Map<String, Value> = self
            .0
            .iter()
            .map(|(name, cores)| (name.clone(), Value::from(*cores)))
            .collect();
        Value::Object(figures)
    }
}

impl fmt::Display for CoresUsed {
    /// `sk-core 0.58 · redis 0.40 · …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, cores)) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { " · " };
            write!(f, "{separator}{name} {cores:.2}")?;
        }
        Ok(())
    }
}

/// Busy and idle ticks summed over all cores (first line of `/proc/stat`).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let [user, nice, system, idle, iowait, irq, softirq, steal, ..] = fields[..] else {
        return None;
    };
    Some((user + nice + system + irq + softirq + steal, idle + iowait))
}

/// User plus system ticks of one process (`self` or a pid).
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_watched_processes() {
        let watched = parse_watched("sk-core=1234").unwrap();
        assert_eq!((watched.name.as_str(), watched.pid), ("sk-core", 1234));
        assert!(parse_watched("sk-core").is_err());
        assert!(parse_watched("sk-core=abc").is_err());
    }

    #[test]
    fn reads_this_process() {
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(process_ticks("self").is_some());
            assert!(machine_ticks().is_some());
        }
    }
}
