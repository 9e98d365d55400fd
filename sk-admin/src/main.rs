//! sk-admin binary: the service (see the library for what it serves) and `sk-admin token`
//! (see `cli`).

fn main() -> std::process::ExitCode {
    sk_admin::cli::main()
}
