//! `lambda-deploy init`: writes `.github/workflows/deploy.yml` (the default branch and
//! release tags) and `preview.yml` (pull request previews, skipped for forks) for the
//! repository it runs in. The runtime and handler are guessed from the source tree; each
//! guess is printed with the flag that overrides it. Existing files are kept unless
//! `--force` is given.

use std::path::{Path, PathBuf};

/// What `init` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The repository's root (the working directory).
    pub root: PathBuf,
    pub source_dir: Option<String>,
    pub function_name: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub region: Option<String>,
    pub branch: Option<String>,
    pub force: bool,
}

/// A failed init; no file was written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("--{flag}: {message}")]
    Input { flag: &'static str, message: String },
    #[error(
        "{} exists; nothing was written. Run again with --force to replace it",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("cannot write '{}': {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The values the workflows are written with, each with where it came from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub function_name: String,
    pub source_dir: String,
    pub runtime: String,
    pub handler: String,
    pub region: String,
    pub branch: String,
    /// One line per value: what was chosen, why, and the flag that changes it.
    pub notes: Vec<String>,
}

const PYTHON: &str = "python3.13";
const NODE: &str = "nodejs22.x";
const PROVIDED: &str = "provided.al2023";

/// The runtime and handler a source tree looks like, and why.
fn guess_runtime(dir: &Path) -> Option<(&'static str, String, String)> {
    let has = |f: &str| dir.join(f).exists();
    if has("requirements.txt") || has("pyproject.toml") {
        let why = if has("requirements.txt") {
            "requirements.txt"
        } else {
            "pyproject.toml"
        };
        return Some((PYTHON, python_handler(dir), why.into()));
    }
    if has("package.json") {
        let module = [
            "index.mjs",
            "index.js",
            "handler.mjs",
            "handler.js",
            "app.mjs",
            "app.js",
        ]
        .iter()
        .find(|f| has(f))
        .and_then(|f| f.split('.').next())
        .unwrap_or("index");
        return Some((NODE, format!("{module}.handler"), "package.json".into()));
    }
    if has("bootstrap") || has("Cargo.toml") {
        let why = if has("bootstrap") {
            "a bootstrap binary"
        } else {
            "Cargo.toml"
        };
        return Some((PROVIDED, "bootstrap".into(), why.into()));
    }
    if has("index.mjs") || has("index.js") {
        let why = if has("index.mjs") {
            "index.mjs"
        } else {
            "index.js"
        };
        return Some((NODE, "index.handler".into(), why.into()));
    }
    ["app.py", "lambda_function.py", "handler.py", "main.py"]
        .iter()
        .find(|f| has(f))
        .map(|f| (PYTHON, python_handler(dir), (*f).to_string()))
}

/// `module.function` of the first Python file that defines a handler.
fn python_handler(dir: &Path) -> String {
    for module in ["app", "lambda_function", "handler", "main"] {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{module}.py"))) else {
            continue;
        };
        for func in ["lambda_handler", "handler"] {
            if text.contains(&format!("def {func}(")) {
                return format!("{module}.{func}");
            }
        }
    }
    "app.handler".into()
}

/// The repository's default branch as git knows it: the remote's HEAD when it was
/// cloned, else the branch checked out.
fn default_branch(root: &Path) -> Option<(String, &'static str)> {
    let read = |p: &str| std::fs::read_to_string(root.join(".git").join(p)).ok();
    let from = |text: Option<String>, prefix: &str| {
        text.and_then(|t| t.trim().strip_prefix(prefix).map(str::to_string))
            .filter(|b| !b.is_empty())
    };
    from(
        read("refs/remotes/origin/HEAD"),
        "ref: refs/remotes/origin/",
    )
    .map(|b| (b, "origin's default branch"))
    .or_else(|| from(read("HEAD"), "ref: refs/heads/").map(|b| (b, "the branch checked out")))
}

/// A function name from the repository folder's name: letters, digits, `-` and `_`.
fn name_from(root: &Path) -> String {
    let raw = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(54)
        .collect();
    if name.trim_matches('-').is_empty() {
        "my-function".into()
    } else {
        name
    }
}

