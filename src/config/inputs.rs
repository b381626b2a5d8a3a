//! The input contract: every input the Action and the CLI accept, with its default.
//!
//! `action.yml` mirrors this table; `tests/contract.rs` fails when the two drift apart.
//! Names are a contract with users' workflows: add inputs freely, never rename one.

/// One input of the Action (`INPUT_<NAME>` in the environment, `--<name>` on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSpec {
    /// The input's name as written in a workflow's `with:` block.
    pub name: &'static str,
    /// The default `action.yml` declares; `None` when the input has no default.
    pub default: Option<&'static str>,
    /// Whether a run without it is refused.
    pub required: bool,
    /// One line for `action.yml`, `--help` and the README.
    pub description: &'static str,
}

const fn input(
    name: &'static str,
    default: Option<&'static str>,
    description: &'static str,
) -> InputSpec {
    InputSpec {
        name,
        default,
        required: false,
        description,
    }
}

/// Every input, in the order `action.yml` lists them.
pub const INPUTS: &[InputSpec] = &[
    InputSpec {
        name: "function-name",
        default: None,
        required: true,
        description: "Name or ARN of the Lambda function to deploy; created when missing",
    },
    input("package-type", Some("zip"), "`zip` or `image`"),
    input(
        "source-dir",
        None,
        "Directory to package (for images it becomes /var/task in base-image)",
    ),
    input(
        "zip-file",
        None,
        "A prebuilt .zip to deploy as it is (excludes source-dir)",
    ),
    input(
        "exclude",
        None,
        "Newline-separated globs, relative to source-dir, left out of the package",
    ),
    input(
        "image-uri",
        None,
        "Deploy an existing container image (excludes source-dir); a tag is resolved to its digest",
    ),
    input(
        "base-image",
        Some("public.ecr.aws/lambda/provided:al2023"),
        "Base image for daemonless image builds",
    ),
    input(
        "image-command",
        None,
        "Image CMD for built images; defaults to the handler",
    ),
    input(
        "ecr-repository",
        None,
        "ECR repository for built images, created when missing; default: the function name",
    ),
    input(
        "registry-endpoint",
        None,
        "Override of the registry address used for pushes (http:// only for loopback)",
    ),
    input(
        "s3-bucket",
        None,
        "Upload the zip through this bucket; required when the zip is over 50 MB",
    ),
    input(
        "s3-key-prefix",
        Some("lambda-deploy/"),
        "Key prefix for zips uploaded through s3-bucket",
    ),
    input(
        "role",
        None,
        "Execution role ARN; required to create a function",
    ),
    input(
        "runtime",
        None,
        "Runtime, e.g. python3.12, nodejs20.x, provided.al2023; required to create a zip function",
    ),
    input(
        "handler",
        None,
        "Handler, e.g. app.handler; required to create a zip function",
    ),
    input("architecture", None, "`x86_64` or `arm64`"),
    input("memory-size", None, "Memory in MB, 128 to 10240"),
    input("timeout", None, "Timeout in seconds, 1 to 900"),
    input("description", None, "Function description"),
    input(
        "environment",
        None,
        "Environment variables: KEY=value lines or a JSON object",
    ),
    input(
        "environment-mode",
        Some("merge"),
        "`merge` (keys not given stay as they are) or `replace`",
    ),
    input("layers", None, "Newline-separated layer version ARNs"),
    input(
        "layer-dirs",
        None,
        "Lines name=path: each directory is published as a layer version when its content changed, and attached",
    ),
    input(
        "tags",
        None,
        "key=value lines applied to the function on create and on update",
    ),
    input(
        "publish",
        Some("true"),
        "Publish a version for every change",
    ),
    input(
        "alias",
        None,
        "Newline-separated alias names moved to the new version on every deploy",
    ),
    input(
        "semver-aliases",
        Some("true"),
        "On a release tag v1.2.3 move aliases v1-2-3, v1-2 and v1",
    ),
    input(
        "preview",
        Some("auto"),
        "`auto`: pull requests deploy to their own function <function-name>-pr-<N>, deleted when the PR closes; or `false`",
    ),
    input(
        "allow-forks",
        Some("false"),
        "`true` lets a pull_request_target run deploy a fork's head; only for workflows that gate on a label or an approval",
    ),
    input(
        "function-url",
        Some("none"),
        "`none`, `public` or `iam`: a function URL on the preview or alias target",
    ),
    input(
        "smoke-test",
        None,
        "JSON payload: invoke the new version with it before any alias moves",
    ),
    input(
        "github-token",
        Some("${{ github.token }}"),
        "Token for PR comments and deployments",
    ),
    input(
        "comment",
        Some("true"),
        "Keep one sticky comment per pull request, updated in place",
    ),
    input("summary", Some("true"), "Write the job summary"),
    input(
        "dry-run",
        Some("false"),
        "Print the plan and change nothing",
    ),
    input(
        "wait-timeout",
        Some("300"),
        "Seconds to wait for each update to finish",
    ),
    input(
        "command",
        Some("deploy"),
        "`deploy`, `rollback` (move each alias back one step, or to to-version), `prune` (delete what keep-versions does not keep), `status` (list versions and aliases) or `matrix`",
    ),
    input(
        "to-version",
        None,
        "command: rollback: the version to move the aliases to; default: one step back in what each served",
    ),
    input(
        "keep-versions",
        None,
        "Keep the newest N versions plus every version an alias, provisioned concurrency or event source mapping uses; older ones are deleted after a successful deploy, or by command: prune",
    ),
    input(
        "traffic-shift",
        Some("all-at-once"),
        "`all-at-once`, `canary <P>% <D>` or `linear <P>% every <D>` (D: <n>s, <n>m, <n>h): the stable aliases route P% to the new version through weighted routing, then all of it",
    ),
    input(
        "alarms",
        None,
        "CloudWatch alarm names (lines): any in ALARM during a traffic shift sends the aliases back to the old version and fails the run",
    ),
    input(
        "manifest",
        None,
        "A YAML file listing several functions (defaults + functions); with function-name only that entry is deployed",
    ),
    input(
        "max-parallel",
        Some("4"),
        "With manifest: how many functions are deployed at the same time",
    ),
];

