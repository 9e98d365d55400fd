use std::time::Duration;

use super::*;

#[tokio::test(start_paused = true)]
async fn tasks_that_stop_on_the_token_finish_cleanly() {
    let token = CancellationToken::new();
    let mut tasks = Tasks::new(token.clone());
    let watched = token.clone();
    tasks.spawn("worker", async move {
        watched.cancelled().await;
        Ok::<_, String>(())
    });
    token.cancel();
    tasks.run(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn tasks_still_running_after_the_grace_period_are_aborted() {
    let token = CancellationToken::new();
    let mut tasks = Tasks::new(token.clone());
    tasks.spawn("stubborn", async {
        std::future::pending::<()>().await;
        Ok::<_, String>(())
    });
    token.cancel();
    let started = tokio::time::Instant::now();
    tasks.run(Duration::from_secs(3)).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn a_failing_task_cancels_the_others_and_is_reported() {
    let token = CancellationToken::new();
    let mut tasks = Tasks::new(token.clone());
    let watched = token.clone();
    tasks.spawn("worker", async move {
        watched.cancelled().await;
        Ok::<_, String>(())
    });
    tasks.spawn("broken", async { Err::<(), _>("disk on fire") });
    let failed = tasks.run(Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(failed.task, "broken");
    assert!(token.is_cancelled());
}