fn pick(given: &Option<String>, guess: impl FnOnce() -> (String, String)) -> (String, String) {
    match given {
        Some(v) => (v.clone(), "given".into()),
        None => guess(),
    }
}

/// Works out every value, from the flags or from the tree.
pub fn settings(opts: &Options) -> Result<Settings, InitError> {
    let (source_dir, source_why) = pick(&opts.source_dir, || {
        let found = ["src", "app", "function", "lambda"]
            .into_iter()
            .find(|d| guess_runtime(&opts.root.join(d)).is_some());
        match found {
            Some(d) => (d.to_string(), format!("{d}/ holds the function's code")),
            None => (".".into(), "the repository's root".into()),
        }
    });
    let dir = opts.root.join(&source_dir);
    if !dir.is_dir() {
        return Err(InitError::Input {
            flag: "source-dir",
            message: format!("'{source_dir}' is not a folder of this repository"),
        });
    }
    let guessed = guess_runtime(&dir).or_else(|| guess_runtime(&opts.root));
    if guessed.is_none() && (opts.runtime.is_none() || opts.handler.is_none()) {
        return Err(InitError::Input {
            flag: "runtime",
            message: format!(
                "cannot tell the runtime of '{source_dir}' (no requirements.txt, pyproject.toml, package.json, Cargo.toml or bootstrap); give --runtime and --handler"
            ),
        });
    }
    let (g_runtime, g_handler, why) = guessed.unwrap_or((PROVIDED, String::new(), String::new()));
    let (runtime, runtime_why) = pick(&opts.runtime, || (g_runtime.into(), format!("found {why}")));
    let (handler, handler_why) = pick(&opts.handler, || (g_handler, format!("found {why}")));
    let (function_name, name_why) = pick(&opts.function_name, || {
        (name_from(&opts.root), "the repository folder's name".into())
    });
    let (region, region_why) = pick(&opts.region, || {
        match std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
            Some(r) => (r, "AWS_REGION".into()),
            None => ("us-east-1".into(), "no AWS_REGION set".into()),
        }
    });
    let (branch, branch_why) = pick(&opts.branch, || match default_branch(&opts.root) {
        Some((b, why)) => (b, why.into()),
        None => ("main".into(), "no git branch found".into()),
    });
    let notes = [
        ("function-name", &function_name, name_why),
        ("source-dir", &source_dir, source_why),
        ("runtime", &runtime, runtime_why),
        ("handler", &handler, handler_why),
        ("region", &region, region_why),
        ("branch", &branch, branch_why),
    ]
    .iter()
    .map(|(flag, v, why)| format!("{flag}: {v} ({why}; change with --{flag})"))
    .collect();
    Ok(Settings {
        function_name,
        source_dir,
        runtime,
        handler,
        region,
        branch,
        notes,
    })
}

/// Quotes a value for YAML when it needs it.
fn yaml(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        && !v.is_empty()
    {
        v.to_string()
    } else {
        serde_json::to_string(v).unwrap_or_default()
    }
}

const CHECKOUT: &str = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1";
const CREDENTIALS: &str =
    "aws-actions/configure-aws-credentials@cbe3b392738ccf3f987d68400dafcf4b0624a56c # v6.2.4";

/// The `with:` lines of the lambda-deploy step both workflows share.
fn step_inputs(s: &Settings) -> String {
    format!(
        "          function-name: {}\n          source-dir: {}\n          runtime: {}\n          handler: {}\n          role: ${{{{ vars.LAMBDA_EXECUTION_ROLE_ARN }}}}\n",
        yaml(&s.function_name),
        yaml(&s.source_dir),
        yaml(&s.runtime),
        yaml(&s.handler)
    )
}

fn build_note(s: &Settings) -> &'static str {
    if s.runtime == PROVIDED {
        "      # provided.al2023 runs the executable `bootstrap` found in source-dir: build it\n      # there (e.g. `cargo lambda build --release` and copy target/lambda/<name>/bootstrap)\n      # in a step before this one.\n"
    } else {
        ""
    }
}

