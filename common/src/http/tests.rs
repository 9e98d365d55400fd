use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::readiness::Readiness;

fn settings() -> HttpSettings {
    HttpSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        shutdown_grace_secs: 1,
        readiness_timeout_ms: 100,
        body_limit_bytes: 64,
        header_read_timeout_ms: 10_000,
    }
}

fn app() -> Router {
    let api = Router::new()
        .route("/echo", post(|Json(v): Json<Value>| async move { Json(v) }))
        .route(
            "/boom",
            get(|| async { panic!("secret cause") as &'static str }),
        )
        .route(
            "/busy",
            get(|| async {
                HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "busy")
                    .retry_after(2)
            }),
        );
    service_router(
        api,
        Readiness::builder().build(Duration::from_millis(100)),
        &settings(),
    )
}

async fn call(request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post_json(body: &str) -> Request<Body> {
    Request::post("/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_code() {
    let (status, _, body) = call(post_json("{\"a\":")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_request");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn only_a_json_object_is_a_body() {
    for body in ["[1]", "1", "\"x\"", "null"] {
        let (status, _, answer) = call(post_json(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["code"], "invalid_request", "{body}");
    }
    let (status, _, echoed) = call(post_json(r#"{"a":[1]}"#)).await;
    assert_eq!(
        (status, echoed),
        (StatusCode::OK, serde_json::json!({"a": [1]}))
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
    let (status, _, body) = call(post_json(&big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn a_missing_content_type_is_a_415() {
    let request = Request::post("/echo").body(Body::from("{}")).unwrap();
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], "unsupported_media_type");
}

#[tokio::test]
async fn a_panic_is_an_opaque_500() {
    let (status, _, body) = call(Request::get("/boom").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal");
    assert!(!body.to_string().contains("secret cause"));
}

#[tokio::test]
async fn retry_after_travels_as_a_header() {
    let (status, headers, body) = call(Request::get("/busy").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert_eq!(body["code"], "unavailable");
}

#[tokio::test]
async fn readiness_without_checks_is_ready_and_valid_json_echoes() {
    let (status, _, body) = call(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
    let (status, _, body) = call(post_json("{\"a\":1}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["a"], 1);
}

#[tokio::test]
async fn an_extractor_rejection_is_a_json_client_error() {
    let api = Router::new().route(
        "/items/{id}",
        get(|axum::extract::Path(id): axum::extract::Path<String>| async move { id }),
    );
    let app = service_router(
        api,
        Readiness::builder().build(Duration::from_millis(100)),
        &settings(),
    );
    let request = Request::get("/items/%ff").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["code"], "invalid_request");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("UTF-8")),
        "{body}"
    );
    let fine = Request::get("/items/abc").body(Body::empty()).unwrap();
    let bytes = to_bytes(app.oneshot(fine).await.unwrap().into_body(), 64)
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"abc", "successes pass untouched");
}

/// A client that sends its request line and then stalls is disconnected after the header
/// read timeout, while a prompt client on another connection is served meanwhile.
#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        app(),
        shutdown.clone(),
        Duration::from_millis(200),
    ));

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut prompt = tokio::net::TcpStream::connect(addr).await.unwrap();
    prompt
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    prompt.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(
        ended.is_ok(),
        "the stalled connection is still open after 5 s"
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
