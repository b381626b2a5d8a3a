//! The command line: `lambda-deploy [--<input> VALUE]...` deploys (inputs also come from
//! `INPUT_*` variables; flags win), `lambda-deploy package` only builds the zip.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde::Serialize;

use crate::config::{INPUTS, raw};
use crate::package::{self, ExcludeSet, PackageInfo};

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Invocation {
    /// Deploy with these flag values (input name, value).
    Deploy {
        flags: Vec<(String, String)>,
        format: Format,
    },
    /// Build the zip only.
    Package {
        source_dir: PathBuf,
        exclude: Vec<String>,
        output: PathBuf,
        format: Format,
    },
    /// Create the OIDC provider and roles (the flags as read and checked).
    Bootstrap(
        Result<crate::bootstrap::Options, crate::bootstrap::BootstrapError>,
        Format,
    ),
    /// Write the workflow files.
    Init(crate::init::Options),
}

/// The subcommands that take the same flags as a deploy and set the `command` input.
const HISTORY_COMMANDS: [(&str, &str); 3] = [
    (
        "rollback",
        "Move each alias back one step through the versions it served, or to --to-version",
    ),
    (
        "prune",
        "Delete the versions --keep-versions does not keep (with --dry-run: list them)",
    ),
    (
        "status",
        "List the versions with their provenance and the aliases that serve them",
    ),
];

/// `cmd` with one flag per input of the table.
fn with_inputs(mut cmd: Command) -> Command {
    for spec in INPUTS {
        let help = match spec.default {
            Some(d) if !d.starts_with("${{") => format!("{} [default: {d}]", spec.description),
            _ => spec.description.to_string(),
        };
        cmd = cmd.arg(
            Arg::new(spec.name)
                .long(spec.name)
                .value_name("VALUE")
                .action(ArgAction::Append)
                .help(help),
        );
    }
    cmd
}

/// The clap command, built from the input table so flags and inputs never drift.
pub fn command() -> Command {
    let format = Arg::new("format")
        .long("format")
        .value_parser(["text", "json"])
        .default_value("text")
        .global(true)
        .help("Print results as text or as a JSON object");
    let mut cmd = Command::new("lambda-deploy")
        .version(concat!(
            env!("CARGO_PKG_VERSION"),
            " (commit ",
            env!("LAMBDA_DEPLOY_COMMIT"),
            ")"
        ))
        .about("Ship AWS Lambda functions: reproducible packages, versions, aliases and reports")
        .after_help("Every input can also be given as an environment variable INPUT_<NAME> (e.g. INPUT_FUNCTION-NAME or INPUT_FUNCTION_NAME), as GitHub Actions passes them; flags win.")
        .arg(format);
    cmd = with_inputs(cmd);
    for (name, about) in HISTORY_COMMANDS {
        cmd = cmd.subcommand(with_inputs(Command::new(name).about(about)));
    }
    cmd = cmd.subcommand(with_inputs(Command::new("matrix").about("With --manifest: print the GitHub Actions matrix of the functions whose package differs from what is live; deploys nothing")));
    cmd
    .subcommand(
        Command::new("package")
            .about("Write the reproducible zip a deploy would upload, and print its CodeSha256 and size")
            .arg(Arg::new("source-dir").long("source-dir").value_name("DIR").required(true).help("Directory to package"))
            .arg(Arg::new("exclude").long("exclude").value_name("GLOB").action(ArgAction::Append).help("Glob left out of the package (repeatable)"))
            .arg(Arg::new("output").long("output").short('o').value_name("FILE.zip").required(true).help("Where to write the zip")),
    )
    .subcommand(crate::bootstrap::command())
    .subcommand(crate::init::command())
}

fn format_of(m: &ArgMatches) -> Format {
    if m.get_one::<String>("format").map(String::as_str) == Some("json") {
        Format::Json
    } else {
        Format::Text
    }
}

/// Parses arguments (without the program name handling: pass `std::env::args_os()`).
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let m = command().try_get_matches_from(args)?;
    if let Some(b) = m.subcommand_matches("bootstrap") {
        return Ok(Invocation::Bootstrap(
            crate::bootstrap::options(b),
            format_of(&m),
        ));
    }
    if let Some(i) = m.subcommand_matches("init") {
        return Ok(Invocation::Init(crate::init::options(i)));
    }
    if let Some(p) = m.subcommand_matches("package") {
        return Ok(Invocation::Package {
            source_dir: p
                .get_one::<String>("source-dir")
                .map(PathBuf::from)
                .unwrap_or_default(),
            exclude: p
                .get_many::<String>("exclude")
                .map(|v| v.cloned().collect())
                .unwrap_or_default(),
            output: p
                .get_one::<String>("output")
                .map(PathBuf::from)
                .unwrap_or_default(),
            format: format_of(&m),
        });
    }
    let (sub, inputs) = match m.subcommand() {
        Some((name, sub)) => (Some(name), sub),
        None => (None, &m),
    };
    let mut flags: Vec<(String, String)> = INPUTS
        .iter()
        .filter_map(|s| {
            inputs.get_many::<String>(s.name).map(|v| {
                (
                    s.name.to_string(),
                    v.cloned().collect::<Vec<_>>().join("\n"),
                )
            })
        })
        .collect();
    // `lambda-deploy rollback` is `command: rollback`, whatever INPUT_COMMAND says.
    if let Some(name) = sub {
        flags.retain(|(k, _)| k != "command");
        flags.push(("command".to_string(), name.to_string()));
    }
    Ok(Invocation::Deploy {
        flags,
        format: format_of(&m),
    })
}

/// Gathers raw inputs from the process environment and the flags.
pub fn raw_inputs(flags: Vec<(String, String)>) -> (raw::RawInputs, Vec<String>) {
    raw::gather(std::env::vars(), flags)
}

/// What `package` prints.
#[derive(Debug, Serialize)]
pub struct PackageSummary {
    pub output: String,
    pub code_sha256: String,
    pub sha256: String,
    pub size: u64,
    pub unzipped_size: u64,
    pub entries: usize,
}

/// Runs `lambda-deploy package`.
pub fn package(
    source_dir: &std::path::Path,
    exclude: &[String],
    output: &std::path::Path,
) -> Result<PackageSummary, package::PackageError> {
    let info: PackageInfo = package::write_zip(source_dir, &ExcludeSet::new(exclude)?, output)?;
    Ok(PackageSummary {
        output: output.display().to_string(),
        code_sha256: info.code_sha256,
        sha256: info.sha256_hex,
        size: info.size,
        unzipped_size: info.unzipped_size,
        entries: info.entries,
    })
}
