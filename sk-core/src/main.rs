//! sk-core binary: see the library for what it serves.

fn main() -> std::process::ExitCode {
    sk_common::service::main("sk-core", sk_core::run)
}
