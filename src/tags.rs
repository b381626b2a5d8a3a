//! Tag rules: which release a Git tag names, which Lambda aliases and image tags a run
//! produces, and the provenance line written into each published version's description.
//!
//! Everything here is pure. Lambda alias names allow only `[A-Za-z0-9_-]` (no dots, not all
//! digits, at most 128 characters); OCI image tags match `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`;
//! a Lambda version description holds at most 256 characters.

use std::cmp::Ordering;

use semver::Version;

use crate::context::{GitHubContext, Trigger};
pub use crate::domain::image_ref::{MAX_IMAGE_TAG_LEN, is_valid_image_tag};
use crate::types::AliasName;

/// Longest Lambda alias name.
pub const MAX_ALIAS_LEN: usize = 128;
/// Longest Lambda version description. Kept as a byte budget, which also bounds characters.
pub const MAX_DESCRIPTION_LEN: usize = 256;

const SHA_MARK: &str = "@ ";
const URL_SEPARATOR: &str = " · ";
const ELLIPSIS: char = '…';

/// The release a Git tag names: `v1.2.3` or `1.2.3` (a leading lowercase `v` is optional),
/// with optional prerelease (`v1.2.3-rc.1`) and build metadata (`v1.2.3+build.5`).
/// Anything that is not full semver (`v1`, `v1.2`, `release-2024`, `1.2.3.4`, `v01.2.3`)
/// gives `None`; the caller warns and deploys without semver aliases or version tags.
pub fn release_version(tag: &str) -> Option<Version> {
    Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()
}

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
pub fn image_tags(ctx: &GitHubContext) -> Vec<String> {
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
pub fn is_newer_release(candidate: &Version, current: &Version) -> bool {
    candidate.cmp_precedence(current) == Ordering::Greater
}

/// The description of a published version, carrying its provenance in this stable format:
///
/// ```text
/// <ref label> @ <short sha> · <run url>
/// v1.2.3 @ 0123456 · https://github.com/o/r/actions/runs/42
/// ```
///
/// A part that is unknown is left out with its separator (`main @ 0123456`,
/// `@ 0123456 · <url>`, `v1.2.3 · <url>`); nothing known gives an empty string. The result
/// is at most [`MAX_DESCRIPTION_LEN`] bytes: a long label is cut on a character boundary
/// and ends in `…`, and the run URL is dropped only if it alone would not fit, so the SHA
/// always survives for [`parse_description_sha`].
pub fn version_description(ctx: &GitHubContext) -> String {
    let sha = ctx.short_sha().map(|s| format!("{SHA_MARK}{s}"));
    let url = ctx.run_url();
    let label = ctx.ref_label();

    let tail_with = |url: Option<&str>| -> String {
        match (sha.as_deref(), url) {
            (Some(s), Some(u)) => format!("{s}{URL_SEPARATOR}{u}"),
            (Some(s), None) => s.to_string(),
            (None, Some(u)) => u.to_string(),
            (None, None) => String::new(),
        }
    };
    let mut tail = tail_with(url.as_deref());
    if tail.len() > MAX_DESCRIPTION_LEN {
        tail = tail_with(None);
    }
    // Between label and tail: " " before the SHA mark, " · " before a bare URL.
    let joiner = match (sha.is_some(), tail.is_empty()) {
        (_, true) => "",
        (true, false) => " ",
        (false, false) => URL_SEPARATOR,
    };

    let Some(label) = label else { return tail };
    let room = MAX_DESCRIPTION_LEN.saturating_sub(tail.len() + joiner.len());
    let label = if label.len() <= room {
        label
    } else if room > ELLIPSIS.len_utf8() {
        let mut cut = room - ELLIPSIS.len_utf8();
        while !label.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}{ELLIPSIS}", &label[..cut])
    } else {
        return tail;
    };
    format!("{label}{joiner}{tail}")
}

/// The short SHA recorded by [`version_description`], or `None` for a description this
/// project did not write: the seven lowercase hex digits after `@ ` (at the start or after
/// a space), followed by a space or the end.
pub fn parse_description_sha(desc: &str) -> Option<String> {
    // The mark at the start, then after every " @ ", overlapping ones included (a label
    // may itself hold "@ ").
    let starts = desc.strip_prefix(SHA_MARK).into_iter().chain(
        desc.char_indices()
            .filter_map(|(at, _)| desc[at..].strip_prefix(" @ ")),
    );
    starts.into_iter().find_map(|rest| {
        let sha = rest.get(..7)?;
        let hex = sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let ends = matches!(rest.as_bytes().get(7), None | Some(b' '));
        (hex && ends).then(|| sha.to_string())
    })
}

#[cfg(test)]
mod tests;
