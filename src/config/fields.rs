//! The checks of [`Config::from_raw_with`], one group of related inputs per function. Each
//! records its errors in the [`Checker`] and returns what it could read; the caller runs
//! them in a fixed order, which is the order the errors are reported in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::{
    Artifact, Checker, Config, ConfigErrors, EnvMode, FunctionSettings, FunctionUrl, ImageOptions,
    InputError, RawInputs, S3Target, TrafficShift, existing_dir, existing_file, glob, handler,
    runtime, stable_alias, validate,
};
use crate::domain::kind::PackageType;
use crate::types::{AliasName, FunctionName};

pub(super) fn function_name(c: &mut Checker, raw: &RawInputs) -> Option<FunctionName> {
    match raw.function_name.as_deref() {
        None => {
            c.fail(
                "function-name",
                "is required; give the name or ARN of the function to deploy",
            );
            None
        }
        Some(v) => c.opt("function-name", &Some(v.to_string()), |v| {
            v.parse::<FunctionName>()
        }),
    }
}

/// `package-type`, and the image inputs a zip deploy must not be given.
pub(super) fn package_type(c: &mut Checker, raw: &RawInputs) -> Option<PackageType> {
    let package_type = c.with_default("package-type", &raw.package_type, str::parse);
    for (input, value) in [
        ("image-uri", &raw.image_uri),
        ("image-command", &raw.image_command),
        ("ecr-repository", &raw.ecr_repository),
        ("registry-endpoint", &raw.registry_endpoint),
    ] {
        if value.is_some() && package_type == Some(PackageType::Zip) {
            c.fail(
                input,
                "applies only to package-type image; remove it or set package-type: image",
            );
        }
    }
    package_type
}

pub(super) fn exclude(c: &mut Checker, raw: &RawInputs) -> Vec<String> {
    raw.exclude
        .as_deref()
        .map(|v| validate::lines(v, false))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| c.opt("exclude", &Some(p), glob))
        .collect()
}

/// The package of a zip deploy: `source-dir` or `zip-file`. When neither is given, the
/// caller reports it once `preview` is known.
pub(super) fn zip_artifact(
    c: &mut Checker,
    raw: &RawInputs,
    base: &Path,
    exclude: &[String],
) -> Option<Artifact> {
    match (&raw.source_dir, &raw.zip_file) {
        (Some(_), Some(_)) => {
            c.fail(
                "zip-file",
                "cannot be combined with source-dir; give one of them",
            );
            None
        }
        (Some(dir), None) => c
            .opt("source-dir", &Some(dir.clone()), |v| existing_dir(base, v))
            .map(|dir| Artifact::SourceDir {
                dir,
                exclude: exclude.to_vec(),
            }),
        (None, Some(zip)) => {
            if !exclude.is_empty() {
                c.fail(
                    "exclude",
                    "applies only to source-dir; a zip-file is deployed as it is",
                );
            }
            c.opt("zip-file", &Some(zip.clone()), |v| existing_file(base, v))
                .map(|path| Artifact::ZipFile { path })
        }
        (None, None) => None,
    }
}

pub(super) fn settings(c: &mut Checker, raw: &RawInputs) -> FunctionSettings {
    FunctionSettings {
        role: c.opt("role", &raw.role, validate::role_arn),
        runtime: c.opt("runtime", &raw.runtime, runtime),
        handler: c.opt("handler", &raw.handler, handler),
        architecture: c.opt("architecture", &raw.architecture, str::parse),
        memory_size: c
            .opt("memory-size", &raw.memory_size, |v| {
                validate::int_in(v, 128, 10240, "a size in MB")
            })
            .map(|n| n as i32),
        timeout: c
            .opt("timeout", &raw.timeout, |v| {
                validate::int_in(v, 1, 900, "seconds")
            })
            .map(|n| n as i32),
        description: c.opt("description", &raw.description, |v| {
            if v.chars().count() > 256 {
                Err("is over 256 characters; shorten it".to_string())
            } else {
                Ok(v.to_string())
            }
        }),
        environment: c.opt("environment", &raw.environment, validate::environment),
        layers: c.opt("layers", &raw.layers, |v| {
            validate::lines(v, true)
                .iter()
                .map(|l| validate::layer_arn(l))
                .collect()
        }),
        tags: c.opt("tags", &raw.tags, validate::tags).unwrap_or_default(),
    }
}

