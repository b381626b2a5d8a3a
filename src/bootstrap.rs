//! `lambda-deploy bootstrap`: the AWS side of a first deploy from GitHub Actions, made
//! once by someone allowed to manage IAM. It finds or creates the GitHub OIDC provider,
//! a deploy role trusted only by the repository's default branch and release tags, a
//! preview role trusted only by its pull requests and allowed only on the preview
//! functions, an execution role when the function has none, and their policies from
//! [`crate::permissions`].
//!
//! Everything is read first and compared with what bootstrap would write; then the
//! differences are applied. A second run finds nothing to change. A role whose trust
//! policy differs is reported and left alone unless `--force` is given: bootstrap never
//! widens who may assume a role behind its owner's back.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::iam::{self, Iam};
use crate::aws::lambda::Lambda;
use crate::aws::{AwsError, ErrorKind, NoCredentials};
use crate::permissions::{self, Feature, Scope};
use crate::types::FunctionName;

/// The host of GitHub's OIDC token issuer.
pub(crate) const OIDC_HOST: &str = "token.actions.githubusercontent.com";
/// The audience configure-aws-credentials asks tokens for.
pub(crate) const AUDIENCE: &str = "sts.amazonaws.com";
/// The name of the inline policy bootstrap writes on each role.
pub(crate) const POLICY_NAME: &str = "lambda-deploy";
/// The longest function name bootstrap accepts: `-execution` (and a preview's `-pr-<N>`)
/// must still fit the 64 characters of a role or function name.
const MAX_NAME: usize = 54;

/// What `bootstrap` was asked for, validated.
#[derive(Debug, Clone)]
pub struct Options {
    pub repository: String,
    pub function: String,
    pub features: BTreeSet<Feature>,
    pub branch: String,
    pub tag_pattern: String,
    pub s3_bucket: Option<String>,
    pub s3_key_prefix: String,
    pub ecr_repository: Option<String>,
    pub dry_run: bool,
    pub force: bool,
}

/// A failed bootstrap; nothing was changed unless the error says so.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("--{flag}: {message}")]
    Input { flag: &'static str, message: String },
    #[error(
        "no AWS region is set; set AWS_REGION (IAM is global, but the policies name the region the functions run in)"
    )]
    NoRegion,
    #[error(transparent)]
    NoCredentials(#[from] NoCredentials),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "{}; nothing was changed. Check who else uses the role, then run again with --force to replace its trust policy with the one `--dry-run` prints",
        .0.join("; ")
    )]
    Conflicts(Vec<String>),
}

fn bad(flag: &'static str, message: impl Into<String>) -> BootstrapError {
    BootstrapError::Input {
        flag,
        message: message.into(),
    }
}

impl Options {
    /// Checks every flag before any AWS call.
    pub(crate) fn validate(self) -> Result<Self, BootstrapError> {
        let ok_repo = self.repository.split_once('/').is_some_and(|(o, n)| {
            let word = |s: &str, extra: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || extra.contains(c))
            };
            word(o, "") && word(n, "._")
        });
        if !ok_repo {
            return Err(bad(
                "repository",
                format!(
                    "'{}' is not OWNER/NAME; give the GitHub repository the workflows run in, e.g. octo-org/hello",
                    self.repository
                ),
            ));
        }
        let name: FunctionName = self
            .function
            .parse()
            .map_err(|e: String| bad("function-name", e))?;
        if name.as_str() != name.short_name() || name.short_name().len() > MAX_NAME {
            return Err(bad(
                "function-name",
                format!(
                    "give the function's plain name (not an ARN) of at most {MAX_NAME} characters, so its roles and previews fit IAM's and Lambda's 64"
                ),
            ));
        }
        for (flag, v) in [("branch", &self.branch), ("tag-pattern", &self.tag_pattern)] {
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err(bad(flag, format!("'{v}' must be one word, without spaces")));
            }
        }
        if self.features.contains(&Feature::S3) && self.s3_bucket.is_none() {
            return Err(bad(
                "s3-bucket",
                "the s3 feature needs the bucket the packages go to; give --s3-bucket NAME",
            ));
        }
        Ok(self)
    }

    fn subject(&self, rest: &str) -> String {
        format!("repo:{}:{rest}", self.repository)
    }
}

