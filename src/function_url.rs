//! The `function-url` step: give the target alias a function URL (and, for a public one,
//! the policy statements anyone needs to call it), or take them away again. Every step
//! reads first, so a re-run changes nothing and a run that stopped half-way is repaired.
//!
//! The input is the wanted state: a URL lambda-deploy created on an alias that is no
//! longer the target (`function-url: none`, or another first `alias`) is removed with its
//! grants ([`remove_unwanted`]). Only what lambda-deploy created goes: the function's tag
//! [`URL_TAG`] names the alias whose URL it created, and its grants carry the statement ids
//! of [`statements`]; a URL someone else made is left in place.

use std::collections::BTreeMap;

use crate::aws::AwsError;
use crate::aws::api::{LambdaApi, UrlAuth, UrlGrant};
use crate::config::FunctionUrl;
use crate::state::LiveFunction;

/// The function tag naming the alias whose URL lambda-deploy created.
pub(crate) const URL_TAG: &str = "lambda-deploy:function-url";

/// The policy statements lambda-deploy adds for a public URL on `alias`, with their ids.
pub fn statements(alias: &str) -> [(String, UrlGrant); 2] {
    let id = |prefix: &str| {
        let mut s = format!("{prefix}-{alias}");
        // Statement ids hold at most 100 characters; alias names are ASCII.
        s.truncate(100);
        s
    };
    [
        (id("lambda-deploy-url"), UrlGrant::InvokeFunctionUrl),
        (id("lambda-deploy-url-invoke"), UrlGrant::InvokeViaUrl),
    ]
}

/// What [`ensure`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensured {
    pub url: String,
    pub created: bool,
}

/// Makes sure `alias` has a URL with the auth `mode` asks for (not [`FunctionUrl::None`]).
pub(crate) async fn ensure<L: LambdaApi>(
    lambda: &L,
    alias: &str,
    mode: FunctionUrl,
) -> Result<Ensured, AwsError> {
    let auth = match mode {
        FunctionUrl::Iam => UrlAuth::AwsIam,
        _ => UrlAuth::None,
    };
    let (url, created) = match lambda.get_url(alias).await? {
        None => {
            tracing::info!(alias, auth = auth.as_str(), "creating function URL");
            (lambda.create_url(alias, auth).await?.url, true)
        }
        Some(c) if c.auth_type != auth.as_str() => {
            tracing::info!(alias, from = %c.auth_type, to = auth.as_str(), "changing function URL auth");
            (lambda.update_url_auth(alias, auth).await?.url, false)
        }
        Some(c) => (c.url, false),
    };
    let present = lambda.policy_statement_ids(alias).await?;
    for (sid, grant) in statements(alias) {
        let has = present.contains(&sid);
        match mode {
            FunctionUrl::Public if !has => {
                tracing::info!(alias, statement = %sid, "granting public access to the URL");
                lambda.add_url_permission(&sid, alias, grant).await?;
            }
            // An IAM URL must not keep the public grant of an earlier public one.
            FunctionUrl::Iam | FunctionUrl::None if has => {
                lambda.remove_permission(&sid, alias).await?;
            }
            _ => {}
        }
    }
    Ok(Ensured { url, created })
}

/// Records on function `arn` (a version's ARN is fine: tags live on the function) that
/// lambda-deploy created the URL of `alias`.
pub async fn mark<L: LambdaApi>(lambda: &L, arn: &str, alias: &str) -> Result<(), AwsError> {
    // arn:partition:lambda:region:account:function:name[:qualifier]
    let function_arn = arn.split(':').take(7).collect::<Vec<_>>().join(":");
    let tag = BTreeMap::from([(URL_TAG.to_string(), alias.to_string())]);
    lambda.tag(&function_arn, &tag).await
}

/// Removes what lambda-deploy created for a URL that is no longer `wanted` (the alias that
/// should carry one, `None` for `function-url: none`): the URL of the alias [`URL_TAG`]
/// names, with its grants. A URL made before that tag existed is recognised by its public
/// grants, on `legacy` (the alias a URL would have gone on). Returns the aliases whose URL
/// was removed. `known` is the function as read this run when nothing has written to it
/// since; otherwise it is read again.
pub(crate) async fn remove_unwanted<L: LambdaApi>(
    lambda: &L,
    known: Option<&LiveFunction>,
    wanted: Option<&str>,
    legacy: Option<&str>,
) -> Result<Vec<String>, AwsError> {
    let read;
    let function = match known {
        Some(f) => f,
        None => match lambda.get_function().await? {
            Some(f) => {
                read = f;
                &read
            }
            None => return Ok(Vec::new()),
        },
    };
    let mut removed = Vec::new();
    match function.tags.get(URL_TAG).map(String::as_str) {
        Some(recorded) if Some(recorded) == wanted => {}
        Some(recorded) => {
            tracing::info!(
                alias = recorded,
                "removing the function URL lambda-deploy created, which is no longer wanted"
            );
            remove(lambda, recorded).await?;
            lambda.untag(&function.arn, URL_TAG).await?;
            removed.push(recorded.to_string());
        }
        None => {
            let Some(alias) = legacy.filter(|l| Some(*l) != wanted) else {
                return Ok(removed);
            };
            let present = lambda.policy_statement_ids(alias).await?;
            if statements(alias)
                .iter()
                .any(|(sid, _)| present.contains(sid))
            {
                tracing::info!(
                    alias,
                    "removing the public function URL lambda-deploy created, which is no longer wanted"
                );
                remove(lambda, alias).await?;
                removed.push(alias.to_string());
            }
        }
    }
    Ok(removed)
}

/// Removes the URL of `alias` and the statements lambda-deploy added for it. Returns the
/// URL that was there, if any.
pub async fn remove<L: LambdaApi>(lambda: &L, alias: &str) -> Result<Option<String>, AwsError> {
    let existing = lambda.get_url(alias).await?.map(|c| c.url);
    let present = lambda.policy_statement_ids(alias).await?;
    for (sid, _) in statements(alias) {
        if present.contains(&sid) {
            tracing::info!(alias, statement = %sid, "removing permission");
            lambda.remove_permission(&sid, alias).await?;
        }
    }
    if existing.is_some() {
        tracing::info!(alias, "deleting function URL");
        lambda.delete_url(alias).await?;
    }
    Ok(existing)
}
