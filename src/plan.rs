//! The plan: a pure function of the validated config, the local package and the live
//! function state. It says what will be uploaded, which configuration fields change,
//! whether a version is published or reused, and which aliases move from where to where.
//! `dry-run` prints it; a real run carries it out; the summary renders it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::config::{Config, EnvMode, FunctionSettings};
pub use crate::domain::bytes;
pub use crate::domain::function::ConfigUpdate;
use crate::state::{LiveAlias, LiveFunction, LiveVersion};
use crate::types::AliasName;

/// The package that will be deployed, as built or inspected locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalCode {
    pub code_sha256: String,
    pub size: u64,
    pub unzipped_size: u64,
    /// Set for container images: Lambda gets the image instead of a zip.
    pub image: Option<ImageCode>,
}

/// The image a function is pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageCode {
    /// `<registry>/<repository>@sha256:<hex>`: always by digest.
    pub uri: String,
    /// `CMD` override sent as ImageConfig (existing images with `image-command`).
    pub command: Option<Vec<String>>,
}

/// Whether the function is created or updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionAction {
    Create,
    Update,
}

/// One configuration field that changes, for people to read. Environment values are
/// never shown, only key names: they are often secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Option<String>,
    pub to: String,
}

/// Which version the aliases end on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Publish {
    /// `publish: false`: `$LATEST` is updated and nothing is published.
    No,
    /// Publish a new version with this description.
    New { description: String },
    /// Nothing changed since this version was published: reuse it.
    Reuse { version: String },
}

/// An alias that moves (or is created) to the deployed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasMove {
    pub name: String,
    /// The version it serves now; `None` when the alias is created.
    pub from: Option<String>,
    /// The version it will serve; `None` while that version is still to be published.
    pub to: Option<String>,
    #[serde(skip)]
    pub revision_id: Option<String>,
}

/// Everything a run will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub function_name: String,
    pub action: FunctionAction,
    pub code: LocalCode,
    /// The CodeSha256 Lambda holds now (`None` for a new function).
    pub previous_code_sha256: Option<String>,
    pub code_changed: bool,
    /// Architecture sent with the code (`Some` on create, or when it changes).
    pub architecture: Option<String>,
    pub config: ConfigUpdate,
    pub changes: Vec<FieldChange>,
    pub tags: BTreeMap<String, String>,
    pub publish: Publish,
    pub aliases: Vec<AliasMove>,
    /// Aliases already on the reused version.
    pub aliases_in_place: Vec<String>,
}

impl Plan {
    /// True when the run would change nothing at all.
    pub fn is_noop(&self) -> bool {
        self.action == FunctionAction::Update
            && !self.code_changed
            && self.architecture.is_none()
            && self.config.is_empty()
            && self.tags.is_empty()
            && !matches!(self.publish, Publish::New { .. })
            && self.aliases.is_empty()
    }
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("function '{function}' does not exist; to create it, also give: {}", missing.join(", "))]
    MissingForCreate {
        function: String,
        missing: Vec<&'static str>,
    },
    #[error(
        "function '{function}' is deployed as a container image; Lambda cannot switch it to a zip package: deploy to a new function name or set package-type: image"
    )]
    PackageTypeMismatch { function: String },
    #[error(
        "function '{function}' is deployed as a zip package; Lambda cannot switch it to a container image: deploy to a new function name or set package-type: zip"
    )]
    ImageToZipFunction { function: String },
}

/// Inputs to [`plan`] that come from the live function.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub function: Option<LiveFunction>,
    /// The current target of each alias named in the config (missing ones are absent).
    pub aliases: Vec<LiveAlias>,
    /// The highest published version, looked up only when `$LATEST` is unchanged.
    pub latest_version: Option<LiveVersion>,
}

fn shown(v: &Option<String>) -> Option<String> {
    v.clone()
}

fn env_change(from: &BTreeMap<String, String>, to: &BTreeMap<String, String>) -> String {
    let mut parts = Vec::new();
    for k in to.keys() {
        match from.get(k) {
            None => parts.push(format!("+{k}")),
            Some(v) if Some(v) != to.get(k) => parts.push(format!("~{k}")),
            _ => {}
        }
    }
    parts.extend(
        from.keys()
            .filter(|k| !to.contains_key(*k))
            .map(|k| format!("-{k}")),
    );
    parts.join(" ")
}

/// Computes the plan. `aliases` are the aliases this run moves (see [`crate::targets`]).
pub fn plan(
    config: &Config,
    aliases: &[AliasName],
    code: LocalCode,
    live: &Live,
    version_description: String,
) -> Result<Plan, PlanError> {
    let function_name = config.function_name.to_string();
    let mut changes = Vec::new();
    let mut update = ConfigUpdate::default();
    let head = match &live.function {
        None => {
            let (fields, head) = create(&config.settings, &code, &function_name)?;
            update = fields;
            head
        }
        Some(f) => {
            let mut diff = Diff {
                changes: &mut changes,
                update: &mut update,
            };
            diff.function(config, f, &code, &function_name)?
        }
    };
    let tags = tag_changes(&config.settings, live.function.as_ref());
    let latest_unchanged = head.action == FunctionAction::Update
        && !head.code_changed
        && head.architecture.is_none()
        && update.is_empty();
    let publish = publish(config, live, latest_unchanged, version_description);
    let (aliases, aliases_in_place) = alias_moves(aliases, live, &publish);

    Ok(Plan {
        function_name,
        action: head.action,
        code,
        previous_code_sha256: head.previous_code_sha256,
        code_changed: head.code_changed,
        architecture: head.architecture,
        config: update,
        changes,
        tags,
        publish,
        aliases,
        aliases_in_place,
    })
}

