//! The deploy flow, start to end: package -> read live state -> plan -> apply -> report.
//! Nothing here writes to AWS before the plan is complete; a dry run stops after it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::aws::ecr::Ecr;
use crate::aws::lambda::Lambda;
use crate::aws::layer::{LayerMeta, Layers};
use crate::aws::s3::{self, S3, provenance_metadata};
use crate::cancel::ScratchDir;
use crate::config::{Artifact, Config, S3Target};
use crate::context::GitHubContext;
use crate::deploy::{self, Outcome};
use crate::domain::function::LayerRef;
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::layers::{LayerAction, LayerPlan};
use crate::order::OrderKey;
use crate::package::{self, ExcludeSet, PackageInfo};
use crate::plan::{self, Live, LocalCode, Plan, Publish};
use crate::release::SkippedMove;
use crate::report::{Provenance, Report, Status};
use crate::state::LiveFunction;
use crate::targets::{Mode, Rules, Targets};
use crate::{aws, image, layers, release, tags, targets};

mod many;
mod planning;
mod previews;
mod stages;

use stages::Packaged;

/// Builds (or inspects) the package named by the config.
fn prepare(artifact: &Artifact, scratch: &Path) -> Result<(PathBuf, PackageInfo), Error> {
    match artifact {
        Artifact::SourceDir { dir, exclude } => {
            let info = package::write_zip(dir, &ExcludeSet::new(exclude)?, scratch)?;
            Ok((scratch.to_path_buf(), info))
        }
        Artifact::ZipFile { path } => Ok((path.clone(), package::inspect_zip(path)?)),
        Artifact::ImageBuild { .. } | Artifact::ImageUri { .. } => {
            Err(image::ImageError::Unusable {
                image: "(none)".into(),
                reason: "images are not packaged as zips".into(),
            }
            .into())
        }
    }
}

/// Compatible runtimes and architectures for new layer versions: the function's, as
/// the inputs give them or the live function has them.
fn layer_meta(config: &Config, live: Option<&LiveFunction>, description: &str) -> LayerMeta {
    let s = &config.settings;
    let runtime = s
        .runtime
        .clone()
        .or_else(|| live.and_then(|f| f.runtime.clone()));
    let arch = s.architecture.or_else(|| live.and_then(|f| f.architecture));
    LayerMeta {
        description: description.chars().take(256).collect(),
        runtimes: runtime.into_iter().collect(),
        architectures: arch.into_iter().collect(),
    }
}

fn provenance(ctx: &GitHubContext) -> Provenance {
    Provenance {
        ref_label: ctx.ref_label(),
        short_sha: ctx.sha.as_ref().map(|s| s.short().to_string()),
        commit_url: ctx.commit_url(),
        run_url: ctx.run_url(),
    }
}

/// Loads the AWS configuration and checks that a region and credentials are there, so
/// a job missing either gets one clear error before the first request.
pub(crate) async fn connect() -> Result<aws_config::SdkConfig, Error> {
    let sdk = aws::load_config().await;
    if sdk.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        return Err(Error::NoRegion);
    }
    aws::check_credentials(&sdk).await?;
    Ok(sdk)
}

/// Runs one deploy as the config says, and reports what happened (or would happen).
pub async fn deploy(config: &Config, ctx: &GitHubContext) -> Result<Report, Error> {
    deploy_with(config, ctx, None).await
}

pub(crate) use many::{deploy_all, matrix};

