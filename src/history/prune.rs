//! `keep-versions` and `command: prune`: which versions stay, and deleting the rest with
//! the packages only they used (S3 zips here; ECR images and layer versions in
//! [`super::leftovers`]).
//!
//! Kept: the newest N versions, every version an alias routes to (its primary version and
//! the weighted ones), every version with provisioned concurrency, and every version an
//! event source mapping invokes by qualified ARN. Everything is read, page by page,
//! before anything is deleted; deletes run [`super::DELETE_PARALLEL`] at a time.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Serialize;

use super::leftovers::{self, Cleanup, Scope, SharedImage};
use super::previews::PreviewPrune;
use super::{DELETE_PARALLEL, HistoryError, Origin, bounded, collect};
use crate::aws::AwsError;
use crate::aws::history::{AliasRow, History, Latest, Leftovers, VersionRow};
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
pub(crate) fn select(versions: &[VersionRow], pins: &Pins, keep: usize) -> Selection {
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
    /// The ECR images only the deleted versions ran (`host/repository@sha256:…`).
    pub images_deleted: Vec<String>,
    /// The layer versions deleted (ARNs).
    pub layer_versions_deleted: Vec<String>,
    /// Images only the deleted versions ran that stay: another function runs them.
    pub images_kept: Vec<SharedImage>,
    /// The preview functions of closed pull requests.
    #[serde(flatten)]
    pub previews: PreviewPrune,
    pub dry_run: bool,
}

/// Where the zips went when `s3-bucket` is given.
pub struct Packages<'a> {
    pub s3: &'a S3,
    pub target: &'a S3Target,
}

/// What to prune.
pub struct Request<'a> {
    pub function: &'a str,
    pub keep: usize,
    /// Where the zips went, when `s3-bucket` is given.
    pub packages: Option<Packages<'a>>,
    /// The `layer-dirs` layer names: their old versions are pruned too.
    pub layer_dirs: &'a [String],
    pub dry_run: bool,
}

/// Prunes the function behind `h` down to `keep` versions plus the pinned ones, with the
/// S3 packages, images and layer versions only the deleted versions used.
pub async fn run<H: History, L: Leftovers>(
    h: &H,
    l: &L,
    req: Request<'_>,
) -> Result<PruneOutcome, HistoryError> {
    let latest = h.latest().await?.ok_or_else(|| HistoryError::NoFunction {
        function: req.function.to_string(),
        command: "prune",
    })?;
    let (versions, pins) = read(h).await?;
    if !versions.iter().any(|v| Origin::ours(&v.description)) {
        return Err(HistoryError::NotDeployed {
            function: req.function.to_string(),
            command: "prune",
        });
    }
    let selection = select(&versions, &pins, req.keep);
    let orphans = req
        .packages
        .as_ref()
        .map(|p| orphaned(p, req.function, &selection, &latest.code_sha256))
        .unwrap_or_default();
    let kept: Vec<String> = selection.kept.iter().map(|k| k.version.clone()).collect();
    let scope = Scope {
        kept: &kept,
        deleted: &selection.deleted,
        versions: &versions,
        latest: &latest,
        layer_dirs: req.layer_dirs,
        keep: req.keep,
    };
    let cleanup = leftovers::plan(h, l, &scope).await?;
    let mut outcome = planned(&req, &latest, &selection, &orphans, &cleanup);
    if req.dry_run {
        return Ok(outcome);
    }
    outcome.s3_deleted.clear();
    let (deleted, failed) = delete(h, &outcome.deleted).await;
    outcome.deleted = deleted;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if let Some(p) = &req.packages {
        for obj in orphans {
            p.s3.delete(&obj).await?;
            outcome.s3_deleted.push(obj.uri());
        }
    }
    let (images, layers, failed) = leftovers::delete(l, &cleanup).await;
    outcome.images_deleted = images;
    outcome.layer_versions_deleted = layers;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(outcome),
    }
}

