//! `CountingUpstream`: a small HTTP server standing in for an sk-app or sk-admin instance. It
//! is not under test; it says who it is, counts the requests that reach it, remembers what
//! they carried, and can be told to fail, to stall, or to die.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use sk_common::shutdown::CancellationToken;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What an instance does with the requests it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 200 `{"upstream": name, ...}`.
    Answer,
    /// The given status with `{"code":"upstream_says_no","message":name}`.
    Fail(StatusCode),
    /// Holds every request until [`CountingUpstream::release`].
    Stall,
    /// Reads each request's head, counts it, and closes the connection without an answer,
    /// like a process that dies with every request.
    Dead,
}

/// One request as the instance saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub headers: HeaderMap,
}

#[derive(Debug)]
struct Shared {
    name: &'static str,
    mode: Mutex<Mode>,
    /// Cancelled to close every open connection (on death) or to release stalled requests.
    connections: Mutex<CancellationToken>,
    release: Mutex<CancellationToken>,
    contacts: AtomicUsize,
    in_flight: AtomicUsize,
    metrics_hits: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

/// A stand-in upstream instance on a loopback port.
#[derive(Debug)]
pub struct CountingUpstream {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl CountingUpstream {
    /// Starts answering as `name`.
    pub async fn start(name: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            name,
            mode: Mutex::new(Mode::Answer),
            connections: Mutex::new(CancellationToken::new()),
            release: Mutex::new(CancellationToken::new()),
            contacts: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            metrics_hits: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Self { addr, shared, task }
    }

    /// `http://addr` with `weight=N`, as the gateway's upstream list takes it.
    pub fn entry(&self, weight: u32) -> String {
        format!("http://{} weight={weight}", self.addr)
    }

    /// Requests that reached it outside `/healthz` and `/metrics` (dead: request heads read).
    pub fn contacts(&self) -> usize {
        self.shared.contacts.load(Ordering::SeqCst)
    }

    /// Requests it holds right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Requests for its own `/metrics`.
    pub fn metrics_hits(&self) -> usize {
        self.shared.metrics_hits.load(Ordering::SeqCst)
    }

    /// Every request it answered, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Answers every request with `status` from now on.
    pub fn fail_with(&self, status: StatusCode) {
        self.set(Mode::Fail(status));
    }

    /// Holds every request from now on.
    pub fn stall(&self) {
        self.set(Mode::Stall);
    }

    /// Answers normally again, releasing stalled requests.
    pub fn recover(&self) {
        self.set(Mode::Answer);
        let mut release = self.shared.release.lock().unwrap();
        release.cancel();
        *release = CancellationToken::new();
    }

    /// Dies: open connections close, and new ones are closed after their request head.
    pub fn kill(&self) {
        self.set(Mode::Dead);
        let mut connections = self.shared.connections.lock().unwrap();
        connections.cancel();
        *connections = CancellationToken::new();
    }

    fn set(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }
}

impl Drop for CountingUpstream {
    fn drop(&mut self) {
        self.task.abort();
        self.shared.connections.lock().unwrap().cancel();
        self.shared.release.lock().unwrap().cancel();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let router = routes(Arc::clone(&shared));
    while let Ok((stream, _)) = listener.accept().await {
        if *shared.mode.lock().unwrap() == Mode::Dead {
            tokio::spawn(die(stream, Arc::clone(&shared)));
            continue;
        }
        let closed = shared.connections.lock().unwrap().clone();
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = closed.cancelled() => {}
            }
        });
    }
}

/// Reads the request head, counts it unless it is a health probe, and hangs up.
async fn die(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut head = [0u8; 1024];
    let Ok(read) = stream.read(&mut head).await else {
        return;
    };
    let text = String::from_utf8_lossy(&head[..read]);
    if read > 0 && !text.contains(" /healthz ") {
        shared.contacts.fetch_add(1, Ordering::SeqCst);
    }
}

fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(answer)
        .with_state(shared)
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> &'static str {
    shared.metrics_hits.fetch_add(1, Ordering::SeqCst);
    "upstream_private_metric 1\n"
}

/// Decrements the in-flight count when the request ends, answered or dropped.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.contacts.fetch_add(1, Ordering::SeqCst);
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight(Arc::clone(&shared));
    let path = uri.path().to_owned();
    shared.seen.lock().unwrap().push(Seen { method, headers });
    let mode = *shared.mode.lock().unwrap();
    if mode == Mode::Stall {
        let released = shared.release.lock().unwrap().clone();
        released.cancelled().await;
    }
    let name = shared.name;
    match mode {
        Mode::Fail(status) => (
            status,
            axum::Json(json!({"code": "upstream_says_no", "message": name})),
        )
            .into_response(),
        _ => (
            [("x-upstream", name)],
            axum::Json(json!({"upstream": name, "path": path, "body_len": body.len()})),
        )
            .into_response(),
    }
}
