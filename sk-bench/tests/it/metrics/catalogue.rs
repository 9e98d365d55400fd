//! `METRICS.md`, read as the contract it is: one row per metric with its type, label names,
//! service and meaning.

use std::collections::BTreeSet;

/// The catalogue at the repository root.
const CATALOGUE: &str = include_str!("../../../../METRICS.md");

/// The columns, in order.
const HEADER: [&str; 5] = ["metric", "type", "labels", "service", "meaning"];

/// The services a row may name (`all`: every service).
pub const SERVICES: [&str; 6] = [
    "all",
    "gateway",
    "sk-app",
    "sk-core",
    "sk-admin",
    "order-consumer",
];

/// The metric types a row may name.
const KINDS: [&str; 3] = ["counter", "gauge", "histogram"];

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub kind: String,
    /// Label names only (the value sets in parentheses are documentation).
    pub labels: BTreeSet<String>,
    pub service: String,
    /// As the `# HELP` line must read it (code spans unquoted).
    pub meaning: String,
}

/// Every row of `METRICS.md`.
///
/// # Panics
/// When the catalogue has no table with the expected header, or a row is malformed.
pub fn rows() -> Vec<Row> {
    parse(CATALOGUE).unwrap_or_else(|e| panic!("METRICS.md: {e}"))
}

/// The rows `service` must expose: its own and the `all` ones.
pub fn rows_of(service: &str) -> Vec<Row> {
    rows()
        .into_iter()
        .filter(|row| row.service == service || row.service == "all")
        .collect()
}

/// The rows of the first table whose header is [`HEADER`].
fn parse(markdown: &str) -> Result<Vec<Row>, String> {
    let mut lines = markdown.lines().map(str::trim);
    lines
        .by_ref()
        .find(|line| cells(line).is_some_and(|c| c == HEADER))
        .ok_or("no table with the columns metric | type | labels | service | meaning")?;
    let separator = lines.next().unwrap_or_default();
    if !cells(separator).is_some_and(|c| c.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch)))) {
        return Err(format!(
            "the header is not followed by a separator: {separator}"
        ));
    }
    let mut rows: Vec<Row> = Vec::new();
    for line in lines.take_while(|line| line.starts_with('|')) {
        let row = row(line)?;
        if rows.iter().any(|r| r.name == row.name) {
            return Err(format!("{} has two rows", row.name));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err("the table has no rows".into());
    }
    Ok(rows)
}

fn row(line: &str) -> Result<Row, String> {
    let cells = cells(line).ok_or_else(|| format!("not a table row: {line}"))?;
    let [name, kind, labels, service, meaning] = cells[..] else {
        return Err(format!("a row needs 5 cells: {line}"));
    };
    let name = unquote(name);
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(format!("{name:?} is not a snake_case metric name"));
    }
    if !KINDS.contains(&kind) {
        return Err(format!("{name}: type {kind:?} is not one of {KINDS:?}"));
    }
    if !SERVICES.contains(&service) {
        return Err(format!(
            "{name}: service {service:?} is not one of {SERVICES:?}"
        ));
    }
    if meaning.is_empty() {
        return Err(format!("{name} has no meaning"));
    }
    Ok(Row {
        kind: kind.to_owned(),
        labels: label_names(labels),
        service: service.to_owned(),
        meaning: unquote(meaning),
        name,
    })
}

/// The cells of a `| a | b |` line, trimmed.
fn cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// The code spans outside parentheses: `` `route` (`app`, `admin`), `outcome` `` → route,
/// outcome.
fn label_names(cell: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let (mut depth, mut span): (u32, Option<String>) = (0, None);
    for c in cell.chars() {
        match (c, span.as_mut()) {
            ('`', Some(_)) => {
                let name = span.take().unwrap_or_default();
                if depth == 0 {
                    names.insert(name);
                }
            }
            ('`', None) => span = Some(String::new()),
            (_, Some(text)) => text.push(c),
            ('(', None) => depth += 1,
            (')', None) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    names
}

fn unquote(text: &str) -> String {
    text.replace('`', "")
}

#[test]
fn the_catalogue_is_one_well_formed_table() {
    let rows = rows();
    for service in &SERVICES[1..] {
        assert!(
            rows.iter().any(|r| r.service == *service),
            "METRICS.md has no row for {service}"
        );
    }
    let requests = rows
        .iter()
        .find(|r| r.name == "http_requests_total")
        .expect("the shared request counter");
    assert_eq!(requests.kind, "counter");
    assert_eq!(requests.service, "all");
    let labels: Vec<&str> = requests.labels.iter().map(String::as_str).collect();
    assert_eq!(labels, ["method", "route", "status"]);
}

#[test]
fn label_names_skip_the_documented_values() {
    let names = label_names("`route` (`app`, `admin`), `outcome` (`ok`, `timeout`)");
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["outcome".to_owned(), "route".to_owned()]
    );
    assert!(label_names("").is_empty());
}

#[test]
fn malformed_catalogues_are_refused() {
    let table = |row: &str| {
        format!(
            "intro\n\n| metric | type | labels | service | meaning |\n|---|---|---|---|---|\n{row}\n"
        )
    };
    assert!(parse(&table("| `a_total` | counter | | gateway | A |")).is_ok());
    for bad in [
        "| `a_total` | counter | | nowhere | A |",
        "| `a_total` | sum | | gateway | A |",
        "| `A-total` | counter | | gateway | A |",
        "| `a_total` | counter | | gateway | |",
        "| `a_total` | counter | gateway | A |",
        "| `a_total` | counter | | gateway | A |\n| `a_total` | gauge | | sk-app | B |",
    ] {
        assert!(parse(&table(bad)).is_err(), "{bad}");
    }
    assert!(parse("no table here").is_err());
}
