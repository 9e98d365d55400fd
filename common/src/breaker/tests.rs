use super::*;

const SETTINGS: BreakerSettings = BreakerSettings {
    failure_threshold: 3,
    open_ms: 1_000,
    half_open_probes: 2,
};

fn inner() -> Inner {
    Inner {
        settings: SETTINGS,
        phase: Phase::Closed { failures: 0 },
    }
}

/// One call at `now` that ends with `verdict`; whether it was admitted.
fn call(breaker: &mut Inner, now: Instant, verdict: Option<bool>) -> bool {
    if breaker.acquire(now).is_err() {
        return false;
    }
    breaker.settle(verdict, now);
    true
}

#[test]
fn consecutive_failures_open_it_and_a_success_resets_the_count() {
    let (mut breaker, t0) = (inner(), Instant::now());
    assert!(call(&mut breaker, t0, Some(false)));
    assert!(call(&mut breaker, t0, Some(false)));
    assert!(call(&mut breaker, t0, Some(true)), "a success in between");
    assert!(call(&mut breaker, t0, Some(false)));
    assert!(call(&mut breaker, t0, Some(false)));
    assert!(matches!(breaker.phase, Phase::Closed { failures: 2 }));
    assert!(call(&mut breaker, t0, Some(false)), "the third in a row");
    let refused = breaker.acquire(t0 + Duration::from_millis(400));
    assert_eq!(
        refused,
        Err(BreakerOpen {
            retry_after: Duration::from_millis(600)
        })
    );
}

#[test]
fn after_the_open_period_probes_pass_and_close_it() {
    let (mut breaker, t0) = (inner(), Instant::now());
    for _ in 0..3 {
        call(&mut breaker, t0, Some(false));
    }
    let later = t0 + Duration::from_millis(1_001);
    assert!(breaker.acquire(later).is_ok(), "first probe");
    assert!(breaker.acquire(later).is_ok(), "second probe");
    assert!(breaker.acquire(later).is_err(), "no third probe at once");
    breaker.settle(Some(true), later);
    assert!(matches!(breaker.phase, Phase::HalfOpen { .. }));
    breaker.settle(Some(true), later);
    assert!(matches!(breaker.phase, Phase::Closed { failures: 0 }));
}

#[test]
fn a_failed_probe_opens_it_again() {
    let (mut breaker, t0) = (inner(), Instant::now());
    for _ in 0..3 {
        call(&mut breaker, t0, Some(false));
    }
    let later = t0 + Duration::from_millis(1_500);
    assert!(call(&mut breaker, later, Some(false)));
    assert!(breaker.acquire(later + Duration::from_millis(999)).is_err());
    assert!(
        breaker
            .acquire(later + Duration::from_millis(1_000))
            .is_ok()
    );
}

#[test]
fn an_abandoned_probe_frees_its_slot() {
    let (mut breaker, t0) = (inner(), Instant::now());
    for _ in 0..3 {
        call(&mut breaker, t0, Some(false));
    }
    let later = t0 + Duration::from_secs(2);
    assert!(call(&mut breaker, later, None));
    assert!(call(&mut breaker, later, None));
    assert!(breaker.acquire(later).is_ok(), "both slots were given back");
}

#[test]
fn permits_report_through_the_shared_breaker() {
    let breaker = Breaker::new(BreakerSettings {
        failure_threshold: 1,
        open_ms: 60_000,
        half_open_probes: 1,
    });
    let clone = breaker.clone();
    assert_eq!(breaker.state(), BreakerState::Closed);
    let dropped = clone.try_acquire();
    drop(dropped);
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "no verdict, no count"
    );
    clone.try_acquire().map(BreakerPermit::failure).ok();
    assert_eq!(breaker.state(), BreakerState::Open);
    let refused = breaker.try_acquire().err().map(|open| open.retry_after);
    assert!(refused.is_some_and(|wait| wait > Duration::from_secs(59)));
}

#[test]
fn settings_are_bounded() {
    assert!(SETTINGS.validate("breaker").is_ok());
    let zero = BreakerSettings {
        failure_threshold: 0,
        ..SETTINGS
    };
    let error = zero.validate("core.breaker").err().map(|e| e.to_string());
    assert!(error.is_some_and(|e| e.contains("core.breaker.failure_threshold")));
}
