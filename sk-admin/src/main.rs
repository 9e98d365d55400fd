//! sk-admin binary: see the library for what it serves.

fn main() -> std::process::ExitCode {
    sk_common::service::main("sk-admin", sk_admin::run)
}
