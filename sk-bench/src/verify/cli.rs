//! The `sk-bench verify` command line: which sale (a flash run file or an activity id), where
//! the deployment is, how long to wait for the drain; prints the verdict and exits 0 (pass),
//! 1 (a breach) or 2 (could not verify).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::ArgGroup;

use super::{Sale, Target, Verdict, verify};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("sale").required(true).args(["run", "activity"])))]
pub struct Args {
    /// A flash run's JSON report: gives the activity and every purchase the shoppers were told
    /// succeeded (all of them are checked against the ledger).
    #[arg(long, value_name = "FILE")]
    run: Option<PathBuf>,
    /// Verify this activity without a run file (the checks against confirmed purchases are
    /// skipped).
    #[arg(long, value_name = "ID")]
    activity: Option<u64>,
    /// Base URL of the admin API: the gateway, or sk-admin itself.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    admin: String,
    /// Name of the environment variable holding an admin JWT (read from the environment so it
    /// never shows in `ps`; `sk-admin token --role admin --sub ops` prints one).
    #[arg(long, default_value = "SK_ADMIN_TOKEN", value_name = "NAME")]
    admin_token_env: String,
    /// The catalog and ledger database.
    #[arg(
        long,
        default_value = "mysql://root@127.0.0.1:3306/sk",
        value_name = "URL"
    )]
    mysql_url: String,
    /// The Redis the services use.
    #[arg(long, default_value = "redis://127.0.0.1:6379", value_name = "URL")]
    redis_url: String,
    /// The services' Redis key prefix (`[redis] key_prefix`).
    #[arg(long, default_value = "sk", value_name = "PREFIX")]
    key_prefix: String,
    /// How long to wait, in seconds, for the outbox to empty and the ledger to catch up with
    /// Redis before judging (not draining in time is itself a breach).
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    drain_timeout_secs: u64,
    /// Also write the verdict as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Runs `verify`: 0 when every invariant holds, 1 on a breach, 2 when it could not verify.
#[must_use]
pub fn main(args: Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return could_not_verify(
                &anyhow::Error::new(e).context("cannot start the async runtime"),
            );
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(verdict) if verdict.passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => could_not_verify(&e),
    }
}

fn could_not_verify(error: &anyhow::Error) -> ExitCode {
    eprintln!("sk-bench verify: could not verify: {error:#}");
    ExitCode::from(2)
}

async fn run(args: &Args) -> anyhow::Result<Verdict> {
    let sale = sale(args)?;
    let target = target(args)?;
    let verdict = verify(&target, &sale, Duration::from_secs(args.drain_timeout_secs)).await?;
    verdict.print();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&verdict.to_json())
            .context("cannot serialise the verdict")?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the verdict to {}", path.display()))?;
    }
    Ok(verdict)
}

fn sale(args: &Args) -> anyhow::Result<Sale> {
    match (&args.run, args.activity) {
        (Some(path), _) => Sale::from_run_file(path),
        (None, Some(id)) => Ok(Sale::activity(id)),
        (None, None) => anyhow::bail!("give --run FILE or --activity ID"),
    }
}

fn target(args: &Args) -> anyhow::Result<Target> {
    let admin_token = std::env::var(&args.admin_token_env)
        .ok()
        .filter(|token| !token.trim().is_empty())
        .with_context(|| {
            format!(
                "the environment variable {} must hold an admin JWT (see `sk-admin token --role admin --sub ops`)",
                args.admin_token_env
            )
        })?;
    Ok(Target {
        admin_url: args.admin.clone(),
        admin_token: admin_token.trim().to_owned(),
        mysql_url: args.mysql_url.clone(),
        redis_url: args.redis_url.clone(),
        key_prefix: args.key_prefix.clone(),
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn a_run_file_or_an_activity_is_required_and_defaults_fill_the_rest() {
        assert!(Cli::try_parse_from(["verify"]).is_err());
        assert!(Cli::try_parse_from(["verify", "--run", "r.json", "--activity", "3"]).is_err());
        let cli = Cli::try_parse_from(["verify", "--activity", "3"]).unwrap();
        assert_eq!(sale(&cli.args).unwrap(), Sale::activity(3));
        assert_eq!(cli.args.admin, "http://127.0.0.1:8080");
        assert_eq!(cli.args.admin_token_env, "SK_ADMIN_TOKEN");
        assert_eq!(cli.args.drain_timeout_secs, 120);
        assert_eq!(cli.args.key_prefix, "sk");
    }

    #[test]
    fn a_missing_token_variable_is_named() {
        let cli = Cli::try_parse_from([
            "verify",
            "--activity",
            "3",
            "--admin-token-env",
            "SK_BENCH_TEST_NO_SUCH_VARIABLE",
        ])
        .unwrap();
        let error = format!("{:#}", target(&cli.args).unwrap_err());
        assert!(error.contains("SK_BENCH_TEST_NO_SUCH_VARIABLE"), "{error}");
    }
}
