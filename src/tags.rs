//! Tag rules: which release a Git tag names, which Lambda aliases and image tags a run
//! produces, and the provenance line written into each published version's description.
//!
//! Everything here is pure. Lambda alias names allow only `[A-Za-z0-9_-]` (no dots, not all
//! digits, at most 128 characters); OCI image tags match `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`;
//! a Lambda version description holds at most 256 characters.

use std::cmp::Ordering;

use semver::Version;

use crate::context::{GitHubContext, Trigger};
use crate::domain::description::VersionDescription;
pub(crate) use crate::domain::image_ref::MAX_IMAGE_TAG_LEN;
pub use crate::domain::image_ref::is_valid_image_tag;
use crate::types::AliasName;

/// Longest Lambda alias name.
pub(crate) const MAX_ALIAS_LEN: usize = 128;
pub use crate::domain::description::MAX_DESCRIPTION_LEN;

pub use crate::domain::description::release_version;

/// The Lambda aliases a release moves: `v1-2-3`, `v1-2`, `v1` for a release, and only its
/// own full alias for a prerelease (`v1.2.3-rc.1` -> `v1-2-3-rc-1`).
///
/// Build metadata is dropped from alias names: `v1.2.3+build.5` moves `v1-2-3`, `v1-2`,
/// `v1`, since builds of one version share its precedence. Any character Lambda does not
/// allow becomes `-`, and names are cut to [`MAX_ALIAS_LEN`].
pub fn semver_aliases(v: &Version) -> Vec<AliasName> {
    let full = format!("v{}-{}-{}", v.major, v.minor, v.patch);
    let names = if v.pre.is_empty() {
        vec![
            full,
            format!("v{}-{}", v.major, v.minor),
            format!("v{}", v.major),
        ]
    } else {
        vec![format!("{full}-{}", v.pre)]
    };
    names.iter().filter_map(|n| alias_name(n)).collect()
}

/// `raw` with every character outside `[A-Za-z0-9_-]` replaced by `-`, cut to
/// [`MAX_ALIAS_LEN`]; `None` only if the result still breaks a Lambda rule (all digits,
/// empty, reserved).
pub fn alias_name(raw: &str) -> Option<AliasName> {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Only ASCII is left, so any byte index is a character boundary.
    s.truncate(MAX_ALIAS_LEN);
    s.parse().ok()
}

/// The alias a pull request's preview deploy lives under: `pr-<N>`.
pub fn preview_alias(pr_number: u64) -> AliasName {
    match format!("pr-{pr_number}").parse() {
        Ok(alias) => alias,
        Err(e) => unreachable!("'pr-' and digits always make a valid alias name: {e}"),
    }
}

/// The image tags a run pushes, in this order: `sha-<7 hex>` whenever the commit is known;
/// then on a semver release tag the version tags of [`version_image_tags`]; on a pull
/// request `pr-<N>`. Branch runs and non-semver tags get only the SHA tag.
pub(crate) fn image_tags(ctx: &GitHubContext) -> Vec<String> {
    let mut tags = Vec::new();
    if let Some(short) = ctx.short_sha() {
        tags.push(format!("sha-{short}"));
    }
    match &ctx.trigger {
        Trigger::Release { tag } => {
            if let Some(v) = release_version(tag) {
                tags.extend(version_image_tags(&v));
            }
        }
        Trigger::PullRequest { number, .. } => tags.push(format!("pr-{number}")),
        Trigger::Branch { .. } | Trigger::Other => {}
    }
    tags
}

/// The image tags of one version: `1.2.3`, `1.2`, `1`, `latest` for a release; only the
/// full version (`1.2.3-rc.1`) for a prerelease, which never moves `latest`.
///
/// Build metadata stays on the full version tag only, with `+` (not allowed in OCI tags)
/// written as `_`: `v1.2.3+build.5` gives `1.2.3_build.5`, `1.2`, `1`, `latest`.
pub fn version_image_tags(v: &Version) -> Vec<String> {
    let mut full = format!("{}.{}.{}", v.major, v.minor, v.patch);
    if !v.pre.is_empty() {
        full = format!("{full}-{}", v.pre);
    }
    if !v.build.is_empty() {
        full = format!("{full}_{}", v.build);
    }
    let full = oci_tag(&full);
    if !v.pre.is_empty() {
        return vec![full];
    }
    vec![
        full,
        format!("{}.{}", v.major, v.minor),
        v.major.to_string(),
        "latest".to_string(),
    ]
}

/// `raw` made into a valid OCI tag: characters outside `[A-Za-z0-9._-]` become `-`, a
/// leading `.` or `-` becomes `_`, and the result is cut to [`MAX_IMAGE_TAG_LEN`].
pub fn oci_tag(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            c if c.is_ascii_alphanumeric() || c == '_' => c,
            '.' | '-' if i > 0 => c,
            _ if i == 0 => '_',
            _ => '-',
        })
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    s.truncate(MAX_IMAGE_TAG_LEN);
    s
}

/// Whether `candidate` ranks above `current` by semver precedence: numbers compare
/// numerically, a prerelease ranks below its release, build metadata is ignored, and equal
/// versions are not newer. An older tag pushed after a newer one must not move `v1` back.
pub(crate) fn is_newer_release(candidate: &Version, current: &Version) -> bool {
    candidate.cmp_precedence(current) == Ordering::Greater
}

/// The description of the version this run publishes: its ref label, short SHA and run
/// URL, written by the one codec, [`VersionDescription`].
pub fn version_description(ctx: &GitHubContext) -> String {
    VersionDescription {
        label: ctx.ref_label(),
        sha: ctx.short_sha().map(str::to_string),
        run_url: ctx.run_url(),
    }
    .encode()
}

/// The short SHA recorded by [`version_description`], or `None` for a description this
/// project did not write.
pub fn parse_description_sha(desc: &str) -> Option<String> {
    VersionDescription::parse(desc).sha
}

#[cfg(test)]
mod tests;