/// A role bootstrap manages: its name, trust and inline policy.
#[derive(Debug, Clone, Serialize)]
pub struct RoleSpec {
    pub name: String,
    pub description: String,
    pub trust: Value,
    pub policy: Value,
}

/// The trust policy of a role assumed with GitHub's OIDC tokens for these subjects.
pub(crate) fn github_trust(provider_arn: &str, subjects: &[String]) -> Value {
    let key = |k: &str| format!("{OIDC_HOST}:{k}");
    let subject = if subjects.iter().any(|s| s.contains('*')) {
        json!({"StringLike": {key("sub"): subjects}})
    } else {
        json!({"StringEquals": {key("sub"): subjects}})
    };
    let mut condition = json!({"StringEquals": {key("aud"): AUDIENCE}});
    if let (Some(c), Some(s)) = (condition.as_object_mut(), subject.as_object()) {
        for (k, v) in s {
            match c.get_mut(k).and_then(Value::as_object_mut) {
                Some(existing) => existing.extend(v.as_object().cloned().unwrap_or_default()),
                None => {
                    c.insert(k.clone(), v.clone());
                }
            }
        }
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]
    })
}

/// The execution role's trust (Lambda) and policy (its own logs only).
fn execution_role(opts: &Options, scope: &Scope) -> RoleSpec {
    let group = |f: &str| {
        format!(
            "arn:{}:logs:{}:{}:log-group:/aws/lambda/{f}:*",
            scope.partition, scope.region, scope.account
        )
    };
    let name = &opts.function;
    RoleSpec {
        name: format!("{name}-execution"),
        description: format!("Runs the Lambda function {name} and its previews (logs only)"),
        trust: json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }]
        }),
        policy: json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [group(name), group(&format!("{name}-pr-*"))],
            }]
        }),
    }
}

/// The features a preview run may use: never traffic shifting or pruning.
fn preview_features(features: &BTreeSet<Feature>) -> BTreeSet<Feature> {
    let mut set: BTreeSet<Feature> = features
        .iter()
        .copied()
        .filter(|f| !matches!(f, Feature::TrafficShift | Feature::Prune))
        .collect();
    set.insert(Feature::Preview);
    set
}

/// The deploy and preview roles.
fn github_roles(opts: &Options, scope: &Scope, provider_arn: &str) -> [RoleSpec; 2] {
    let name = &opts.function;
    let deploy_features: BTreeSet<Feature> = opts
        .features
        .iter()
        .copied()
        .filter(|f| *f != Feature::Preview)
        .collect();
    let deploy_subjects = [
        opts.subject(&format!("ref:refs/heads/{}", opts.branch)),
        opts.subject(&format!("ref:refs/tags/{}", opts.tag_pattern)),
    ];
    let preview_scope = Scope {
        function: format!("{name}-pr-*"),
        ..scope.clone()
    };
    [
        RoleSpec {
            name: format!("{name}-deploy"),
            description: format!(
                "Deploys {name} from {} (default branch and release tags)",
                opts.repository
            ),
            trust: github_trust(provider_arn, &deploy_subjects),
            policy: permissions::policy(&deploy_features, scope),
        },
        RoleSpec {
            name: format!("{name}-preview"),
            description: format!(
                "Deploys pull request previews {name}-pr-* from {}",
                opts.repository
            ),
            trust: github_trust(provider_arn, &[opts.subject("pull_request")]),
            policy: permissions::policy(&preview_features(&opts.features), &preview_scope),
        },
    ]
}

