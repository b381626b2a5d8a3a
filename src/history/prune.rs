//! `keep-versions` and `command: prune`: which versions stay, and deleting the rest with
//! the packages only they used.
//!
//! Kept: the newest N versions, every version an alias routes to (its primary version and
//! the weighted ones), every version with provisioned concurrency, and every version an
//! event source mapping invokes by qualified ARN. Everything is read, page by page,
//! before anything is deleted; deletes run [`super::DELETE_PARALLEL`] at a time.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Serialize;

use super::{DELETE_PARALLEL, HistoryError, Origin, bounded, collect};
use crate::aws::AwsError;
use crate::aws::history::{AliasRow, History, VersionRow};
use crate::aws::s3::{S3, S3Object};
use crate::domain::package::S3Target;

/// A version that stays, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kept {
    pub version: String,
    pub why: Vec<String>,
    /// The version's package, so packages a kept version uses stay.
    #[serde(skip)]
    pub code_sha256: String,
}

/// Which versions a prune keeps and which it deletes (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub kept: Vec<Kept>,
    pub deleted: Vec<VersionRow>,
}

/// What else holds on to versions.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    pub aliases: Vec<AliasRow>,
    pub provisioned: Vec<String>,
    pub mapped: Vec<String>,
}

fn number(v: &str) -> u64 {
    v.parse().unwrap_or(0)
}

/// Decides what stays: pure, so every rule is tested on plain data.
pub fn select(versions: &[VersionRow], pins: &Pins, keep: usize) -> Selection {
    let mut why: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sorted: Vec<&VersionRow> = versions.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(number(&v.version)));
    for v in sorted.iter().take(keep) {
        why.entry(v.version.clone())
            .or_default()
            .push(format!("newest {keep}"));
    }
    for a in &pins.aliases {
        why.entry(a.version.clone())
            .or_default()
            .push(format!("alias {}", a.name));
        for (v, w) in &a.weights {
            why.entry(v.clone()).or_default().push(format!(
                "alias {} ({:.0}% weighted)",
                a.name,
                w * 100.0
            ));
        }
    }
    for v in &pins.provisioned {
        why.entry(v.clone())
            .or_default()
            .push("provisioned concurrency".into());
    }
    for v in &pins.mapped {
        why.entry(v.clone())
            .or_default()
            .push("event source mapping".into());
    }
    let mut out = Selection::default();
    for v in sorted {
        match why.get(&v.version) {
            Some(reasons) => out.kept.push(Kept {
                version: v.version.clone(),
                why: reasons.clone(),
                code_sha256: v.code_sha256.clone(),
            }),
            None => out.deleted.push(v.clone()),
        }
    }
    out
}

/// Reads every version and everything that pins one, all pages of each.
pub async fn read<H: History>(h: &H) -> Result<(Vec<VersionRow>, Pins), AwsError> {
    let (versions, aliases, provisioned, mapped) = tokio::join!(
        collect(async |m| h.versions_page(m).await),
        collect(async |m| h.aliases_page(m).await),
        collect(async |m| h.provisioned_page(m).await),
        collect(async |m| h.mapped_page(m).await),
    );
    let pins = Pins {
        aliases: aliases?,
        provisioned: provisioned?,
        mapped: mapped?,
    };
    Ok((versions?, pins))
}

/// Deletes `versions`, [`DELETE_PARALLEL`] at a time; returns those deleted, and the
/// first error once every delete has ended.
pub async fn delete<H: History>(h: &H, versions: &[String]) -> (Vec<String>, Option<AwsError>) {
    let calls = versions
        .iter()
        .map(|v| async move { (v.clone(), h.delete_version(v).await) })
        .collect();
    let mut deleted = Vec::new();
    let mut first = None;
    for (v, r) in bounded(calls, DELETE_PARALLEL).await {
        match r {
            Ok(()) => deleted.push(v),
            Err(e) => {
                tracing::warn!(version = %v, error = %e, "could not delete a version");
                first.get_or_insert(e);
            }
        }
    }
    (deleted, first)
}

