//! The sticky-comment rules on the in-memory GitHub.

use super::comment::{ACTIONS_BOT, upsert};
use super::fake::FakeGitHub;
use super::*;

const MARK: &str = "<!-- lambda-deploy:hello -->";
const PR: u64 = 12;

fn body(text: &str) -> String {
    format!("{MARK}\n{text}")
}

#[tokio::test]
async fn the_first_run_creates_the_comment_and_the_next_updates_it_in_place() {
    let gh = FakeGitHub::installation();
    let (_, created) = upsert(&gh, "o", "r", PR, MARK, &body("one")).await.unwrap();
    assert!(created);
    let (_, created) = upsert(&gh, "o", "r", PR, MARK, &body("two")).await.unwrap();
    assert!(!created);
    let comments = gh.comments(PR);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].body.as_deref(), Some(body("two").as_str()));
    assert_eq!(
        comments[0].user.as_ref().map(|u| u.login.as_str()),
        Some(ACTIONS_BOT)
    );
}

#[tokio::test]
async fn a_marker_comment_by_someone_else_is_never_edited() {
    let gh = FakeGitHub::installation();
    let planted = gh.add_comment(PR, "mallory", &body("planted"));
    upsert(&gh, "o", "r", PR, MARK, &body("ours"))
        .await
        .unwrap();
    let comments = gh.comments(PR);
    assert_eq!(comments.len(), 2);
    let theirs = comments.iter().find(|c| c.id == planted).unwrap();
    assert_eq!(theirs.body.as_deref(), Some(body("planted").as_str()));
    assert_eq!(gh.writes(), ["POST /repos/o/r/issues/12/comments"]);
}

#[tokio::test]
async fn a_user_token_updates_its_own_comment_not_the_bots() {
    let gh = FakeGitHub::user("deploy-bot");
    let bot = gh.add_comment(PR, ACTIONS_BOT, &body("bot"));
    let own = gh.add_comment(PR, "deploy-bot", &body("mine"));
    upsert(&gh, "o", "r", PR, MARK, &body("new")).await.unwrap();
    assert_eq!(
        gh.writes(),
        [format!("PATCH /repos/o/r/issues/comments/{own}")]
    );
    let comments = gh.comments(PR);
    let text = |id| {
        comments
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.body.clone())
    };
    assert_eq!(text(bot), Some(body("bot")));
    assert_eq!(text(own), Some(body("new")));
}

#[tokio::test]
async fn its_own_comment_past_the_first_page_is_found() {
    let gh = FakeGitHub::installation();
    gh.world().page_size = 2;
    for i in 0..5 {
        gh.add_comment(PR, "someone", &format!("chatter {i}"));
    }
    let own = gh.add_comment(PR, ACTIONS_BOT, &body("old"));
    upsert(&gh, "o", "r", PR, MARK, &body("new")).await.unwrap();
    assert_eq!(
        gh.writes(),
        [format!("PATCH /repos/o/r/issues/comments/{own}")]
    );
}

#[tokio::test]
async fn a_refusal_is_a_warning_and_a_note_not_an_error() {
    let gh = FakeGitHub::installation();
    gh.refuse("POST", 403);
    let mut notes = GitHubNotes::default();
    sticky(&gh, false, ("o", "r", PR), (MARK, &body("x")), &mut notes).await;
    assert_eq!(notes.comment, None);
    let why = notes.comment_skipped.unwrap_or_default();
    assert!(why.contains("GitHub answered 403"), "{why}");
    assert!(why.contains("pull-requests: write"), "{why}");
    assert!(gh.comments(PR).is_empty());
}

#[tokio::test]
async fn a_comment_that_was_written_is_noted_with_its_url() {
    let gh = FakeGitHub::installation();
    let mut notes = GitHubNotes::default();
    sticky(&gh, false, ("o", "r", PR), (MARK, &body("x")), &mut notes).await;
    let (url, how) = notes.comment.unwrap();
    assert!(
        url.starts_with("https://github.com/o/r/pull/12#issuecomment-"),
        "{url}"
    );
    assert_eq!(how, "created");
    assert_eq!(notes.comment_skipped, None);
}
