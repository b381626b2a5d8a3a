//! Preview removal against the in-memory Lambda: the decision is computed from what is
//! live, and carrying it out removes what it names, in order, and nothing else.

use super::*;
use crate::aws::api::UrlConfig;
use crate::aws::fake::FakeLambda;
use crate::function_url::statements;

/// Pull request 7's preview of `app`: versions 1 to 3, `pr-7` on 3 with a public URL, and
/// a hand-made alias `qa` on 2 that also routes a share of its traffic to 1.
fn preview_with_qa_alias() -> FakeLambda {
    let lambda = FakeLambda::new("app-pr-7").with_function("sha-3", &[(PREVIEW_TAG, "app")]);
    {
        let mut w = lambda.world();
        for n in 1..=3 {
            w.publish_as(&format!("pr-7 @ abc123{n}"));
        }
        w.set_alias("pr-7", "3", "lambda-deploy: moved by run 9");
        w.set_alias("qa", "2", "made by hand");
        let url = UrlConfig {
            url: "https://app-pr-7.lambda-url.fake/".into(),
            auth_type: "NONE".into(),
        };
        w.urls.insert("pr-7".into(), url);
        let grants = statements("pr-7").to_vec();
        w.policies.insert("pr-7".into(), grants);
    }
    lambda.route("qa", "1", 0.1);
    lambda
}

#[tokio::test]
async fn the_decision_names_every_version_and_why_each_goes_from_live_state() {
    let lambda = preview_with_qa_alias();
    let state = read(&lambda, "app", 7).await.expect("reads");
    assert_eq!(
        state
            .aliases
            .iter()
            .find(|a| a.name == "qa")
            .map(|a| a.additional.clone()),
        Some(vec!["1".to_string()]),
        "the read sees the weighted routing"
    );
    let removal = decide("app-pr-7", "app", 7, &state);
    assert!(removal.function_deleted);
    assert_eq!(removal.alias_version.as_deref(), Some("3"));
    assert_eq!(removal.versions_deleted, ["1", "2", "3"]);
    assert_eq!(
        removal.url.as_deref(),
        Some("https://app-pr-7.lambda-url.fake/")
    );
    assert_eq!(removal.kept_because, None);
    let w = lambda.world();
    let writes = w
        .calls
        .iter()
        .filter(|(_, op)| !op.starts_with("Get") && !op.starts_with("List"))
        .count();
    assert_eq!(writes, 0, "deciding changes nothing: {:?}", w.calls);
}

#[tokio::test]
async fn removal_takes_the_url_and_grants_first_then_the_function() {
    let lambda = preview_with_qa_alias();
    let mut removal = plan_removal(&lambda, "app", 7).await.expect("plans");
    execute(&lambda, &mut removal).await.expect("removes");
    let w = lambda.world();
    assert!(w.function.is_none() && w.versions.is_empty() && w.aliases.is_empty());
    let writes: Vec<&str> = w
        .calls
        .iter()
        .map(|(_, op)| *op)
        .filter(|op| !op.starts_with("Get") && !op.starts_with("List"))
        .collect();
    assert_eq!(
        writes,
        [
            "RemovePermission",
            "RemovePermission",
            "DeleteFunctionUrlConfig",
            "DeleteFunction"
        ]
    );
    assert_eq!(
        removal.url.as_deref(),
        Some("https://app-pr-7.lambda-url.fake/")
    );
}

#[tokio::test]
async fn a_function_not_tagged_as_this_preview_is_kept_and_not_read_further() {
    let lambda = FakeLambda::new("app-pr-7").with_function("sha-1", &[(PREVIEW_TAG, "other")]);
    let mut removal = plan_removal(&lambda, "app", 7).await.expect("plans");
    assert!(!removal.function_deleted);
    assert!(removal.versions_deleted.is_empty());
    let why = removal.kept_because.clone().unwrap_or_default();
    assert!(
        why.contains("lambda-deploy:preview-of=app") && why.contains("left in place"),
        "{why}"
    );
    execute(&lambda, &mut removal).await.expect("does nothing");
    let w = lambda.world();
    assert!(w.function.is_some());
    let ops: Vec<&str> = w.calls.iter().map(|(_, op)| *op).collect();
    assert_eq!(ops, ["GetFunction"], "only the tags were read");
}

#[tokio::test]
async fn no_preview_function_means_nothing_to_remove() {
    let lambda = FakeLambda::new("app-pr-7");
    let removal = plan_removal(&lambda, "app", 7).await.expect("plans");
    assert_eq!(
        removal,
        Removal {
            function: "app-pr-7".into(),
            alias: "pr-7".into(),
            ..Removal::default()
        }
    );
}
