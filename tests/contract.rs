//! The contract between the Rust input table, `action.yml`, the README and the workflows
//! the project ships. Each test fails when one of them drifts from the others:
//!
//! - `action.yml` lists exactly `lambda_deploy::config::{INPUTS, OUTPUTS}`, in order,
//!   with the same defaults, required flags and descriptions;
//! - the README's input and output tables are generated from `action.yml`
//!   (`UPDATE_README=1 cargo test --test contract` rewrites them);
//! - every `with:` key given to this action in `.github/workflows` and
//!   `examples/workflows` is a real input, and every required input is given.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use lambda_deploy::config::{INPUTS, OUTPUTS};
use serde_yaml_ng::{Mapping, Value};

const UPDATE_HINT: &str = "run `UPDATE_README=1 cargo test --test contract` to regenerate it";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn load_yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// One input as `action.yml` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ActionInput {
    name: String,
    description: String,
    required: bool,
    default: Option<String>,
}

/// One output as `action.yml` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ActionOutput {
    name: String,
    description: String,
}

/// A YAML scalar as the string GitHub would hand to the action.
fn scalar(value: &Value, what: &str) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => panic!("{what} must be a scalar, found {other:?}"),
    }
}

fn mapping<'a>(value: &'a Value, what: &str) -> &'a Mapping {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("{what} must be a mapping"))
}

fn field<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    map.get(Value::String(key.to_owned()))
}

fn action_yml() -> Value {
    load_yaml(&root().join("action.yml"))
}

fn action_inputs(action: &Value) -> Vec<ActionInput> {
    let top = mapping(action, "action.yml");
    let inputs = mapping(
        field(top, "inputs").expect("action.yml has no `inputs`"),
        "action.yml `inputs`",
    );
    inputs
        .iter()
        .map(|(name, spec)| {
            let name = scalar(name, "an input name");
            let what = format!("action.yml input `{name}`");
            let spec = mapping(spec, &what);
            let description = field(spec, "description")
                .map(|d| scalar(d, &format!("{what} description")))
                .unwrap_or_else(|| panic!("{what} has no description"));
            let required = match field(spec, "required") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => panic!("{what}: `required` must be true or false, found {other:?}"),
            };
            let default = field(spec, "default").map(|d| scalar(d, &format!("{what} default")));
            ActionInput {
                name,
                description,
                required,
                default,
            }
        })
        .collect()
}

fn action_outputs(action: &Value) -> Vec<ActionOutput> {
    let top = mapping(action, "action.yml");
    let outputs = mapping(
        field(top, "outputs").expect("action.yml has no `outputs`"),
        "action.yml `outputs`",
    );
    outputs
        .iter()
        .map(|(name, spec)| {
            let name = scalar(name, "an output name");
            let what = format!("action.yml output `{name}`");
            let description = field(mapping(spec, &what), "description")
                .map(|d| scalar(d, &format!("{what} description")))
                .unwrap_or_else(|| panic!("{what} has no description"));
            ActionOutput { name, description }
        })
        .collect()
}

#[test]
fn action_yml_inputs_match_the_rust_input_table() {
    let declared = action_inputs(&action_yml());
    let expected: Vec<ActionInput> = INPUTS
        .iter()
        .map(|spec| ActionInput {
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            required: spec.required,
            default: spec.default.map(str::to_owned),
        })
        .collect();

    let declared_names: Vec<&str> = declared.iter().map(|i| i.name.as_str()).collect();
    let expected_names: Vec<&str> = expected.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        declared_names, expected_names,
        "action.yml inputs (left) must list src/config/inputs.rs INPUTS (right): same names, same order"
    );
    for (got, want) in declared.iter().zip(&expected) {
        assert_eq!(
            got.default, want.default,
            "input `{}`: action.yml default (left) differs from INPUTS (right); an input without a default in INPUTS must have no `default:` key",
            want.name
        );
        assert_eq!(
            got.required, want.required,
            "input `{}`: action.yml `required` differs from INPUTS",
            want.name
        );
        assert_eq!(
            got.description, want.description,
            "input `{}`: action.yml description differs from INPUTS",
            want.name
        );
    }
}

#[test]
fn action_yml_outputs_match_the_rust_output_table() {
    let declared = action_outputs(&action_yml());
    let expected: Vec<ActionOutput> = OUTPUTS
        .iter()
        .map(|(name, description)| ActionOutput {
            name: (*name).to_owned(),
            description: (*description).to_owned(),
        })
        .collect();
    assert_eq!(
        declared, expected,
        "action.yml outputs (left) must list src/config/inputs.rs OUTPUTS (right): same names, order and descriptions"
    );
}

