//! The manifest: one YAML file that lists several functions, so one step deploys them all.
//!
//! ```yaml
//! defaults:            # any per-function input, for every entry
//!   runtime: python3.12
//! functions:
//!   orders-api:        # the function name; the keys are the inputs' names
//!     source-dir: functions/orders   # relative to the manifest's folder
//! ```
//!
//! Entry keys win over `defaults`, which win over the step's own inputs. Run-wide inputs
//! stay on the step. Every entry is validated through [`Config::from_raw_with`] before any
//! AWS call, and every problem of the file is reported at once, each with the file, line,
//! column and entry it is about.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::{Config, INPUTS, PackageRule, RawInputs};

/// Inputs that belong to the whole step, not to one function.
pub(crate) const RUN_WIDE: &[&str] = &[
    "dry-run",
    "github-token",
    "comment",
    "summary",
    "command",
    "manifest",
    "max-parallel",
];

/// Inputs whose values are paths, resolved against the manifest's folder.
const PATH_INPUTS: &[&str] = &["source-dir", "zip-file"];

/// One problem in a manifest, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The entry the problem is about, when it is about one.
    pub entry: Option<String>,
    pub message: String,
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(entry) = &self.entry {
            write!(f, "function '{entry}': ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem of one manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestErrors(pub Vec<ManifestProblem>);

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}

/// One function of the manifest, validated.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry's key as written.
    pub name: String,
    pub config: Config,
}

/// Where the manifest is and what the step gave.
pub struct Source<'a> {
    /// The `manifest` input as written.
    pub input: &'a str,
    /// The step's inputs: the base every entry starts from.
    pub step: &'a RawInputs,
    /// The working directory, against which `manifest` resolves.
    pub base: &'a Path,
    /// The repository's checkout: every path must stay inside it.
    pub root: &'a Path,
    pub rule: PackageRule,
}

/// Reads, checks and validates the manifest; with `function-name` on the step, only that
/// entry is returned (every entry is still checked).
pub fn load(src: &Source<'_>) -> Result<Vec<Entry>, ManifestErrors> {
    let path = src.base.join(src.input.trim());
    let file = src.input.trim().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        one(
            &file,
            None,
            format!(
                "cannot read the manifest ({e}); check the manifest input, relative to the working directory"
            ),
        )
    })?;
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = Reader {
        file: &file,
        text: &text,
        folder: &folder,
        root: src.root,
        problems: Vec::new(),
    };
    let entries = reader.entries(src)?;
    if !reader.problems.is_empty() {
        return Err(ManifestErrors(reader.problems));
    }
    select(&file, entries, src.step.function_name.as_deref())
}

fn one(file: &str, entry: Option<&str>, message: String) -> ManifestErrors {
    ManifestErrors(vec![ManifestProblem {
        file: file.to_string(),
        line: 1,
        column: 1,
        entry: entry.map(str::to_string),
        message,
    }])
}

/// Keeps the entry `function-name` names, when the step names one.
fn select(
    file: &str,
    entries: Vec<Entry>,
    only: Option<&str>,
) -> Result<Vec<Entry>, ManifestErrors> {
    let Some(only) = only.map(str::trim) else {
        return Ok(entries);
    };
    let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    let picked: Vec<Entry> = entries.into_iter().filter(|e| e.name == only).collect();
    if picked.is_empty() {
        return Err(one(
            file,
            None,
            format!(
                "input function-name: '{only}' is not an entry of the manifest; use one of {}, or leave function-name out to deploy them all",
                names.join(", ")
            ),
        ));
    }
    Ok(picked)
}

struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    folder: &'a Path,
    root: &'a Path,
    problems: Vec<ManifestProblem>,
}