/// One change bootstrap makes (or, with `--dry-run`, would make).
#[derive(Debug, Clone)]
enum Step {
    CreateProvider,
    AddAudience { arn: String },
    CreateRole(RoleSpec),
    ReplaceTrust(RoleSpec),
    PutPolicy(RoleSpec),
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::CreateProvider => {
                format!("create the OIDC provider https://{OIDC_HOST} (audience {AUDIENCE})")
            }
            Step::AddAudience { arn } => format!("add the audience {AUDIENCE} to {arn}"),
            Step::CreateRole(r) => format!("create role {} with its policy", r.name),
            Step::ReplaceTrust(r) => format!("replace the trust policy of role {}", r.name),
            Step::PutPolicy(r) => format!("write policy {POLICY_NAME} of role {}", r.name),
        }
    }
}

/// What bootstrap did (or would do) and the ARNs to give the workflows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Outcome {
    pub oidc_provider_arn: String,
    pub deploy_role_arn: String,
    pub preview_role_arn: String,
    pub execution_role_arn: String,
    pub dry_run: bool,
    pub changes: Vec<String>,
    /// The roles' documents, on a dry run only.
    #[serde(rename = "documents", skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleSpec>,
}

/// Runs bootstrap: reads, compares, then (unless a dry run) applies the differences.
pub async fn run(opts: &Options) -> Result<Outcome, BootstrapError> {
    let sdk = crate::aws::load_config().await;
    let region = match sdk.region() {
        Some(r) if !r.as_ref().trim().is_empty() => r.to_string(),
        _ => return Err(BootstrapError::NoRegion),
    };
    crate::aws::check_credentials(&sdk).await?;
    let (account, partition) = iam::caller_account(&sdk).await?;
    let client = Iam::new(&sdk);

    let mut steps = Vec::new();
    let provider_arn = match client.find_oidc_provider(OIDC_HOST).await? {
        Some(arn) => {
            if !client
                .oidc_audiences(&arn)
                .await?
                .iter()
                .any(|a| a == AUDIENCE)
            {
                steps.push(Step::AddAudience { arn: arn.clone() });
            }
            arn
        }
        None => {
            steps.push(Step::CreateProvider);
            format!("arn:{partition}:iam::{account}:oidc-provider/{OIDC_HOST}")
        }
    };
    let role_arn = |name: &str| format!("arn:{partition}:iam::{account}:role/{name}");
    let live_role = Lambda::new(&sdk, &opts.function)
        .get_function()
        .await?
        .and_then(|f| f.role);
    let mut scope = Scope {
        partition: partition.clone(),
        region,
        account: account.clone(),
        function: opts.function.clone(),
        bucket: opts.s3_bucket.clone(),
        key_prefix: opts.s3_key_prefix.clone(),
        repository: opts.ecr_repository.clone().unwrap_or(opts.function.clone()),
        execution_role_arn: String::new(),
    };
    let mut roles = Vec::new();
    let execution_role_arn = match live_role {
        Some(arn) => arn,
        None => {
            let spec = execution_role(opts, &scope);
            let arn = role_arn(&spec.name);
            roles.push(spec);
            arn
        }
    };
    scope.execution_role_arn = execution_role_arn.clone();
    roles.extend(github_roles(opts, &scope, &provider_arn));
    let conflicts = compare_roles(&client, &roles, opts.force, &mut steps).await?;
    if !conflicts.is_empty() {
        return Err(BootstrapError::Conflicts(conflicts));
    }
    if !opts.dry_run {
        apply(&client, &steps).await?;
    }
    Ok(Outcome {
        oidc_provider_arn: provider_arn,
        deploy_role_arn: role_arn(&format!("{}-deploy", opts.function)),
        preview_role_arn: role_arn(&format!("{}-preview", opts.function)),
        execution_role_arn,
        dry_run: opts.dry_run,
        changes: steps.iter().map(Step::describe).collect(),
        roles: if opts.dry_run { roles } else { Vec::new() },
    })
}

