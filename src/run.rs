//! The deploy flow, start to end: package -> read live state -> plan -> apply -> report.
//! Nothing here writes to AWS before the plan is complete; a dry run stops after it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::aws::ecr::Ecr;
use crate::aws::lambda::Lambda;
use crate::aws::layer::{LayerMeta, Layers};
use crate::aws::s3::{self, S3, provenance_metadata};
use crate::config::{Artifact, Config};
use crate::context::GitHubContext;
use crate::deploy::{self, Outcome};
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::layers::{LayerAction, LayerPlan};
use crate::order::OrderKey;
use crate::package::{self, ExcludeSet, PackageInfo};
use crate::plan::{self, Live, LocalCode, Publish};
use crate::report::{Provenance, Report, Status};
use crate::state::LiveFunction;
use crate::targets::{Mode, Rules};
use crate::{aws, image, layers, release, tags, targets};

mod previews;
mod stages;

/// A zip written for this run only, removed when dropped.
struct TempZip(PathBuf);

impl TempZip {
    fn new(function: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Self(std::env::temp_dir().join(format!(
            "lambda-deploy-{function}-{}-{nanos}.zip",
            std::process::id()
        )))
    }
}

impl Drop for TempZip {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

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
    let arch = s
        .architecture
        .clone()
        .or_else(|| live.and_then(|f| f.architecture.clone()));
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
    let started = Instant::now();
    let actions = ctx.in_actions;
    let targets = targets::compute(&Rules::from(config), ctx)?;
    targets::check_fork(config.allow_forks, ctx, &targets.mode)?;
    for w in &targets.warnings {
        gha::annotate(actions, Level::Warning, "lambda-deploy", w);
    }
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
    let function = config.function_name.short_name().to_string();
    let artifact = config.artifact.as_ref().ok_or(Error::NoPackage)?;