/// `.github/workflows/deploy.yml`, with `@NAME@`-style fields for [`fill`].
const DEPLOY_YML: &str = r#"# Deploys @NAME@ on every push to @BRANCH@, and publishes versioned aliases for release
# tags v*. Written by `lambda-deploy init`; AWS_DEPLOY_ROLE_ARN and
# LAMBDA_EXECUTION_ROLE_ARN come from `lambda-deploy bootstrap`.
name: deploy

on:
  push:
    branches: [@BRANCH@]
    tags: ["v*"]

permissions:
  id-token: write
  contents: read

concurrency:
  group: deploy-@NAME@
  cancel-in-progress: false

jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: @CHECKOUT@
        with:
          persist-credentials: false
      - uses: @CREDENTIALS@
        with:
          role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}
          aws-region: @REGION@
@NOTE@      - id: deploy
        uses: lambda-deploy/lambda-deploy@v1
        with:
@INPUTS@          alias: live
"#;

/// `.github/workflows/preview.yml`: `pull_request` only (a fork's run gets no OIDC token
/// and is skipped), with the preview role.
const PREVIEW_YML: &str = r#"# Deploys each pull request to its own function, @NAME@-pr-<number>, and deletes it when the
# pull request closes. Runs on pull_request (never pull_request_target), so a fork's code
# never gets credentials; forks are skipped. Written by `lambda-deploy init`.
name: preview

on:
  pull_request:
    types: [opened, synchronize, reopened, closed]

permissions: {}

concurrency:
  group: preview-${{ github.event.pull_request.number }}
  cancel-in-progress: false

jobs:
  preview:
    if: ${{ !github.event.pull_request.head.repo.fork }}
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
      pull-requests: write
      deployments: write
    steps:
      - if: github.event.action != 'closed'
        uses: @CHECKOUT@
        with:
          persist-credentials: false
      - uses: @CREDENTIALS@
        with:
          role-to-assume: ${{ vars.AWS_PREVIEW_ROLE_ARN }}
          aws-region: @REGION@
@NOTE@      - id: deploy
        uses: lambda-deploy/lambda-deploy@v1
        with:
@INPUTS@          preview: auto
"#;

/// A template with its fields filled in from the settings.
fn fill(template: &str, s: &Settings) -> String {
    [
        ("@CHECKOUT@", CHECKOUT.to_string()),
        ("@CREDENTIALS@", CREDENTIALS.to_string()),
        ("@NAME@", s.function_name.clone()),
        ("@BRANCH@", yaml(&s.branch)),
        ("@REGION@", yaml(&s.region)),
        ("@NOTE@", build_note(s).to_string()),
        ("@INPUTS@", step_inputs(s)),
    ]
    .iter()
    .fold(template.to_string(), |text, (field, value)| {
        text.replace(field, value)
    })
}

/// `.github/workflows/deploy.yml`.
pub(crate) fn deploy_workflow(s: &Settings) -> String {
    fill(DEPLOY_YML, s)
}

/// `.github/workflows/preview.yml`.
pub(crate) fn preview_workflow(s: &Settings) -> String {
    fill(PREVIEW_YML, s)
}