#[test]
fn action_yml_runs_the_container_image() {
    let action = action_yml();
    let runs = mapping(
        field(mapping(&action, "action.yml"), "runs").expect("action.yml has no `runs`"),
        "`runs`",
    );
    let using = field(runs, "using").map(|v| scalar(v, "runs.using"));
    assert_eq!(
        using.as_deref(),
        Some("docker"),
        "action.yml must run as a Docker action"
    );
    let image = field(runs, "image")
        .map(|v| scalar(v, "runs.image"))
        .expect("action.yml has no runs.image");
    assert!(
        image == "Dockerfile" || is_pinned(&image),
        "runs.image must be `Dockerfile` (main) or a prebuilt image pinned by digest, `docker://<name>@sha256:<hex>` (releases), found `{image}`"
    );
}

fn is_pinned(image: &str) -> bool {
    image
        .strip_prefix("docker://")
        .and_then(|i| i.split_once("@sha256:"))
        .is_some_and(|(name, hex)| {
            !name.is_empty()
                && hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// The release workflow pins action.yml to the image it pushed by digest, never by tag
/// (scripts/pin-action-image.sh); what it writes passes the check above.
#[test]
fn release_pins_the_action_image_by_digest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("action.yml");
    std::fs::copy(root().join("action.yml"), &copy).expect("copy action.yml");
    let script = root().join("scripts/pin-action-image.sh");
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(["ghcr.io/acme/lambda-deploy", &digest])
        .arg(&copy)
        .output()
        .expect("run pin-action-image.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let action: Value = serde_yaml_ng::from_str(&read(&copy)).expect("action.yml still parses");
    let runs = mapping(
        field(mapping(&action, "action.yml"), "runs").expect("runs"),
        "runs",
    );
    let image = scalar(field(runs, "image").expect("image"), "runs.image");
    assert_eq!(
        image,
        format!("docker://ghcr.io/acme/lambda-deploy@{digest}")
    );
    assert!(is_pinned(&image));
    for bad in ["latest", "sha256:abc", "1.2.3"] {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args(["ghcr.io/acme/lambda-deploy", bad])
            .arg(&copy)
            .output()
            .expect("run pin-action-image.sh");
        assert!(!out.status.success(), "accepted {bad} as a digest");
    }
}

// ---------------------------------------------------------------------------------------
// README tables, generated from action.yml.

/// Escapes a table cell: pipes would end the cell and newlines the row; outside code
/// spans, `<` and `>` would be read as HTML (`pr-<N>` would lose its `<N>`).
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 0 {
            out.push_str(&part.replace('<', "&lt;").replace('>', "&gt;"));
        } else {
            out.push_str(part);
        }
    }
    out.replace('|', "\\|").replace('\n', " ")
}

fn inputs_table(inputs: &[ActionInput]) -> String {
    let mut out = String::from("| Input | Required | Default | Description |\n|---|---|---|---|\n");
    for input in inputs {
        let required = if input.required { "yes" } else { "no" };
        let default = match &input.default {
            Some(d) if d.is_empty() => "`\"\"`".to_owned(),
            Some(d) => format!("`{}`", cell(d)),
            None => "—".to_owned(),
        };
        writeln!(
            out,
            "| `{}` | {required} | {default} | {} |",
            input.name,
            cell(&input.description)
        )
        .expect("writing to a String cannot fail");
    }
    out
}

fn outputs_table(outputs: &[ActionOutput]) -> String {
    let mut out = String::from("| Output | Description |\n|---|---|\n");
    for output in outputs {
        writeln!(out, "| `{}` | {} |", output.name, cell(&output.description))
            .expect("writing to a String cannot fail");
    }
    out
}

/// Replaces what lies between `<!-- NAME:start -->` and `<!-- NAME:end -->` with `body`.
/// Returns `None` when the markers are missing or out of order.
fn replace_section(text: &str, name: &str, body: &str) -> Option<String> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let from = text.find(&start)? + start.len();
    let to = from + text[from..].find(&end)?;
    Some(format!("{}\n{body}{}", &text[..from], &text[to..]))
}

