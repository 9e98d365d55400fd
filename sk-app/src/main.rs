//! sk-app binary: see the library for what it serves.

fn main() -> std::process::ExitCode {
    sk_common::service::main("sk-app", sk_app::run)
}
