//! The pure diff behind [`Plan`]: the settings against the live function, which version the
//! aliases end on, and the parts the run learns from reads elsewhere (the S3 key, the
//! image push, the layers, the release guard, the function URL), added with the builder
//! methods at the end. Nothing here does I/O.

use std::collections::BTreeMap;

use super::{
    AliasMove, CodeRoute, FieldChange, FunctionAction, HeldAlias, ImagePush, LayerStep, Live,
    LocalCode, Plan, PlanError, Publish, UrlAction, UrlStep,
};
use crate::config::{Config, EnvMode, FunctionSettings, FunctionUrl};
use crate::domain::function::{ConfigUpdate, LayerRef};
use crate::domain::kind::{Architecture, PackageType};
use crate::state::LiveFunction;
use crate::types::AliasName;

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

/// Computes the plan. `layers` is the function's whole layer list (`layers`, then the
/// `layer-dirs` layers; `None` keeps the function's), `aliases` are the aliases this run
/// moves (see [`crate::targets`]).
pub fn plan(
    config: &Config,
    layers: Option<Vec<LayerRef>>,
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
            update = ConfigUpdate { layers, ..fields };
            head
        }
        Some(f) => {
            let mut diff = Diff {
                changes: &mut changes,
                update: &mut update,
            };
            diff.function(config, layers, f, &code, &function_name)?
        }
    };
    let tags = tag_changes(&config.settings, live.function.as_ref());
    let latest_unchanged = head.action == FunctionAction::Update
        && !head.code_changed
        && head.architecture.is_none()
        && update.is_empty();
    let publish = publish(config, live, latest_unchanged, version_description);
    let (aliases, aliases_in_place) = alias_moves(aliases, live, &publish);
    let code_route = match &code.image {
        Some(image) => CodeRoute::Image {
            uri: image.uri.clone(),
            push: None,
        },
        None if head.action == FunctionAction::Create
            || head.code_changed
            || head.architecture.is_some() =>
        {
            CodeRoute::Direct
        }
        None => CodeRoute::Unchanged,
    };

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
        code_route,
        layers: Vec::new(),
        aliases_held: Vec::new(),
        function_url: None,
        function_url_removed: None,
    })
}

