//! The whole platform as five real processes (the workspace's binaries), wired as a deployment
//! wires them: sk-admin and order-consumer on a MySQL database of the test's own, sk-core and
//! sk-app on a Redis key prefix of its own with fresh Kafka topics, the gateway in front of
//! sk-app and sk-admin. Unlike [`super::Platform`], each service has its own process, so its
//! `/metrics` is its own and a test can kill one (`kill -9`) and restart it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sk_common::domain::{Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::testing::{Vars, load_settings};

use super::Isolated;
use super::process::{Service, ServiceProcess, free_local_addr, log_dir};

#[derive(Debug)]
pub struct Cluster {
    processes: HashMap<Service, ServiceProcess>,
    /// What the cluster has to itself (database, Redis prefix, topics).
    #[allow(
        dead_code,
        reason = "for the fault tests, which check the ledger and Redis"
    )]
    pub isolated: Isolated,
    log_dir: PathBuf,
    keys: JwtKeys,
}

impl Cluster {
    /// Starts every service, sk-admin first (it migrates the schema), and waits until each
    /// one is ready. `test` names the directory of the logs.
    pub async fn start(test: &str) -> Self {
        Self::start_with(test, &[]).await
    }

    /// [`Self::start`], with `extra` settings for every service (e.g. a log filter).
    pub async fn start_with(test: &str, extra: &[(&'static str, String)]) -> Self {
        let isolated = Isolated::new().await;
        let addrs: HashMap<Service, SocketAddr> = Service::ALL
            .into_iter()
            .map(|service| (service, free_local_addr()))
            .collect();
        let log_dir = log_dir(test);
        let mut processes = HashMap::new();
        for service in Service::ALL {
            let vars = [vars_of(service, &isolated, &addrs), extra.to_vec()].concat();
            let mut process = ServiceProcess::start(service, addrs[&service], vars, &log_dir);
            if service == Service::SkAdmin {
                process.wait_ready().await;
            }
            processes.insert(service, process);
        }
        for process in processes.values_mut() {
            process.wait_ready().await;
        }
        let app: sk_app::Settings = load_settings(&Isolated::jwt_secret());
        Self {
            processes,
            isolated,
            log_dir,
            keys: JwtKeys::new(&app.jwt).expect("the test JWT settings are valid"),
        }
    }

    /// One service's process.
    pub fn service(&self, service: Service) -> &ServiceProcess {
        &self.processes[&service]
    }

    /// One service's process, to stop, kill or restart it.
    #[allow(dead_code, reason = "for the fault tests")]
    pub fn service_mut(&mut self, service: Service) -> &mut ServiceProcess {
        self.processes
            .get_mut(&service)
            .expect("every service is started")
    }

    /// The gateway's base URL: the platform's public entry.
    pub fn gateway_url(&self) -> String {
        self.service(Service::Gateway).url("")
    }

    /// Where the services' logs are (one `<service>.log` each).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// A token for `sub` as `role`, signed with the cluster's key.
    pub fn token(&self, sub: &str, role: Role) -> String {
        let user = UserId::parse(sub).expect("a valid user id");
        self.keys.mint(&user, role, None).expect("a token")
    }
}

/// `service`'s settings in the cluster: its dependencies and its peers' addresses.
fn vars_of(service: Service, isolated: &Isolated, addrs: &HashMap<Service, SocketAddr>) -> Vars {
    let peer = |service: Service| format!("http://{}", addrs[&service]);
    match service {
        Service::SkAdmin => [isolated.redis(), isolated.mysql(), Isolated::jwt_secret()].concat(),
        Service::SkCore => [
            isolated.redis(),
            isolated.kafka.clone(),
            Isolated::internal_secret(),
            Isolated::purchase_token_secret(),
        ]
        .concat(),
        Service::OrderConsumer => [
            isolated.mysql(),
            isolated.kafka.clone(),
            vec![("SK_CONSUMER__GROUP_ID", isolated.group_id.clone())],
        ]
        .concat(),
        Service::SkApp => [
            isolated.redis(),
            isolated.mysql(),
            Isolated::internal_secret(),
            Isolated::jwt_secret(),
            vec![("SK_CORE__URL", peer(Service::SkCore))],
        ]
        .concat(),
        Service::Gateway => vec![
            ("SK_UPSTREAMS__APP", peer(Service::SkApp)),
            ("SK_UPSTREAMS__ADMIN", peer(Service::SkAdmin)),
            // The tests drive it from loopback: exempt them from the per-client limit.
            ("SK_LIMITS__EXEMPT", "127.0.0.1".into()),
        ],
    }
}