/// Like [`deploy()`], reusing an AWS configuration (credentials included) already loaded
/// for another function of the same step.
pub(crate) async fn deploy_with(
    config: &Config,
    ctx: &GitHubContext,
    shared: Option<&aws_config::SdkConfig>,
) -> Result<Report, Error> {
    let started = Instant::now();
    let targets = resolve_targets(config, ctx)?;
    // A preview is deployed to (or removed from) its own function; from here on the
    // production function is neither read nor written.
    let preview_config;
    let config = match targets.mode {
        Mode::Deploy => config,
        Mode::Preview { number } | Mode::RemovePreview { number } => {
            preview_config = previews::config_for(config, number);
            &preview_config
        }
    };
    if let Mode::RemovePreview { number } = targets.mode {
        return previews::remove(config, ctx, &targets, number, started).await;
    }
    let artifact = config.artifact.as_ref().ok_or(Error::NoPackage)?;
    // Region and credentials before the package: a job missing either gets one error
    // and nothing is built.
    let sdk = match shared {
        Some(sdk) => sdk.clone(),
        None => connect().await?,
    };
    let scratch = scratch_dir(config)?;
    let (packaged, function) = read_and_package(&sdk, config, ctx, artifact, &scratch).await?;
    let (mut planned, skipped) = plan_run(&sdk, config, ctx, &targets, &packaged, function).await?;
    let mut report = planned_report(config, ctx, &targets, &planned, skipped);

    if config.dry_run {
        report.outcome.version = match &planned.plan.publish {
            Publish::Reuse { version } => Some(version.clone()),
            Publish::No => Some("$LATEST".into()),
            Publish::New { .. } => None,
        };
        report.outcome.elapsed_ms = started.elapsed().as_millis();
        return Ok(report);
    }
    if planned.plan.code_changed && planned.image.is_none() {
        storage_preflight(config, ctx, &planned, &mut report).await?;
    }
    push_image(&planned, ctx, &mut report).await?;
    let noop = planned.plan.is_noop();
    if noop {
        report.outcome.status = Status::Unchanged;
        report.outcome.version = Some(match &planned.plan.publish {
            Publish::Reuse { version } => version.clone(),
            _ => "$LATEST".into(),
        });
        report.outcome.aliases = planned.plan.aliases_in_place.clone();
    } else {
        apply_plan(config, ctx, &mut planned, &packaged, &mut report).await?;
    }
    stages::record_tree(&planned.lambda, &planned.live, &packaged, &mut report).await;
    let untouched = planned.live.function.as_ref().filter(|_| noop);
    previews::finish(
        &planned.lambda,
        untouched,
        config,
        ctx,
        &targets,
        &mut report,
    )
    .await?;
    report.outcome.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

/// The folder for the package and the layer packages, removed when the run ends, fails
/// or is cancelled. Layer zips are named `layer-<name>.zip`, so never `function.zip`.
fn scratch_dir(config: &Config) -> Result<ScratchDir, Error> {
    let function = config.function_name.short_name();
    ScratchDir::new(&format!("lambda-deploy-{function}-")).map_err(|source| Error::Write {
        what: "the package",
        path: std::env::temp_dir().display().to_string(),
        source,
    })
}

/// Reads the live function while the trees are hashed, then builds what must be built
/// ([`stages::package`]); returns the package and the function as read.
async fn read_and_package(
    sdk: &aws_config::SdkConfig,
    config: &Config,
    ctx: &GitHubContext,
    artifact: &Artifact,
    scratch: &ScratchDir,
) -> Result<(Packaged, Option<LiveFunction>), Error> {
    let zip = scratch.path().join("function.zip");
    let lambda = Lambda::new(sdk, config.function_name.as_str());
    let layers = Layers::new(sdk);
    let early = stages::read_early(&lambda, &layers, config, artifact, scratch.path()).await?;
    let function = early.function.clone();
    let packaged = stages::package(
        config,
        artifact,
        ctx.in_actions,
        &zip,
        scratch.path(),
        early,
    )?;
    Ok((packaged, function))
}

/// Fails before any change when the zip would not fit in the account's code storage;
/// warns when it is tight ([`crate::history::storage`]).
async fn storage_preflight(
    config: &Config,
    ctx: &GitHubContext,
    planned: &Planned<'_>,
    report: &mut Report,
) -> Result<(), Error> {
    let warning = crate::history::storage::preflight(
        &planned.lambda,
        config.function_name.short_name(),
        config.history.keep_versions,
        planned.code.size,
    )
    .await?;
    if let Some(w) = warning {
        gha::annotate(
            ctx.in_actions,
            Level::Warning,
            "lambda-deploy: code storage",
            &w,
        );
        report.outcome.warnings.push(w);
    }
    Ok(())
}

/// Which aliases the run moves, refusing a fork's head unless allowed; warns about what
/// people should know (e.g. a tag that is not semver).
fn resolve_targets(config: &Config, ctx: &GitHubContext) -> Result<Targets, Error> {
    let targets = targets::compute(&Rules::from(config), ctx)?;
    targets::check_fork(config.allow_forks, ctx, &targets.mode)?;
    for w in &targets.warnings {
        gha::annotate(ctx.in_actions, Level::Warning, "lambda-deploy", w);
    }
    Ok(targets)
}

/// What the plan stage read and decided, carried into the apply stage.
struct Planned<'c> {
    lambda: Lambda,
    layer_client: Layers,
    layer_plans: Vec<LayerPlan>,
    live: Live,
    s3: Option<(S3, &'c S3Target)>,
    ecr: Ecr,
    image: Option<image::Prepared>,
    code: LocalCode,
    description: String,
    plan: Plan,
}

/// Reads the live state and computes the plan; nothing is written to AWS. Also returns
/// the moves the release guard held back.
async fn plan_run<'c>(
    sdk: &aws_config::SdkConfig,
    config: &'c Config,
    ctx: &GitHubContext,
    targets: &Targets,
    packaged: &Packaged,
    function: Option<LiveFunction>,
) -> Result<(Planned<'c>, Vec<SkippedMove>), Error> {
    let _g = Group::start(ctx.in_actions, "lambda-deploy: plan");
    let lambda = Lambda::new(sdk, config.function_name.as_str());
    let layer_client = Layers::new(sdk);
    let layer_plans = layers::plan(&layer_client, &packaged.layers).await?;
    stages::check_given_layers(&layer_client, config, packaged).await?;
    let mut live = Live {
        function,
        ..Live::default()
    };
    let ecr = Ecr::new(sdk);
    // The bucket check is independent of the other reads: it runs beside them.
    let arn = live.function.as_ref().map(|f| f.arn.clone());
    let reads = async {
        let (image, code) = local_code(config, ctx.in_actions, packaged, &ecr, &live).await?;
        stages::read_aliases(&lambda, config, targets, &mut live, &code.code_sha256).await?;
        Ok::<_, Error>((image, code))
    };
    let (s3, (image, code)) = tokio::try_join!(s3_client(sdk, config, arn.as_deref()), reads)?;
    let description = version_description(ctx);
    let (allowed, skipped) = release::guard(&lambda, targets, &live.aliases).await?;
    let url = planning::read_url(&lambda, config, targets, &live).await?;
    // The function's layer list names the versions still to publish as such; apply
    // fills in their ARNs once they are published.
    let layer_targets: Vec<LayerRef> = layer_plans.iter().map(LayerPlan::target).collect();
    let plan = plan::plan(
        config,
        layers::desired(config.settings.layers.as_ref(), &layer_targets),
        &allowed,
        code.clone(),
        &live,
        description.clone(),
    )?;
    let reads = planning::Reads {
        config,
        ctx,
        packaged,
        image: image.as_ref(),
        layer_plans: &layer_plans,
        skipped: &skipped,
        url,
        live: &live,
    };
    let plan = planning::complete(plan, &reads);
    // One event a line: the log keeps each event on one line, so a multi-line message
    // would show as one long line with `\n` in it.
    for line in plan.to_string().lines() {
        tracing::info!("{line}");
    }
    let planned = Planned {
        lambda,
        layer_client,
        layer_plans,
        live,
        s3,
        ecr,
        image,
        code,
        description,
        plan,
    };
    Ok((planned, skipped))
}

