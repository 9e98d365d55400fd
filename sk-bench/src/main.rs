//! sk-bench: the SRE tool for the flash-sale platform.

fn main() -> std::process::ExitCode {
    sk_bench::main()
}
