//! The preview deployment rules on the in-memory GitHub: what a push records, what closing
//! the pull request marks inactive, and what the run notes when GitHub refuses.

use super::super::Target;
use super::super::fake::FakeGitHub;
use super::*;
use crate::report::{GitHubNotes, Outcome, Provenance, ReportExtra, Status};
use crate::targets::Mode;

const SHA: &str = "e5f60718293a4b5c6d7e8f9012345678a1b2c3d4";
const URL: &str = "https://abcdefghij.lambda-url.eu-west-1.on.aws/";
const ENV: &str = "preview-pr-12-hello";

/// A run of pull request 12 of `o/r`, in run 8.
fn ctx() -> GitHubContext {
    GitHubContext {
        sha: Some(SHA.parse().expect("sha")),
        repository: Some("o/r".into()),
        run_id: Some("8".into()),
        ..GitHubContext::default()
    }
}

/// The report of pull request 12's preview of `hello`: version 7 behind alias `pr-12`.
fn preview() -> Report {
    Report {
        outcome: Outcome {
            status: Status::Deployed,
            version: Some("7".into()),
            published: true,
            aliases: vec!["pr-12".into()],
            moved: Vec::new(),
            warnings: Vec::new(),
            elapsed_ms: 0,
        },
        function_name: "hello-pr-12".into(),
        function_arn: None,
        s3_uri: None,
        layers: Vec::new(),
        layer_arns: None,
        function_url: Some(URL.into()),
        provenance: Provenance::default(),
        image: None,
        plan: None,
        smoke: None,
        extra: ReportExtra {
            pull_request: Some(12),
            preview_alias: Some("pr-12".into()),
            preview_of: Some("hello".into()),
            ..ReportExtra::default()
        },
    }
}

fn target(gh: &FakeGitHub) -> Target<'_, FakeGitHub> {
    Target {
        api: gh,
        owner: "o",
        repo: "r",
        pr: 12,
    }
}

#[tokio::test]
async fn a_push_records_one_deployment_of_the_commit_with_a_success_status() {
    let gh = FakeGitHub::installation();
    let id = record(&gh, "o", "r", ENV, &preview(), &ctx())
        .await
        .expect("recorded");
    let all = gh.deployments();
    assert_eq!(all.len(), 1);
    let d = &all[0];
    assert_eq!((d.id, d.repo.as_str()), (id, "o/r"));
    assert_eq!(d.deployment.git_ref, SHA);
    assert_eq!(d.deployment.environment, ENV);
    assert!(d.deployment.transient_environment && !d.deployment.production_environment);
    assert_eq!(
        d.deployment.payload,
        serde_json::json!({"function": "hello-pr-12", "alias": "pr-12", "version": "7"})
    );
    assert_eq!(
        d.statuses,
        vec![DeploymentStatus {
            state: DeploymentState::Success,
            description: "pr-12 serves version 7".into(),
            environment_url: Some(URL.into()),
            log_url: Some("https://github.com/o/r/actions/runs/8".into()),
            auto_inactive: true,
        }]
    );
    assert_eq!(
        gh.writes(),
        [
            "POST /repos/o/r/deployments".to_string(),
            format!("POST /repos/o/r/deployments/{id}/statuses"),
        ]
    );
}

#[tokio::test]
async fn without_a_commit_no_deployment_is_created() {
    let gh = FakeGitHub::installation();
    let ctx = GitHubContext { sha: None, ..ctx() };
    let out = record(&gh, "o", "r", ENV, &preview(), &ctx).await;
    assert!(
        matches!(&out, Err(GitHubError::Client { what, .. }) if *what == "creating the deployment"),
        "{out:?}"
    );
    assert!(gh.world().calls.is_empty(), "no call at all");
}

#[tokio::test]
async fn closing_marks_every_deployment_of_the_preview_inactive_and_no_other() {
    let gh = FakeGitHub::installation();
    let older = gh.add_deployment("o/r", ENV);
    let newer = gh.add_deployment("o/r", ENV);
    let other_pr = gh.add_deployment("o/r", "preview-pr-13-hello");
    let other_repo = gh.add_deployment("o/elsewhere", ENV);
    // Pages of one: the second deployment is found only by paging.
    gh.world().page_size = 1;

    let n = deactivate(&gh, "o", "r", ENV).await.expect("deactivated");

    assert_eq!(n, 2);
    let state = |id| {
        gh.deployments()
            .into_iter()
            .find(|d| d.id == id)
            .and_then(|d| d.state())
    };
    assert_eq!(state(older), Some(DeploymentState::Inactive));
    assert_eq!(state(newer), Some(DeploymentState::Inactive));
    assert_eq!(state(other_pr), Some(DeploymentState::Success));
    assert_eq!(state(other_repo), Some(DeploymentState::Success));
    assert_eq!(
        gh.writes(),
        [
            format!("POST /repos/o/r/deployments/{newer}/statuses"),
            format!("POST /repos/o/r/deployments/{older}/statuses"),
        ]
    );
    let gets = gh
        .world()
        .calls
        .iter()
        .filter(|c| c.starts_with("GET"))
        .count();
    assert_eq!(gets, 2, "one page each");
}

#[tokio::test]
async fn closing_a_pull_request_without_deployments_writes_nothing() {
    let gh = FakeGitHub::installation();
    assert_eq!(deactivate(&gh, "o", "r", ENV).await, Ok(0));
    assert!(gh.writes().is_empty());
}

#[tokio::test]
async fn the_run_notes_the_deployment_and_its_state() {
    let gh = FakeGitHub::installation();
    let mut notes = GitHubNotes::default();
    let to = target(&gh);
    to.deployment(
        &ctx(),
        &Mode::Preview { number: 12 },
        &preview(),
        &mut notes,
    )
    .await;
    assert_eq!(notes.deployment, Some((ENV.into(), "success".into())));

    let mut notes = GitHubNotes::default();
    let mode = Mode::RemovePreview { number: 12 };
    to.deployment(&ctx(), &mode, &preview(), &mut notes).await;
    let inactive = "inactive (1 deployment(s))".to_string();
    assert_eq!(notes.deployment, Some((ENV.into(), inactive)));
    assert_eq!(gh.deployments()[0].state(), Some(DeploymentState::Inactive));
}

#[tokio::test]
async fn a_refused_deployment_is_a_note_not_an_error() {
    let gh = FakeGitHub::installation();
    gh.refuse("POST", 403);
    let mut notes = GitHubNotes::default();
    target(&gh)
        .deployment(
            &ctx(),
            &Mode::Preview { number: 12 },
            &preview(),
            &mut notes,
        )
        .await;
    assert_eq!(notes.deployment, None);
    let why = notes.deployment_skipped.unwrap_or_default();
    assert!(
        why.starts_with("GitHub answered 403") && why.contains("creating the deployment"),
        "{why}"
    );
    assert!(gh.deployments().is_empty());
}