/// The S3 client for `s3-bucket`, after checking the bucket is in the run's region and
/// belongs to the function's account: from its ARN, or from the role's for a function
/// still to be created.
async fn s3_client<'c>(
    sdk: &aws_config::SdkConfig,
    config: &'c Config,
    function_arn: Option<&str>,
) -> Result<Option<(S3, &'c S3Target)>, Error> {
    let Some(target) = &config.s3 else {
        return Ok(None);
    };
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let owner = function_arn
        .or(config.settings.role.as_deref())
        .and_then(s3::account_of);
    let s3 = S3::new(sdk).owned_by(owner);
    s3.check_bucket(&target.bucket, &region).await?;
    Ok(Some((s3, target)))
}

/// The code Lambda will get: the zip's facts, or the image prepared for the function's
/// architecture (nothing is pushed yet).
async fn local_code(
    config: &Config,
    actions: bool,
    packaged: &Packaged,
    ecr: &Ecr,
    live: &Live,
) -> Result<(Option<image::Prepared>, LocalCode), Error> {
    if let Some(info) = &packaged.info {
        let code = LocalCode {
            code_sha256: info.code_sha256.clone(),
            size: info.size,
            unzipped_size: info.unzipped_size,
            image: None,
        };
        return Ok((None, code));
    }
    let _g = Group::start(actions, "lambda-deploy: image");
    let arch = config
        .settings
        .architecture
        .or_else(|| live.function.as_ref().and_then(|f| f.architecture))
        .unwrap_or_default();
    let prepared = image::prepare(config, ecr, arch.as_str(), actions).await?;
    let code = prepared.code();
    Ok((Some(prepared), code))
}

/// The description of the version this run publishes.
fn version_description(ctx: &GitHubContext) -> String {
    let description = tags::version_description(ctx);
    if description.is_empty() {
        format!("lambda-deploy {}", env!("CARGO_PKG_VERSION"))
    } else {
        description
    }
}

