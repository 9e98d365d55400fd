//! The OpenAPI document sk-app serves: valid JSON, OpenAPI 3.1, and it documents every
//! `/api/v1` route sk-app routes (read from the router's source, so a new route without
//! documentation fails here).

use crate::helpers::Window;

/// Every `.route("/api/v1/…"` path in sk-app's router.
fn routed_paths() -> Vec<String> {
    include_str!("../../src/api.rs")
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.starts_with("/api/v1/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_document_is_served_and_lists_every_route() {
    let window = Window::start().await;
    let response = window
        .app
        .client
        .get(window.app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: serde_json::Value =
        serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    let routed = routed_paths();
    assert!(routed.len() >= 9, "{routed:?}");
    for path in routed {
        assert!(paths.contains_key(&path), "{path} is not documented");
    }
    let bearer = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(bearer["scheme"], "bearer");
}
