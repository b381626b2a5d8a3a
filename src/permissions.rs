//! Which IAM actions each feature of lambda-deploy needs, on which resources: one table.
//! `bootstrap` writes the roles' policies from it, and the README's IAM section is
//! generated from it (a test keeps the two equal), so the documented and the granted
//! permissions cannot drift apart.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

/// A feature a workflow uses; each adds the actions it needs to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// Zip deploys, versions and aliases: always granted.
    Deploy,
    S3,
    Image,
    Layers,
    FunctionUrl,
    SmokeTest,
    Preview,
    TrafficShift,
    /// `prune`, `rollback` and `status`.
    Prune,
}

impl Feature {
    pub const ALL: [Feature; 9] = [
        Feature::Deploy,
        Feature::S3,
        Feature::Image,
        Feature::Layers,
        Feature::FunctionUrl,
        Feature::SmokeTest,
        Feature::Preview,
        Feature::TrafficShift,
        Feature::Prune,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Deploy => "deploy",
            Feature::S3 => "s3",
            Feature::Image => "image",
            Feature::Layers => "layers",
            Feature::FunctionUrl => "function-url",
            Feature::SmokeTest => "smoke-test",
            Feature::Preview => "preview",
            Feature::TrafficShift => "traffic-shift",
            Feature::Prune => "prune",
        }
    }

    /// The inputs or commands that use the feature, for the README.
    pub(crate) fn used_by(self) -> &'static str {
        match self {
            Feature::Deploy => "every deploy (zip, versions, aliases)",
            Feature::S3 => "`s3-bucket` (zips over 50 MB)",
            Feature::Image => "`package-type: image`",
            Feature::Layers => "`layer-dirs`, `layers`",
            Feature::FunctionUrl => "`function-url`",
            Feature::SmokeTest => "`smoke-test`",
            Feature::Preview => "`preview` (pull request previews; preview role only)",
            Feature::TrafficShift => "`traffic-shift`, `alarms`",
            Feature::Prune => "`keep-versions`, `prune`, `rollback`, `status`",
        }
    }

    /// A comma-separated list (`s3,image`); `deploy` is always included.
    pub(crate) fn parse_list(list: &str) -> Result<BTreeSet<Feature>, String> {
        let mut set = BTreeSet::from([Feature::Deploy]);
        for word in list
            .split([',', ' ', '\n'])
            .filter(|w| !w.trim().is_empty())
        {
            set.insert(word.trim().parse()?);
        }
        Ok(set)
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Feature {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let alias = match s {
            "rollback" | "status" => Some(Feature::Prune),
            _ => None,
        };
        alias
            .or_else(|| Feature::ALL.into_iter().find(|f| f.name() == s))
            .ok_or_else(|| {
                let names: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
                format!("'{s}' is not a feature; use any of: {}", names.join(", "))
            })
    }
}

/// What a statement's actions apply to; filled in from a [`Scope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The function (or the preview functions) and its versions and aliases.
    Function,
    /// Every function of the account in the region, and their versions.
    AllFunctions,
    /// The function's pull request previews (`<function>-pr-*`).
    Previews,
    /// Layer versions published from `layer-dirs` (named by the workflow).
    Layers,
    Bucket,
    BucketObjects,
    Repository,
    ExecutionRole,
    /// Actions that take no resource.
    Any,
}

/// One statement of the table.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub feature: Feature,
    /// Granted only when this feature is chosen too (e.g. pruning the images of `image`).
    pub with: Option<Feature>,
    pub sid: &'static str,
    pub actions: &'static [&'static str],
    pub resource: Resource,
}

const fn grant(
    feature: Feature,
    sid: &'static str,
    actions: &'static [&'static str],
    resource: Resource,
) -> Grant {
    Grant {
        feature,
        with: None,
        sid,
        actions,
        resource,
    }
}

