//! The deploy flow, start to end: package -> read live state -> plan -> apply -> report.
//! Nothing here writes to AWS before the plan is complete; a dry run stops after it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::aws::ecr::Ecr;
use crate::aws::lambda::Lambda;
use crate::aws::layer::{LayerMeta, Layers};
use crate::aws::s3::{S3, provenance_metadata};
use crate::config::{Artifact, Config};
use crate::context::GitHubContext;
use crate::deploy::{self, Outcome, PackageAt};
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::layers::{LayerAction, LayerOutcome, LayerPlan};
use crate::order::OrderKey;
use crate::package::{self, ExcludeSet, PackageInfo};
use crate::plan::{self, FunctionAction, Live, LocalCode, Publish};
use crate::report::{Provenance, Report, Status};
use crate::state::LiveFunction;
use crate::targets::{Mode, Rules};
use crate::{aws, image, layers, limits, release, tags, targets};

mod previews;

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
    let function = config.function_name.short_name().to_string();
    let targets = targets::compute(&Rules::from(config), ctx)?;
    for w in &targets.warnings {
        gha::annotate(actions, Level::Warning, "lambda-deploy", w);
    }
    if let Mode::RemovePreview { number } = targets.mode {
        return previews::remove(config, ctx, &targets, number, started).await;
    }
    let artifact = config.artifact.as_ref().ok_or(Error::NoPackage)?;

    let scratch = TempZip::new(&function);
    let layer_scratch = layers::ScratchDir::new(&function).map_err(|source| Error::Write {
        what: "layer packages",
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    // Images are built once the function's architecture is known (below).
    let (zip, info, built_layers) = if artifact.is_image() {
        (scratch.0.clone(), None, Vec::new())
    } else {
        let _g = Group::start(actions, "lambda-deploy: package");
        let (zip, info) = prepare(artifact, &scratch.0)?;
        tracing::info!(size = info.size, unzipped = info.unzipped_size, entries = info.entries, sha256 = %info.code_sha256, "package ready");
        let built = layers::build(&config.layer_dirs, layer_scratch.path())?;
        let sizes: Vec<_> = built
            .iter()
            .map(|b| limits::LayerSize {
                name: &b.name,
                info: &b.info,
            })
            .collect();
        limits::check_all(&info, &sizes, config.s3.is_some())?;
        (zip, Some(info), built)
    };

    let _g = Group::start(actions, "lambda-deploy: plan");
    let sdk = connect().await?;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let s3 = match &config.s3 {
        Some(target) => {
            let s3 = S3::new(&sdk);
            s3.check_bucket(&target.bucket, &region).await?;
            Some((s3, target))
        }
        None => None,
    };
    let lambda = Lambda::new(&sdk, config.function_name.as_str());
    let layer_client = Layers::new(&sdk);
    let layer_plans = layers::plan(&layer_client, &built_layers).await?;
    if let (Some(info), Some(arns)) = (
        &info,
        config.settings.layers.as_deref().filter(|a| !a.is_empty()),
    ) {
        let given = layers::given_sizes(&layer_client, arns).await?;
        let sizes: Vec<_> = built_layers
            .iter()
            .map(|b| (b.name.as_str(), &b.info))
            .chain(given.iter().map(|(n, i)| (n.as_str(), i)))
            .map(|(name, info)| limits::LayerSize { name, info })
            .collect();
        limits::check_all(info, &sizes, config.s3.is_some())?;
    }
    let function_state = lambda.get_function().await?;
    let mut live = Live {
        function: function_state,
        ..Live::default()
    };
    let ecr = Ecr::new(&sdk);
    let (image, code) = match &info {
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
    if live.function.is_some() {
        for name in targets.names() {
            if let Some(a) = lambda.get_alias(name.as_str()).await? {
                live.aliases.push(a);
            }
        }
        // Only an unchanged $LATEST can reuse a version; skip the listing otherwise.
        if config.publish
            && live
                .function
                .as_ref()
                .is_some_and(|f| f.code_sha256 == code.code_sha256)
        {
            live.latest_version = lambda.latest_version().await?;
        }
    }
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
        layers: layer_plans
            .iter()
            .map(|p| LayerOutcome {
                name: p.name.clone(),
                arn: p.target(),
                published: p.action == LayerAction::Publish,
            })
            .collect(),
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
            &built_layers,
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
    let needs_code =
        plan.action == FunctionAction::Create || plan.code_changed || plan.architecture.is_some();
    let package_at = match (&s3, &info) {
        (Some((s3, target)), Some(info)) if needs_code => {
            let obj = s3
                .put_package(target, &function, &zip, info, &metadata)
                .await?;
            report.s3_uri = Some(obj.uri());
            PackageAt::S3 {
                bucket: obj.bucket,
                key: obj.key,
            }
        }
        _ => PackageAt::File(zip.clone()),
    };
    let ours = OrderKey::from_description(&description);
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
    report.status = Status::Deployed;
    report.function_arn = Some(outcome.function_arn.clone());
    report.version = Some(outcome.version.clone()).filter(|v| !v.is_empty());
    for h in &outcome.held {
        gha::annotate(
            actions,
            Level::Warning,
            "lambda-deploy: alias not moved",
            &h.warning(),
        );
        report.warnings.push(h.warning());
    }
    report.smoke = outcome.smoke.clone();
    report.published = outcome.published;
    report.aliases = plan
        .aliases_in_place
        .iter()
        .cloned()
        .chain(outcome.moved.iter().map(|m| m.name.clone()))
        .collect();
    report.moved = outcome.moved;
    previews::finish(&lambda, config, ctx, &targets, &mut report).await?;
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}
