mod cluster;
mod isolated;
mod platform;
pub mod process;

pub use cluster::Cluster;
pub use isolated::Isolated;
pub use platform::Platform;
pub use process::{Service, ServiceProcess};