/// How the function itself changes: created or updated, its code, its architecture.
struct FunctionChange {
    action: FunctionAction,
    previous_code_sha256: Option<String>,
    code_changed: bool,
    architecture: Option<Architecture>,
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
        layers: None,
        image_command: code.image.as_ref().and_then(|i| i.command.clone()),
    };
    let head = FunctionChange {
        action: FunctionAction::Create,
        previous_code_sha256: None,
        code_changed: true,
        architecture: Some(s.architecture.unwrap_or_default()),
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
        layers: Option<Vec<LayerRef>>,
        f: &LiveFunction,
        code: &LocalCode,
        function_name: &str,
    ) -> Result<FunctionChange, PlanError> {
        // Image functions have no runtime, handler or layers of their own.
        let image = code.image.is_some();
        if (f.package_type == PackageType::Image) != image {
            let function = function_name.to_string();
            return Err(if image {
                PlanError::ImageToZipFunction { function }
            } else {
                PlanError::PackageTypeMismatch { function }
            });
        }
        self.settings(&config.settings, f, image);
        self.environment(config, f);
        self.layers(layers, f);
        self.image_command(code, f);
        let s = &config.settings;
        let arch = s.architecture.filter(|a| f.architecture != Some(*a));
        if let Some(a) = arch {
            self.changes.push(FieldChange {
                field: "architecture",
                from: f.architecture.map(|a| a.to_string()),
                to: a.to_string(),
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
            let keys = |env: &BTreeMap<String, String>| {
                env.keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.changes.push(FieldChange {
                field: "environment",
                from: Some(keys(&f.environment)).filter(|k| !k.is_empty()),
                to: format!(
                    "{} ({})",
                    keys(&desired),
                    env_change(&f.environment, &desired)
                ),
            });
            self.update.environment = Some(desired);
        }
    }

    /// The layer list; a version still to be published always differs from the live one.
    fn layers(&mut self, layers: Option<Vec<LayerRef>>, f: &LiveFunction) {
        let Some(layers) = layers else {
            return;
        };
        let same = layers.len() == f.layers.len()
            && layers
                .iter()
                .zip(&f.layers)
                .all(|(want, live)| want.arn() == Some(live.as_str()));
        if !same {
            self.changes.push(FieldChange {
                field: "layers",
                from: Some(f.layers.join(", ")),
                to: layer_list(&layers),
            });
            self.update.layers = Some(layers);
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

/// A layer list for people to read.
fn layer_list(layers: &[LayerRef]) -> String {
    layers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
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

/// What the function URL of an alias looks like now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlLive {
    /// Its auth type (`NONE`, `AWS_IAM`); `None` when the alias has no URL.
    pub auth_type: Option<String>,
    /// The statement ids of the alias's resource policy.
    pub statements: Vec<String>,
}

impl UrlStep {
    /// The URL `mode` asks for on `alias`, given what is there now and the statement ids
    /// lambda-deploy adds for a public URL (`ours`). `None` for [`FunctionUrl::None`].
    pub fn new(alias: &str, mode: FunctionUrl, live: &UrlLive, ours: &[String]) -> Option<Self> {
        let auth = match mode {
            FunctionUrl::None => return None,
            FunctionUrl::Public => "NONE",
            FunctionUrl::Iam => "AWS_IAM",
        };
        let action = match &live.auth_type {
            None => UrlAction::Create,
            Some(a) if a != auth => UrlAction::ChangeAuth,
            Some(_) => UrlAction::Keep,
        };
        let has = |sid: &&String| live.statements.contains(sid);
        let (grants_add, grants_remove) = if mode == FunctionUrl::Public {
            (
                ours.iter().filter(|s| !has(s)).cloned().collect(),
                Vec::new(),
            )
        } else {
            (Vec::new(), ours.iter().filter(has).cloned().collect())
        };
        Some(UrlStep {
            alias: alias.to_string(),
            auth: mode,
            action,
            grants_add,
            grants_remove,
        })
    }
}

/// The parts of the plan that come from reads outside the function's own state.
impl Plan {
    /// Whether Lambda is sent the code (a new function, new code or a new architecture).
    pub(crate) fn sends_code(&self) -> bool {
        self.action == FunctionAction::Create || self.code_changed || self.architecture.is_some()
    }

    /// The zip goes through `bucket` at `key` (only when code is sent at all).
    pub(crate) fn through_s3(mut self, bucket: &str, key: String) -> Self {
        if self.code_route == CodeRoute::Direct {
            self.code_route = CodeRoute::S3 {
                bucket: bucket.to_string(),
                key,
            };
        }
        self
    }

    /// The image built here is pushed first.
    pub(crate) fn pushing(mut self, image_push: ImagePush) -> Self {
        if let CodeRoute::Image { push, .. } = &mut self.code_route {
            *push = Some(image_push);
        }
        self
    }

    /// The `layer-dirs` layers, published or reused.
    pub(crate) fn with_layers(mut self, layers: Vec<LayerStep>) -> Self {
        self.layers = layers;
        self
    }

    /// The aliases the release guard holds back.
    pub fn holding(mut self, held: Vec<HeldAlias>) -> Self {
        self.aliases_held = held;
        self
    }

    /// The function URL to set up, and the alias whose URL is no longer wanted.
    pub(crate) fn with_url(mut self, url: Option<UrlStep>, removed: Option<String>) -> Self {
        self.function_url = url;
        self.function_url_removed = removed;
        self
    }

    /// Fills in the ARN of the version just published of layer `name` wherever the
    /// function's layer list names it, so the plan sent is the plan shown, with its ARNs.
    pub(crate) fn layer_published(&mut self, name: &str, arn: &str) {
        let Some(list) = self.config.layers.as_mut() else {
            return;
        };
        for r in list.iter_mut() {
            if *r == LayerRef::ToPublish(name.to_string()) {
                *r = LayerRef::Version(arn.to_string());
            }
        }
        let text = layer_list(list);
        if let Some(change) = self.changes.iter_mut().find(|c| c.field == "layers") {
            change.to = text;
        }
    }
}
