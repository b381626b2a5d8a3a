//! The parts of the plan that the plan stage learns from reads outside the function's own
//! state: the S3 key the zip goes to, what is pushed for an image, the `layer-dirs` layers,
//! the aliases the release guard holds back, and the function URL with its grants. Each
//! is turned into the plan's own types here, so [`crate::plan`] stays pure.

use crate::aws::AwsError;
use crate::aws::lambda::Lambda;
use crate::aws::s3::S3Object;
use crate::config::{Config, FunctionUrl};
use crate::context::GitHubContext;
use crate::function_url::{self, URL_TAG};
use crate::image;
use crate::layers::{LayerAction, LayerPlan};
use crate::plan::{Blob, HeldAlias, ImagePush, LayerStep, Live, Plan, UrlLive, UrlStep};
use crate::release::SkippedMove;
use crate::tags;
use crate::targets::Targets;

use super::stages::Packaged;

/// What the plan stage read besides the function, for [`complete`].
pub(super) struct Reads<'a> {
    pub config: &'a Config,
    pub ctx: &'a GitHubContext,
    pub packaged: &'a Packaged,
    pub image: Option<&'a image::Prepared>,
    pub layer_plans: &'a [LayerPlan],
    pub skipped: &'a [SkippedMove],
    pub url: Option<(String, UrlLive)>,
    pub live: &'a Live,
}

/// The plan with everything the run will do.
pub(super) fn complete(plan: Plan, r: &Reads<'_>) -> Plan {
    let mut plan = plan
        .with_layers(r.layer_plans.iter().map(layer_step).collect())
        .holding(r.skipped.iter().map(held).collect());
    if let (Some(target), Some(info)) = (&r.config.s3, &r.packaged.info) {
        let function = r.config.function_name.short_name();
        let object =
            S3Object::content_addressed(&target.bucket, &target.prefix, function, &info.sha256_hex);
        plan = plan.through_s3(&object.bucket, object.key);
    }
    if let Some(push) = r.image.and_then(|i| image_push(i, r.ctx)) {
        plan = plan.pushing(push);
    }
    let url = r.url.as_ref().and_then(|(alias, live)| {
        let ours: Vec<String> = function_url::statements(alias)
            .into_iter()
            .map(|(sid, _)| sid)
            .collect();
        UrlStep::new(alias, r.config.function_url, live, &ours)
    });
    let wanted = url.as_ref().map(|u| u.alias.as_str());
    let removed = r
        .live
        .function
        .as_ref()
        .and_then(|f| f.tags.get(URL_TAG))
        .filter(|recorded| Some(recorded.as_str()) != wanted)
        .cloned();
    plan.with_url(url, removed)
}

/// The URL `function-url` wants, and what that alias's URL looks like now (read-only).
pub(super) async fn read_url(
    lambda: &Lambda,
    config: &Config,
    targets: &Targets,
    live: &Live,
) -> Result<Option<(String, UrlLive)>, AwsError> {
    let Some(alias) = targets
        .url_alias
        .as_ref()
        .filter(|_| config.function_url != FunctionUrl::None)
    else {
        return Ok(None);
    };
    let alias = alias.to_string();
    if live.function.is_none() {
        return Ok(Some((alias, UrlLive::default())));
    }
    let now = UrlLive {
        auth_type: lambda.get_url(&alias).await?.map(|c| c.auth_type),
        statements: lambda.policy_statement_ids(&alias).await?,
    };
    Ok(Some((alias, now)))
}

fn layer_step(p: &LayerPlan) -> LayerStep {
    match (p.action, &p.latest) {
        (LayerAction::Reuse, Some(arn)) => LayerStep::Reuse {
            name: p.name.clone(),
            arn: arn.clone(),
        },
        _ => LayerStep::Publish {
            name: p.name.clone(),
            code_sha256: p.code_sha256.clone(),
            size: p.size,
            replaces: p.latest.clone(),
        },
    }
}

fn held(s: &SkippedMove) -> HeldAlias {
    HeldAlias {
        name: s.alias.clone(),
        stays_on: s.version.clone(),
        reason: s.reason.clone(),
    }
}

/// What is pushed for an image built here; `None` for an existing image.
fn image_push(prepared: &image::Prepared, ctx: &GitHubContext) -> Option<ImagePush> {
    let build = prepared.build.as_ref()?;
    Some(ImagePush {
        repository: prepared.repository.clone(),
        tags: tags::image_tags(ctx),
        blobs: build
            .built
            .layers
            .iter()
            .map(|d| Blob {
                digest: d.digest.clone(),
                size: d.size,
            })
            .collect(),
    })
}
