//! The whole platform as real processes (the workspace's binaries, one or more instances of
//! each service), wired as a deployment wires them: sk-admin and order-consumer on a MySQL
//! database of the test's own, sk-core and sk-app on a Redis key prefix of its own with fresh
//! Kafka topics, the gateway in front of sk-app and sk-admin. Unlike [`super::Platform`], each
//! service has its own process, so its `/metrics` is its own and a test can kill one
//! (`kill -9`) and restart it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sk_common::domain::{Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::testing::{Vars, load_settings};

use super::Isolated;
use super::process::{Service, ServiceProcess, free_local_addr, log_dir};

/// How many instances of each service a cluster runs (one gateway and one sk-admin always).
#[derive(Debug, Clone, Copy)]
pub struct Replicas {
    pub sk_app: usize,
    pub sk_core: usize,
    pub order_consumer: usize,
}

impl Replicas {
    /// One of each.
    pub const ONE: Self = Self {
        sk_app: 1,
        sk_core: 1,
        order_consumer: 1,
    };

    const fn of(self, service: Service) -> usize {
        match service {
            Service::SkApp => self.sk_app,
            Service::SkCore => self.sk_core,
            Service::OrderConsumer => self.order_consumer,
            Service::Gateway | Service::SkAdmin => 1,
        }
    }
}

#[derive(Debug)]
pub struct Cluster {
    /// Every instance, in start order.
    processes: Vec<ServiceProcess>,
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
        let extra = |_| extra.to_vec();
        Self::launch(&log_dir(test), Isolated::new().await, Replicas::ONE, &extra).await
    }

    /// Starts `replicas` of the services on `isolated`, logging under `log_dir`, each with the
    /// `extra` settings given for its service. sk-app number `i` calls sk-core number `i` (modulo their
    /// count); the gateway balances over every sk-app.
    pub async fn launch(
        log_dir: &Path,
        isolated: Isolated,
        replicas: Replicas,
        extra: &dyn Fn(Service) -> Vars,
    ) -> Self {
        let mut instances: Vec<(Service, String, SocketAddr)> = Vec::new();
        for service in Service::ALL {
            let count = replicas.of(service);
            for i in 1..=count {
                let name = if count == 1 {
                    service.name().to_owned()
                } else {
                    format!("{}-{i}", service.name())
                };
                instances.push((service, name, free_local_addr()));
            }
        }
        let peers = Peers::of(&instances);
        let mut processes = Vec::new();
        for (service, name, addr) in &instances {
            let index = processes
                .iter()
                .filter(|p: &&ServiceProcess| p.service() == *service)
                .count();
            let vars = [
                vars_of(*service, name, index, &isolated, &peers),
                extra(*service),
            ]
            .concat();
            let mut process = ServiceProcess::start(*service, name, *addr, vars, log_dir);
            if *service == Service::SkAdmin {
                process.wait_ready().await;
            }
            processes.push(process);
        }
        for process in &mut processes {
            process.wait_ready().await;
        }
        let app: sk_app::Settings = load_settings(&Isolated::jwt_secret());
        Self {
            processes,
            isolated,
            log_dir: log_dir.to_owned(),
            keys: JwtKeys::new(&app.jwt).expect("the test JWT settings are valid"),
        }
    }

    /// One service's (first) process.
    pub fn service(&self, service: Service) -> &ServiceProcess {
        self.instances(service)
            .next()
            .expect("every service is started")
    }

    /// One service's (first) process, to stop, kill or restart it.
    #[allow(dead_code, reason = "for the fault tests")]
    pub fn service_mut(&mut self, service: Service) -> &mut ServiceProcess {
        self.processes
            .iter_mut()
            .find(|p| p.service() == service)
            .expect("every service is started")
    }

    /// Every instance of `service`.
    pub fn instances(&self, service: Service) -> impl Iterator<Item = &ServiceProcess> {
        self.processes
            .iter()
            .filter(move |p| p.service() == service)
    }

    /// The instance named `name` (`sk-core-2`), to stop, kill or restart it.
    #[allow(dead_code, reason = "for the fault tests")]
    pub fn instance_mut(&mut self, name: &str) -> &mut ServiceProcess {
        self.processes
            .iter_mut()
            .find(|p| p.name() == name)
            .unwrap_or_else(|| panic!("no instance {name}"))
    }

    /// The gateway's base URL: the platform's public entry.
    pub fn gateway_url(&self) -> String {
        self.service(Service::Gateway).url("")
    }

    /// Where the services' logs are (one `<instance>.log` each).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// A token for `sub` as `role`, signed with the cluster's key.
    pub fn token(&self, sub: &str, role: Role) -> String {
        let user = UserId::parse(sub).expect("a valid user id");
        self.keys.mint(&user, role, None).expect("a token")
    }
}

/// The base URLs of each service's instances, in start order.
struct Peers(HashMap<Service, Vec<String>>);

impl Peers {
    fn of(instances: &[(Service, String, SocketAddr)]) -> Self {
        let mut peers: HashMap<Service, Vec<String>> = HashMap::new();
        for (service, _, addr) in instances {
            peers
                .entry(*service)
                .or_default()
                .push(format!("http://{addr}"));
        }
        Self(peers)
    }

    /// Instance `index` of `service` (modulo their count).
    fn one(&self, service: Service, index: usize) -> String {
        let urls = &self.0[&service];
        urls[index % urls.len()].clone()
    }

    /// Every instance of `service`, comma-separated (as list settings are given in `SK_…`).
    fn all(&self, service: Service) -> String {
        self.0[&service].join(",")
    }
}

/// The settings of `service`'s instance `index`, named `name`, in the cluster: its
/// dependencies and its peers' addresses.
fn vars_of(service: Service, name: &str, index: usize, isolated: &Isolated, peers: &Peers) -> Vars {
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
            vec![
                ("SK_CONSUMER__GROUP_ID", isolated.group_id.clone()),
                // Static members, as a StatefulSet would name them: a killed and restarted
                // consumer takes its partitions back as itself.
                ("SK_CONSUMER__INSTANCE_ID", name.to_owned()),
            ],
        ]
        .concat(),
        Service::SkApp => [
            isolated.redis(),
            isolated.mysql(),
            Isolated::internal_secret(),
            Isolated::jwt_secret(),
            vec![("SK_CORE__URL", peers.one(Service::SkCore, index))],
        ]
        .concat(),
        Service::Gateway => vec![
            ("SK_UPSTREAMS__APP", peers.all(Service::SkApp)),
            ("SK_UPSTREAMS__ADMIN", peers.all(Service::SkAdmin)),
            // The tests drive it from loopback: exempt them from the per-client limit.
            ("SK_LIMITS__EXEMPT", "127.0.0.1".into()),
        ],
    }
}
