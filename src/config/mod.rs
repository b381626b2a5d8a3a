//! Inputs, in two stages: [`raw`] gathers strings from `INPUT_*` and `--flags`; this
//! module validates them into a typed [`Config`], reporting every bad input at once,
//! before anything talks to AWS.

mod fields;
mod history;
mod image;
pub mod inputs;
pub mod manifest;
pub mod raw;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;

pub use history::{Command, HistoryOptions};
pub use image::ImageOptions;
pub use inputs::{INPUTS, InputSpec, OUTPUTS};
pub use raw::RawInputs;

use crate::domain::image_ref::ImageRef;
use crate::domain::kind::{Architecture, PackageType};
pub use crate::domain::package::S3Target;
pub use crate::domain::shift::TrafficShift;
use crate::types::{AliasName, FunctionName};

/// One bad input: which one, and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    pub input: &'static str,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input {}: {}", self.input, self.message)
    }
}

/// Every bad input of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<InputError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// What gets deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Artifact {
    /// Package this directory as a reproducible zip.
    SourceDir { dir: PathBuf, exclude: Vec<String> },
    /// Deploy this zip as it is.
    ZipFile { path: PathBuf },
    /// Build a container image: this directory under /var/task on `base_image`.
    ImageBuild {
        dir: PathBuf,
        exclude: Vec<String>,
        base_image: ImageRef,
    },
    /// Deploy this existing container image.
    ImageUri { image: ImageRef },
}

impl Artifact {
    /// Whether the run deploys a container image.
    pub(crate) fn is_image(&self) -> bool {
        matches!(
            self,
            Artifact::ImageBuild { .. } | Artifact::ImageUri { .. }
        )
    }
}

/// How `environment` combines with the variables the function already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvMode {
    Merge,
    Replace,
}

/// Function configuration from inputs: every field is `None` unless the user gave it,
/// so an update never sends a value nobody asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionSettings {
    pub role: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub architecture: Option<Architecture>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub description: Option<String>,
    pub environment: Option<BTreeMap<String, String>>,
    pub layers: Option<Vec<String>>,
    pub tags: BTreeMap<String, String>,
}

/// Function URL auth for the alias or preview target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionUrl {
    None,
    Public,
    Iam,
}

/// A validated run configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub function_name: FunctionName,
    /// `None` only for a run that removes a preview, which needs no package (see
    /// [`PackageRule`]).
    pub artifact: Option<Artifact>,
    pub settings: FunctionSettings,
    pub environment_mode: EnvMode,
    pub publish: bool,
    pub aliases: Vec<AliasName>,
    pub semver_aliases: bool,
    pub preview: bool,
    /// Whether a `pull_request_target` run may deploy a fork's head.
    pub allow_forks: bool,
    pub function_url: FunctionUrl,
    pub smoke_test: Option<serde_json::Value>,
    #[serde(skip)]
    pub github_token: Option<SecretString>,
    pub comment: bool,
    pub summary: bool,
    pub dry_run: bool,
    pub wait_timeout: Duration,
    pub s3: Option<S3Target>,
    pub layer_dirs: Vec<(String, PathBuf)>,
    /// Image repository, registry and command (image runs).
    pub image: ImageOptions,
    /// `command`, `to-version` and `keep-versions`.
    pub history: HistoryOptions,
    /// How the stable aliases reach the new version (`traffic-shift`).
    pub traffic_shift: TrafficShift,
    /// CloudWatch alarms that gate a gradual shift (`alarms`).
    pub alarms: Vec<String>,
}

/// Whether the run needs a package (`source-dir` or `zip-file`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageRule {
    /// Every deploy: one of `source-dir` or `zip-file` is required.
    Required,
    /// A `pull_request` `closed` run: with `preview: auto` it only removes the preview, so
    /// the package inputs are optional and not checked (nothing is built). With
    /// `preview: false` it is an ordinary deploy and the package is required.
    ClosingPullRequest,
}

/// Collects errors while every input is checked.
struct Checker {
    errors: Vec<InputError>,
}

impl Checker {
    fn fail(&mut self, input: &'static str, message: impl Into<String>) {
        self.errors.push(InputError {
            input,
            message: message.into(),
        });
    }

    /// Runs `parse` on the value when given; records its error under `input`.
    fn opt<T>(
        &mut self,
        input: &'static str,
        value: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = value.as_deref()?;
        match parse(v) {
            Ok(t) => Some(t),
            Err(m) => {
                self.fail(input, m);
                None
            }
        }
    }

    /// Like `opt`, falling back to the input's declared default.
    fn with_default<T>(
        &mut self,
        input: &'static str,
        value: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let default = inputs::spec(input)
            .and_then(|s| s.default)
            .map(str::to_string);
        let v = value.clone().or(default);
        self.opt(input, &v, parse)
    }
}

fn existing_dir(base: &Path, v: &str) -> Result<PathBuf, String> {
    let p = base.join(v.trim());
    if p.is_dir() {
        Ok(p)
    } else if p.exists() {
        Err(format!(
            "'{v}' is not a directory; give the folder that holds the function's code"
        ))
    } else {
        Err(format!(
            "'{v}' does not exist (looked in {}); check the path, relative to the working directory",
            base.display()
        ))
    }
}

fn existing_file(base: &Path, v: &str) -> Result<PathBuf, String> {
    let p = base.join(v.trim());
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "'{v}' is not a file (looked in {}); build the zip first or give source-dir instead",
            base.display()
        ))
    }
}