/// Compares each role with IAM, adding the steps that make it so; returns the roles
/// whose trust differs when that is not to be replaced.
async fn compare_roles(
    client: &Iam,
    roles: &[RoleSpec],
    force: bool,
    steps: &mut Vec<Step>,
) -> Result<Vec<String>, BootstrapError> {
    let mut conflicts = Vec::new();
    for spec in roles {
        let Some(live) = client.get_role(&spec.name).await? else {
            steps.push(Step::CreateRole(spec.clone()));
            continue;
        };
        if live.trust != spec.trust {
            if force {
                steps.push(Step::ReplaceTrust(spec.clone()));
            } else {
                conflicts.push(format!(
                    "role {} exists with other trust conditions than bootstrap would give it (it has {})",
                    spec.name, live.trust
                ));
            }
        }
        if client
            .get_role_policy(&spec.name, POLICY_NAME)
            .await?
            .as_ref()
            != Some(&spec.policy)
        {
            steps.push(Step::PutPolicy(spec.clone()));
        }
    }
    Ok(conflicts)
}

async fn apply(client: &Iam, steps: &[Step]) -> Result<(), BootstrapError> {
    for step in steps {
        match step {
            // Another bootstrap may have created it since it was read: that is the same.
            Step::CreateProvider => match client.create_oidc_provider(OIDC_HOST, AUDIENCE).await {
                Err(e) if e.kind != ErrorKind::Conflict => return Err(e.into()),
                _ => {}
            },
            Step::AddAudience { arn } => client.add_audience(arn, AUDIENCE).await?,
            Step::CreateRole(r) => {
                client
                    .create_role(&r.name, &r.trust, &r.description)
                    .await?;
                client
                    .put_role_policy(&r.name, POLICY_NAME, &r.policy)
                    .await?;
            }
            Step::ReplaceTrust(r) => client.update_trust(&r.name, &r.trust).await?,
            Step::PutPolicy(r) => {
                client
                    .put_role_policy(&r.name, POLICY_NAME, &r.policy)
                    .await?
            }
        }
    }
    Ok(())
}

