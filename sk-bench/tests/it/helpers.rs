mod cluster;
mod daemon;
mod isolated;
mod platform;
pub mod process;
mod stores;

pub use cluster::{Cluster, Replicas};
pub use isolated::Isolated;
pub use platform::Platform;
pub use process::{Service, ServiceProcess, log_dir};
pub use stores::Stores;