    let scratch = TempZip::new(&function);
    let layer_scratch = layers::ScratchDir::new(&function).map_err(|source| Error::Write {
        what: "layer packages",
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    let packaged = stages::package(config, artifact, actions, &scratch.0, layer_scratch.path())?;

    let _g = Group::start(actions, "lambda-deploy: plan");
    let sdk = connect().await?;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let lambda = Lambda::new(&sdk, config.function_name.as_str());
    let layer_client = Layers::new(&sdk);
    let layer_plans = layers::plan(&layer_client, &packaged.layers).await?;
    stages::check_given_layers(&layer_client, config, &packaged).await?;
    let mut live = Live {
        function: lambda.get_function().await?,
        ..Live::default()
    };
    let s3 = match &config.s3 {
        Some(target) => {
            // The bucket must be the function's account's: from its ARN, or from the
            // role's for a function still to be created.
            let arn = live.function.as_ref().map(|f| f.arn.as_str());
            let owner = arn
                .or(config.settings.role.as_deref())
                .and_then(s3::account_of);
            let s3 = S3::new(&sdk).owned_by(owner);
            s3.check_bucket(&target.bucket, &region).await?;
            Some((s3, target))
        }
        None => None,
    };
    let ecr = Ecr::new(&sdk);
    let (image, code) = match &packaged.info {
        Some(info) => (
            None,
            LocalCode {
                code_sha256: info.code_sha256.clone(),
                size: info.size,
                unzipped_size: info.unzipped_size,
                image: None,
            },
        ),
        None => {
            let _g = Group::start(actions, "lambda-deploy: image");
            let arch = config
                .settings
                .architecture
                .clone()
                .or_else(|| live.function.as_ref().and_then(|f| f.architecture.clone()))
                .unwrap_or_else(|| "x86_64".into());
            let prepared = image::prepare(config, &ecr, &arch, actions).await?;
            let code = prepared.code();
            (Some(prepared), code)
        }
    };
    stages::read_aliases(&lambda, config, &targets, &mut live, &code.code_sha256).await?;
    let (code_sha256, code_size, unzipped_size) =
        (code.code_sha256.clone(), code.size, code.unzipped_size);
    let mut description = tags::version_description(ctx);
    if description.is_empty() {
        description = format!("lambda-deploy {}", env!("CARGO_PKG_VERSION"));
    }
    let (allowed, skipped) = release::guard(&lambda, &targets, &live.aliases).await?;
    // The plan sees the full layer list; versions still to publish have placeholders.
    let layer_targets: Vec<String> = layer_plans.iter().map(LayerPlan::target).collect();
    let with_layers = |arns: &[String]| {
        let mut c = config.clone();
        c.settings.layers = layers::desired(config.settings.layers.as_ref(), arns);
        c
    };
    let mut plan = plan::plan(
        &with_layers(&layer_targets),
        &allowed,
        code.clone(),
        &live,
        description.clone(),
    )?;
    tracing::info!("{}", plan.to_string().trim_end());
    drop(_g);

    let mut report = Report {
        status: Status::Planned,
        function_name: function.clone(),
        function_arn: live.function.as_ref().map(|f| f.arn.clone()),
        created: live.function.is_none(),
        version: None,
        published: false,
        aliases: Vec::new(),
        moved: Vec::new(),
        code_sha256,
        code_size,
        unzipped_size,
        code_changed: plan.code_changed,
        changes: plan.changes.clone(),
        tags_set: plan.tags.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        s3_uri: None,
        layers: stages::planned_layers(&layer_plans),
        layer_arns: layers::desired(config.settings.layers.as_ref(), &layer_targets),
        function_url: None,
        provenance: provenance(ctx),
        elapsed_ms: 0,
        warnings: targets.warnings.clone(),
        image: image.as_ref().map(|i| i.report()),
        plan: None,
        smoke: None,
        extra: previews::extra(config, ctx, &targets, skipped),
    };

    if config.dry_run {
        report.version = match &plan.publish {
            Publish::Reuse { version } => Some(version.clone()),
            Publish::No => Some("$LATEST".into()),
            Publish::New { .. } => None,
        };
        report.plan = Some(plan);
        report.elapsed_ms = started.elapsed().as_millis();
        return Ok(report);
    }

    if let Some(image) = &image {
        let _g = Group::start(actions, "lambda-deploy: push");
        let pushed = image.push(&ecr, &tags::image_tags(ctx)).await?;
        report.image = Some(pushed.report);
        for w in &pushed.warnings {
            tracing::warn!("{w}");
        }
        report.warnings.extend(pushed.warnings);
    }

    if plan.is_noop() {
        report.status = Status::Unchanged;
        report.version = Some(match &plan.publish {
            Publish::Reuse { version } => version.clone(),
            _ => "$LATEST".into(),
        });
        report.aliases = plan.aliases_in_place.clone();
        previews::finish(&lambda, config, ctx, &targets, &mut report).await?;
        report.elapsed_ms = started.elapsed().as_millis();
        return Ok(report);
    }

    let _g = Group::start(actions, "lambda-deploy: deploy");
    let metadata =
        provenance_metadata(ctx.sha.as_ref().map(|s| s.as_str()), ctx.git_ref.as_deref());
    if layer_plans.iter().any(|p| p.action == LayerAction::Publish) {
        let meta = layer_meta(config, live.function.as_ref(), &description);
        let upload = s3.as_ref().map(|(s3, target)| layers::LayerUpload {
            s3,
            target,
            metadata: &metadata,
        });
        let outcomes = layers::publish(
            &layer_client,
            &packaged.layers,
            &layer_plans,
            &meta,
            upload.as_ref(),
        )
        .await?;
        let arns: Vec<String> = outcomes.iter().map(|o| o.arn.clone()).collect();
        plan = plan::plan(
            &with_layers(&arns),
            &allowed,
            code,
            &live,
            description.clone(),
        )?;
        report.changes = plan.changes.clone();
        report.layer_arns = layers::desired(config.settings.layers.as_ref(), &arns);
        report.layers = outcomes;
    }
    let package_at = stages::code_location(
        s3.as_ref(),
        &plan,
        &packaged,
        &function,
        &metadata,
        &mut report,
    )
    .await?;
    let ours = OrderKey::of_run(ctx);
    let outcome: Outcome = deploy::apply(
        &lambda,
        config,
        &plan,
        live.function.as_ref(),
        &package_at,
        &ours,
    )
    .await?;
    drop(_g);
    stages::record(&mut report, &plan, outcome, actions);
    previews::finish(&lambda, config, ctx, &targets, &mut report).await?;
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}
