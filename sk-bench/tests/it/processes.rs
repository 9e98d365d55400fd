//! The process harness the whole-platform tests stand on: a service binary stops on SIGTERM,
//! dies on SIGKILL, and comes back on the same port with the same settings.

use std::os::unix::process::ExitStatusExt as _;

use sk_common::testing::{redis_url, unique, unique_mysql_url};

use crate::helpers::process::{free_local_addr, log_dir};
use crate::helpers::{Isolated, Service, ServiceProcess};

#[tokio::test]
async fn a_service_process_stops_dies_and_comes_back() {
    // sk-admin needs only Redis and MySQL.
    let vars = [
        vec![
            ("SK_REDIS__URL", redis_url()),
            ("SK_REDIS__KEY_PREFIX", unique("skt")),
            ("SK_MYSQL__URL", unique_mysql_url()),
        ],
        Isolated::jwt_secret(),
    ]
    .concat();
    let addr = free_local_addr();
    let mut admin = ServiceProcess::start(
        Service::SkAdmin,
        "sk-admin",
        addr,
        vars,
        &log_dir("processes"),
    );
    admin.wait_ready().await;

    let killed = admin.kill().await;
    assert_eq!(killed.signal(), Some(9), "{killed:?}");
    assert!(!admin.is_running());

    admin.restart();
    admin.wait_ready().await;
    assert_eq!(admin.addr(), addr, "the same port after a restart");
    assert!(admin.pid().is_some());

    let stopped = admin.stop().await;
    assert!(stopped.success(), "SIGTERM is a clean exit: {stopped:?}");
    let log = std::fs::read_to_string(admin.log_path()).expect("the log");
    let starts = log.lines().filter(|l| l.contains("\"listening\"")).count();
    assert_eq!(
        starts,
        2,
        "both runs log to one file:\n{}",
        admin.log_tail()
    );
}