fn glob(pattern: &str) -> Result<String, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|_| pattern.to_string())
        .map_err(|e| {
            format!(
                "'{pattern}' is not a valid glob ({}); see the README for the syntax",
                e.kind()
            )
        })
}

/// An alias from the `alias` input: Lambda's rules, and not `pr-<N>`, which belongs to
/// pull request previews (closing the pull request deletes it), nor the alias lock.
fn stable_alias(v: &str) -> Result<AliasName, String> {
    let alias: AliasName = v.parse()?;
    let reserved = alias
        .as_str()
        .strip_prefix("pr-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if reserved {
        return Err(format!(
            "'{alias}' is reserved for pull request previews (closing the pull request deletes it); choose another alias name"
        ));
    }
    if alias.as_str() == crate::domain::LOCK_ALIAS {
        return Err(format!(
            "'{alias}' is reserved: lambda-deploy creates and deletes it as a lock while it moves aliases; choose another alias name"
        ));
    }
    Ok(alias)
}

fn runtime(v: &str) -> Result<String, String> {
    let v = v.trim();
    let known = aws_sdk_lambda::types::Runtime::values();
    if known.contains(&v) {
        Ok(v.to_string())
    } else {
        let mut current: Vec<&str> = known
            .iter()
            .copied()
            .filter(|r| {
                [
                    "python3.1",
                    "nodejs2",
                    "java2",
                    "provided.al2023",
                    "dotnet8",
                    "ruby3.3",
                    "ruby3.4",
                    "nodejs18",
                ]
                .iter()
                .any(|p| r.starts_with(p))
            })
            .collect();
        current.sort();
        Err(format!(
            "'{v}' is not a Lambda runtime; use one of {}, or another listed in the Lambda docs",
            current.join(", ")
        ))
    }
}

fn handler(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.is_empty() || v.len() > 128 || v.chars().any(char::is_whitespace) {
        Err(format!(
            "'{v}' is not a handler; give up to 128 characters without spaces, e.g. app.handler"
        ))
    } else {
        Ok(v.to_string())
    }
}

impl Config {
    /// Validates raw inputs. Relative paths resolve against `base` (the working directory).
    pub fn from_raw(raw: &RawInputs, base: &Path) -> Result<Self, ConfigErrors> {
        Self::from_raw_with(raw, base, PackageRule::Required)
    }

    /// Like [`Config::from_raw`], with the package requirement of this run's event.
    /// Inputs are checked in one fixed order, so every bad input is reported at once and
    /// always in the same order.
    pub fn from_raw_with(
        raw: &RawInputs,
        base: &Path,
        rule: PackageRule,
    ) -> Result<Self, ConfigErrors> {
        let mut c = Checker { errors: Vec::new() };
        let function_name = fields::function_name(&mut c, raw);
        let package_type = fields::package_type(&mut c, raw);
        let exclude = fields::exclude(&mut c, raw);
        let preview = c.with_default("preview", &raw.preview, |v| {
            validate::one_of(v, &["auto", "false"]).map(|p| p == "auto")
        });
        // Removing a preview builds nothing: the package inputs are not even looked at (the
        // checkout is usually skipped for a closed pull request).
        let command = history::command(&mut c, raw);
        // Only a deploy builds a package; rollback, prune and status read what is live.
        let removes_preview = (rule == PackageRule::ClosingPullRequest && preview == Some(true))
            || command.is_some_and(|c| c != Command::Deploy);
        let is_image = package_type == Some(PackageType::Image);
        let image = image::options(&mut c, raw, function_name.as_ref(), is_image);
        let artifact = if removes_preview {
            None
        } else if is_image {
            image::artifact(&mut c, raw, base, &exclude)
        } else {
            fields::zip_artifact(&mut c, raw, base, &exclude)
        };
        // The image path reports its own missing source (source-dir or image-uri).
        let package_given = raw.source_dir.is_some() || raw.zip_file.is_some() || is_image;
        let settings = fields::settings(&mut c, raw);
        let layer_dirs = fields::layer_dirs(&mut c, raw, base, &settings);
        let environment_mode = fields::environment_mode(&mut c, raw, &settings);
        let publish = c.with_default("publish", &raw.publish, validate::boolean);
        let aliases = fields::aliases(&mut c, raw, publish);
        let semver_aliases =
            c.with_default("semver-aliases", &raw.semver_aliases, validate::boolean);
        let function_url = fields::function_url(&mut c, raw, &aliases, preview, publish);
        if !package_given && !removes_preview {
            c.fail(
                "source-dir",
                "is required: give source-dir (a folder to package) or zip-file (a prebuilt zip); only a pull_request 'closed' run with preview: auto, which removes the preview, needs neither",
            );
        }
        let smoke_test = fields::smoke_test(&mut c, raw, publish);
        let switches = fields::switches(&mut c, raw);
        let s3 = fields::s3(&mut c, raw);
        let history = history::options(&mut c, raw, command);
        let (traffic_shift, alarms) = fields::rollout(&mut c, raw, publish);
        let github_token = raw
            .github_token
            .clone()
            .filter(|t| !t.starts_with("${{"))
            .map(SecretString::from);

        if !c.errors.is_empty() {
            return Err(ConfigErrors(c.errors));
        }
        fields::Checked {
            function_name,
            artifact,
            settings,
            environment_mode,
            publish,
            aliases,
            semver_aliases,
            preview,
            function_url,
            smoke_test,
            github_token,
            switches,
            s3,
            layer_dirs,
            image,
            history,
            traffic_shift,
            alarms,
        }
        .into_config()
    }
}
