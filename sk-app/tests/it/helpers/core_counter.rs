//! A forwarder in front of sk-core that counts the API calls reaching it (not the readiness
//! probes of its `/healthz`): proof that a refusal
//! was made by sk-app without costing sk-core anything. (sk-core's own metrics cannot say:
//! the metrics recorder is global to the test process.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sk_common::testing::TestServer;

#[derive(Debug)]
pub struct CoreCounter {
    calls: Arc<AtomicUsize>,
    server: TestServer,
}

#[derive(Debug, Clone)]
struct Forward {
    client: reqwest::Client,
    upstream: SocketAddr,
    calls: Arc<AtomicUsize>,
}

impl CoreCounter {
    /// Forwards a free loopback port to `upstream`, counting every request.
    pub async fn start(upstream: SocketAddr) -> Self {
        let calls = Arc::new(AtomicUsize::new(0));
        let forward = Forward {
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            upstream,
            calls: Arc::clone(&calls),
        };
        let router = Router::new().fallback(forward_one).with_state(forward);
        let server = TestServer::spawn(router, |router, listener, shutdown| {
            sk_common::http::serve(
                listener,
                router,
                shutdown,
                std::time::Duration::from_secs(10),
            )
        })
        .await;
        Self { calls, server }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `/internal/…` calls forwarded so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn forward_one(State(forward): State<Forward>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with("/internal/") {
        forward.calls.fetch_add(1, Ordering::SeqCst);
    }
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = forward
        .client
        .request(parts.method, format!("http://{}{path}", forward.upstream))
        .body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n != header::HOST) {
        outgoing = outgoing.header(name, value);
    }
    let Ok(answer) = outgoing.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response.body(Body::from(bytes)).unwrap()
}
