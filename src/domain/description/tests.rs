use proptest::prelude::*;

use super::*;

fn d(label: Option<&str>, sha: Option<&str>, url: Option<&str>) -> VersionDescription {
    VersionDescription {
        label: label.map(str::to_string),
        sha: sha.map(str::to_string),
        run_url: url.map(str::to_string),
    }
}

const URL: &str = "https://github.com/o/r/actions/runs/42";

#[test]
fn every_shape_is_written_and_read_back() {
    let rows = [
        (
            d(Some("v1.2.3"), Some("0123456"), Some(URL)),
            "v1.2.3 @ 0123456 · https://github.com/o/r/actions/runs/42",
        ),
        (d(Some("main"), Some("0123456"), None), "main @ 0123456"),
        (
            d(None, Some("0123456"), Some(URL)),
            "@ 0123456 · https://github.com/o/r/actions/runs/42",
        ),
        (
            d(Some("v1.2.3"), None, Some(URL)),
            "v1.2.3 · https://github.com/o/r/actions/runs/42",
        ),
        (d(None, None, Some(URL)), URL),
        (d(Some("pull request #12"), None, None), "pull request #12"),
        (d(None, None, None), ""),
    ];
    for (fields, text) in rows {
        assert_eq!(fields.encode(), text);
        assert_eq!(VersionDescription::parse(text), fields, "{text}");
    }
}

#[test]
fn descriptions_from_elsewhere_give_only_what_they_hold() {
    let p = VersionDescription::parse("deployed by hand");
    assert_eq!(p, d(Some("deployed by hand"), None, None));
    assert_eq!(p.release(), None);
    assert_eq!(p.run_id(), None);
    // Six hex digits, capitals, or a longer word are no SHA.
    for desc in ["main @ 012345", "main @ 012345A", "main @ 0123456789"] {
        assert_eq!(VersionDescription::parse(desc).sha, None, "{desc}");
    }
}

#[test]
fn release_and_run_are_read_from_the_fields() {
    let p = VersionDescription::parse("v2.0.0-rc.1 @ 0123456 · https://x/o/r/actions/runs/77");
    assert_eq!(
        p.release().map(|v| v.to_string()).as_deref(),
        Some("2.0.0-rc.1")
    );
    assert_eq!(p.run_id(), Some(77));
    let branch = VersionDescription::parse("main @ 0123456");
    assert_eq!((branch.release(), branch.run_id()), (None, None));
}

#[test]
fn a_long_label_is_cut_and_the_sha_and_url_survive() {
    let long = "b".repeat(400);
    let text = d(Some(&long), Some("0123456"), Some(URL)).encode();
    assert_eq!(text.len(), MAX_DESCRIPTION_LEN);
    let back = VersionDescription::parse(&text);
    assert!(back.label.as_deref().is_some_and(|l| l.ends_with('…')));
    assert_eq!(back.sha.as_deref(), Some("0123456"));
    assert_eq!(back.run_url.as_deref(), Some(URL));
    // A URL that alone would not fit is dropped; the SHA stays.
    let huge = format!("https://x/{}", "u".repeat(300));
    let back = VersionDescription::parse(&d(Some("main"), Some("0123456"), Some(&huge)).encode());
    assert_eq!(back, d(Some("main"), Some("0123456"), None));
}

/// Labels a run can produce: Git ref names (no spaces; `@`, `·`, `/`, dots and any other
/// letter allowed) and `pull request #<n>`.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9@·/._+é漢-]{1,300}",
        (1u64..100_000).prop_map(|n| format!("pull request #{n}")),
    ]
    .prop_filter("not a URL and not the SHA mark", |l| {
        !l.starts_with("http") && !l.starts_with('@')
    })
}

fn run_url() -> impl Strategy<Value = String> {
    ("[a-z0-9.-]{1,40}", "[a-zA-Z0-9._-]{1,100}", any::<u64>())
        .prop_map(|(host, repo, id)| format!("https://{host}/{repo}/actions/runs/{id}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_is_written_is_read_back_and_fits(
        label in prop::option::of(label()),
        sha in prop::option::of("[0-9a-f]{7}"),
        url in prop::option::of(run_url()),
    ) {
        let fields = VersionDescription { label, sha, run_url: url };
        let text = fields.encode();
        prop_assert!(text.len() <= MAX_DESCRIPTION_LEN, "{} bytes: {text}", text.len());
        let fitted = fields.fitted();
        prop_assert_eq!(VersionDescription::parse(&text), fitted.clone());
        // Only the label is ever shortened, and the SHA always survives.
        prop_assert_eq!(&fitted.sha, &fields.sha);
        if text.len() < MAX_DESCRIPTION_LEN - 3 {
            prop_assert_eq!(&fitted, &fields);
        }
    }
}