/// Writes both workflows; returns their paths. Nothing is written when one exists and
/// `force` is not given.
pub fn write(opts: &Options, s: &Settings) -> Result<Vec<PathBuf>, InitError> {
    let dir = opts.root.join(".github/workflows");
    let files = [
        (dir.join("deploy.yml"), deploy_workflow(s)),
        (dir.join("preview.yml"), preview_workflow(s)),
    ];
    if !opts.force
        && let Some((p, _)) = files.iter().find(|(p, _)| p.exists())
    {
        return Err(InitError::Exists(p.clone()));
    }
    std::fs::create_dir_all(&dir).map_err(|source| InitError::Write {
        path: dir.clone(),
        source,
    })?;
    for (path, text) in &files {
        std::fs::write(path, text).map_err(|source| InitError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// The `init` subcommand's flags.
pub fn command() -> clap::Command {
    use clap::{Arg, ArgAction, Command};
    let flag = |name: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name("VALUE").help(help)
    };
    Command::new("init")
        .about("Write .github/workflows/deploy.yml and preview.yml for this repository")
        .arg(flag("source-dir", "Folder to deploy [default: guessed]"))
        .arg(flag(
            "function-name",
            "Function name [default: the repository folder's name]",
        ))
        .arg(flag(
            "runtime",
            "Lambda runtime [default: guessed from the tree]",
        ))
        .arg(flag("handler", "Handler [default: guessed from the tree]"))
        .arg(flag(
            "region",
            "AWS region [default: AWS_REGION, else us-east-1]",
        ))
        .arg(flag("branch", "Branch that deploys [default: main]"))
        .arg(
            Arg::new("force")
                .long("force")
                .action(ArgAction::SetTrue)
                .help("Replace existing workflow files"),
        )
}

/// Reads the flags of [`command`]; the repository is the working directory.
pub fn options(m: &clap::ArgMatches) -> Options {
    let text = |k: &str| m.get_one::<String>(k).cloned();
    Options {
        root: std::env::current_dir().unwrap_or_default(),
        source_dir: text("source-dir"),
        function_name: text("function-name"),
        runtime: text("runtime"),
        handler: text("handler"),
        region: text("region"),
        branch: text("branch"),
        force: m.get_flag("force"),
    }
}

/// Runs the `init` command: prints each guess, writes the files, or one error line.
pub fn main(opts: &Options) -> std::process::ExitCode {
    let result = settings(opts).and_then(|s| {
        for note in &s.notes {
            println!("{note}");
        }
        write(opts, &s).map(|paths| (paths, s))
    });
    match result {
        Ok((paths, s)) => {
            for p in paths {
                println!("wrote {}", p.display());
            }
            let branch = if s.branch == "main" {
                String::new()
            } else {
                format!(" --branch {}", s.branch)
            };
            println!(
                "next: run `lambda-deploy bootstrap --repository OWNER/NAME --function-name {}{branch}` once (with AWS credentials that may manage IAM), set the repository variables it prints, and push",
                s.function_name
            );
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

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (f, text) in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn guess(files: &[(&str, &str)]) -> Settings {
        let dir = tree(files);
        settings(&Options {
            root: dir.path().to_path_buf(),
            region: Some("eu-west-1".into()),
            ..Options::default()
        })
        .unwrap()
    }

    #[test]
    fn runtime_and_handler_are_guessed_from_the_tree() {
        let py = guess(&[
            ("src/requirements.txt", ""),
            ("src/app.py", "def lambda_handler(e, c):\n"),
        ]);
        assert_eq!(
            (
                py.source_dir.as_str(),
                py.runtime.as_str(),
                py.handler.as_str()
            ),
            ("src", PYTHON, "app.lambda_handler")
        );
        let node = guess(&[("package.json", "{}"), ("index.mjs", "")]);
        assert_eq!(
            (
                node.source_dir.as_str(),
                node.runtime.as_str(),
                node.handler.as_str()
            ),
            (".", NODE, "index.handler")
        );
        let rust = guess(&[("Cargo.toml", "[package]")]);
        assert_eq!(
            (rust.runtime.as_str(), rust.handler.as_str()),
            (PROVIDED, "bootstrap")
        );
        assert!(
            rust.notes.iter().any(|n| n
                .starts_with("runtime: provided.al2023 (found Cargo.toml; change with --runtime)")),
            "{:?}",
            rust.notes
        );
    }

    #[test]
    fn the_branch_comes_from_git() {
        let s = guess(&[("app.py", ""), (".git/HEAD", "ref: refs/heads/trunk\n")]);
        assert_eq!(s.branch, "trunk");
        let s = guess(&[
            ("app.py", ""),
            (".git/HEAD", "ref: refs/heads/feature\n"),
            (
                ".git/refs/remotes/origin/HEAD",
                "ref: refs/remotes/origin/develop\n",
            ),
        ]);
        assert_eq!(s.branch, "develop");
        assert_eq!(guess(&[("app.py", "")]).branch, "main");
    }

    #[test]
    fn an_unknown_tree_asks_for_runtime_and_handler() {
        let dir = tree(&[("README.md", "")]);
        let err = settings(&Options {
            root: dir.path().to_path_buf(),
            ..Options::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().starts_with("--runtime: cannot tell"),
            "{err}"
        );
    }
}