/// `layer-dirs`, each name once, and at most 5 layers with `layers`.
pub(super) fn layer_dirs(
    c: &mut Checker,
    raw: &RawInputs,
    base: &Path,
    settings: &FunctionSettings,
) -> Vec<(String, PathBuf)> {
    let layer_dirs: Vec<(String, PathBuf)> = c
        .opt("layer-dirs", &raw.layer_dirs, |v| {
            validate::lines(v, false)
                .iter()
                .map(|line| {
                    let (name, path) = line
                        .split_once('=')
                        .ok_or_else(|| format!("'{line}' has no '='; write name=path"))?;
                    Ok((validate::layer_name(name)?, existing_dir(base, path)?))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (name, _) in &layer_dirs {
        if !seen.insert(name.as_str()) {
            c.fail(
                "layer-dirs",
                format!("layer '{name}' is given twice; keep one line per layer name"),
            );
        }
    }
    let layer_count = settings.layers.as_ref().map_or(0, Vec::len) + layer_dirs.len();
    if layer_count > 5 {
        c.fail("layers", format!("{layer_count} layers in total (layers and layer-dirs); Lambda allows at most 5, so merge some"));
    }
    layer_dirs
}

pub(super) fn environment_mode(
    c: &mut Checker,
    raw: &RawInputs,
    settings: &FunctionSettings,
) -> Option<EnvMode> {
    let environment_mode = c
        .with_default("environment-mode", &raw.environment_mode, |v| {
            validate::one_of(v, &["merge", "replace"])
        })
        .map(|m| {
            if m == "replace" {
                EnvMode::Replace
            } else {
                EnvMode::Merge
            }
        });
    if environment_mode == Some(EnvMode::Replace) && settings.environment.is_none() {
        c.fail("environment-mode", "'replace' needs environment; give the full set of variables (an empty replace would wipe them)");
    }
    environment_mode
}

pub(super) fn aliases(c: &mut Checker, raw: &RawInputs, publish: Option<bool>) -> Vec<AliasName> {
    let aliases: Vec<AliasName> = raw
        .alias
        .as_deref()
        .map(|v| validate::lines(v, true))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| c.opt("alias", &Some(a), stable_alias))
        .collect();
    if publish == Some(false) && !aliases.is_empty() {
        c.fail(
            "alias",
            "needs a published version, but publish is false; set publish: true or remove alias",
        );
    }
    aliases
}

/// `function-url`, which needs an alias (or previews) and a published version.
pub(super) fn function_url(
    c: &mut Checker,
    raw: &RawInputs,
    aliases: &[AliasName],
    preview: Option<bool>,
    publish: Option<bool>,
) -> Option<FunctionUrl> {
    let function_url = c
        .with_default("function-url", &raw.function_url, |v| {
            validate::one_of(v, &["none", "public", "iam"])
        })
        .map(|u| match u {
            "public" => FunctionUrl::Public,
            "iam" => FunctionUrl::Iam,
            _ => FunctionUrl::None,
        });
    if function_url.is_some_and(|u| u != FunctionUrl::None)
        && aliases.is_empty()
        && preview == Some(false)
    {
        c.fail(
            "function-url",
            "needs an alias to attach the URL to; give alias (e.g. live) or set preview: auto for pull request previews",
        );
    }
    if function_url.is_some_and(|u| u != FunctionUrl::None) && publish == Some(false) {
        c.fail(
            "function-url",
            "needs a published version behind an alias, but publish is false; set publish: true or function-url: none",
        );
    }
    function_url
}

pub(super) fn smoke_test(
    c: &mut Checker,
    raw: &RawInputs,
    publish: Option<bool>,
) -> Option<serde_json::Value> {
    let smoke_test = c.opt("smoke-test", &raw.smoke_test, |v| {
        serde_json::from_str::<serde_json::Value>(v).map_err(|e| {
            format!(
                "is not valid JSON ({e}); give the event payload as JSON, e.g. {{\"ping\": true}}"
            )
        })
    });
    if smoke_test.is_some() && publish == Some(false) {
        c.fail(
            "smoke-test",
            "needs a published version to invoke, but publish is false; set publish: true or remove smoke-test",
        );
    }
    smoke_test
}

/// The inputs that only switch the run's reporting and waiting.
pub(super) struct Switches {
    comment: Option<bool>,
    allow_forks: Option<bool>,
    summary: Option<bool>,
    dry_run: Option<bool>,
    wait_timeout: Option<i64>,
}

pub(super) fn switches(c: &mut Checker, raw: &RawInputs) -> Switches {
    Switches {
        comment: c.with_default("comment", &raw.comment, validate::boolean),
        allow_forks: c.with_default("allow-forks", &raw.allow_forks, validate::boolean),
        summary: c.with_default("summary", &raw.summary, validate::boolean),
        dry_run: c.with_default("dry-run", &raw.dry_run, validate::boolean),
        wait_timeout: c.with_default("wait-timeout", &raw.wait_timeout, |v| {
            validate::int_in(v, 1, 3600, "seconds")
        }),
    }
}

/// Most alarm names one DescribeAlarms call reads.
const MAX_ALARMS: usize = 100;

/// `traffic-shift` and the `alarms` that gate it. A gradual shift routes between two
/// published versions, so it needs `publish: true`; alarms are read only during a shift.
pub(super) fn rollout(
    c: &mut Checker,
    raw: &RawInputs,
    publish: Option<bool>,
) -> (Option<TrafficShift>, Vec<String>) {
    let shift = c.with_default("traffic-shift", &raw.traffic_shift, TrafficShift::parse);
    let gradual = shift.is_some_and(|s| s.is_gradual());
    if gradual && publish == Some(false) {
        c.fail(
            "traffic-shift",
            "routes traffic between two published versions, but publish is false; set publish: true or traffic-shift: all-at-once",
        );
    }
    let alarms = raw
        .alarms
        .as_deref()
        .map(|v| validate::lines(v, false))
        .unwrap_or_default();
    for name in &alarms {
        if name.chars().count() > 255 || name.chars().any(char::is_control) {
            c.fail(
                "alarms",
                format!("'{name}' is not a CloudWatch alarm name (up to 255 characters, no control characters); give one alarm name a line"),
            );
        }
    }
    if alarms.len() > MAX_ALARMS {
        c.fail(
            "alarms",
            format!("{} alarms given; give at most {MAX_ALARMS}", alarms.len()),
        );
    }
    if !alarms.is_empty() && shift == Some(TrafficShift::AllAtOnce) {
        c.fail(
            "alarms",
            "are read only during a gradual shift, but traffic-shift is all-at-once; set traffic-shift (e.g. canary 10% 5m) or remove alarms",
        );
    }
    (shift, alarms)
}

/// `s3-bucket` with `s3-key-prefix`.
pub(super) fn s3(c: &mut Checker, raw: &RawInputs) -> Option<S3Target> {
    let s3_prefix = c.with_default("s3-key-prefix", &raw.s3_key_prefix, |v| {
        if v.starts_with('/') || v.len() > 512 {
            Err(format!(
                "'{v}' must not start with '/' and must be under 512 characters"
            ))
        } else {
            Ok(v.to_string())
        }
    });
    c.opt("s3-bucket", &raw.s3_bucket, validate::bucket)
        .map(|bucket| S3Target {
            bucket,
            prefix: s3_prefix.clone().unwrap_or_default(),
        })
}

/// Every input as checked. With no error recorded, every required field is `Some`.
pub(super) struct Checked {
    pub function_name: Option<FunctionName>,
    pub artifact: Option<Artifact>,
    pub settings: FunctionSettings,
    pub environment_mode: Option<EnvMode>,
    pub publish: Option<bool>,
    pub aliases: Vec<AliasName>,
    pub semver_aliases: Option<bool>,
    pub preview: Option<bool>,
    pub function_url: Option<FunctionUrl>,
    pub smoke_test: Option<serde_json::Value>,
    pub github_token: Option<SecretString>,
    pub switches: Switches,
    pub s3: Option<S3Target>,
    pub layer_dirs: Vec<(String, PathBuf)>,
    pub image: ImageOptions,
    pub history: super::HistoryOptions,
    pub traffic_shift: Option<TrafficShift>,
    pub alarms: Vec<String>,
}

impl Checked {
    /// The config, once no error was recorded.
    pub(super) fn into_config(self) -> Result<Config, ConfigErrors> {
        let s = self.switches;
        // Every field below was checked; a None here means an error was recorded.
        let (
            Some(function_name),
            Some(environment_mode),
            Some(publish),
            Some(semver_aliases),
            Some(preview),
            Some(function_url),
            Some(comment),
            Some(allow_forks),
            Some(summary),
            Some(dry_run),
            Some(wait),
            Some(traffic_shift),
        ) = (
            self.function_name,
            self.environment_mode,
            self.publish,
            self.semver_aliases,
            self.preview,
            self.function_url,
            s.comment,
            s.allow_forks,
            s.summary,
            s.dry_run,
            s.wait_timeout,
            self.traffic_shift,
        )
        else {
            return Err(ConfigErrors(vec![InputError {
                input: "function-name",
                message: "inputs could not be read; report this as a bug".into(),
            }]));
        };
        Ok(Config {
            function_name,
            artifact: self.artifact,
            settings: self.settings,
            environment_mode,
            publish,
            aliases: self.aliases,
            semver_aliases,
            preview,
            allow_forks,
            function_url,
            smoke_test: self.smoke_test,
            github_token: self.github_token,
            comment,
            summary,
            dry_run,
            wait_timeout: Duration::from_secs(wait as u64),
            s3: self.s3,
            layer_dirs: self.layer_dirs,
            image: self.image,
            history: self.history,
            traffic_shift,
            alarms: self.alarms,
        })
    }
}