/// Every permission lambda-deploy uses, by feature.
pub const TABLE: &[Grant] = &[
    grant(
        Feature::Deploy,
        "DeployFunction",
        &[
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:CreateFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:GetAlias",
            "lambda:CreateAlias",
            "lambda:UpdateAlias",
            "lambda:DeleteAlias",
            "lambda:ListAliases",
            "lambda:ListTags",
            "lambda:TagResource",
            "lambda:ListVersionsByFunction",
        ],
        Resource::Function,
    ),
    grant(
        Feature::Deploy,
        "PassExecutionRole",
        &["iam:PassRole"],
        Resource::ExecutionRole,
    ),
    // The code-storage check before an upload; without it the deploy goes on unchecked.
    grant(
        Feature::Deploy,
        "ReadCodeStorage",
        &["lambda:GetAccountSettings"],
        Resource::Any,
    ),
    grant(
        Feature::S3,
        "UploadPackages",
        &["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
        Resource::BucketObjects,
    ),
    grant(
        Feature::S3,
        "LocateBucket",
        &["s3:GetBucketLocation"],
        Resource::Bucket,
    ),
    grant(
        Feature::Image,
        "RegistryLogin",
        &["ecr:GetAuthorizationToken"],
        Resource::Any,
    ),
    grant(
        Feature::Image,
        "PushImages",
        &[
            "ecr:DescribeRepositories",
            "ecr:CreateRepository",
            "ecr:BatchCheckLayerAvailability",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
        ],
        Resource::Repository,
    ),
    grant(
        Feature::Layers,
        "PublishLayers",
        &[
            "lambda:PublishLayerVersion",
            "lambda:GetLayerVersion",
            "lambda:ListLayerVersions",
        ],
        Resource::Layers,
    ),
    grant(
        Feature::FunctionUrl,
        "FunctionUrl",
        &[
            "lambda:CreateFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            "lambda:UpdateFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
            "lambda:GetPolicy",
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:UntagResource",
        ],
        Resource::Function,
    ),
    grant(
        Feature::SmokeTest,
        "SmokeTest",
        &["lambda:InvokeFunction"],
        Resource::Function,
    ),
    grant(
        Feature::Preview,
        "RemovePreview",
        &["lambda:DeleteFunction"],
        Resource::Function,
    ),
    grant(
        Feature::TrafficShift,
        "ShiftTraffic",
        &["lambda:UpdateAlias", "lambda:GetAlias"],
        Resource::Function,
    ),
    grant(
        Feature::TrafficShift,
        "WatchAlarms",
        &["cloudwatch:DescribeAlarms"],
        Resource::Any,
    ),
    grant(
        Feature::Prune,
        "PruneVersions",
        &[
            "lambda:ListVersionsByFunction",
            "lambda:ListAliases",
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:DeleteFunction",
            "lambda:ListProvisionedConcurrencyConfigs",
        ],
        Resource::Function,
    ),
    // The previews of closed pull requests: found among the account's functions, then
    // removed as closing the pull request removes them.
    grant(
        Feature::Prune,
        "FindPreviews",
        &["lambda:ListFunctions"],
        Resource::Any,
    ),
    grant(
        Feature::Prune,
        "PrunePreviews",
        &[
            "lambda:GetFunction",
            "lambda:ListAliases",
            "lambda:ListVersionsByFunction",
            "lambda:GetFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
            "lambda:GetPolicy",
            "lambda:RemovePermission",
            "lambda:DeleteFunction",
        ],
        Resource::Previews,
    ),
    // Event source mappings are listed account-wide: the action takes no resource.
    grant(
        Feature::Prune,
        "ReadEventSources",
        &["lambda:ListEventSourceMappings"],
        Resource::Any,
    ),
    Grant {
        with: Some(Feature::S3),
        ..grant(
            Feature::Prune,
            "ListPackages",
            &["s3:ListBucket"],
            Resource::Bucket,
        )
    },
    Grant {
        with: Some(Feature::S3),
        ..grant(
            Feature::Prune,
            "PrunePackages",
            &["s3:DeleteObject"],
            Resource::BucketObjects,
        )
    },
    Grant {
        with: Some(Feature::Image),
        ..grant(
            Feature::Prune,
            "PruneImages",
            &["ecr:BatchDeleteImage"],
            Resource::Repository,
        )
    },
    // An image another function runs is kept: every function's versions are listed
    // (FindPreviews) and the images they run read.
    Grant {
        with: Some(Feature::Image),
        ..grant(
            Feature::Prune,
            "ReadSharedImages",
            &["lambda:GetFunction"],
            Resource::AllFunctions,
        )
    },
    // Old versions of the layers the function's versions attach or `layer-dirs` names.
    Grant {
        with: Some(Feature::Layers),
        ..grant(
            Feature::Prune,
            "PruneLayers",
            &["lambda:ListLayerVersions", "lambda:DeleteLayerVersion"],
            Resource::Layers,
        )
    },
];

/// The names a policy's resources are made of.
#[derive(Debug, Clone)]
pub struct Scope {
    pub partition: String,
    pub region: String,
    pub account: String,
    /// The function name, or a pattern such as `hello-pr-*` for the preview role.
    pub function: String,
    pub bucket: Option<String>,
    pub key_prefix: String,
    pub repository: String,
    pub execution_role_arn: String,
}

impl Scope {
    /// The placeholders the README shows.
    pub fn example() -> Self {
        Scope {
            partition: "aws".into(),
            region: "REGION".into(),
            account: "ACCOUNT".into(),
            function: "FUNCTION".into(),
            bucket: Some("BUCKET".into()),
            key_prefix: "lambda-deploy/".into(),
            repository: "REPOSITORY".into(),
            execution_role_arn: "arn:aws:iam::ACCOUNT:role/FUNCTION-execution".into(),
        }
    }

    fn resources(&self, r: Resource) -> Vec<String> {
        let (p, region, account) = (&self.partition, &self.region, &self.account);
        let bucket = self.bucket.as_deref().unwrap_or("BUCKET");
        match r {
            Resource::Function => {
                let f = format!(
                    "arn:{p}:lambda:{region}:{account}:function:{}",
                    self.function
                );
                vec![f.clone(), format!("{f}:*")]
            }
            Resource::AllFunctions => {
                let f = format!("arn:{p}:lambda:{region}:{account}:function:*");
                vec![f.clone(), format!("{f}:*")]
            }
            Resource::Previews => {
                let f = format!(
                    "arn:{p}:lambda:{region}:{account}:function:{}-pr-*",
                    self.function
                );
                vec![f.clone(), format!("{f}:*")]
            }
            Resource::Layers => vec![format!("arn:{p}:lambda:{region}:{account}:layer:*")],
            Resource::Bucket => vec![format!("arn:{p}:s3:::{bucket}")],
            Resource::BucketObjects => {
                vec![format!("arn:{p}:s3:::{bucket}/{}*", self.key_prefix)]
            }
            Resource::Repository => vec![format!(
                "arn:{p}:ecr:{region}:{account}:repository/{}",
                self.repository
            )],
            Resource::ExecutionRole => vec![self.execution_role_arn.clone()],
            Resource::Any => vec!["*".into()],
        }
    }
}

/// The statements of the table that `features` need, in table order.
pub fn grants(features: &BTreeSet<Feature>) -> impl Iterator<Item = &'static Grant> + '_ {
    TABLE
        .iter()
        .filter(|g| features.contains(&g.feature) && g.with.is_none_or(|w| features.contains(&w)))
}

/// The policy document granting what `features` need on `scope`.
pub fn policy(features: &BTreeSet<Feature>, scope: &Scope) -> Value {
    let statements: Vec<Value> = grants(features)
        .map(|g| {
            let resources = scope.resources(g.resource);
            let mut s = json!({
                "Sid": g.sid,
                "Effect": "Allow",
                "Action": g.actions,
                "Resource": resources,
            });
            if g.resource == Resource::ExecutionRole {
                s["Condition"] =
                    json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}});
            }
            s
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The README's table of the permissions per feature, generated from [`TABLE`].
pub(crate) fn readme_table() -> String {
    let scope = Scope::example();
    let mut out = String::from("| Feature | Used by | Actions | Resource |\n|---|---|---|---|\n");
    for g in TABLE {
        let feature = match g.with {
            Some(w) => format!("`{}` with `{}`", g.feature, w),
            None => format!("`{}`", g.feature),
        };
        let actions: Vec<String> = g.actions.iter().map(|a| format!("`{a}`")).collect();
        let resources: Vec<String> = scope
            .resources(g.resource)
            .iter()
            .map(|r| format!("`{r}`"))
            .collect();
        out.push_str(&format!(
            "| {feature} | {} | {} | {} |\n",
            g.feature.used_by(),
            actions.join(", "),
            resources.join(", ")
        ));
    }
    out
}

/// The README's generated IAM block: the core policy of a zip deploy, with placeholders,
/// then the table of every feature's statements.
pub fn readme_section() -> String {
    let base = policy(&BTreeSet::from([Feature::Deploy]), &Scope::example());
    format!(
        "```json\n{}\n```\n\nAdd these statements per feature (`bootstrap --features` takes the names in the first column):\n\n{}",
        serde_json::to_string_pretty(&base).unwrap_or_default(),
        readme_table()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_lists_parse_and_name_the_bad_word() {
        let set = Feature::parse_list("s3, image,rollback").unwrap();
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [Feature::Deploy, Feature::S3, Feature::Image, Feature::Prune]
        );
        let err = Feature::parse_list("s3,ftp").unwrap_err();
        assert!(err.contains("'ftp' is not a feature"), "{err}");
    }

    #[test]
    fn a_policy_holds_only_the_chosen_features() {
        let scope = Scope::example();
        let base = policy(&Feature::parse_list("").unwrap(), &scope).to_string();
        assert!(base.contains("lambda:UpdateFunctionCode"));
        assert!(base.contains("iam:PassedToService"));
        assert!(!base.contains("ecr:") && !base.contains("s3:"));
        let prune = policy(&Feature::parse_list("prune").unwrap(), &scope).to_string();
        assert!(prune.contains("lambda:DeleteFunction"));
        assert!(!prune.contains("ecr:BatchDeleteImage"));
        assert!(!prune.contains("lambda:DeleteLayerVersion"));
        let both = policy(&Feature::parse_list("prune,image").unwrap(), &scope).to_string();
        assert!(both.contains("ecr:BatchDeleteImage"));
        let layers = policy(&Feature::parse_list("prune,layers").unwrap(), &scope).to_string();
        assert!(layers.contains("lambda:DeleteLayerVersion"));
    }
}