/// What a prune did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PruneOutcome {
    pub function_name: String,
    pub function_arn: String,
    pub keep: usize,
    pub kept: Vec<Kept>,
    /// The versions deleted (to delete, in a dry run), newest first.
    pub deleted: Vec<String>,
    /// Code bytes the deleted versions held.
    pub freed: u64,
    /// The S3 packages deleted with them.
    pub s3_deleted: Vec<String>,
    pub dry_run: bool,
}

/// Where the zips went when `s3-bucket` is given.
pub struct Packages<'a> {
    pub s3: &'a S3,
    pub target: &'a S3Target,
}

/// Prunes the function behind `h` down to `keep` versions plus the pinned ones.
pub async fn run<H: History>(
    h: &H,
    function: &str,
    keep: usize,
    packages: Option<Packages<'_>>,
    dry_run: bool,
) -> Result<PruneOutcome, HistoryError> {
    let latest = h.latest().await?.ok_or_else(|| HistoryError::NoFunction {
        function: function.to_string(),
        command: "prune",
    })?;
    let (versions, pins) = read(h).await?;
    if !versions.iter().any(|v| Origin::ours(&v.description)) {
        return Err(HistoryError::NotDeployed {
            function: function.to_string(),
            command: "prune",
        });
    }
    let selection = select(&versions, &pins, keep);
    let names: Vec<String> = selection
        .deleted
        .iter()
        .map(|v| v.version.clone())
        .collect();
    let mut outcome = PruneOutcome {
        function_name: function.to_string(),
        function_arn: latest.arn.clone(),
        keep,
        kept: selection.kept.clone(),
        deleted: names.clone(),
        freed: selection
            .deleted
            .iter()
            .map(|v| v.code_size.max(0) as u64)
            .sum(),
        s3_deleted: Vec::new(),
        dry_run,
    };
    let orphans = packages
        .as_ref()
        .map(|p| orphaned(p, function, &selection, &latest.code_sha256))
        .unwrap_or_default();
    if dry_run {
        outcome.s3_deleted = orphans.iter().map(S3Object::uri).collect();
        return Ok(outcome);
    }
    let (deleted, failed) = delete(h, &names).await;
    outcome.deleted = deleted;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if let Some(p) = &packages {
        for obj in orphans {
            p.s3.delete(&obj).await?;
            outcome.s3_deleted.push(obj.uri());
        }
    }
    Ok(outcome)
}

