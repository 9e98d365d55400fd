//! Capped exponential backoff that gives way to shutdown: how every retry loop waits.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Pauses that double from `initial` up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// Starts at `initial`.
    #[must_use]
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self { next: initial, max }
    }

    /// The next pause, in milliseconds (for logs).
    #[must_use]
    pub fn next_ms(&self) -> u128 {
        self.next.as_millis()
    }

    /// Sleeps for the current pause and doubles it; `false` when `shutdown` fires first.
    pub async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max);
        tokio::select! {
            () = shutdown.cancelled() => false,
            () = tokio::time::sleep(pause) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_up_to_its_cap_and_yields_to_shutdown() {
        let shutdown = CancellationToken::new();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let mut pauses = Vec::new();
        for _ in 0..4 {
            pauses.push(backoff.next_ms());
            assert!(backoff.wait(&shutdown).await);
        }
        assert_eq!(pauses, [100, 200, 350, 350]);
        shutdown.cancel();
        assert!(!backoff.wait(&shutdown).await);
    }
}
