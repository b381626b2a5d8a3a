//! A redeploy of an unchanged source tree is known unchanged from the tree's digest,
//! recorded on the function, without building the zip; the digest is never trusted
//! alone: code changed outside lambda-deploy is packaged and deployed again.

mod support;

use std::io::Write as _;

use aws_sdk_lambda::primitives::Blob;
use support::faults::{Deployed, FaultProxy, fpath};
use support::{block, snapshot};

const TREE_TAG: &str = "lambda-deploy:tree";
const NOT_COMPRESSED: &str = "already holds this tree's package";

/// The record on the function: (tree digest, CodeSha256).
fn record(function: &str) -> (String, String) {
    let tags = snapshot(function).tags;
    let value = tags
        .get(TREE_TAG)
        .unwrap_or_else(|| panic!("no {TREE_TAG} tag on {function}: {tags:?}"));
    let (digest, code) = value.split_once(' ').expect("digest and code");
    assert_eq!(digest.len(), 64, "{value}");
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{value}");
    (digest.to_string(), code.to_string())
}

/// Code writes, publishes and tag writes the proxy saw for `function`.
fn writes(proxy: &FaultProxy, function: &str) -> (usize, usize, usize) {
    let code = proxy.count("PUT", &format!("{}/code", fpath(function)));
    let publish = proxy.count("POST", &format!("{}/versions", fpath(function)));
    let tags = proxy
        .requests()
        .iter()
        .filter(|(m, p)| m == "POST" && p.contains("/tags/") && p.contains(function))
        .count();
    (code, publish, tags)
}

#[test]
fn an_unchanged_tree_is_known_without_building_the_package() {
    let d = Deployed::new("tree-same");
    let (digest, code) = record(&d.name);
    assert_eq!(code, d.first_sha, "the record names the code deployed");
    let before = snapshot(&d.name);

    let proxy = FaultProxy::for_lambda();
    let run = d.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    assert_eq!(run.out("status"), "unchanged");
    assert_eq!(run.out("code-sha256"), d.first_sha);
    assert!(run.stderr().contains(NOT_COMPRESSED), "{}", run.stderr());
    assert_eq!(writes(&proxy, &d.name), (0, 0, 0), "{:?}", proxy.requests());
    // Nothing was written, so the function read at the start is still current: it is
    // not read again before the function URL check.
    assert_eq!(
        proxy.count("GET", &fpath(&d.name)),
        1,
        "GetFunction calls: {:?}",
        proxy.requests()
    );
    assert_eq!(snapshot(&d.name), before, "nothing changed in Lambda");
    assert_eq!(record(&d.name), (digest, code));
}

