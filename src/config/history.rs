//! The inputs of the release-history commands: `command`, `to-version` and
//! `keep-versions`.

use serde::Serialize;

use super::{Checker, RawInputs, validate};

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// Package, publish and move aliases (the default).
    Deploy,
    /// Move each alias back through the versions it served, or to `to-version`.
    Rollback,
    /// Delete the versions `keep-versions` does not keep.
    Prune,
    /// List the versions and the aliases that serve them.
    Status,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Deploy => "deploy",
            Command::Rollback => "rollback",
            Command::Prune => "prune",
            Command::Status => "status",
        }
    }
}

/// The history inputs, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryOptions {
    pub command: Command,
    /// The version a rollback moves the aliases to; `None`: one step back.
    pub to_version: Option<String>,
    /// How many of the newest versions a prune keeps; `None`: no pruning.
    pub keep_versions: Option<usize>,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        Self {
            command: Command::Deploy,
            to_version: None,
            keep_versions: None,
        }
    }
}

/// `command`, read first: it decides whether the run needs a package.
pub(super) fn command(c: &mut Checker, raw: &RawInputs) -> Option<Command> {
    c.with_default("command", &raw.command, |v| {
        match validate::one_of(v, &["deploy", "rollback", "prune", "status", "matrix"])? {
            "rollback" => Ok(Command::Rollback),
            "prune" => Ok(Command::Prune),
            "status" => Ok(Command::Status),
            "matrix" => Err(
                "'matrix' needs manifest, a YAML file listing the functions, and this step gives none; add manifest or use deploy, rollback, prune or status"
                    .to_string(),
            ),
            _ => Ok(Command::Deploy),
        }
    })
}

fn to_version(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("$LATEST") {
        return Err(
            "'$LATEST' is not a published version; aliases move to published versions only: give a version number, e.g. 3 (see command: status)"
                .into(),
        );
    }
    match v.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n.to_string()),
        _ => Err(format!(
            "'{v}' is not a version number; give a published version's number, e.g. 3 (see command: status)"
        )),
    }
}

fn keep_versions(v: &str) -> Result<usize, String> {
    let v = v.trim();
    match v.parse::<u64>() {
        Ok(0) => Err(
            "0 would keep no version at all; give 1 or more (versions an alias routes to are always kept too)"
                .into(),
        ),
        Ok(n) if n <= 10_000 => Ok(n as usize),
        _ => Err(format!(
            "'{v}' is not a count of versions; give a whole number from 1 to 10000, e.g. 10"
        )),
    }
}

/// `to-version` and `keep-versions`, checked against the command that reads them.
pub(super) fn options(
    c: &mut Checker,
    raw: &RawInputs,
    command: Option<Command>,
) -> HistoryOptions {
    let to_version = c.opt("to-version", &raw.to_version, to_version);
    let keep_versions = c.opt("keep-versions", &raw.keep_versions, keep_versions);
    let command = command.unwrap_or(Command::Deploy);
    if raw.to_version.is_some() && command != Command::Rollback {
        c.fail(
            "to-version",
            format!(
                "is only read by command: rollback, and this run's command is {}; remove to-version or set command: rollback",
                command.as_str()
            ),
        );
    }
    if command == Command::Prune && raw.keep_versions.is_none() {
        c.fail(
            "keep-versions",
            "is required for command: prune; give how many of the newest versions to keep, e.g. 10",
        );
    }
    if command == Command::Rollback && raw.alias.is_none() {
        c.fail(
            "alias",
            "is required for command: rollback; name the aliases to move back, e.g. live",
        );
    }
    HistoryOptions {
        command,
        to_version,
        keep_versions,
    }
}
