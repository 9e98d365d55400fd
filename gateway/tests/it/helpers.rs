mod shop;
mod upstream;

use std::net::SocketAddr;

use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sk_common::testing::{BlackHole, TestServer, Vars, closed_port, load_settings, redis_url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use shop::{EdgeShop, JWT_SECRET};
pub use upstream::CountingUpstream;

pub const BINARY: &str = env!("CARGO_BIN_EXE_gateway");

pub fn settings(vars: &Vars) -> gateway::Settings {
    load_settings(vars)
}

/// A real sk-app (on the local stack's Redis) behind the gateway; sk-admin is not running.
pub async fn base_vars() -> Vars {
    let app = spawn_sk_app().await;
    let vars = vec![
        ("SK_UPSTREAMS__APP", format!("http://{}", app.addr)),
        ("SK_UPSTREAMS__ADMIN", format!("http://{}", closed_port())),
    ];
    // The upstream must outlive the test; the process ends with it.
    std::mem::forget(app);
    vars
}

async fn spawn_sk_app() -> TestServer {
    let settings: sk_app::Settings = load_settings(&[
        ("SK_REDIS__URL", redis_url()),
        ("SK_CORE__URL", format!("http://{}", closed_port())),
    ]);
    TestServer::spawn(settings, sk_app::run).await
}

/// The only sk-app instance points at a closed port.
pub async fn closed_vars() -> Vars {
    vec![
        ("SK_UPSTREAMS__APP", format!("http://{}", closed_port())),
        ("SK_UPSTREAMS__ADMIN", format!("http://{}", closed_port())),
    ]
}

/// The sk-app pool hangs: every readiness probe stays in flight until its timeout (and no
/// active health probe touches the hole while the test counts what reached it).
pub async fn hole_vars(hole: &BlackHole) -> Vars {
    vec![
        ("SK_UPSTREAMS__APP", format!("http://{}", hole.addr())),
        ("SK_UPSTREAMS__ADMIN", format!("http://{}", closed_port())),
        ("SK_HTTP__READINESS_TIMEOUT_MS", "1500".into()),
        ("SK_UPSTREAM_HEALTH__PROBE_INTERVAL_MS", "600000".into()),
    ]
}

/// A gateway sending `/api` to the `app` upstream entries (`http://addr weight=N`), with
/// quick health probes, no sk-admin, and client limits out of the way; push overrides after.
pub fn gateway_vars(app: &[String]) -> Vars {
    vec![
        ("SK_UPSTREAMS__APP", app.join(",")),
        ("SK_UPSTREAMS__ADMIN", format!("http://{}", closed_port())),
        ("SK_UPSTREAM_HEALTH__PROBE_INTERVAL_MS", "100".into()),
        ("SK_UPSTREAM_HEALTH__PROBE_TIMEOUT_MS", "500".into()),
        ("SK_LIMITS__PER_IP_PER_SEC", "1000000".into()),
        ("SK_LIMITS__PER_IP_BURST", "1000000".into()),
    ]
}

/// The gateway, in-process on a free port.
pub async fn spawn_gateway(vars: &Vars) -> TestServer {
    TestServer::spawn(settings(vars), gateway::run).await
}

/// A gateway's answer: status, headers, JSON body (`Null` when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The error `code`, or "".
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The upstream instance that answered (its `x-upstream` header).
    pub fn upstream(&self) -> Option<&str> {
        self.header("x-upstream")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the error contract with `Retry-After`: status, code, a whole number of seconds.
    pub fn assert_retry_later(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "{self:?}");
        let secs: u64 = self
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("Retry-After in whole seconds: {self:?}"));
        assert!(secs >= 1, "{self:?}");
    }
}

/// Sends `request` and reads the answer.
pub async fn send(request: RequestBuilder) -> Answer {
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body");
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// GET `path` through `gateway`.
pub async fn get(gateway: &TestServer, path: &str) -> Answer {
    send(gateway.client.get(gateway.url(path))).await
}

/// Sends `head` (request line and headers, CRLF-separated, without the blank line) and
/// `body` on a fresh connection, exactly as written: for requests reqwest would normalise.
/// Returns the status and the raw response.
pub async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\nHost: gateway\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    // The gateway may answer (and close) before reading the whole body.
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}