impl Outcome {
    /// The text `bootstrap` prints: what changed, the documents on a dry run, and the
    /// repository variables to set.
    pub(crate) fn render_text(&self) -> String {
        let mut out = String::new();
        if self.dry_run {
            for r in &self.roles {
                out.push_str(&format!(
                    "role {}: trust policy\n{}\nrole {}: policy {POLICY_NAME}\n{}\n\n",
                    r.name,
                    pretty(&r.trust),
                    r.name,
                    pretty(&r.policy)
                ));
            }
        }
        let verb = if self.dry_run { "would" } else { "did" };
        if self.changes.is_empty() {
            out.push_str("nothing to change: the OIDC provider, roles and policies are already as bootstrap makes them\n");
        } else {
            for c in &self.changes {
                out.push_str(&format!("{verb}: {c}\n"));
            }
        }
        out.push_str(&format!(
            "\nSet these repository variables (Settings > Secrets and variables > Actions > Variables), or with the GitHub CLI:\n  gh variable set AWS_DEPLOY_ROLE_ARN --body {}\n  gh variable set AWS_PREVIEW_ROLE_ARN --body {}\n  gh variable set LAMBDA_EXECUTION_ROLE_ARN --body {}\n",
            self.deploy_role_arn, self.preview_role_arn, self.execution_role_arn
        ));
        out
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The `bootstrap` subcommand's flags.
pub fn command() -> clap::Command {
    use clap::{Arg, ArgAction, Command};
    let flag = |name: &'static str, value: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name(value).help(help)
    };
    let switch = |name: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    Command::new("bootstrap")
        .about("Create the GitHub OIDC provider and the deploy, preview and execution roles (run once, with IAM rights)")
        .arg(flag("repository", "OWNER/NAME", "The GitHub repository the workflows run in").required(true))
        .arg(flag("function-name", "NAME", "The function the roles may deploy").required(true))
        .arg(flag("features", "LIST", "Comma-separated features to grant: s3, image, layers, function-url, smoke-test, preview, traffic-shift, prune (deploy is always granted)").default_value(""))
        .arg(flag("branch", "BRANCH", "The default branch the deploy role trusts").default_value("main"))
        .arg(flag("tag-pattern", "PATTERN", "The release tags the deploy role trusts").default_value("v*"))
        .arg(flag("s3-bucket", "BUCKET", "The bucket of the s3 feature"))
        .arg(flag("s3-key-prefix", "PREFIX", "The key prefix of the s3 feature").default_value("lambda-deploy/"))
        .arg(flag("ecr-repository", "NAME", "The repository of the image feature [default: the function name]"))
        .arg(switch("dry-run", "Print every document and change nothing"))
        .arg(switch("force", "Replace the trust policy of a role that has other trust conditions"))
}

/// Reads and checks the flags of [`command`].
pub fn options(m: &clap::ArgMatches) -> Result<Options, BootstrapError> {
    let text = |k: &str| m.get_one::<String>(k).cloned();
    let features = Feature::parse_list(&text("features").unwrap_or_default())
        .map_err(|e| bad("features", e))?;
    Options {
        repository: text("repository").unwrap_or_default(),
        function: text("function-name").unwrap_or_default(),
        features,
        branch: text("branch").unwrap_or_default(),
        tag_pattern: text("tag-pattern").unwrap_or_default(),
        s3_bucket: text("s3-bucket"),
        s3_key_prefix: text("s3-key-prefix").unwrap_or_default(),
        ecr_repository: text("ecr-repository"),
        dry_run: m.get_flag("dry-run"),
        force: m.get_flag("force"),
    }
    .validate()
}

/// Runs the `bootstrap` command from its checked flags: prints the outcome (text or
/// JSON) on stdout, or one error line on stderr.
pub fn main(opts: Result<Options, BootstrapError>, json: bool) -> std::process::ExitCode {
    let result = match opts {
        Ok(o) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| bad("runtime", e.to_string()))
            .and_then(|rt| rt.block_on(run(&o))),
        Err(e) => Err(e),
    };
    match result {
        Ok(outcome) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&outcome).unwrap_or_default()
            );
            std::process::ExitCode::SUCCESS
        }
        Ok(outcome) => {
            print!("{}", outcome.render_text());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            repository: "octo/hello".into(),
            function: "hello".into(),
            features: Feature::parse_list("").unwrap_or_default(),
            branch: "main".into(),
            tag_pattern: "v*".into(),
            s3_bucket: None,
            s3_key_prefix: "lambda-deploy/".into(),
            ecr_repository: None,
            dry_run: false,
            force: false,
        }
    }

    #[test]
    fn bad_flags_are_named() {
        let cases = [
            (
                Options {
                    repository: "hello".into(),
                    ..opts()
                },
                "--repository",
            ),
            (
                Options {
                    function: "a b".into(),
                    ..opts()
                },
                "--function-name",
            ),
            (
                Options {
                    branch: "".into(),
                    ..opts()
                },
                "--branch",
            ),
            (
                Options {
                    features: Feature::parse_list("s3").unwrap_or_default(),
                    ..opts()
                },
                "--s3-bucket",
            ),
        ];
        for (o, flag) in cases {
            let err = o.validate().unwrap_err().to_string();
            assert!(err.starts_with(flag), "{err}");
        }
        assert!(opts().validate().is_ok());
    }

    #[test]
    fn the_deploy_role_trusts_only_the_branch_and_release_tags() {
        let t = github_trust(
            "arn:p",
            &[
                opts().subject("ref:refs/heads/main"),
                opts().subject("ref:refs/tags/v*"),
            ],
        );
        let c = &t["Statement"][0]["Condition"];
        assert_eq!(c["StringEquals"][format!("{OIDC_HOST}:aud")], AUDIENCE);
        assert_eq!(
            c["StringLike"][format!("{OIDC_HOST}:sub")],
            json!([
                "repo:octo/hello:ref:refs/heads/main",
                "repo:octo/hello:ref:refs/tags/v*"
            ])
        );
        let p = github_trust("arn:p", &[opts().subject("pull_request")]);
        assert_eq!(
            p["Statement"][0]["Condition"]["StringEquals"][format!("{OIDC_HOST}:sub")],
            json!(["repo:octo/hello:pull_request"])
        );
    }
}