impl Reader<'_> {
    fn problem(&mut self, (line, column): (usize, usize), entry: Option<&str>, message: String) {
        self.problems.push(ManifestProblem {
            file: self.file.to_string(),
            line,
            column,
            entry: entry.map(str::to_string),
            message,
        });
    }

    /// Parses the file, then checks and validates each entry.
    fn entries(&mut self, src: &Source<'_>) -> Result<Vec<Entry>, ManifestErrors> {
        let doc: Value = serde_yaml_ng::from_str(self.text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            ManifestErrors(vec![ManifestProblem {
                file: self.file.to_string(),
                line,
                column,
                entry: None,
                message: yaml_message(&e.to_string()),
            }])
        })?;
        let Some(top) = doc.as_mapping() else {
            return Err(one(
                self.file,
                None,
                "the manifest must be a map with `functions` (and optionally `defaults`)".into(),
            ));
        };
        for key in top.keys() {
            let k = key.as_str().unwrap_or_default();
            if k != "defaults" && k != "functions" {
                let at = locate_top(self.text, k);
                self.problem(
                    at,
                    None,
                    format!("unknown key '{k}'; a manifest has only `defaults` and `functions`"),
                );
            }
        }
        let defaults = match top.get("defaults") {
            Some(v) => self.inputs(v, None, "defaults"),
            None => Vec::new(),
        };
        let Some(functions) = top.get("functions").and_then(Value::as_mapping) else {
            return Err(one(
                self.file,
                None,
                "`functions` is missing or not a map; list each function under `functions:` by its name".into(),
            ));
        };
        let defaults_bad = !self.problems.is_empty();
        Ok(self.validate(functions, &defaults, defaults_bad, src))
    }

    /// Validates every entry: defaults and entry keys over the step's inputs.
    fn validate(
        &mut self,
        functions: &Mapping,
        defaults: &[(String, String)],
        defaults_bad: bool,
        src: &Source<'_>,
    ) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in functions {
            let name = scalar(key).unwrap_or_default();
            let at = locate_entry(self.text, &name);
            let short = name.rsplit(':').next().unwrap_or(&name).to_string();
            if seen.contains(&short) {
                self.problem(
                    at,
                    Some(&name),
                    format!("a second entry for function '{short}'; give each function one entry"),
                );
                continue;
            }
            seen.push(short);
            let before = self.problems.len();
            let own = self.inputs(value, Some(&name), "functions entry");
            // A key already refused would only be reported again as missing.
            if self.problems.len() > before || defaults_bad {
                continue;
            }
            let mut merged: Vec<(String, String)> = vec![("function-name".into(), name.clone())];
            merged.extend(defaults.iter().cloned());
            merged.extend(own.iter().cloned());
            let raw = overlay(src.step, &merged);
            match Config::from_raw_with(&raw, src.base, src.rule) {
                Ok(config) => entries.push(Entry { name, config }),
                Err(errors) => {
                    for e in errors.0 {
                        let at = if own.iter().any(|(k, _)| k == e.input) {
                            locate_key(self.text, at.0, e.input)
                        } else {
                            at
                        };
                        self.problem(at, Some(&name), e.to_string());
                    }
                }
            }
        }
        entries
    }

    /// The inputs of `defaults` or of one entry, checked and with paths resolved.
    fn inputs(&mut self, value: &Value, entry: Option<&str>, what: &str) -> Vec<(String, String)> {
        let start = match entry {
            Some(name) => locate_entry(self.text, name),
            None => locate_top(self.text, "defaults"),
        };
        let Some(map) = value.as_mapping() else {
            if !value.is_null() {
                self.problem(
                    start,
                    entry,
                    format!("the {what} must be a map of input names to values"),
                );
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let key = scalar(k).unwrap_or_default();
            let at = locate_key(self.text, start.0, &key);
            if let Err(message) = allowed(&key) {
                self.problem(at, entry, message);
                continue;
            }
            let Some(text) = text_of(v) else {
                self.problem(
                    at,
                    entry,
                    format!("input {key}: give a string, a number, a list or a map of strings"),
                );
                continue;
            };
            match self.resolve(&key, &text) {
                Ok(text) => out.push((key, text)),
                Err(message) => self.problem(at, entry, format!("input {key}: {message}")),
            }
        }
        out
    }

    /// Paths relative to the manifest's folder, kept inside the repository.
    fn resolve(&self, key: &str, value: &str) -> Result<String, String> {
        if PATH_INPUTS.contains(&key) {
            return self.inside(value.trim());
        }
        if key == "layer-dirs" {
            let mut lines = Vec::new();
            for line in value.lines().filter(|l| !l.trim().is_empty()) {
                match line.split_once('=') {
                    Some((name, dir)) => {
                        lines.push(format!("{}={}", name.trim(), self.inside(dir.trim())?))
                    }
                    None => lines.push(line.to_string()),
                }
            }
            return Ok(lines.join("\n"));
        }
        Ok(value.to_string())
    }

    fn inside(&self, value: &str) -> Result<String, String> {
        let joined = normalize(&self.folder.join(value));
        let real = joined.canonicalize().unwrap_or_else(|_| joined.clone());
        let root = self
            .root
            .canonicalize()
            .unwrap_or_else(|_| normalize(self.root));
        if real.starts_with(&root) {
            Ok(joined.display().to_string())
        } else {
            Err(format!(
                "'{value}' is outside the repository ({}); keep every path inside the checkout, relative to the manifest's folder",
                root.display()
            ))
        }
    }
}

