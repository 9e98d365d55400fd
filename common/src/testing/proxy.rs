//! A TCP proxy a test can cut: a dependency that goes away mid-traffic and comes back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Forwards every connection on a loopback port to `upstream` until it is [cut](Self::cut).
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    /// One lock for both, so no connection can slip in between a cut's two steps.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    cut: bool,
    /// Cancelled by `cut`, which closes every connection opened before it.
    live: CancellationToken,
}

impl TcpProxy {
    /// Starts forwarding a free loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State {
                cut: false,
                live: CancellationToken::new(),
            }),
        });
        let task = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Self { addr, shared, task }
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every live connection and closes new ones as soon as they are accepted (the
    /// client sees its connection reset or ended), until [`restore`](Self::restore).
    pub fn cut(&self) {
        let mut state = self.shared.state.lock().unwrap();
        state.cut = true;
        state.live.cancel();
        state.live = CancellationToken::new();
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.shared.state.lock().unwrap().cut = false;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
        if let Ok(state) = self.shared.state.lock() {
            state.live.cancel();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, _)) = listener.accept().await {
        let closed = {
            let state = shared.state.lock().unwrap();
            (!state.cut).then(|| state.live.clone())
        };
        match closed {
            Some(closed) => drop(tokio::spawn(forward(client, shared.upstream, closed))),
            None => drop(client),
        }
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, closed: CancellationToken) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        () = closed.cancelled() => {}
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
    }
}