/// How the function itself changes: created or updated, its code, its architecture.
struct FunctionChange {
    action: FunctionAction,
    previous_code_sha256: Option<String>,
    code_changed: bool,
    architecture: Option<String>,
}

/// What CreateFunction sends for a new function, once every required input is there.
/// Image functions have no runtime, handler or layers of their own.
fn create(
    s: &FunctionSettings,
    code: &LocalCode,
    function_name: &str,
) -> Result<(ConfigUpdate, FunctionChange), PlanError> {
    let image = code.image.is_some();
    let missing: Vec<&'static str> = [
        ("role", s.role.is_none()),
        ("runtime", s.runtime.is_none() && !image),
        ("handler", s.handler.is_none() && !image),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    if !missing.is_empty() {
        return Err(PlanError::MissingForCreate {
            function: function_name.to_string(),
            missing,
        });
    }
    let update = ConfigUpdate {
        role: s.role.clone(),
        runtime: s.runtime.clone().filter(|_| !image),
        handler: s.handler.clone().filter(|_| !image),
        memory_size: s.memory_size,
        timeout: s.timeout,
        description: s.description.clone(),
        environment: s.environment.clone(),
        layers: s.layers.clone(),
        image_command: code.image.as_ref().and_then(|i| i.command.clone()),
    };
    let head = FunctionChange {
        action: FunctionAction::Create,
        previous_code_sha256: None,
        code_changed: true,
        architecture: Some(s.architecture.clone().unwrap_or_else(|| "x86_64".into())),
    };
    Ok((update, head))
}

/// The differences between the settings and a live function, for people (`changes`) and
/// for UpdateFunctionConfiguration (`update`), in one fixed field order.
struct Diff<'a> {
    changes: &'a mut Vec<FieldChange>,
    update: &'a mut ConfigUpdate,
}

impl Diff<'_> {
    fn function(
        &mut self,
        config: &Config,
        f: &LiveFunction,
        code: &LocalCode,
        function_name: &str,
    ) -> Result<FunctionChange, PlanError> {
        // Image functions have no runtime, handler or layers of their own.
        let image = code.image.is_some();
        if f.package_type.eq_ignore_ascii_case("image") != image {
            let function = function_name.to_string();
            return Err(if image {
                PlanError::ImageToZipFunction { function }
            } else {
                PlanError::PackageTypeMismatch { function }
            });
        }
        self.settings(&config.settings, f, image);
        self.environment(config, f);
        self.layers(&config.settings, f);
        self.image_command(code, f);
        let s = &config.settings;
        let arch = s
            .architecture
            .clone()
            .filter(|a| f.architecture.as_ref() != Some(a));
        if let Some(a) = &arch {
            self.changes.push(FieldChange {
                field: "architecture",
                from: shown(&f.architecture),
                to: a.clone(),
            });
        }
        Ok(FunctionChange {
            action: FunctionAction::Update,
            previous_code_sha256: Some(f.code_sha256.clone()),
            code_changed: f.code_sha256 != code.code_sha256,
            architecture: arch,
        })
    }

    /// The plain fields: role, runtime, handler, memory size, timeout, description.
    fn settings(&mut self, s: &FunctionSettings, f: &LiveFunction, image: bool) {
        let (changes, update) = (&mut *self.changes, &mut *self.update);
        macro_rules! field {
            ($name:literal, $field:ident, $show:expr) => {
                if let Some(want) = &s.$field {
                    if f.$field.as_ref() != Some(want) {
                        changes.push(FieldChange {
                            field: $name,
                            from: f.$field.as_ref().map($show),
                            to: $show(want),
                        });
                        update.$field = Some(want.clone());
                    }
                }
            };
        }
        field!("role", role, |v: &String| v.clone());
        if !image {
            field!("runtime", runtime, |v: &String| v.clone());
            field!("handler", handler, |v: &String| v.clone());
        }
        field!("memory-size", memory_size, |v: &i32| v.to_string());
        field!("timeout", timeout, |v: &i32| v.to_string());
        field!("description", description, |v: &String| v.clone());
    }

    /// The environment, merged into the live one or replacing it; shown by key names only.
    fn environment(&mut self, config: &Config, f: &LiveFunction) {
        let Some(given) = &config.settings.environment else {
            return;
        };
        let desired = match config.environment_mode {
            EnvMode::Replace => given.clone(),
            EnvMode::Merge => {
                let mut merged = f.environment.clone();
                merged.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
                merged
            }
        };
        if desired != f.environment {
            self.changes.push(FieldChange {
                field: "environment",
                from: None,
                to: env_change(&f.environment, &desired),
            });
            self.update.environment = Some(desired);
        }
    }

    fn layers(&mut self, s: &FunctionSettings, f: &LiveFunction) {
        if let Some(layers) = &s.layers
            && *layers != f.layers
        {
            self.changes.push(FieldChange {
                field: "layers",
                from: Some(f.layers.join(", ")),
                to: layers.join(", "),
            });
            self.update.layers = Some(layers.clone());
        }
    }

    fn image_command(&mut self, code: &LocalCode, f: &LiveFunction) {
        if let Some(cmd) = code.image.as_ref().and_then(|i| i.command.as_ref())
            && f.image_command.as_ref() != Some(cmd)
        {
            self.changes.push(FieldChange {
                field: "image-command",
                from: f.image_command.as_ref().map(|c| c.join(" ")),
                to: cmd.join(" "),
            });
            self.update.image_command = Some(cmd.clone());
        }
    }
}

