//! What a `/metrics` page shows, per metric family: its type, help text and label names.
//! Histogram and summary series (`_bucket`, `_sum`, `_count`) belong to their base name.

use std::collections::{BTreeMap, BTreeSet};

/// One metric family as exposed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Family {
    /// The `# TYPE` kind (`counter`, `gauge`, `histogram`, `summary`, …).
    pub kind: String,
    /// The `# HELP` text, unescaped.
    pub help: Option<String>,
    /// Label names across its series, without `le` and `quantile`.
    pub labels: BTreeSet<String>,
}

/// The families of a Prometheus text page, by name.
///
/// # Panics
/// On a sample line that does not parse.
pub fn families(page: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in page.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            families.entry(name.to_owned()).or_default().kind = kind.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            families.entry(name.to_owned()).or_default().help = Some(unescape(help));
        } else if !line.starts_with('#') {
            let (name, labels) = sample(line).unwrap_or_else(|| panic!("bad sample: {line}"));
            let family = base_name(&families, &name);
            families
                .entry(family)
                .or_default()
                .labels
                .extend(labels.into_iter().filter(|l| l != "le" && l != "quantile"));
        }
    }
    families
}

/// The family a series belongs to: `x_bucket` of histogram `x` is `x`.
fn base_name(families: &BTreeMap<String, Family>, series: &str) -> String {
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| series.strip_suffix(suffix))
        .find(|base| {
            families
                .get(*base)
                .is_some_and(|f| f.kind == "histogram" || f.kind == "summary")
        })
        .unwrap_or(series)
        .to_owned()
}

/// A sample line's series name and label names: `name{a="x",b="y"} 1` → (name, [a, b]).
fn sample(line: &str) -> Option<(String, Vec<String>)> {
    let Some(open) = line.find('{') else {
        let name = line.split_whitespace().next()?;
        return Some((name.to_owned(), Vec::new()));
    };
    let name = line[..open].to_owned();
    let mut labels = Vec::new();
    let mut rest = &line[open + 1..];
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if rest.starts_with('}') {
            return Some((name, labels));
        }
        let (label, value) = rest.split_once('=')?;
        labels.push(label.trim().to_owned());
        rest = skip_quoted(value)?;
    }
}

/// What follows a `"…"` value (escapes `\"` and `\\` included).
fn skip_quoted(text: &str) -> Option<&str> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&body[i + 1..]),
            _ => {}
        }
    }
    None
}

fn unescape(help: &str) -> String {
    help.replace("\\n", "\n").replace("\\\\", "\\")
}

#[test]
fn families_group_histogram_series_and_collect_label_names() {
    let page = r#"
# HELP http_requests_total Requests, by route
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/a/{id}",status="200"} 3
http_requests_total{method="POST",route="/a/\"x\", y",status="404"} 1

# TYPE lag_seconds histogram
lag_seconds_bucket{le="0.5"} 1
lag_seconds_bucket{le="+Inf"} 1
lag_seconds_sum 0.2
lag_seconds_count 1
# TYPE up gauge
up 1
"#;
    let families = families(page);
    let names: Vec<&str> = families.keys().map(String::as_str).collect();
    assert_eq!(names, ["http_requests_total", "lag_seconds", "up"]);
    let requests = &families["http_requests_total"];
    assert_eq!(requests.kind, "counter");
    assert_eq!(requests.help.as_deref(), Some("Requests, by route"));
    let labels: Vec<&str> = requests.labels.iter().map(String::as_str).collect();
    assert_eq!(labels, ["method", "route", "status"]);
    assert_eq!(families["lag_seconds"].kind, "histogram");
    assert!(families["lag_seconds"].labels.is_empty());
    assert_eq!(families["up"].help, None);
}