/// Every output, in the order `action.yml` lists them.
pub const OUTPUTS: &[(&str, &str)] = &[
    (
        "status",
        "deployed, unchanged, planned, removed, rolled-back, pruned or superseded (a newer deploy took over during the traffic shift)",
    ),
    ("function-arn", "ARN of the function"),
    (
        "version",
        "The version the deploy published or found unchanged",
    ),
    (
        "aliases",
        "Comma-separated aliases now pointing at the version",
    ),
    (
        "function-url",
        "The function URL of the preview or alias target, when one is configured",
    ),
    (
        "code-sha256",
        "Base64 SHA-256 of the deployed package, as Lambda reports it",
    ),
    ("code-size", "Size of the deployed package in bytes"),
    ("code-changed", "true when new code was uploaded"),
    ("image-uri", "Image URI by digest (image deploys)"),
    ("image-digest", "Image manifest digest (image deploys)"),
    (
        "image-tags",
        "Comma-separated image tags pushed (image deploys)",
    ),
    (
        "s3-uri",
        "S3 URI the package was deployed from (S3 uploads)",
    ),
    (
        "layer-arns",
        "Comma-separated layer version ARNs on the function: layers, then layer-dirs (when either is given)",
    ),
    (
        "results",
        "With manifest: a JSON object keyed by function name, each value that function's outputs",
    ),
    (
        "matrix",
        "With command: matrix, a GitHub Actions matrix {\"include\":[{\"function-name\": ...}]} of the entries whose package differs from what is live",
    ),
];

/// Looks an input up by name.
pub fn spec(name: &str) -> Option<&'static InputSpec> {
    INPUTS.iter().find(|s| s.name == name)
}