/// The tags to set: all of them on a new function, else those that differ.
fn tag_changes(s: &FunctionSettings, live: Option<&LiveFunction>) -> BTreeMap<String, String> {
    match live {
        None => s.tags.clone(),
        Some(f) => s
            .tags
            .iter()
            .filter(|(k, v)| f.tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Whether a version is published, reused (nothing changed since the latest one was
/// published from the same code and configuration) or not wanted.
fn publish(
    config: &Config,
    live: &Live,
    latest_unchanged: bool,
    version_description: String,
) -> Publish {
    if !config.publish {
        return Publish::No;
    }
    let reusable = live.latest_version.as_ref().filter(|v| {
        let f = live.function.as_ref();
        latest_unchanged
            && f.is_some_and(|f| {
                let (mut a, mut b) = (f.fingerprint(), v.fingerprint.clone());
                // A version's description is its own, not the function's.
                a.description = None;
                b.description = None;
                v.code_sha256 == f.code_sha256 && a == b
            })
    });
    match reusable {
        Some(v) => Publish::Reuse {
            version: v.version.clone(),
        },
        None => Publish::New {
            description: version_description,
        },
    }
}

/// The aliases that move, and those already on the reused version.
fn alias_moves(
    targets: &[AliasName],
    live: &Live,
    publish: &Publish,
) -> (Vec<AliasMove>, Vec<String>) {
    let target = match publish {
        Publish::Reuse { version } => Some(version.clone()),
        _ => None,
    };
    let mut aliases = Vec::new();
    let mut aliases_in_place = Vec::new();
    if matches!(publish, Publish::No) {
        return (aliases, aliases_in_place);
    }
    for name in targets {
        let current = live.aliases.iter().find(|a| a.name == name.as_str());
        match (current, &target) {
            (Some(a), Some(t)) if &a.version == t => aliases_in_place.push(a.name.clone()),
            _ => aliases.push(AliasMove {
                name: name.to_string(),
                from: current.map(|a| a.version.clone()),
                to: target.clone(),
                revision_id: current.and_then(|a| a.revision_id.clone()),
            }),
        }
    }
    (aliases, aliases_in_place)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.action {
            FunctionAction::Create => "create",
            FunctionAction::Update => "update",
        };
        writeln!(f, "plan for function {} ({verb})", self.function_name)?;
        let code = if self.code_changed {
            format!(
                "upload {} (sha256 {})",
                bytes(self.code.size),
                self.code.code_sha256
            )
        } else {
            format!("unchanged (sha256 {})", self.code.code_sha256)
        };
        writeln!(f, "  code: {code}")?;
        if let Some(image) = &self.code.image {
            writeln!(f, "  image: {}", image.uri)?;
        }
        for c in &self.changes {
            match &c.from {
                Some(from) => writeln!(f, "  {}: {} -> {}", c.field, from, c.to)?,
                None => writeln!(f, "  {}: {}", c.field, c.to)?,
            }
        }
        if self.action == FunctionAction::Create {
            let u = &self.config;
            for (k, v) in [
                ("role", &u.role),
                ("runtime", &u.runtime),
                ("handler", &u.handler),
                ("architecture", &self.architecture),
            ] {
                if let Some(v) = v {
                    writeln!(f, "  {k}: {v}")?;
                }
            }
        }
        for (k, v) in &self.tags {
            writeln!(f, "  tag {k}={v}")?;
        }
        match &self.publish {
            Publish::No => writeln!(f, "  version: none published (publish: false)")?,
            Publish::New { description } => writeln!(f, "  version: publish new ({description})")?,
            Publish::Reuse { version } => writeln!(f, "  version: {version} (unchanged)")?,
        }
        for a in &self.aliases {
            let to = a.to.clone().unwrap_or_else(|| "new version".into());
            match &a.from {
                Some(from) => writeln!(f, "  alias {}: {from} -> {to}", a.name)?,
                None => writeln!(f, "  alias {}: create -> {to}", a.name)?,
            }
        }
        for a in &self.aliases_in_place {
            writeln!(f, "  alias {a}: already there")?;
        }
        if self.is_noop() {
            writeln!(f, "  nothing to do")?;
        }
        Ok(())
    }
}
