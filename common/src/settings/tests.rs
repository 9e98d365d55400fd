use std::io::Write;

use serde::Deserialize;

use super::*;
use crate::http::HttpSettings;
use crate::redis::RedisSettings;
use crate::telemetry::LogSettings;

#[derive(Debug, Deserialize)]
struct Sample {
    http: HttpSettings,
    log: LogSettings,
    redis: RedisSettings,
    #[serde(deserialize_with = "string_list")]
    peers: Vec<String>,
}

impl ServiceSettings for Sample {
    const DEFAULTS: &'static str = r#"
        peers = ["a:1"]
        [http]
        listen = "127.0.0.1:8099"
        shutdown_grace_secs = 10
        readiness_timeout_ms = 1000
        body_limit_bytes = 1024
        header_read_timeout_ms = 10000
        [log]
        format = "auto"
        filter = "info"
        trace_sample_ratio = 1.0
        [redis]
        url = "redis://127.0.0.1:6379"
        key_prefix = "sk"
        connect_timeout_ms = 1000
        response_timeout_ms = 1000
    "#;
    fn http(&self) -> &HttpSettings {
        &self.http
    }
    fn log(&self) -> &LogSettings {
        &self.log
    }
    fn validate(&self) -> Result<(), SettingsError> {
        self.http.validate()?;
        self.redis.validate("redis")
    }
}

fn file(text: &str) -> tempfile_path::TempPath {
    tempfile_path::write(text)
}

/// A file in the temp dir removed on drop (no extra crate for one test helper).
mod tempfile_path {
    use std::path::PathBuf;
    pub struct TempPath(pub PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    pub fn write(text: &str) -> TempPath {
        let path = std::env::temp_dir().join(format!("sk-settings-{}.toml", uuid::Uuid::now_v7()));
        let mut f = std::fs::File::create(&path).unwrap();
        super::Write::write_all(&mut f, text.as_bytes()).unwrap();
        TempPath(path)
    }
}

#[test]
fn defaults_alone_load() {
    let s: Sample = load(None, EnvSource::vars([])).unwrap();
    assert_eq!(s.http.listen.port(), 8099);
    assert_eq!(s.peers, vec!["a:1"]);
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    let f = file("[http]\nshutdown_grace_secs = 20\nreadiness_timeout_ms = 300\n");
    let from_file: Sample = load(Some(&f.0), EnvSource::vars([])).unwrap();
    assert_eq!(from_file.http.shutdown_grace_secs, 20);
    assert_eq!(from_file.http.readiness_timeout_ms, 300);
    assert_eq!(
        from_file.http.body_limit_bytes, 1024,
        "untouched keys keep their defaults"
    );

    let env = EnvSource::vars([
        ("SK_HTTP__SHUTDOWN_GRACE_SECS", "30"),
        ("OTHER_HTTP__X", "1"),
    ]);
    let both: Sample = load(Some(&f.0), env).unwrap();
    assert_eq!(both.http.shutdown_grace_secs, 30, "env wins over the file");
    assert_eq!(
        both.http.readiness_timeout_ms, 300,
        "the file still wins over defaults"
    );
}

#[test]
fn lists_come_from_arrays_or_comma_separated_variables() {
    let s: Sample = load(None, EnvSource::vars([("SK_PEERS", "x:1, y:2,")])).unwrap();
    assert_eq!(s.peers, vec!["x:1", "y:2"]);
}

#[test]
fn a_bad_type_names_the_key_and_its_variable() {
    let err = load::<Sample>(
        None,
        EnvSource::vars([("SK_HTTP__BODY_LIMIT_BYTES", "lots")]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("http.body_limit_bytes"), "{text}");
    assert!(text.contains("SK_HTTP__BODY_LIMIT_BYTES"), "{text}");
}

#[test]
fn a_value_out_of_bounds_names_the_key() {
    let err = load::<Sample>(
        None,
        EnvSource::vars([("SK_HTTP__SHUTDOWN_GRACE_SECS", "0")]),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("SK_HTTP__SHUTDOWN_GRACE_SECS"),
        "{err}"
    );
    let err =
        load::<Sample>(None, EnvSource::vars([("SK_REDIS__URL", "mysql://nope")])).unwrap_err();
    assert!(err.to_string().contains("SK_REDIS__URL"), "{err}");
    for ratio in ["1.5", "-0.1"] {
        let err = load::<Sample>(
            None,
            EnvSource::vars([("SK_LOG__TRACE_SAMPLE_RATIO", ratio)]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("SK_LOG__TRACE_SAMPLE_RATIO"),
            "{err}"
        );
    }
}

#[test]
fn a_bad_file_names_the_file() {
    let f = file("[http\nlisten = ");
    let err = load::<Sample>(Some(&f.0), EnvSource::vars([])).unwrap_err();
    assert!(matches!(err, SettingsError::File { .. }), "{err}");
    let missing = Path::new("/nonexistent/sk.toml");
    let err = load::<Sample>(Some(missing), EnvSource::vars([])).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/sk.toml"), "{err}");
}

#[test]
fn secrets_never_print() {
    let env = EnvSource::vars([("SK_REDIS__URL", "redis://:hunter2@127.0.0.1:6379")]);
    let s: Sample = load(None, env).unwrap();
    assert!(!format!("{s:?}").contains("hunter2"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever an operator (or a typo) puts in a variable, loading answers with settings or
    /// an error that names the variable, never a panic.
    #[test]
    fn any_environment_value_loads_or_is_refused_by_name(
        key in proptest::sample::select(vec![
            "SK_HTTP__LISTEN",
            "SK_HTTP__SHUTDOWN_GRACE_SECS",
            "SK_HTTP__BODY_LIMIT_BYTES",
            "SK_HTTP__HEADER_READ_TIMEOUT_MS",
            "SK_LOG__FORMAT",
            "SK_LOG__FILTER",
            "SK_LOG__TRACE_SAMPLE_RATIO",
            "SK_REDIS__URL",
            "SK_REDIS__KEY_PREFIX",
            "SK_PEERS",
        ]),
        value in ".{0,40}|[0-9.eE+-]{0,25}",
    ) {
        if let Err(e) = load::<Sample>(None, EnvSource::vars([(key, value.as_str())])) {
            proptest::prop_assert!(e.to_string().contains(key), "{key}={value:?}: {e}");
        }
    }
}
