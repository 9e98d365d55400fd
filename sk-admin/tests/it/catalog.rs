//! Products and activities through the admin API: validation, the push into Redis, keyset
//! pages, closing, and hostile input.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sk_common::testing::eventually;
use sk_common::time::now_ms;

use crate::helpers::{Admin, activity_body};

const HOUR: u64 = 3_600_000;

/// Issue test 1: every validation rule answers 400 naming its field.
#[tokio::test]
async fn every_invalid_activity_field_is_named_and_a_valid_one_reaches_redis() {
    let admin = Admin::start().await;
    let product = admin.product().await;
    let now = now_ms();
    let valid = activity_body(product, now + HOUR, now + 2 * HOUR);
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let cases = [
        ("end_at", with("end_at", json!(valid["start_at"]))),
        (
            "end_at",
            with("end_at", json!(sk_common::time::rfc3339_from_ms(now))),
        ),
        ("start_at", with("start_at", json!("tomorrow"))),
        // Past the last instant a DATETIME holds, once in UTC.
        ("end_at", with("end_at", json!("9999-12-31T23:00:00-14:00"))),
        ("total_stock", with("total_stock", json!(0))),
        ("total_stock", with("total_stock", json!(-5))),
        ("per_user_limit", with("per_user_limit", json!(0))),
        ("buy_rate", with("buy_rate", json!(0.0))),
        ("buy_rate", with("buy_rate", json!(1.5))),
        (
            "payment_timeout_secs",
            with("payment_timeout_secs", json!(1)),
        ),
        (
            "payment_timeout_secs",
            with("payment_timeout_secs", json!(999_999)),
        ),
        ("max_sold_per_sec", with("max_sold_per_sec", json!(0))),
        ("product_id", with("product_id", json!(987_654))),
        ("product_id", with("product_id", json!("one"))),
        ("name", with("name", json!(""))),
        ("name", with("name", json!("x".repeat(201)))),
    ];
    for (field, body) in cases {
        let (status, error) = admin.post("/admin/v1/activities", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {error}");
        assert_eq!(error["code"], "invalid_request");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{field}: {error}"
        );
    }

    let activity = admin.activity(valid).await;
    assert_eq!(activity["status"], "scheduled");
    assert_eq!(activity["remaining"], 100);
    assert_eq!(activity["sold"], 0);
    assert_eq!(activity["price_cents"], 1250);
    let id = activity["id"].as_u64().unwrap();
    let state: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("{}:{{{id}}}:activity", admin.prefix))
        .query_async(&mut admin.redis().await)
        .await
        .unwrap();
    assert_eq!(state["status"], "open");
    assert_eq!(state["remaining"], "100");
    assert_eq!(state["total"], "100");
    assert_eq!(state["per_user_limit"], "2");
    assert_eq!(state["payment_timeout_ms"], "900000");
    assert_eq!(state["price_cents"], "1250");
    assert_eq!(state["start_ms"], (now + HOUR).to_string());
    admin.server.stop().await.unwrap();
}