/// Replaces the function's code the way a console edit or another tool would.
fn change_code_outside(function: &str) -> String {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("app.py", zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    zip.write_all(b"def handler(event, context):\n    return 'edited in the console'\n")
        .expect("zip write");
    let bytes = zip.finish().expect("zip").into_inner();
    block(async {
        let c = support::lambda();
        let out = c
            .update_function_code()
            .function_name(function)
            .zip_file(Blob::new(bytes))
            .send()
            .await
            .expect("UpdateFunctionCode");
        out.code_sha256().unwrap_or_default().to_string()
    })
}

#[test]
fn code_changed_outside_is_packaged_and_deployed_not_reported_unchanged() {
    let d = Deployed::new("tree-outside");
    let (digest, _) = record(&d.name);
    let outside = change_code_outside(&d.name);
    assert_ne!(outside, d.first_sha);
    assert_eq!(snapshot(&d.name).code_sha256, outside);

    let proxy = FaultProxy::for_lambda();
    let run = d.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    assert_eq!(run.out("status"), "deployed", "{}", run.stderr());
    assert!(!run.stderr().contains(NOT_COMPRESSED), "{}", run.stderr());
    let (code, publish, _) = writes(&proxy, &d.name);
    assert_eq!((code, publish), (1, 1), "{:?}", proxy.requests());
    let after = snapshot(&d.name);
    assert_eq!(after.code_sha256, d.first_sha, "the tree's code is back");
    let live = &after.aliases["live"];
    assert_eq!(live, run.out("version"));
    assert_eq!(record(&d.name), (digest, d.first_sha.clone()));
}

#[test]
fn a_changed_tree_is_packaged_and_its_record_replaced() {
    let d = Deployed::new("tree-changed");
    let (first_digest, _) = record(&d.name);
    d.change_code("v2");
    let proxy = FaultProxy::for_lambda();
    let run = d.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    assert_eq!(run.out("status"), "deployed");
    assert!(!run.stderr().contains(NOT_COMPRESSED), "{}", run.stderr());
    let (digest, code) = record(&d.name);
    assert_ne!(digest, first_digest);
    assert_eq!(code, run.out("code-sha256"));
    assert_eq!(code, snapshot(&d.name).code_sha256);
    assert_eq!(writes(&proxy, &d.name).2, 1, "one tag write");

    // Back to the first tree: its package is built again (the record names the
    // second tree now) and the first code is what Lambda holds.
    std::fs::remove_file(d.dir.path().join("marker.txt")).expect("remove marker");
    let run = d.deploy(None, &[], &[]);
    run.assert_ok();
    assert_eq!(run.out("code-sha256"), d.first_sha);
    assert_eq!(record(&d.name), (first_digest, d.first_sha.clone()));
}

#[test]
fn a_dry_run_records_nothing() {
    let d = Deployed::new("tree-dry");
    let before = snapshot(&d.name);
    d.change_code("v2");
    let proxy = FaultProxy::for_lambda();
    let run = d.deploy(Some(&proxy), &[("dry-run", "true")], &[]);
    run.assert_ok();
    assert_eq!(writes(&proxy, &d.name), (0, 0, 0), "{:?}", proxy.requests());
    assert_eq!(snapshot(&d.name), before);
}

/// The tree digest a layer version's description names (`tree:<hex> ...`).
fn layer_tree(v: &aws_sdk_lambda::types::LayerVersionsListItem) -> String {
    let d = v.description().unwrap_or_default();
    let digest = d
        .strip_prefix("tree:")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("no tree in the description {d:?}"));
    assert_eq!(digest.len(), 64, "{d}");
    digest.to_string()
}

/// Versions of layer `name`, newest first.
fn layer_versions(name: &str) -> Vec<aws_sdk_lambda::types::LayerVersionsListItem> {
    block(async {
        let out = support::lambda()
            .list_layer_versions()
            .layer_name(name)
            .send()
            .await
            .expect("ListLayerVersions");
        let mut v = out.layer_versions().to_vec();
        v.sort_by_key(|v| std::cmp::Reverse(v.version()));
        v
    })
}

#[test]
fn an_unchanged_layer_dir_is_not_packaged_again() {
    let d = Deployed::new("tree-layered");
    let layer = support::unique("tree-deps");
    let layer_dir = tempfile::tempdir().expect("temp");
    std::fs::create_dir_all(layer_dir.path().join("python")).expect("mkdir");
    std::fs::write(layer_dir.path().join("python/dep.py"), "VERSION = 1\n").expect("write");
    let dirs = format!("{layer}={}", support::path_str(layer_dir.path()));
    let inputs = [("layer-dirs", dirs.as_str())];
    d.deploy(None, &inputs, &[]).assert_ok();
    let first = layer_versions(&layer);
    assert_eq!(first.len(), 1);
    let first_tree = layer_tree(&first[0]);

    let proxy = FaultProxy::for_lambda();
    let run = d.deploy(Some(&proxy), &inputs, &[]);
    run.assert_ok();
    assert_eq!(run.out("status"), "unchanged", "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("the layer's latest version already holds this tree"),
        "{}",
        run.stderr()
    );
    let publishes = proxy.count("POST", &format!("/layers/{layer}/versions"));
    assert_eq!(publishes, 0, "{:?}", proxy.requests());
    assert_eq!(layer_versions(&layer).len(), 1);

    std::fs::write(layer_dir.path().join("python/dep.py"), "VERSION = 2\n").expect("write");
    let run = d.deploy(None, &inputs, &[]);
    run.assert_ok();
    assert_eq!(run.out("status"), "deployed");
    let now = layer_versions(&layer);
    assert_eq!(now.len(), 2);
    assert_ne!(layer_tree(&now[0]), first_tree);
    let attached = &snapshot_layers(&d.name);
    assert_eq!(
        attached,
        &vec![now[0].layer_version_arn().unwrap_or_default().to_string()]
    );
}

/// The layer ARNs `$LATEST` has.
fn snapshot_layers(function: &str) -> Vec<String> {
    block(async {
        let f = support::lambda()
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("GetFunctionConfiguration");
        f.layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect()
    })
}
