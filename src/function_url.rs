//! The `function-url` step: give the target alias a function URL (and, for a public one,
//! the policy statements anyone needs to call it), or take them away again. Every step
//! reads first, so a re-run changes nothing and a run that stopped half-way is repaired.

use aws_sdk_lambda::types::FunctionUrlAuthType;

use crate::aws::AwsError;
use crate::aws::lambda::Lambda;
use crate::aws::url::UrlGrant;
use crate::config::FunctionUrl;

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
pub async fn ensure(lambda: &Lambda, alias: &str, mode: FunctionUrl) -> Result<Ensured, AwsError> {
    let auth = match mode {
        FunctionUrl::Iam => FunctionUrlAuthType::AwsIam,
        _ => FunctionUrlAuthType::None,
    };
    let (url, created) = match lambda.get_url(alias).await? {
        None => {
            tracing::info!(alias, auth = auth.as_str(), "creating function URL");
            (lambda.create_url(alias, auth.clone()).await?.url, true)
        }
        Some(c) if c.auth_type != auth.as_str() => {
            tracing::info!(alias, from = %c.auth_type, to = auth.as_str(), "changing function URL auth");
            (
                lambda.update_url_auth(alias, auth.clone()).await?.url,
                false,
            )
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

/// Removes the URL of `alias` and the statements lambda-deploy added for it. Returns the
/// URL that was there, if any.
pub async fn remove(lambda: &Lambda, alias: &str) -> Result<Option<String>, AwsError> {
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