/// Issue test 2: 250 activities paged by 17 come back each exactly once, in one stable order;
/// a status filter holds on every page; a tampered cursor is refused.
#[tokio::test]
async fn keyset_pages_cover_every_activity_once_and_keep_their_filter() {
    let admin = Admin::start().await;
    let product = admin.product().await;
    let now = now_ms();
    let mut scheduled = Vec::new();
    for i in 0..250_u64 {
        // Many share a start time, so the id tie-break matters; every third one is in the past.
        let start = if i % 3 == 0 {
            now - 10 * HOUR
        } else {
            now + (i % 5 + 1) * HOUR
        };
        let activity = admin
            .activity(activity_body(product, start, start + HOUR))
            .await;
        if i % 3 != 0 {
            scheduled.push(activity["id"].as_u64().unwrap());
        }
    }

    let all = collect_pages(&admin, "/admin/v1/activities?limit=17").await;
    assert_eq!(all.len(), 250);
    let ids: Vec<u64> = all.iter().map(|a| a["id"].as_u64().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 250, "an activity appeared twice");
    let keys: Vec<(String, u64)> = all
        .iter()
        .map(|a| {
            (
                a["start_at"].as_str().unwrap().to_owned(),
                a["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        keys, sorted,
        "pages are not in (start_at, id) descending order"
    );
    assert_eq!(
        ids,
        collect_pages(&admin, "/admin/v1/activities?limit=17")
            .await
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        "the order is not stable"
    );

    let filtered = collect_pages(&admin, "/admin/v1/activities?limit=17&status=scheduled").await;
    assert!(filtered.iter().all(|a| a["status"] == "scheduled"));
    let mut filtered_ids: Vec<u64> = filtered.iter().map(|a| a["id"].as_u64().unwrap()).collect();
    filtered_ids.sort_unstable();
    scheduled.sort_unstable();
    assert_eq!(filtered_ids, scheduled);

    let (_, first) = admin.get("/admin/v1/activities?limit=17").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let mut tampered = cursor.clone().into_bytes();
    tampered[2] = if tampered[2] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (path, why) in [
        (
            format!("/admin/v1/activities?limit=17&cursor={tampered}"),
            "tampered",
        ),
        (
            format!("/admin/v1/activities?limit=17&cursor={cursor}&status=open"),
            "another filter",
        ),
        (
            format!("/admin/v1/products?cursor={cursor}"),
            "another list",
        ),
        (
            "/admin/v1/activities?cursor=%27%20OR%201%3D1%20--".to_owned(),
            "sql-looking",
        ),
    ] {
        let (status, error) = admin.get(&path).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_cursor")),
            "{why}: {error}"
        );
    }
    for bad in ["limit=0", "limit=201", "limit=x", "status=sold"] {
        let (status, error) = admin.get(&format!("/admin/v1/activities?{bad}")).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }
    admin.server.stop().await.unwrap();
}

async fn collect_pages(admin: &Admin, first: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = first.to_owned();
    loop {
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= 17);
        items.extend(page_items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return items,
        }
        assert!(items.len() <= 1_000, "pagination does not end");
    }
}

/// Issue test 4: closing marks the activity closed in MySQL and in Redis, and a reserve call
/// through sk-core is refused.
#[tokio::test]
async fn closing_an_activity_stops_selling_it() {
    let admin = Admin::start().await;
    let product = admin.product().await;
    let now = now_ms();
    let activity = admin
        .activity(activity_body(product, now - HOUR, now + HOUR))
        .await;
    assert_eq!(activity["status"], "open");
    let id = activity["id"].as_u64().unwrap();

    let (status, closed) = admin
        .post(&format!("/admin/v1/activities/{id}/close"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    let (status, again) = admin
        .post(&format!("/admin/v1/activities/{id}/close"), json!({}))
        .await;
    assert_eq!(
        (status, &again["closed_at"]),
        (StatusCode::OK, &closed["closed_at"])
    );

    let pipeline = crate::helpers::Pipeline::start(&admin.prefix, &admin.mysql_url).await;
    let (status, refusal) = pipeline.reserve(id, "u1", 1).await;
    assert_eq!(
        (status, refusal["code"].as_str()),
        (410, Some("ended")),
        "{refusal}"
    );
    pipeline.stop().await;
    let (status, _) = admin
        .post("/admin/v1/activities/999999/close", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    admin.server.stop().await.unwrap();
}

/// Issue test 7 on the catalog routes: no token → 401, a shopper's token → 403.
#[tokio::test]
async fn catalog_routes_are_closed_to_everyone_but_admins() {
    let mut admin = Admin::start().await;
    let routes = [
        ("GET", "/admin/v1/activities"),
        ("GET", "/admin/v1/products"),
        ("POST", "/admin/v1/activities/1/close"),
        ("GET", "/admin/v1/activities/1/reconciliation"),
        ("GET", "/admin/v1/scheduler"),
    ];
    for (bearer, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (
            Some(crate::helpers::token_for(
                "alice",
                sk_common::domain::Role::Shopper,
            )),
            StatusCode::FORBIDDEN,
        ),
    ] {
        admin.bearer = bearer;
        for (method, path) in routes {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let body = (method == reqwest::Method::POST).then(|| json!({}));
            let (status, error) = admin.call(method, path, body).await;
            assert_eq!(status, expected, "{path}: {error}");
        }
    }
    admin.server.stop().await.unwrap();
}

/// Issue test 8: hostile input is a 4xx, and SQL-looking text is stored and returned verbatim.
#[tokio::test]
async fn hostile_catalog_input_is_refused_or_stored_verbatim() {
    let admin = Admin::start().await;
    let sneaky = "Robert'); DROP TABLE products;-- \"x\" \\ %";
    let (status, product) = admin
        .post(
            "/admin/v1/products",
            json!({"name": sneaky, "description": sneaky, "price_cents": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{product}");
    assert_eq!(product["name"], sneaky);
    let (_, page) = admin.get("/admin/v1/products").await;
    assert_eq!(page["items"][0]["description"], sneaky);

    let cases = [
        (
            "/admin/v1/products",
            json!({"name": "x", "price_cents": "free"}),
        ),
        (
            "/admin/v1/products",
            json!({"name": "x", "price_cents": -1}),
        ),
        (
            "/admin/v1/products",
            json!({"name": "x".repeat(10_000), "price_cents": 1}),
        ),
        (
            "/admin/v1/products",
            json!({"name": "x", "price_cents": 1, "admin": true}),
        ),
        ("/admin/v1/products", json!([1, 2, 3])),
        ("/admin/v1/activities", json!({"product_id": 1})),
        ("/admin/v1/activities", json!("DROP TABLE activities")),
    ];
    for (path, body) in cases {
        let (status, error) = admin.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {error}");
        assert_eq!(error["code"], "invalid_request");
    }
    for path in [
        "/admin/v1/activities/42424242",
        "/admin/v1/activities/abc",
        "/admin/v1/activities/1%27%20OR%201=1",
        "/admin/v1/activities/-1",
    ] {
        let (status, error) = admin.get(path).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("activity_not_found")),
            "{path}"
        );
    }
    admin.server.stop().await.unwrap();
}

/// An activity can be edited until it starts; its stock follows the new total.
#[tokio::test]
async fn an_activity_is_editable_only_before_it_starts() {
    let admin = Admin::start().await;
    let product = admin.product().await;
    let now = now_ms();
    let scheduled = admin
        .activity(activity_body(product, now + HOUR, now + 2 * HOUR))
        .await;
    let id = scheduled["id"].as_u64().unwrap();
    let mut edit = activity_body(product, now + 3 * HOUR, now + 4 * HOUR);
    edit["total_stock"] = 200.into();
    edit["name"] = "Bigger sale".into();
    let (status, edited) = admin
        .call(
            reqwest::Method::PUT,
            &format!("/admin/v1/activities/{id}"),
            Some(edit.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["total_stock"].as_u64(), edited["remaining"].as_u64()),
        (Some(200), Some(200))
    );
    assert_eq!(edited["name"], "Bigger sale");

    let mut bad = edit.clone();
    bad["buy_rate"] = 2.into();
    let (status, error) = admin
        .call(
            reqwest::Method::PUT,
            &format!("/admin/v1/activities/{id}"),
            Some(bad),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");

    let open = admin
        .activity(activity_body(product, now - HOUR, now + HOUR))
        .await;
    let open_id = open["id"].as_u64().unwrap();
    let (status, error) = admin
        .call(
            reqwest::Method::PUT,
            &format!("/admin/v1/activities/{open_id}"),
            Some(edit.clone()),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_started"))
    );
    let (status, _) = admin
        .call(
            reqwest::Method::PUT,
            "/admin/v1/activities/987654",
            Some(edit),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    admin.server.stop().await.unwrap();
}

/// A sale may end in any year the catalog holds: one ending after 2038 (where MariaDB's
/// UNIX_TIMESTAMP answers NULL) reads back, and the scheduler, which reads it to rebuild its
/// lost Redis state, keeps running. Found by sk-bench's `api_fuzz`: that read panicked, a 500
/// for the request and, in the scheduler, the end of the service at every start.
#[tokio::test]
async fn a_sale_ending_after_2038_reads_back_and_the_scheduler_repairs_it() {
    let admin = Admin::start().await;
    let product = admin.product().await;
    let now = now_ms();
    let mut body = activity_body(product, now + HOUR, now + 2 * HOUR);
    body["end_at"] = json!("2100-01-01T00:00:00Z");
    let activity = admin.activity(body).await;
    assert_eq!(activity["end_at"], "2100-01-01T00:00:00.000Z");
    let key = format!("{}:{{{}}}:activity", admin.prefix, activity["id"]);
    let mut redis = admin.redis().await;
    let () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    eventually("the scheduler to rebuild the sale in Redis", || async {
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut admin.redis().await)
            .await
            .unwrap();
        exists
    })
    .await;
    let (status, page) = admin.get("/admin/v1/activities").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["end_at"], "2100-01-01T00:00:00.000Z");
    admin.server.stop().await.unwrap();
}
