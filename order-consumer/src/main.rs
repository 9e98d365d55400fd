//! order-consumer binary: see the library for what it serves.

fn main() -> std::process::ExitCode {
    sk_common::service::main("order-consumer", order_consumer::run)
}
