//! A small whole sale through the in-process platform: `flash` sells out with shoppers paying,
//! cancelling and abandoning, a second wave buys the returned units, and `verify` passes on
//! what the run reported.

use std::time::Duration;

use sk_bench::flash::{self, Args};
use sk_bench::verify::{self, Sale};
use sk_common::domain::Role;
use sk_common::testing::unique;

use crate::helpers::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_flash_sale_sells_out_and_verifies() {
    let platform = Platform::start().await;
    let gateway = platform.gateway_url();
    let args = Args::parse_from([
        "--gateway",
        &gateway,
        "--shoppers",
        "2000",
        "--stock",
        "100",
        "--start-in-secs",
        "2",
        "--payment-timeout-secs",
        "10",
        "--pay-fraction",
        "0.6",
        "--abandon-fraction",
        "0.2",
        "--second-wave",
        "400",
        "--rate",
        "400",
        "--no-progress",
    ])
    .unwrap();
    let report = flash::run(&args, platform.token("ops", Role::Admin))
        .await
        .unwrap();
    let json = report.to_json();

    let counts = &json["counts"];
    let count = |name: &str| counts[name].as_u64().unwrap();
    let settlement = &json["settlement"];
    assert_eq!(settlement["failed"], 0, "{settlement}");
    assert_eq!(
        count("ok"),
        count("paid") + count("cancelled") + count("abandoned"),
        "every confirmed order was paid, cancelled or abandoned: {counts}"
    );
    assert_eq!(count("expired"), count("abandoned"), "{counts}");
    // The second wave bought back every returned unit, and every unit sold is one confirmed
    // purchase that was neither cancelled nor expired.
    assert_eq!(count("units_held"), 100, "{counts}");
    assert_eq!(count("remaining"), 0, "{counts}");
    let confirmed = json["confirmed"].as_array().unwrap();
    assert_eq!(confirmed.len() as u64, count("ok"));
    let waves = json["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 2, "abandoned orders make a second wave");
    assert_eq!(waves[0]["attempts"], 2000, "{}", waves[0]);

    // The report is what `verify --run` reads.
    let path = std::env::temp_dir().join(format!("{}.json", unique("sk-bench-flash")));
    std::fs::write(&path, json.to_string()).unwrap();
    let sale = Sale::from_run_file(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(sale.activity_id, report.activity_id());
    let verdict = verify::verify(&platform.target(), &sale, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(verdict.passed(), "{:?}", verdict.breaches());
}