#[test]
fn readme_tables_are_generated_from_action_yml() {
    let action = action_yml();
    let path = root().join("README.md");
    let readme = read(&path);

    let with_inputs = replace_section(&readme, "inputs", &inputs_table(&action_inputs(&action)))
        .unwrap_or_else(|| {
            panic!("README.md needs the markers <!-- inputs:start --> and <!-- inputs:end -->")
        });
    let generated = replace_section(
        &with_inputs,
        "outputs",
        &outputs_table(&action_outputs(&action)),
    )
    .unwrap_or_else(|| {
        panic!("README.md needs the markers <!-- outputs:start --> and <!-- outputs:end -->")
    });

    if generated == readme {
        return;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    // Under CI the README must already be up to date: regenerating it there would pass
    // the check while the committed file stays stale.
    if !ci && std::env::var_os("UPDATE_README").is_some_and(|v| v == "1") {
        fs::write(&path, generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let first_difference = readme
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| readme.lines().count().min(generated.lines().count()));
    panic!(
        "README.md input/output tables are out of date with action.yml (first difference at line {}); {UPDATE_HINT}",
        first_difference + 1
    );
}

#[test]
fn readme_generator_escapes_cells_and_keeps_text_outside_the_markers() {
    let inputs = [ActionInput {
        name: "x".into(),
        description: "`a` | `b`".into(),
        required: true,
        default: Some(String::new()),
    }];
    let table = inputs_table(&inputs);
    assert!(
        table.contains("| `x` | yes | `\"\"` | `a` \\| `b` |"),
        "{table}"
    );
    assert_eq!(
        cell("alias pr-<N>, `pr-<N>`"),
        "alias pr-&lt;N&gt;, `pr-<N>`"
    );

    let text = "intro\n<!-- inputs:start -->\nold\n<!-- inputs:end -->\noutro\n";
    let replaced = replace_section(text, "inputs", "new\n").expect("markers are present");
    assert_eq!(
        replaced,
        "intro\n<!-- inputs:start -->\nnew\n<!-- inputs:end -->\noutro\n"
    );
    assert_eq!(replace_section("no markers", "inputs", "new\n"), None);
}

// ---------------------------------------------------------------------------------------
// Workflows that call this action.

/// Whether a step's `uses:` is this action: `./` (the repository itself) or
/// `<owner>/lambda-deploy@<ref>`.
fn is_this_action(uses: &str) -> bool {
    if uses == "./" || uses == "." {
        return true;
    }
    let Some((path, _reference)) = uses.split_once('@') else {
        return false;
    };
    let mut parts = path.split('/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(owner), Some("lambda-deploy"), None) if !owner.is_empty())
}

fn workflow_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [".github/workflows", "examples/workflows"] {
        let Ok(entries) = fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every step in `jobs.*.steps` that uses this action: (file, job, step index, `with:` keys).
fn action_steps() -> Vec<(String, String, usize, Vec<String>)> {
    let mut found = Vec::new();
    for path in workflow_files() {
        let shown = path
            .strip_prefix(root())
            .unwrap_or(&path)
            .display()
            .to_string();
        let workflow = load_yaml(&path);
        let Some(jobs) = workflow.get("jobs").and_then(Value::as_mapping) else {
            continue;
        };
        for (job_name, job) in jobs {
            let job_name = scalar(job_name, "a job name");
            let Some(steps) = job.get("steps").and_then(Value::as_sequence) else {
                continue;
            };
            for (index, step) in steps.iter().enumerate() {
                let Some(uses) = step.get("uses").and_then(Value::as_str) else {
                    continue;
                };
                if !is_this_action(uses) {
                    continue;
                }
                let keys = match step.get("with") {
                    None => Vec::new(),
                    Some(with) => mapping(
                        with,
                        &format!("{shown} job `{job_name}` step {index} `with:`"),
                    )
                    .keys()
                    .map(|k| scalar(k, "a `with:` key"))
                    .collect(),
                };
                found.push((shown.clone(), job_name.clone(), index, keys));
            }
        }
    }
    found
}

#[test]
fn workflows_pass_only_real_inputs_to_the_action() {
    let steps = action_steps();
    assert!(
        steps.iter().any(|(file, ..)| file.starts_with("examples/")),
        "no example workflow uses lambda-deploy: the check below would pass vacuously"
    );
    assert!(
        steps.iter().any(|(file, ..)| file.starts_with(".github/")),
        "no workflow in .github/workflows runs the action itself (`uses: ./`)"
    );

    let mut problems = Vec::new();
    for (file, job, index, keys) in &steps {
        for key in keys {
            if !INPUTS.iter().any(|spec| spec.name == key) {
                problems.push(format!(
                    "{file}: job `{job}` step {index} passes `{key}`, which is not an input"
                ));
            }
        }
        // A manifest names the functions itself, so it stands in for function-name.
        let manifest = keys.iter().any(|k| k == "manifest");
        for spec in INPUTS.iter().filter(|spec| spec.required) {
            let named_by_manifest = manifest && spec.name == "function-name";
            if !named_by_manifest && !keys.iter().any(|k| k == spec.name) {
                problems.push(format!(
                    "{file}: job `{job}` step {index} omits the required input `{}`",
                    spec.name
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "workflows drifted from the input contract:\n{}",
        problems.join("\n")
    );
}

#[test]
fn action_reference_matching_is_exact() {
    assert!(is_this_action("./"));
    assert!(is_this_action("lambda-deploy/lambda-deploy@v1"));
    assert!(is_this_action(
        "someone/lambda-deploy@0123456789abcdef0123456789abcdef01234567"
    ));
    assert!(!is_this_action("actions/checkout@v4"));
    assert!(!is_this_action("someone/lambda-deploy-extra@v1"));
    assert!(!is_this_action("someone/lambda-deploy/sub@v1"));
    assert!(!is_this_action("lambda-deploy"));
}
