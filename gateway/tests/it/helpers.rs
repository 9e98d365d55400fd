use sk_common::testing::{BlackHole, TestServer, Vars, closed_port, load_settings, redis_url};

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

/// The sk-app pool hangs: every readiness probe stays in flight until its timeout.
pub async fn hole_vars(hole: &BlackHole) -> Vars {
    vec![
        ("SK_UPSTREAMS__APP", format!("http://{}", hole.addr())),
        ("SK_UPSTREAMS__ADMIN", format!("http://{}", closed_port())),
        ("SK_HTTP__READINESS_TIMEOUT_MS", "1500".into()),
    ]
}