/// Whether a key may appear in `defaults` or an entry; else a message that says why not.
fn allowed(key: &str) -> Result<(), String> {
    if key == "function-name" {
        return Err("function-name is the entry's key; remove it from the entry".into());
    }
    if RUN_WIDE.contains(&key) {
        return Err(format!(
            "{key} applies to the whole step; set it on the step, not in the manifest"
        ));
    }
    if INPUTS.iter().any(|s| s.name == key) {
        return Ok(());
    }
    let nearest = INPUTS
        .iter()
        .map(|s| s.name)
        .filter(|n| *n != "function-name" && !RUN_WIDE.contains(n))
        .min_by_key(|n| distance(key, n));
    Err(match nearest {
        Some(n) if distance(key, n) <= 3 => format!("unknown input '{key}'; did you mean '{n}'?"),
        _ => {
            format!("unknown input '{key}'; the keys are the action's input names (see the README)")
        }
    })
}

/// The step's inputs with `pairs` written over them, later pairs winning.
fn overlay(step: &RawInputs, pairs: &[(String, String)]) -> RawInputs {
    let mut map = match serde_json::to_value(step) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    // The step runs the command (deploy or matrix) over the entries; each entry is one
    // function's deploy.
    map.remove("manifest");
    map.remove("command");
    for (k, v) in pairs {
        map.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    serde_json::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A value as the input's text: scalars as they are, a list as lines, a map as
/// `key=value` lines (the form `environment`, `tags` and `layer-dirs` take).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(|l| l.join("\n")),
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| Some(format!("{}={}", scalar(k)?, scalar(v)?)))
            .collect::<Option<Vec<_>>>()
            .map(|l| l.join("\n")),
        other => scalar(other),
    }
}

