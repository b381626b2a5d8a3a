use std::collections::BTreeMap;

use super::*;
use crate::aws::fake::FakeLambda;
use crate::aws::history::FunctionRow;
use crate::github::fake::FakeGitHub;
use crate::history::fake::Fake;

fn production() -> FunctionName {
    "orders".parse().expect("name")
}

fn row(name: &str) -> FunctionRow {
    FunctionRow {
        name: name.into(),
        version: "$LATEST".into(),
        image: false,
    }
}

/// The account: the production function, and functions named like its previews
/// (`tags`: each one's preview tag, `None` for no tag).
struct World {
    account: Fake,
    functions: BTreeMap<String, FakeLambda>,
    github: FakeGitHub,
}

impl World {
    fn new(previews: &[(&str, Option<&str>)]) -> Self {
        let mut account = Fake::with_versions(1);
        account.functions = vec![row("orders"), row("orders-api")];
        let mut functions = BTreeMap::new();
        for (name, tag) in previews {
            let tags: Vec<(&str, &str)> = tag.iter().map(|t| (PREVIEW_TAG, *t)).collect();
            let f = FakeLambda::new(name).with_function("sha", &tags);
            account.functions.push(row(name));
            functions.insert(name.to_string(), f);
        }
        Self {
            account,
            functions,
            github: FakeGitHub::installation(),
        }
    }

    fn pull(&self, number: u64, state: PullState) {
        self.github.world().pulls.insert(number, state);
    }

    async fn prune(&self, pulls: Result<(), String>, dry_run: bool) -> PreviewPrune {
        let open = |name: &str| {
            self.functions
                .get(name)
                .cloned()
                .unwrap_or_else(|| FakeLambda::new(name))
        };
        let pulls = pulls.map(|()| Pulls {
            api: &self.github,
            owner: "o",
            repo: "r",
        });
        prune(&self.account, open, pulls, &production(), dry_run)
            .await
            .expect("prune")
    }

    fn exists(&self) -> Vec<String> {
        self.functions
            .iter()
            .filter(|(_, f)| f.world().function.is_some())
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn asked(&self) -> Vec<String> {
        self.github.world().calls.clone()
    }
}

fn names(list: &[PreviewFunction]) -> Vec<(&str, u64, &str)> {
    list.iter()
        .map(|p| (p.function.as_str(), p.pull_request, p.state.word()))
        .collect()
}

#[tokio::test]
async fn closed_and_merged_pull_requests_lose_their_previews_and_open_ones_keep_them() {
    let w = World::new(&[
        ("orders-pr-1", Some("orders")),
        ("orders-pr-2", Some("orders")),
        ("orders-pr-3", Some("orders")),
    ]);
    w.pull(1, PullState::Closed);
    w.pull(2, PullState::Open);
    w.pull(3, PullState::Merged);
    let out = w.prune(Ok(()), false).await;
    assert_eq!(
        names(&out.previews_deleted),
        [("orders-pr-1", 1, "closed"), ("orders-pr-3", 3, "merged")]
    );
    assert_eq!(names(&out.previews_open), [("orders-pr-2", 2, "open")]);
    assert_eq!(w.exists(), ["orders-pr-2"]);
    assert!(
        out.preview_warnings.is_empty(),
        "{:?}",
        out.preview_warnings
    );
}

#[tokio::test]
async fn a_dry_run_lists_the_previews_it_would_delete_and_deletes_none() {
    let w = World::new(&[("orders-pr-1", Some("orders"))]);
    w.pull(1, PullState::Closed);
    let out = w.prune(Ok(()), true).await;
    assert_eq!(names(&out.previews_deleted), [("orders-pr-1", 1, "closed")]);
    assert_eq!(w.exists(), ["orders-pr-1"]);
    assert_eq!(
        w.functions["orders-pr-1"]
            .world()
            .calls
            .iter()
            .filter(|(_, op)| op.starts_with("Delete"))
            .count(),
        0
    ); // The function is read once: the tag check's read serves the removal plan too.
    assert_eq!(
        w.functions["orders-pr-1"]
            .world()
            .calls
            .iter()
            .filter(|(_, op)| *op == "GetFunction")
            .count(),
        1
    );
}

/// Only functions both named and tagged as this function's previews are looked at.
#[tokio::test]
async fn functions_not_tagged_as_this_functions_preview_are_never_deleted() {
    let w = World::new(&[
        ("orders-pr-1", None),
        ("orders-pr-2", Some("payments")),
        ("orders-pr-007", Some("orders")),
        ("orders-api-pr-4", Some("orders")),
    ]);
    for n in [1, 2, 4, 7] {
        w.pull(n, PullState::Closed);
    }
    let out = w.prune(Ok(()), false).await;
    assert!(
        out.previews_deleted.is_empty(),
        "{:?}",
        out.previews_deleted
    );
    assert_eq!(w.exists().len(), 4);
    assert!(w.asked().is_empty(), "GitHub was asked: {:?}", w.asked());
}

#[tokio::test]
async fn a_pull_request_github_does_not_answer_for_keeps_its_preview_with_a_warning() {
    let w = World::new(&[
        ("orders-pr-1", Some("orders")),
        ("orders-pr-2", Some("orders")),
    ]);
    w.pull(2, PullState::Closed);
    let out = w.prune(Ok(()), false).await;
    assert_eq!(
        out.preview_warnings,
        [
            "pull request #1: its state could not be read (GitHub answered 404 Not Found), so its preview function 'orders-pr-1' was kept"
        ]
    );
    assert_eq!(w.exists(), ["orders-pr-1"]);
    assert_eq!(names(&out.previews_deleted), [("orders-pr-2", 2, "closed")]);
}

#[tokio::test]
async fn without_a_token_no_preview_is_checked_and_the_prune_says_why() {
    let w = World::new(&[("orders-pr-1", Some("orders"))]);
    w.pull(1, PullState::Closed);
    let out = w
        .prune(Err("no github-token was given".into()), false)
        .await;
    assert_eq!(
        out.previews_not_checked.as_deref(),
        Some("no github-token was given")
    );
    assert_eq!(w.exists(), ["orders-pr-1"]);
    assert_eq!(w.account.functions_listed.get(), 0);
}

#[test]
fn preview_numbers_are_read_only_from_this_functions_preview_names() {
    let p = production();
    assert_eq!(preview_number("orders-pr-12", &p), Some(12));
    assert_eq!(preview_number("orders-pr-+12", &p), None);
    assert_eq!(preview_number("orders-pr-012", &p), None);
    assert_eq!(preview_number("orders-api-pr-12", &p), None);
    assert_eq!(preview_number("orders", &p), None);
    let long: FunctionName = "x".repeat(62).parse().expect("name");
    let name = long.preview(5).short_name().to_string();
    assert_eq!(preview_number(&name, &long), Some(5));
}
