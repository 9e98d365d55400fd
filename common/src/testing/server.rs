use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::DEADLINE;

/// A service started in-process on `127.0.0.1:0` through its real `run`.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A client for it.
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), String>>,
}

impl TestServer {
    /// Binds a free port and starts `run(settings, listener, shutdown)` in the background.
    pub async fn spawn<S, F, Fut, E>(settings: S, run: F) -> Self
    where
        F: FnOnce(S, TcpListener, CancellationToken) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let served = run(settings, listener, shutdown.clone());
        let task = tokio::spawn(async move { served.await.map_err(|e| e.to_string()) });
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            addr,
            client,
            shutdown,
            task,
        }
    }

    /// `http://addr/path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET `path`, returning status and JSON body (`Null` when the body is not JSON).
    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let response = match self.client.get(self.url(path)).send().await {
            Ok(response) => response,
            Err(e) if self.task.is_finished() => {
                panic!("the service stopped before GET {path}: {e}")
            }
            Err(e) => panic!("GET {path}: {e}"),
        };
        let status = response.status();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// GET `path`, returning the body as text (for `/metrics`).
    pub async fn get_text(&self, path: &str) -> String {
        let response = self.client.get(self.url(path)).send().await;
        let response = response.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        response
            .text()
            .await
            .unwrap_or_else(|e| panic!("GET {path} body: {e}"))
    }

    /// Stops it the way `kill -9` would: its tasks are dropped mid-flight, nothing is flushed,
    /// released or acknowledged (locks it held lapse only after their ttl).
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Fires the shutdown token.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Fires the shutdown token and waits (bounded) for `run` to return.
    pub async fn stop(self) -> Result<(), String> {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("service did not stop in time")
            .expect("service task panicked")
    }
}