/// The report of a planned run, before anything is applied.
fn planned_report(
    config: &Config,
    ctx: &GitHubContext,
    targets: &Targets,
    planned: &Planned<'_>,
    skipped: Vec<SkippedMove>,
) -> Report {
    let plan = &planned.plan;
    let layer_targets: Vec<LayerRef> = planned.layer_plans.iter().map(LayerPlan::target).collect();
    Report {
        outcome: crate::report::Outcome {
            status: Status::Planned,
            version: None,
            published: false,
            aliases: Vec::new(),
            moved: Vec::new(),
            warnings: targets.warnings.clone(),
            elapsed_ms: 0,
        },
        function_name: config.function_name.short_name().to_string(),
        function_arn: planned.live.function.as_ref().map(|f| f.arn.clone()),
        s3_uri: None,
        layers: stages::planned_layers(&planned.layer_plans),
        layer_arns: layers::desired(config.settings.layers.as_ref(), &layer_targets),
        function_url: None,
        provenance: provenance(ctx),
        image: planned.image.as_ref().map(|i| i.report()),
        plan: Some(plan.clone()),
        smoke: None,
        extra: previews::extra(config, ctx, targets, skipped),
    }
}

/// Pushes the prepared image (image runs only) with the run's tags.
async fn push_image(
    planned: &Planned<'_>,
    ctx: &GitHubContext,
    report: &mut Report,
) -> Result<(), Error> {
    let Some(image) = &planned.image else {
        return Ok(());
    };
    let _g = Group::start(ctx.in_actions, "lambda-deploy: push");
    let pushed = image.push(&planned.ecr, &tags::image_tags(ctx)).await?;
    report.image = Some(pushed.report);
    for w in &pushed.warnings {
        tracing::warn!("{w}");
    }
    report.outcome.warnings.extend(pushed.warnings);
    Ok(())
}

/// Carries out the plan: new layer versions first (their ARNs filled in the plan), the
/// code upload, then the function, its version and its aliases.
async fn apply_plan(
    config: &Config,
    ctx: &GitHubContext,
    planned: &mut Planned<'_>,
    packaged: &Packaged,
    report: &mut Report,
) -> Result<(), Error> {
    let actions = ctx.in_actions;
    let _g = Group::start(actions, "lambda-deploy: deploy");
    let metadata =
        provenance_metadata(ctx.sha.as_ref().map(|s| s.as_str()), ctx.git_ref.as_deref());
    if planned
        .layer_plans
        .iter()
        .any(|p| p.action == LayerAction::Publish)
    {
        publish_layers(config, planned, packaged, &metadata, report).await?;
    }
    let function = config.function_name.short_name();
    let package_at = stages::code_location(
        planned.s3.as_ref(),
        &planned.plan,
        packaged,
        function,
        &metadata,
        report,
    )
    .await?;
    let ours = OrderKey::of_run(ctx);
    let outcome: Outcome = deploy::apply(
        &planned.lambda,
        config,
        &planned.plan,
        planned.live.function.as_ref(),
        &package_at,
        &ours,
    )
    .await?;
    drop(_g);
    stages::record(report, &planned.plan, outcome, actions);
    Ok(())
}

/// Publishes the `layer-dirs` layers whose content changed, and fills their new ARNs in
/// the plan, so the function's configuration names them.
async fn publish_layers(
    config: &Config,
    planned: &mut Planned<'_>,
    packaged: &Packaged,
    metadata: &BTreeMap<String, String>,
    report: &mut Report,
) -> Result<(), Error> {
    let meta = layer_meta(config, planned.live.function.as_ref(), &planned.description);
    let upload = planned.s3.as_ref().map(|(s3, target)| layers::LayerUpload {
        s3,
        target,
        metadata,
    });
    let outcomes = layers::publish(
        &planned.layer_client,
        &packaged.layers,
        &planned.layer_plans,
        &meta,
        upload.as_ref(),
    )
    .await?;
    for o in outcomes.iter().filter(|o| o.published) {
        if let Some(arn) = o.arn.arn() {
            planned.plan.layer_published(&o.name, arn);
        }
    }
    let arns: Vec<LayerRef> = outcomes.iter().map(|o| o.arn.clone()).collect();
    // The report shows the plan as applied: the layers' ARNs are known now.
    report.plan = Some(planned.plan.clone());
    report.layer_arns = layers::desired(config.settings.layers.as_ref(), &arns);
    report.layers = outcomes;
    Ok(())
}
