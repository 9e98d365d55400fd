//! The OpenAPI document sk-admin serves: valid JSON, OpenAPI 3.1, served without a token, and it
//! documents every `/admin/v1` route sk-admin routes (read from the routers' source, so a new
//! route without documentation fails here) and no route that does not exist.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::Admin;

/// Every `.route("/admin/v1/…"` path in sk-admin's routers (the path may sit on the next line
/// after rustfmt). Axum and OpenAPI both write parameters `{name}`; a wildcard `{*rest}` would be
/// `{rest}` in OpenAPI.
fn routed_paths() -> BTreeSet<String> {
    [
        include_str!("../../src/api.rs"),
        include_str!("../../src/blacklist.rs"),
        include_str!("../../src/tokens.rs"),
    ]
    .into_iter()
    .flat_map(|source| source.split(".route(").skip(1))
    .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
    .filter(|path| path.starts_with("/admin/v1/"))
    .map(|path| path.replace("{*", "{"))
    .collect()
}

#[tokio::test]
async fn the_document_is_served_without_a_token_and_lists_every_route() {
    let admin = Admin::start().await;
    let response = admin
        .server
        .client
        .get(admin.server.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: serde_json::Value =
        serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));

    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let routed = routed_paths();
    assert!(routed.len() >= 10, "{routed:?}");
    assert!(routed.contains("/admin/v1/openapi.json"), "{routed:?}");
    assert!(
        routed.contains("/admin/v1/blacklist/ips/{ip}"),
        "{routed:?}"
    );
    assert!(routed.contains("/admin/v1/tokens"), "{routed:?}");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(undocumented.is_empty(), "not documented: {undocumented:?}");
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );

    let bearer = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(
        document["paths"]["/admin/v1/openapi.json"]["get"]["security"],
        serde_json::json!([])
    );

    // Only the document is open: the rest of the API still needs an admin token.
    let anonymous = Admin {
        bearer: None,
        ..admin
    };
    let (status, body) = anonymous.get("/admin/v1/products").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthenticated");
    anonymous.server.stop().await.unwrap();
}