/// Removes `.` and resolves `..` without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether `line` opens the key `key` (plain or quoted), and at which column.
fn key_column(line: &str, key: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .any(|k| {
            trimmed
                .strip_prefix(k.as_str())
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .then_some(indent + 1)
}

/// The line and column of a top-level key.
fn locate_top(text: &str, key: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find(|(_, l)| !l.starts_with(' ') && key_column(l, key).is_some())
        .map_or((1, 1), |(i, _)| (i + 1, 1))
}

/// The line and column of an entry under `functions`.
fn locate_entry(text: &str, name: &str) -> (usize, usize) {
    let from = locate_top(text, "functions").0;
    text.lines()
        .enumerate()
        .skip(from)
        .find_map(|(i, l)| key_column(l, name).map(|c| (i + 1, c)))
        .unwrap_or((from, 1))
}

/// The line and column of `key` in the block that starts on line `from`.
fn locate_key(text: &str, from: usize, key: &str) -> (usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let head = lines.get(from.saturating_sub(1)).map_or(0, |l| indent(l));
    lines
        .iter()
        .enumerate()
        .skip(from)
        .take_while(|(_, l)| {
            l.trim().is_empty() || l.trim_start().starts_with('#') || indent(l) > head
        })
        .find_map(|(i, l)| key_column(l, key).map(|c| (i + 1, c)))
        .unwrap_or((from, 1))
}

/// The parser's message, said for people: a repeated key is a repeated function or input.
fn yaml_message(error: &str) -> String {
    if error.contains("duplicate entry") {
        format!("{error}; each function (and each input of an entry) may appear only once")
    } else {
        format!("not valid YAML: {error}; fix the syntax")
    }
}

/// What the step asks of a manifest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOptions {
    /// `command: matrix`: list the entries to deploy, deploy nothing.
    pub matrix: bool,
    /// How many functions are deployed at once.
    pub max_parallel: usize,
}

/// Validates `command` and `max-parallel`, which apply to the whole step.
pub(crate) fn step_options(raw: &RawInputs) -> Result<StepOptions, super::ConfigErrors> {
    let mut c = super::Checker { errors: Vec::new() };
    let command = c.with_default("command", &raw.command, |v| {
        super::validate::one_of(v, &["deploy", "matrix"])
    });
    let max_parallel = c.with_default("max-parallel", &raw.max_parallel, |v| {
        super::validate::int_in(v, 1, 64, "a number of functions")
    });
    let matrix = command == Some("matrix");
    if matrix && raw.manifest.is_none() {
        c.fail(
            "command",
            "'matrix' needs manifest, a YAML file listing the functions, and this step gives none; add manifest or use deploy, rollback, prune or status",
        );
    }
    if !c.errors.is_empty() {
        return Err(super::ConfigErrors(c.errors));
    }
    Ok(StepOptions {
        matrix,
        max_parallel: usize::try_from(max_parallel.unwrap_or(4)).unwrap_or(4),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkout with `fns/a` and `fns/b` and `ci/manifest.yml` holding `text`.
    fn checkout(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for d in ["fns/a", "fns/b", "ci"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(dir.path().join("ci/manifest.yml"), text).expect("write");
        dir
    }

    fn load_with(dir: &Path, step: &RawInputs) -> Result<Vec<Entry>, ManifestErrors> {
        load(&Source {
            input: "ci/manifest.yml",
            step,
            base: dir,
            root: dir,
            rule: PackageRule::Required,
        })
    }

    #[test]
    fn entry_keys_win_over_defaults_which_win_over_the_step() {
        let dir = checkout(
            "defaults:\n  runtime: python3.12\n  memory-size: 256\n  alias: [live, beta]\nfunctions:\n  a:\n    source-dir: ../fns/a\n    memory-size: 512\n  b:\n    source-dir: ../fns/b\n",
        );
        let step = RawInputs {
            runtime: Some("nodejs20.x".into()),
            handler: Some("app.handler".into()),
            timeout: Some("30".into()),
            ..RawInputs::default()
        };
        let entries = load_with(dir.path(), &step).expect("valid");
        let [a, b] = entries.as_slice() else {
            panic!("two entries expected: {entries:?}");
        };
        assert_eq!(a.config.settings.memory_size, Some(512));
        assert_eq!(b.config.settings.memory_size, Some(256));
        assert_eq!(a.config.settings.runtime.as_deref(), Some("python3.12"));
        assert_eq!(b.config.settings.timeout, Some(30));
        assert_eq!(b.config.aliases.len(), 2);
        let Some(super::super::Artifact::SourceDir { dir: src, .. }) = &b.config.artifact else {
            panic!("a source-dir artifact expected");
        };
        assert!(src.ends_with("fns/b"), "{}", src.display());
    }

    #[test]
    fn every_problem_is_reported_with_its_line_column_and_entry() {
        let dir = checkout(
            "functions:\n  a:\n    source-dir: ../fns/a\n    handlr: app.handler\n  b:\n    source-dir: ../fns/b\n    dry-run: true\n",
        );
        let err = load_with(dir.path(), &RawInputs::default()).expect_err("invalid");
        let text = err.to_string();
        assert_eq!(
            text,
            "ci/manifest.yml:4:5: function 'a': unknown input 'handlr'; did you mean 'handler'?\nci/manifest.yml:7:5: function 'b': dry-run applies to the whole step; set it on the step, not in the manifest"
        );
    }

    #[test]
    fn function_name_picks_one_entry_and_names_the_others_when_missing() {
        let dir = checkout(
            "defaults:\n  runtime: python3.12\n  handler: app.handler\nfunctions:\n  a:\n    source-dir: ../fns/a\n  b:\n    source-dir: ../fns/b\n",
        );
        let step = RawInputs {
            function_name: Some("b".into()),
            ..RawInputs::default()
        };
        let picked = load_with(dir.path(), &step).expect("valid");
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0].name, "b");
        let step = RawInputs {
            function_name: Some("c".into()),
            ..RawInputs::default()
        };
        let err = load_with(dir.path(), &step).expect_err("no such entry");
        assert!(err.to_string().contains("use one of a, b"), "{err}");
    }
}