/// The outcome as planned: what a dry run reports, and what a real run starts from.
fn planned(
    req: &Request<'_>,
    latest: &Latest,
    selection: &Selection,
    orphans: &[S3Object],
    cleanup: &Cleanup,
) -> PruneOutcome {
    PruneOutcome {
        function_name: req.function.to_string(),
        function_arn: latest.arn.clone(),
        keep: req.keep,
        kept: selection.kept.clone(),
        deleted: selection
            .deleted
            .iter()
            .map(|v| v.version.clone())
            .collect(),
        freed: selection
            .deleted
            .iter()
            .map(|v| v.code_size.max(0) as u64)
            .sum(),
        s3_deleted: orphans.iter().map(S3Object::uri).collect(),
        images_deleted: cleanup.images.iter().map(|i| i.uri()).collect(),
        layer_versions_deleted: cleanup.layers.iter().map(|c| c.arn.clone()).collect(),
        images_kept: cleanup.shared.clone(),
        previews: PreviewPrune::default(),
        dry_run: req.dry_run,
    }
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
    use crate::aws::history::{FunctionRow, VersionImage};
    use crate::aws::layer::LayerVersionRow;
    use crate::history::fake::Fake;

    fn request(keep: usize, dry_run: bool) -> Request<'static> {
        Request {
            function: "fake",
            keep,
            packages: None,
            layer_dirs: &[],
            dry_run,
        }
    }

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
        let out = run(&fake, &fake, request(2, false)).await.expect("prune");
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
        let out = run(&fake, &fake, request(1, true)).await.expect("prune");
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
        let err = run(&fake, &fake, request(1, false))
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
        let out = run(&fake, &fake, request(10, false)).await.expect("prune");
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

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn image(b: char) -> VersionImage {
        let uri = format!("{HOST}/fake@sha256:{}", b.to_string().repeat(64));
        VersionImage {
            uri: uri.clone(),
            resolved: Some(uri),
        }
    }

    fn in_registry(fake: &Fake) -> Vec<String> {
        fake.registry
            .borrow()
            .iter()
            .map(|(_, repo, d)| format!("{repo}@{}", &d[7..8]))
            .collect()
    }

    #[tokio::test]
    async fn images_only_deleted_versions_ran_are_deleted_after_a_dry_run_lists_them() {
        let mut fake = Fake::with_versions(5);
        for v in fake.versions.borrow_mut().values_mut() {
            v.image = true;
        }
        // 1 runs what 4 (kept) runs; $LATEST runs what 3 ran.
        for (q, b) in [("5", '5'), ("4", '4'), ("3", '3'), ("2", '2'), ("1", '4')] {
            fake.images.insert(q.into(), image(b));
        }
        fake.images.insert("$LATEST".into(), image('3'));
        for b in ['2', '3', '4', '5'] {
            let d = format!("sha256:{}", b.to_string().repeat(64));
            fake.registry
                .borrow_mut()
                .insert(("123456789012".into(), "fake".into(), d.clone()));
            fake.registry
                .borrow_mut()
                .insert(("123456789012".into(), "other".into(), d));
        }
        let dry = run(&fake, &fake, request(2, true)).await.expect("dry run");
        assert_eq!(
            dry.images_deleted,
            [format!("{HOST}/fake@sha256:{}", "2".repeat(64))]
        );
        assert_eq!(in_registry(&fake).len(), 8, "a dry run deletes nothing");
        let out = run(&fake, &fake, request(2, false)).await.expect("prune");
        assert_eq!(out.deleted, ["3", "2", "1"]);
        assert_eq!(out.images_deleted, dry.images_deleted);
        assert_eq!(
            in_registry(&fake),
            [
                "fake@3", "fake@4", "fake@5", "other@2", "other@3", "other@4", "other@5"
            ]
        );
    }

    /// Deleting an image another function runs would break that function's next cold
    /// start: such an image stays, and the prune names the function.
    #[tokio::test]
    async fn an_image_another_function_runs_stays_and_the_prune_names_that_function() {
        let mut fake = three_image_versions();
        fake.functions = vec![
            row("fake", "$LATEST", true),
            row("fake", "1", true),
            row("twin", "$LATEST", true),
            row("twin", "4", true),
            row("zip", "$LATEST", false),
        ];
        // twin's version 4 runs 1's image; its $LATEST runs 2's digest, but from
        // another repository, which does not hold on to this one's.
        fake.function_images.insert("twin:4".into(), image('1'));
        let elsewhere = format!("{HOST}/twin@sha256:{}", "2".repeat(64));
        fake.function_images.insert(
            "twin:$LATEST".into(),
            VersionImage {
                uri: elsewhere.clone(),
                resolved: Some(elsewhere),
            },
        );
        let kept = [SharedImage {
            image: format!("{HOST}/fake@sha256:{}", "1".repeat(64)),
            kept_by: "twin:4".into(),
        }];
        let dry = run(&fake, &fake, request(1, true)).await.expect("dry run");
        assert_eq!(dry.images_kept, kept);
        assert_eq!(in_registry(&fake).len(), 3, "a dry run deletes nothing");
        let out = run(&fake, &fake, request(1, false)).await.expect("prune");
        assert_eq!(out.deleted, ["2", "1"]);
        assert_eq!(
            out.images_deleted,
            [format!("{HOST}/fake@sha256:{}", "2".repeat(64))]
        );
        assert_eq!(out.images_kept, kept);
        assert_eq!(in_registry(&fake), ["fake@1", "fake@3"]);
    }

    /// A function whose versions 1 to 3 run images 1 to 3 (`$LATEST` runs 3), all in
    /// the registry.
    fn three_image_versions() -> Fake {
        let mut fake = Fake::with_versions(3);
        for v in fake.versions.borrow_mut().values_mut() {
            v.image = true;
        }
        for (q, b) in [("3", '3'), ("2", '2'), ("1", '1'), ("$LATEST", '3')] {
            fake.images.insert(q.into(), image(b));
        }
        for b in ['1', '2', '3'] {
            let d = format!("sha256:{}", b.to_string().repeat(64));
            fake.registry
                .borrow_mut()
                .insert(("123456789012".into(), "fake".into(), d));
        }
        fake
    }

    fn row(name: &str, version: &str, image: bool) -> FunctionRow {
        FunctionRow {
            name: name.into(),
            version: version.into(),
            image,
        }
    }

    /// In a large account the other functions' versions are read only until every image
    /// the prune would delete is known to run elsewhere.
    #[tokio::test]
    async fn the_search_for_other_users_of_an_image_stops_once_each_is_found() {
        let mut fake = three_image_versions();
        fake.functions = vec![row("fake", "$LATEST", true), row("twin", "$LATEST", true)];
        fake.function_images
            .insert("twin:$LATEST".into(), image('1'));
        for v in 1..=40 {
            fake.functions.push(row("twin", &v.to_string(), true));
            fake.function_images.insert(format!("twin:{v}"), image('2'));
        }
        let out = run(&fake, &fake, request(1, false)).await.expect("prune");
        assert_eq!(out.deleted, ["2", "1"]);
        assert!(out.images_deleted.is_empty(), "{:?}", out.images_deleted);
        assert_eq!(out.images_kept.len(), 2, "{:?}", out.images_kept);
        assert_eq!(in_registry(&fake), ["fake@1", "fake@2", "fake@3"]);
        assert!(
            fake.images_read.get() <= 2 * DELETE_PARALLEL,
            "{} of 41 versions read",
            fake.images_read.get()
        );
    }

    #[tokio::test]
    async fn layer_versions_no_kept_version_attaches_go_beyond_the_newest_n() {
        let arn =
            |name: &str, v: i64| format!("arn:aws:lambda:us-east-1:123456789012:layer:{name}:{v}");
        let mut fake = Fake::with_versions(6);
        for (n, v) in fake.versions.borrow_mut().iter_mut() {
            v.layers = vec![
                arn("deps", *n as i64),
                "arn:aws:lambda:us-east-1:017000801446:layer:vendor:3".into(),
            ];
        }
        fake.latest_layers = vec![arn("deps", 6)];
        fake.aliases = vec![alias("stable", "1", &[])];
        let ours = "main @ 0123456 · https://github.com/o/r/actions/runs/1";
        let row = |name: &str, v: i64, d: &str| LayerVersionRow {
            arn: arn(name, v),
            version: v,
            description: d.into(),
        };
        let mut deps: Vec<LayerVersionRow> = (1..=6).map(|v| row("deps", v, ours)).collect();
        deps[2].description = "published by hand".into();
        fake.layer_versions.borrow_mut().extend([
            ("deps".to_string(), deps),
            (
                "tools".to_string(),
                (1..=3).map(|v| row("tools", v, ours)).collect(),
            ),
            (
                "unrelated".to_string(),
                (1..=3).map(|v| row("unrelated", v, ours)).collect(),
            ),
        ]);
        let mut req = request(2, false);
        let dirs = ["tools".to_string()];
        req.layer_dirs = &dirs;
        let out = run(&fake, &fake, req).await.expect("prune");
        assert_eq!(out.deleted, ["4", "3", "2"]);
        assert_eq!(
            out.layer_versions_deleted,
            [arn("deps", 4), arn("deps", 2), arn("tools", 1)]
        );
        let left: BTreeMap<String, Vec<i64>> = fake
            .layer_versions
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|l| l.version).collect()))
            .collect();
        assert_eq!(left["deps"], [1, 3, 5, 6]);
        assert_eq!(left["tools"], [2, 3]);
        assert_eq!(left["unrelated"], [1, 2, 3]);
        assert_eq!(*fake.layers_listed.borrow(), ["deps", "tools"]);
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
