//! Which command a run carries out (`command` input, or the CLI subcommand): a deploy
//! (then a prune when `keep-versions` is given), or one of the release-history commands
//! ([`crate::history`]); and where their results go.

use crate::aws::ecr::Ecr;
use crate::aws::history::{AwsAccount, AwsLeftovers, History};
use crate::aws::lambda::Lambda;
use crate::aws::layer::Layers;
use crate::aws::s3::{self, S3};
use crate::cli::Format;
use crate::config::{Command, Config};
use crate::context::GitHubContext;
use crate::error::Error;
use crate::gha::{self, Level};
use crate::history::previews::{self, PreviewPrune, Pulls};
use crate::history::prune::{self, Packages, PruneOutcome, Request};
use crate::history::render::Finished;
use crate::history::{rollback, status};
use crate::order::OrderKey;
use crate::report::{Report, Status};

/// What a run ended with.
#[derive(Debug)]
pub enum Done {
    /// A deploy's report, and what `keep-versions` pruned after it.
    Deploy(Box<Report>, Option<Finished>),
    /// A rollback, prune or status.
    History(Finished),
}

/// Runs the command the config names.
pub async fn run(config: &Config, ctx: &GitHubContext) -> Result<Done, Error> {
    let function = config.function_name.short_name().to_string();
    match config.history.command {
        Command::Deploy => {
            let report = crate::run::deploy(config, ctx).await?;
            let pruned = prune_after_deploy(config, ctx, &report).await;
            Ok(Done::Deploy(
                Box::new(report),
                pruned.map(|p| Finished::Prune(Box::new(p))),
            ))
        }
        Command::Rollback => {
            let sdk = crate::run::connect().await?;
            let lambda = Lambda::new(&sdk, config.function_name.as_str());
            let outcome = rollback::run(&lambda, config, &OrderKey::of_run(ctx)).await?;
            Ok(Done::History(Finished::Rollback(outcome)))
        }
        Command::Prune => {
            let keep = config.history.keep_versions.unwrap_or(usize::MAX);
            let outcome = prune_function(config, ctx, keep).await?;
            Ok(Done::History(Finished::Prune(Box::new(outcome))))
        }
        Command::Status => {
            let sdk = crate::run::connect().await?;
            let lambda = Lambda::new(&sdk, config.function_name.as_str());
            let report = status::run(&lambda, &function).await?;
            Ok(Done::History(Finished::Status(report)))
        }
    }
}

/// Prunes the function named by the config, with the S3 packages when `s3-bucket` is set,
/// the ECR images and the layer versions only the deleted versions used, then the
/// previews of its closed pull requests.
async fn prune_function(
    config: &Config,
    ctx: &GitHubContext,
    keep: usize,
) -> Result<PruneOutcome, Error> {
    let function = config.function_name.short_name();
    let sdk = crate::run::connect().await?;
    let lambda = Lambda::new(&sdk, config.function_name.as_str());
    let s3_client = match &config.s3 {
        Some(_) => {
            let arn = lambda.latest().await?.map(|l| l.arn);
            Some(S3::new(&sdk).owned_by(arn.as_deref().and_then(s3::account_of)))
        }
        None => None,
    };
    let packages = s3_client
        .as_ref()
        .zip(config.s3.as_ref())
        .map(|(s3, target)| Packages { s3, target });
    let leftovers = AwsLeftovers {
        layers: Layers::new(&sdk),
        ecr: Ecr::new(&sdk),
        account: AwsAccount::new(&sdk),
    };
    let layer_dirs: Vec<String> = config.layer_dirs.iter().map(|(n, _)| n.clone()).collect();
    let req = Request {
        function,
        keep,
        packages,
        layer_dirs: &layer_dirs,
        dry_run: config.dry_run,
    };
    let mut outcome = prune::run(&lambda, &leftovers, req).await?;
    outcome.previews = prune_previews(config, ctx, &leftovers.account).await?;
    Ok(outcome)
}

/// Deletes the previews of the function's closed pull requests, asking GitHub with the
/// step's token; without one, says why none was checked.
async fn prune_previews(
    config: &Config,
    ctx: &GitHubContext,
    account: &AwsAccount,
) -> Result<PreviewPrune, Error> {
    let github = crate::github::connect(config, ctx);
    let pulls = match &github {
        Ok((api, (owner, repo))) => Ok(Pulls { api, owner, repo }),
        Err(why) => Err(why.clone()),
    };
    let open = |name: &str| account.function(name);
    let out = previews::prune(account, open, pulls, &config.function_name, config.dry_run).await?;
    for w in &out.preview_warnings {
        gha::annotate(
            ctx.in_actions,
            Level::Warning,
            "lambda-deploy: preview kept",
            w,
        );
    }
    Ok(out)
}

/// `keep-versions` after a deploy of the production function that succeeded; a prune that
/// fails is a warning, since the deploy itself went through.
async fn prune_after_deploy(
    config: &Config,
    ctx: &GitHubContext,
    report: &Report,
) -> Option<PruneOutcome> {
    let keep = config.history.keep_versions?;
    let production = report.function_name == config.function_name.short_name();
    if !production || !matches!(report.outcome.status, Status::Deployed | Status::Unchanged) {
        return None;
    }
    match prune_function(config, ctx, keep).await {
        Ok(p) => Some(p),
        Err(e) => {
            gha::annotate(
                ctx.in_actions,
                Level::Warning,
                "lambda-deploy: prune failed",
                &format!("the deploy succeeded, but keep-versions could not prune: {e}"),
            );
            None
        }
    }
}

/// Writes a history command's outputs and summary where the runner reads them, and
/// prints it; after a deploy (`after_deploy`), only the summary and the text are added.
pub fn publish(
    done: &Finished,
    config: &Config,
    format: Format,
    after_deploy: bool,
) -> Result<(), Error> {
    if !after_deploy {
        crate::output::write_outputs(&done.outputs())?;
    }
    crate::output::write_summary(config, &done.summary())?;
    match format {
        Format::Json if !after_deploy => println!(
            "{}",
            serde_json::to_string_pretty(&done.json()).unwrap_or_default()
        ),
        Format::Json => {}
        Format::Text => print!("{}", done.text()),
    }
    Ok(())
}
