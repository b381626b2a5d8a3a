//! The release and preview parts of a run: the preview's own configuration, what the
//! report says about them, the function URL and GitHub once aliases have moved, and the
//! whole run when a pull request closes.

use std::time::Instant;

use crate::aws::lambda::Lambda;
use crate::config::{Config, FunctionUrl};
use crate::context::{GitHubContext, Trigger};
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::release::SkippedMove;
use crate::report::{Outcome, Report, ReportExtra, Status};
use crate::state::LiveFunction;
use crate::targets::{Mode, Targets};
use crate::{function_url, github, preview};

/// The configuration of pull request `number`'s preview: the step's inputs, aimed at the
/// preview function and tagged with the production function's name, which is what marks
/// it as lambda-deploy's to delete when the pull request closes.
pub(super) fn config_for(config: &Config, number: u64) -> Config {
    let mut c = config.clone();
    c.function_name = config.function_name.preview(number);
    // A preview serves only its pull request: its alias moves at once, never gradually.
    c.traffic_shift = crate::config::TrafficShift::AllAtOnce;
    c.alarms.clear();
    c.settings.tags.insert(
        preview::PREVIEW_TAG.to_string(),
        config.function_name.short_name().to_string(),
    );
    c
}

/// The production function a preview configuration ([`config_for`]) belongs to.
fn production_of(config: &Config) -> Option<&str> {
    config
        .settings
        .tags
        .get(preview::PREVIEW_TAG)
        .map(String::as_str)
}

/// The release and preview details known before anything is deployed.
pub(super) fn extra(
    config: &Config,
    ctx: &GitHubContext,
    targets: &Targets,
    skipped: Vec<SkippedMove>,
) -> ReportExtra {
    let pull_request = match targets.mode {
        Mode::Preview { number } | Mode::RemovePreview { number } => Some(number),
        Mode::Deploy => ctx.pr_number(),
    };
    let preview_alias = match targets.mode {
        Mode::Preview { number } | Mode::RemovePreview { number } => {
            Some(crate::tags::preview_alias(number).to_string())
        }
        Mode::Deploy => None,
    };
    let release = match &ctx.trigger {
        Trigger::Release { tag } => Some(tag.clone()),
        _ => None,
    };
    ReportExtra {
        pull_request,
        preview_alias,
        preview_of: matches!(
            targets.mode,
            Mode::Preview { .. } | Mode::RemovePreview { .. }
        )
        .then(|| production_of(config).map(str::to_string))
        .flatten(),
        release,
        url_auth: (targets.url_alias.is_some() && config.function_url != FunctionUrl::None)
            .then_some(config.function_url),
        skipped,
        removal: None,
        github: None,
        shift: None,
    }
}

/// After the aliases are in place: the function URL as `function-url` wants it (and none
/// that lambda-deploy created elsewhere), then GitHub. `unchanged` is the function as
/// read before planning, when the run wrote nothing to it (its tags are still current).
pub(super) async fn finish(
    lambda: &Lambda,
    unchanged: Option<&LiveFunction>,
    config: &Config,
    ctx: &GitHubContext,
    targets: &Targets,
    report: &mut Report,
) -> Result<(), Error> {
    let wanted = targets
        .url_alias
        .as_ref()
        .filter(|_| config.function_url != FunctionUrl::None);
    let legacy = match targets.mode {
        Mode::Preview { number } => Some(crate::tags::preview_alias(number)),
        _ => config.aliases.first().cloned(),
    };
    {
        let _g = Group::start(ctx.in_actions, "lambda-deploy: function URL");
        let removed = function_url::remove_unwanted(
            lambda,
            unchanged,
            wanted.map(|a| a.as_str()),
            legacy.as_ref().map(|a| a.as_str()),
        )
        .await?;
        for alias in removed {
            report.outcome.warnings.push(format!(
                "the function URL of alias '{alias}' (and its public grants), which lambda-deploy created, was removed: function-url no longer puts it there"
            ));
        }
        if let Some(alias) = wanted
            && report.outcome.aliases.iter().any(|a| a == alias.as_str())
        {
            let done = function_url::ensure(lambda, alias.as_str(), config.function_url).await?;
            tracing::info!(url = %done.url, created = done.created, "function URL ready");
            if done.created
                && let Some(arn) = &report.function_arn
            {
                function_url::mark(lambda, arn, alias.as_str()).await?;
            }
            report.function_url = Some(done.url);
        }
    }
    let _g = Group::start(ctx.in_actions, "lambda-deploy: report to GitHub");
    report.extra.github = github::publish(config, ctx, &targets.mode, report).await;
    Ok(())
}

/// A closed pull request: remove its preview, then tell GitHub. No package is built.
pub(super) async fn remove(
    config: &Config,
    ctx: &GitHubContext,
    targets: &Targets,
    number: u64,
    started: Instant,
) -> Result<Report, Error> {
    let sdk = super::connect().await?;
    let lambda = Lambda::new(&sdk, config.function_name.as_str());
    let production = production_of(config).unwrap_or_default().to_string();
    let mut report = Report {
        outcome: Outcome {
            status: Status::Removed,
            version: None,
            published: false,
            aliases: Vec::new(),
            moved: Vec::new(),
            warnings: targets.warnings.clone(),
            elapsed_ms: 0,
        },
        function_name: config.function_name.short_name().to_string(),
        function_arn: None,
        s3_uri: None,
        function_url: None,
        provenance: super::provenance(ctx),
        layers: Vec::new(),
        layer_arns: None,
        image: None,
        plan: None,
        extra: extra(config, ctx, targets, Vec::new()),
        smoke: None,
    };
    let removal = {
        let _g = Group::start(ctx.in_actions, "lambda-deploy: remove preview");
        let mut removal = preview::plan_removal(&lambda, &production, number).await?;
        if !config.dry_run {
            preview::execute(&lambda, &mut removal).await?;
        }
        removal
    };
    if let Some(why) = &removal.kept_because {
        gha::annotate(ctx.in_actions, Level::Warning, "lambda-deploy", why);
        report.outcome.warnings.push(why.clone());
    }
    if config.dry_run {
        report.outcome.status = Status::Planned;
        report.extra.removal = Some(removal);
        report.outcome.elapsed_ms = started.elapsed().as_millis();
        return Ok(report);
    }
    report.extra.removal = Some(removal);
    {
        let _g = Group::start(ctx.in_actions, "lambda-deploy: report to GitHub");
        report.extra.github = github::publish(config, ctx, &targets.mode, &report).await;
    }
    report.outcome.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}