/// The hex SHA-256 of a package from Lambda's base64 CodeSha256.
fn hex_sha(code_sha256: &str) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .ok()?;
    Some(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// The S3 packages (content-addressed under `s3-key-prefix`) that only deleted versions
/// used: no kept version and not `$LATEST` holds the same code.
fn orphaned(
    p: &Packages<'_>,
    function: &str,
    selection: &Selection,
    latest_sha: &str,
) -> Vec<S3Object> {
    let deleted: BTreeSet<&str> = selection
        .deleted
        .iter()
        .map(|v| v.code_sha256.as_str())
        .collect();
    let kept: BTreeSet<&str> = selection
        .kept
        .iter()
        .map(|k| k.code_sha256.as_str())
        .chain([latest_sha])
        .collect();
    deleted
        .difference(&kept)
        .filter_map(|sha| hex_sha(sha))
        .map(|hex| S3Object::content_addressed(&p.target.bucket, &p.target.prefix, function, &hex))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::history::fake::Fake;

    fn alias(name: &str, version: &str, weights: &[(&str, f64)]) -> AliasRow {
        AliasRow {
            name: name.into(),
            version: version.into(),
            weights: weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
            ..AliasRow::default()
        }
    }

    #[tokio::test]
    async fn keeps_the_newest_and_every_pinned_version_and_deletes_the_rest() {
        let mut fake = Fake::with_versions(12);
        fake.aliases = vec![
            alias("live", "12", &[("7", 0.1)]),
            alias("stable", "3", &[]),
        ];
        fake.provisioned = vec!["5".into()];
        fake.mapped = vec!["1".into()];
        fake.page = 4;
        let out = run(&fake, "fake", 2, None, false).await.expect("prune");
        assert_eq!(fake.remaining(), ["1", "3", "5", "7", "11", "12"]);
        assert_eq!(out.deleted, ["10", "9", "8", "6", "4", "2"]);
        assert_eq!(out.freed, 6000);
        let why: BTreeMap<&str, &[String]> = out
            .kept
            .iter()
            .map(|k| (k.version.as_str(), k.why.as_slice()))
            .collect();
        assert_eq!(why["12"], ["newest 2", "alias live"]);
        assert_eq!(why["7"], ["alias live (10% weighted)"]);
        assert_eq!(why["5"], ["provisioned concurrency"]);
        assert_eq!(why["1"], ["event source mapping"]);
    }

    #[tokio::test]
    async fn a_dry_run_deletes_nothing() {
        let fake = Fake::with_versions(5);
        let out = run(&fake, "fake", 1, None, true).await.expect("prune");
        assert_eq!(out.deleted, ["4", "3", "2", "1"]);
        assert_eq!(fake.deletes.get(), 0);
        assert_eq!(fake.remaining().len(), 5);
    }

    #[tokio::test]
    async fn a_function_lambda_deploy_never_deployed_is_refused_with_nothing_deleted() {
        let fake = Fake::with_versions(3);
        for v in fake.versions.borrow_mut().values_mut() {
            v.description = "published by hand".into();
        }
        let err = run(&fake, "fake", 1, None, false)
            .await
            .expect_err("refused");
        assert!(
            err.to_string().starts_with(
                "input function-name: function 'fake' has no version published by lambda-deploy"
            ),
            "{err}"
        );
        assert_eq!(fake.deletes.get(), 0);
    }

    /// 1,000 versions at 5 ms a call would take over 5 s one delete at a time; pages are
    /// all read and deletes overlap, never more than the bound.
    #[tokio::test]
    async fn a_thousand_versions_are_paged_through_and_deleted_in_bounded_parallel() {
        let mut fake = Fake::with_versions(1000);
        fake.latency = Duration::from_millis(5);
        fake.aliases = vec![alias("live", "1000", &[])];
        let started = Instant::now();
        let out = run(&fake, "fake", 10, None, false).await.expect("prune");
        let took = started.elapsed();
        assert_eq!(out.deleted.len(), 990);
        assert_eq!(fake.remaining().len(), 10);
        assert_eq!(fake.deletes.get(), 990);
        // 20 pages of versions, and one of each other listing.
        assert_eq!(fake.pages_read.get(), 23);
        assert!(fake.most_in_flight.get() > 1, "deletes never overlapped");
        assert_eq!(fake.most_in_flight.get(), DELETE_PARALLEL);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn packages_only_deleted_versions_used_are_orphaned() {
        let sha = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
        let row = |v: &str, s: String| VersionRow {
            version: v.into(),
            code_sha256: s,
            ..VersionRow::default()
        };
        // 3 and 1 share a package; 2's package is $LATEST's.
        let versions = [
            row("4", sha(4)),
            row("3", sha(1)),
            row("2", sha(2)),
            row("1", sha(1)),
        ];
        let selection = select(&versions, &Pins::default(), 2);
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let s3 = S3::new(&sdk);
        let target = S3Target {
            bucket: "b".into(),
            prefix: "p/".into(),
        };
        let p = Packages {
            s3: &s3,
            target: &target,
        };
        let orphans = orphaned(&p, "fn", &selection, &sha(2));
        assert!(orphans.is_empty(), "{orphans:?}");
        let selection = select(&versions, &Pins::default(), 1);
        let keys: Vec<String> = orphaned(&p, "fn", &selection, &sha(2))
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, [format!("p/fn/{}.zip", "01".repeat(32))]);
    }
}
