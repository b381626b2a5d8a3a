//! The deploy flow, start to end: package -> read live state -> plan -> apply -> report.
//! Nothing here writes to AWS before the plan is complete; a dry run stops after it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::aws::ecr::Ecr;
use crate::aws::lambda::Lambda;
use crate::config::{Artifact, Config};
use crate::context::GitHubContext;
use crate::deploy::{self, Outcome};
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::order::OrderKey;
use crate::package::{self, ExcludeSet, PackageInfo};
use crate::plan::{self, Live, LocalCode, Publish};
use crate::report::{Provenance, Report, Status};
use crate::targets::{Mode, Rules};
use crate::{aws, image, limits, release, tags, targets};

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
    // Images are built once the function's architecture is known (below).
    let (zip, zip_code) = if artifact.is_image() {
        (scratch.0.clone(), None)
    } else {
        let _g = Group::start(actions, "lambda-deploy: package");
        let (zip, info) = prepare(artifact, &scratch.0)?;
        tracing::info!(size = info.size, unzipped = info.unzipped_size, entries = info.entries, sha256 = %info.code_sha256, "package ready");
        limits::check(&info)?;
        let code = LocalCode {
            code_sha256: info.code_sha256.clone(),
            size: info.size,
            unzipped_size: info.unzipped_size,
            image: None,
        };
        (zip, Some(code))
    };

    let _g = Group::start(actions, "lambda-deploy: plan");
    let sdk = connect().await?;
    let lambda = Lambda::new(&sdk, config.function_name.as_str());
    let function_state = lambda.get_function().await?;
    let mut live = Live {
        function: function_state,
        ..Live::default()
    };
    let ecr = Ecr::new(&sdk);
    let (image, code) = match zip_code {
        Some(code) => (None, code),
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
    let plan = plan::plan(config, &allowed, code, &live, description.clone())?;
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
    let ours = OrderKey::from_description(&description);
    let outcome: Outcome =
        deploy::apply(&lambda, config, &plan, live.function.as_ref(), &zip, &ours).await?;
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
