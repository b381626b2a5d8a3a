//! Stage one of input handling: raw strings, gathered from `INPUT_*` variables and
//! `--flags` (flags win), with empty values treated as not given.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::inputs::INPUTS;

/// Every input as the user wrote it. Field names are the inputs' names in kebab-case;
/// `tests` in this module check that they match [`INPUTS`] one to one.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawInputs {
    pub function_name: Option<String>,
    pub package_type: Option<String>,
    pub source_dir: Option<String>,
    pub zip_file: Option<String>,
    pub exclude: Option<String>,
    pub image_uri: Option<String>,
    pub base_image: Option<String>,
    pub image_command: Option<String>,
    pub ecr_repository: Option<String>,
    pub registry_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub role: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub architecture: Option<String>,
    pub memory_size: Option<String>,
    pub timeout: Option<String>,
    pub description: Option<String>,
    pub environment: Option<String>,
    pub environment_mode: Option<String>,
    pub layers: Option<String>,
    pub layer_dirs: Option<String>,
    pub tags: Option<String>,
    pub publish: Option<String>,
    pub alias: Option<String>,
    pub semver_aliases: Option<String>,
    pub preview: Option<String>,
    pub allow_forks: Option<String>,
    pub function_url: Option<String>,
    pub smoke_test: Option<String>,
    pub github_token: Option<String>,
    pub comment: Option<String>,
    pub summary: Option<String>,
    pub dry_run: Option<String>,
    pub wait_timeout: Option<String>,
    pub command: Option<String>,
    pub to_version: Option<String>,
    pub keep_versions: Option<String>,
    pub traffic_shift: Option<String>,
    pub alarms: Option<String>,
    pub manifest: Option<String>,
    pub max_parallel: Option<String>,
}

/// Maps an environment variable name to an input name: `INPUT_FUNCTION-NAME` (as GitHub
/// passes it to container actions) and `INPUT_FUNCTION_NAME` (friendlier in shells) both
/// give `function-name`.
pub(crate) fn input_name_from_env(var: &str) -> Option<String> {
    let rest = var.strip_prefix("INPUT_")?;
    Some(rest.to_ascii_lowercase().replace('_', "-"))
}

/// Gathers raw inputs: `env` pairs first, then `flags` over them. Empty values count as
/// not given (GitHub passes declared inputs without a default as empty strings). Names
/// that are no input are returned apart so the caller can warn about typos.
pub(crate) fn gather(
    env: impl IntoIterator<Item = (String, String)>,
    flags: impl IntoIterator<Item = (String, String)>,
) -> (RawInputs, Vec<String>) {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut named: Vec<(String, String, String)> = env
        .into_iter()
        .filter_map(|(var, value)| Some((input_name_from_env(&var)?, var, value)))
        .collect();
    // GitHub's own spelling (hyphens kept) is applied last, so it wins over the
    // underscore spelling of the same input.
    named.sort_by_key(|(_, var, _)| var.contains('-'));
    for (name, var, value) in named {
        if INPUTS.iter().any(|s| s.name == name) {
            values.insert(name, value);
        } else {
            unknown.push(var);
        }
    }
    for (name, value) in flags {
        values.insert(name, value);
    }
    values.retain(|_, v| !v.trim().is_empty());
    // Every key is a known input name, so deserialising cannot fail on shape; envy only
    // turns the map into the typed struct.
    let raw = envy::from_iter::<_, RawInputs>(values).unwrap_or_default();
    unknown.sort();
    (raw, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_names() -> Vec<String> {
        // Serialising is not derived; ask serde for the field list through a probe map
        // holding every input: deny_unknown_fields rejects any name the struct lacks.
        INPUTS.iter().map(|s| s.name.to_string()).collect()
    }

    #[test]
    fn struct_fields_match_the_input_table() {
        let all: Vec<(String, String)> = field_names()
            .into_iter()
            .map(|n| (n, "x".to_string()))
            .collect();
        let raw = envy::from_iter::<_, RawInputs>(all).expect("every input in INPUTS is a field");
        // And every field is in INPUTS: Debug lists them all as Some("x").
        let debug = format!("{raw:?}");
        assert_eq!(
            debug.matches("Some(\"x\")").count(),
            INPUTS.len(),
            "{debug}"
        );
        assert!(
            !debug.contains("None"),
            "a RawInputs field is missing from INPUTS: {debug}"
        );
    }

    #[test]
    fn env_spellings_flags_and_empty_values() {
        let env = vec![
            ("INPUT_FUNCTION-NAME".to_string(), "from-env".to_string()),
            ("INPUT_FUNCTION_NAME".to_string(), "underscore".to_string()),
            ("INPUT_RUNTIME".to_string(), "python3.12".to_string()),
            ("INPUT_HANDLER".to_string(), "".to_string()),
            ("INPUT_MEMORY_SIZE".to_string(), "256".to_string()),
            ("INPUT_FUNCTON-NAME".to_string(), "typo".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let flags = vec![("runtime".to_string(), "nodejs20.x".to_string())];
        let (raw, unknown) = gather(env, flags);
        assert_eq!(raw.function_name.as_deref(), Some("from-env"));
        assert_eq!(raw.runtime.as_deref(), Some("nodejs20.x"));
        assert_eq!(raw.handler, None);
        assert_eq!(raw.memory_size.as_deref(), Some("256"));
        assert_eq!(unknown, vec!["INPUT_FUNCTON-NAME".to_string()]);
    }
}
