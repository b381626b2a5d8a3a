//! The `lambda-deploy` binary: parse the command line, run, and turn the result into
//! outputs, a job summary, annotations and an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use lambda_deploy::cli::{self, Format, Invocation};
use lambda_deploy::config::Config;
use lambda_deploy::config::PackageRule;
use lambda_deploy::context::GitHubContext;
use lambda_deploy::gha::{self, Level};
use lambda_deploy::{Error, app, cancel, fleet};

/// The log without `RUNNER_DEBUG` or `LAMBDA_DEPLOY_LOG`: this program's own events, and
/// only errors of the libraries. The AWS SDK's warnings (a credential or region probe of
/// the instance metadata service, printed as debug-formatted error structures) would
/// bury the one clear error a job without credentials gets; debug logging shows them.
const QUIET: &str =
    "lambda_deploy=info,error,aws_config=off,aws_runtime=off,aws_smithy_runtime=off";

fn init_tracing() {
    let debug = std::env::var("RUNNER_DEBUG").is_ok_and(|v| v == "1");
    // An empty LAMBDA_DEPLOY_LOG (a workflow's `env:` with no value) counts as unset.
    let filter = std::env::var("LAMBDA_DEPLOY_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| {
            tracing_subscriber::EnvFilter::new(if debug {
                "lambda_deploy=debug,info"
            } else {
                QUIET
            })
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(gha::LogWriter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
}

fn fail(in_actions: bool, err: &Error) -> ExitCode {
    match err {
        Error::Config(errors) => {
            for e in &errors.0 {
                gha::annotate(
                    in_actions,
                    Level::Error,
                    &format!("lambda-deploy: input {}", e.input),
                    &e.to_string(),
                );
            }
        }
        Error::Manifest(errors) => {
            for p in &errors.0 {
                gha::annotate(
                    in_actions,
                    Level::Error,
                    "lambda-deploy: invalid manifest",
                    &p.to_string(),
                );
            }
        }
        other => gha::annotate(in_actions, Level::Error, &other.title(), &other.to_string()),
    }
    ExitCode::from(err.exit_code())
}

/// Ends the process for a run cancelled by SIGTERM or SIGINT: the annotation, the job
/// summary (status cancelled, the steps done) and the signal's exit code.
fn cancelled(config: &Config, in_actions: bool, c: cancel::Cancelled) -> ! {
    let err = Error::Cancelled(c);
    lambda_deploy::output::failure_summary(config, &err);
    fail(in_actions, &err);
    std::process::exit(i32::from(err.exit_code()))
}

/// The deploy command: context, inputs, the run, then outputs or the failure.
fn deploy(flags: Vec<(String, String)>, format: Format) -> ExitCode {
    let ctx = match GitHubContext::from_env(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
                &Error::Context(e),
            );
        }
    };
    let (raw, unknown) = cli::raw_inputs(flags);
    lambda_deploy::output::mask_secrets(ctx.in_actions, &raw);
    for var in unknown {
        gha::annotate(
            ctx.in_actions,
            Level::Warning,
            "lambda-deploy: unknown input",
            &format!("{var} is not an input of lambda-deploy and was ignored; check its spelling"),
        );
    }
    let base = std::env::current_dir().unwrap_or_default();
    let rule = lambda_deploy::targets::package_rule(&ctx);
    if fleet::wanted(&raw) {
        return manifest_step(&raw, &ctx, &base, rule, format);
    }
    let config = match Config::from_raw_with(&raw, &base, rule) {
        Ok(c) => c,
        Err(e) => return fail(ctx.in_actions, &Error::Config(e)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let (c, in_actions) = (config.clone(), ctx.in_actions);
        if let Err(e) = cancel::listen(move |done| cancelled(&c, in_actions, done)) {
            tracing::warn!(error = %e, "cannot handle SIGTERM/SIGINT; a cancelled job will be killed");
        }
        app::run(&config, &ctx).await
    });
    if cancel::received().is_some() {
        // The signal's handler is cleaning up, and ends the process when done.
        runtime.block_on(std::future::pending::<()>());
    }
    let published = match &result {
        Ok(app::Done::Deploy(report, pruned)) => {
            lambda_deploy::output::publish(report, &config, &ctx, format).and_then(|()| {
                pruned
                    .as_ref()
                    .map_or(Ok(()), |p| app::publish(p, &config, format, true))
            })
        }
        Ok(app::Done::History(done)) => app::publish(done, &config, format, false),
        Err(_) => Ok(()),
    };
    match result {
        Ok(_) => match published {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(ctx.in_actions, &e),
        },
        Err(e) => {
            lambda_deploy::output::failure_summary(&config, &e);
            fail(ctx.in_actions, &e)
        }
    }
}

/// A step with a manifest: every entry validated first, then deployed (or listed for a
/// matrix) in one process; outputs are written once at the end.
fn manifest_step(
    raw: &lambda_deploy::config::RawInputs,
    ctx: &GitHubContext,
    base: &std::path::Path,
    rule: PackageRule,
    format: Format,
) -> ExitCode {
    let root = std::env::var_os("GITHUB_WORKSPACE")
        .filter(|v| !v.is_empty())
        .map_or_else(|| base.to_path_buf(), std::path::PathBuf::from);
    let step = match fleet::load(raw, base, &root, rule) {
        Ok(s) => s,
        Err(e) => return fail(ctx.in_actions, &e),
    };
    fleet::mask_environment(&step, ctx.in_actions);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let summary = step.summary;
    let first = step.entries.first().map(|e| e.config.clone());
    let result = runtime.block_on(async {
        let in_actions = ctx.in_actions;
        if let Some(c) = first
            && let Err(e) = cancel::listen(move |done| cancelled(&c, in_actions, done))
        {
            tracing::warn!(error = %e, "cannot handle SIGTERM/SIGINT; a cancelled job will be killed");
        }
        fleet::run(step, ctx).await
    });
    if cancel::received().is_some() {
        runtime.block_on(std::future::pending::<()>());
    }
    match result.and_then(|f| fleet::publish(&f, summary, ctx.in_actions, format)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(ctx.in_actions, &e),
    }
}

fn main() -> ExitCode {
    let invocation = match cli::parse(std::env::args_os()) {
        Ok(i) => i,
        Err(e) => e.exit(),
    };
    init_tracing();
    match invocation {
        Invocation::Package {
            source_dir,
            exclude,
            output,
            format,
        } => match cli::package(&source_dir, &exclude, &output) {
            Ok(s) if format == Format::Json => {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Ok(s) => {
                println!(
                    "wrote {} ({} bytes, {} entries)\ncode-sha256: {}",
                    s.output, s.size, s.entries, s.code_sha256
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(false, &Error::Package(e)),
        },
        Invocation::Deploy { flags, format } => deploy(flags, format),
        Invocation::Bootstrap(opts, format) => {
            lambda_deploy::bootstrap::main(opts, format == Format::Json)
        }
        Invocation::Init(opts) => lambda_deploy::init::main(&opts),
    }
}
