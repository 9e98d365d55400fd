use sk_common::testing::{TestServer, scenarios};

use crate::helpers::{base_vars, closed_vars, settings};

#[tokio::test]
async fn ready_when_its_dependencies_answer() {
    let server = TestServer::spawn(settings(&base_vars().await), order_consumer::run).await;
    scenarios::becomes_ready(&server).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn not_ready_when_a_required_dependency_is_closed() {
    let server = TestServer::spawn(settings(&closed_vars().await), order_consumer::run).await;
    scenarios::not_ready_because_of(&server, "kafka").await;
    server.stop().await.unwrap();
}
