//! Text from outside (branch and tag names, what a function returned, error texts) cannot
//! change the shape of what lambda-deploy writes: the job summary and the pull request
//! comment keep their tables, `$GITHUB_OUTPUT` keeps its outputs, and workflow commands
//! stay one line each. Bounded here; run longer with
//! `PROPTEST_CASES=100000 cargo test --test output_hygiene`.

mod support;

use std::collections::BTreeMap;

use lambda_deploy::config::FunctionUrl;
use lambda_deploy::deploy::Moved;
use lambda_deploy::domain::function::LayerRef;
use lambda_deploy::gha;
use lambda_deploy::github::comment;
use lambda_deploy::image::{ImageReport, LayerReport};
use lambda_deploy::layers::LayerOutcome;
use lambda_deploy::plan::{
    AliasMove, CodeRoute, ConfigUpdate, FieldChange, FunctionAction, HeldAlias, LayerStep,
    LocalCode, Plan, Publish, UrlAction, UrlStep,
};
use lambda_deploy::release::SkippedMove;
use lambda_deploy::report::{Outcome, Provenance, Report, ReportExtra, Status};
use lambda_deploy::smoke::SmokePassed;
use proptest::prelude::*;

use support::cases;

/// Strings that try to break out: table and code-span syntax, line breaks, HTML and
/// workflow commands, mixed with any text.
fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("|".to_string()),
        Just("\\|".to_string()),
        Just("`".to_string()),
        Just("```".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("<!--".to_string()),
        Just("</details>".to_string()),
        Just("::stop-commands::tok".to_string()),
        Just("::add-mask::x".to_string()),
        Just("ghadelimiter_lambda_deploy".to_string()),
        Just("[a](javascript:x)".to_string()),
        Just("@octo-org/team".to_string()),
        Just("**".to_string()),
        Just("%0A".to_string()),
        "[a-z0-9/._-]{1,8}",
        any::<String>().prop_map(|s| s.chars().take(6).collect()),
    ];
    prop::collection::vec(pieces, 1..8).prop_map(|v| v.concat())
}

/// The strings a report is filled with.
#[derive(Debug, Clone)]
struct Texts {
    branch: String,
    tag: String,
    payload: String,
    error: String,
    value: String,
}

fn texts() -> impl Strategy<Value = Texts> {
    (hostile(), hostile(), hostile(), hostile(), hostile()).prop_map(
        |(branch, tag, payload, error, value)| Texts {
            branch,
            tag,
            payload,
            error,
            value,
        },
    )
}

fn benign() -> Texts {
    Texts {
        branch: "main".into(),
        tag: "v1".into(),
        payload: "ok".into(),
        error: "failed".into(),
        value: "x".into(),
    }
}

/// The plan the report renders, with the same outside text in every place it can go.
fn plan(t: &Texts) -> Plan {
    Plan {
        function_name: "hello".into(),
        action: FunctionAction::Update,
        code: LocalCode {
            code_sha256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".into(),
            size: 1536,
            unzipped_size: 4096,
            image: None,
        },
        previous_code_sha256: None,
        code_changed: true,
        architecture: None,
        config: ConfigUpdate::default(),
        changes: vec![FieldChange {
            field: "description",
            from: Some(t.value.clone()),
            to: t.error.clone(),
        }],
        tags: BTreeMap::from([(t.tag.clone(), t.value.clone())]),
        publish: Publish::New {
            description: t.branch.clone(),
        },
        aliases: vec![AliasMove {
            name: t.tag.clone(),
            from: Some(t.value.clone()),
            to: None,
            revision_id: None,
        }],
        aliases_in_place: vec![t.branch.clone()],
        code_route: CodeRoute::S3 {
            bucket: "artifacts".into(),
            key: t.value.clone(),
        },
        layers: vec![LayerStep::Reuse {
            name: t.value.clone(),
            arn: t.tag.clone(),
        }],
        aliases_held: vec![HeldAlias {
            name: t.tag.clone(),
            stays_on: t.value.clone(),
            reason: t.error.clone(),
        }],
        function_url: Some(UrlStep {
            alias: t.tag.clone(),
            auth: FunctionUrl::Public,
            action: UrlAction::Create,
            grants_add: vec![t.value.clone()],
            grants_remove: Vec::new(),
        }),
        function_url_removed: Some(t.branch.clone()),
    }
}

fn report(t: &Texts) -> Report {
    Report {
        outcome: Outcome {
            status: Status::Deployed,
            version: Some("7".into()),
            published: true,
            aliases: vec!["live".into(), t.tag.clone()],
            moved: vec![Moved {
                name: t.tag.clone(),
                from: Some(t.value.clone()),
                to: "7".into(),
            }],
            warnings: vec![t.error.clone()],
            elapsed_ms: 2500,
        },
        function_name: "hello".into(),
        function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:hello".into()),
        s3_uri: None,
        layers: vec![LayerOutcome {
            name: t.value.clone(),
            arn: LayerRef::Version(t.tag.clone()),
            published: true,
        }],
        layer_arns: None,
        function_url: Some("https://abcdefghij.lambda-url.eu-west-1.on.aws/".into()),
        provenance: Provenance {
            ref_label: Some(t.branch.clone()),
            short_sha: Some("e5f6071".into()),
            commit_url: Some("https://github.com/o/r/commit/e5f6071".into()),
            run_url: Some("https://github.com/o/r/actions/runs/1".into()),
        },
        image: Some(ImageReport {
            uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello@sha256:00".into(),
            digest: "sha256:00".into(),
            repository: "hello".into(),
            tags: vec![t.tag.clone(), t.branch.clone()],
            layers: vec![LayerReport {
                digest: "sha256:11".into(),
                size: 10,
                state: "uploaded",
            }],
            bytes_uploaded: 10,
            built: true,
        }),
        plan: Some(plan(t)),
        smoke: Some(SmokePassed {
            version: "7".into(),
            response: t.payload.clone(),
        }),
        extra: ReportExtra {
            pull_request: Some(12),
            preview_alias: Some("pr-12".into()),
            release: Some(t.tag.clone()),
            url_auth: Some(FunctionUrl::Public),
            skipped: vec![SkippedMove {
                alias: t.tag.clone(),
                version: t.value.clone(),
                reason: t.error.clone(),
            }],
            removal: None,
            github: None,
            preview_of: Some("orders-api".into()),
            shift: None,
        },
    }
}

/// The cells of a table row, split where GFM splits them: on `|` not escaped by `\`.
fn cells(line: &str) -> usize {
    let inner = line.trim().trim_start_matches('|');
    let mut n = 1;
    let mut prev = ' ';
    let mut last_pipe = false;
    for c in inner.chars() {
        last_pipe = c == '|' && prev != '\\';
        if last_pipe {
            n += 1;
        }
        prev = c;
    }
    if last_pipe { n - 1 } else { n }
}

/// Drops code spans (a run of N backticks up to the next run of exactly N).
fn outside_code(md: &str) -> String {
    let chars: Vec<char> = md.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = chars[i..].iter().take_while(|c| **c == '`').count();
        let mut j = i + n;
        let mut closed = None;
        while j < chars.len() {
            let m = chars[j..].iter().take_while(|c| **c == '`').count();
            if m == n {
                closed = Some(j + m);
                break;
            }
            j += m.max(1);
        }
        match closed {
            Some(end) => i = end,
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

/// What must not change when values change: the lines, which of them are table rows and
/// how many cells each has, the code fences, and the HTML outside code.
fn shape(md: &str) -> (Vec<(bool, usize)>, usize, usize) {
    let rows = md
        .lines()
        .map(|l| {
            let row = l.trim_start().starts_with('|');
            (row, if row { cells(l) } else { 0 })
        })
        .collect();
    let fences = md.lines().filter(|l| l.starts_with("```")).count();
    let html = outside_code(md).matches('<').count();
    (rows, fences, html)
}

#[track_caller]
fn assert_same_shape(hostile: &str, benign: &str, what: &str) {
    let (h, b) = (shape(hostile), shape(benign));
    assert_eq!(
        h.0.len(),
        b.0.len(),
        "{what}: the line count changed:\n{hostile}"
    );
    for (i, (x, y)) in h.0.iter().zip(&b.0).enumerate() {
        assert_eq!(
            x,
            y,
            "{what}: line {i} changed shape:\n{}",
            hostile.lines().nth(i).unwrap_or_default()
        );
    }
    assert_eq!(h.1, b.1, "{what}: the code fences changed:\n{hostile}");
    assert_eq!(h.2, b.2, "{what}: HTML got out of code:\n{hostile}");
}

/// `$GITHUB_OUTPUT` read back the way the runner reads it: lines end at `\n` or `\r\n`;
/// `name<<DELIM` starts a value that ends at a line equal to DELIM.
fn runner_outputs(text: &str) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, nl, next) = match rest.find('\n') {
            Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => {
                (&rest[..i - 1], "\r\n", &rest[i + 1..])
            }
            Some(i) => (&rest[..i], "\n", &rest[i + 1..]),
            None => (rest, "", ""),
        };
        lines.push((line, nl));
        rest = next;
    }
    let mut out = Vec::new();
    let mut it = lines.into_iter();
    while let Some((line, _)) = it.next() {
        let eq = line.find('=');
        match line.find("<<") {
            Some(h) if eq.is_none_or(|e| h < e) => {
                let (name, delim) = (&line[..h], &line[h + 2..]);
                let mut value = String::new();
                let mut pending = "";
                let mut ended = false;
                for (l, nl) in it.by_ref() {
                    if l == delim {
                        ended = true;
                        break;
                    }
                    value.push_str(pending);
                    value.push_str(l);
                    pending = nl;
                }
                assert!(ended, "heredoc {name} is not closed:\n{text}");
                out.push((name.to_string(), value));
            }
            _ => {
                let (name, value) = line.split_once('=').expect("name=value");
                out.push((name.to_string(), value.to_string()));
            }
        }
    }
    out
}

/// Reverses `gha::escape_data`.
fn unescape(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn summary_and_comment_keep_their_tables_whatever_the_text(t in texts()) {
        let (h, b) = (report(&t), report(&benign()));
        assert_same_shape(&h.summary_markdown(), &b.summary_markdown(), "summary");
        assert_same_shape(&comment::render(&h, 12), &comment::render(&b, 12), "comment");
    }

    #[test]
    fn outputs_read_back_as_written_whatever_the_values(
        values in prop::collection::vec(hostile(), 1..5)
    ) {
        let pairs: Vec<(String, String)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("out-{i}"), v.clone()))
            .collect();
        let read = runner_outputs(&gha::render_outputs(&pairs));
        let names: Vec<&str> = read.iter().map(|(n, _)| n.as_str()).collect();
        let want: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        prop_assert_eq!(names, want);
        let read: BTreeMap<String, String> = read.into_iter().collect();
        for (name, value) in &pairs {
            prop_assert_eq!(&read[name], value);
        }
    }

    #[test]
    fn workflow_commands_stay_one_line_and_read_back(title in hostile(), message in hostile()) {
        for level in [gha::Level::Error, gha::Level::Warning, gha::Level::Notice] {
            let line = gha::annotation(level, &title, &message);
            prop_assert!(!line.contains('\n') && !line.contains('\r'), "{}", line);
            let (head, msg) = line[2..].split_once("::").expect("command::message");
            let t = head.split_once(" title=").expect("title").1;
            prop_assert_eq!(unescape(t), title.clone());
            prop_assert_eq!(unescape(msg), message.clone());
        }
    }

    #[test]
    fn a_log_event_stays_one_line_whatever_it_carries(payload in hostile()) {
        let event = format!(" INFO smoke test passed response={payload}\n");
        let line = gha::one_line(event.as_bytes());
        prop_assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        prop_assert!(!line.contains(&b'\r'));
        prop_assert_eq!(line.last(), Some(&b'\n'));
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn a_failure_summary_holds_the_error_text_in_one_block(t in texts()) {
        let md = lambda_deploy::output::failure_markdown("hello", &t.branch, &t.error);
        let lines: Vec<&str> = md.lines().collect();
        prop_assert_eq!(lines.len() >= 6, true, "{}", md);
        prop_assert!(!lines[2].contains(['\n', '<', '`', '|']), "{}", lines[2]);
        let fence = lines[4];
        prop_assert!(fence.starts_with("```") && fence.chars().all(|c| c == '`'));
        prop_assert!(md.ends_with(&format!("\n{fence}\n")), "{}", md);
        let start = md.find(&format!("{fence}\n")).map(|i| i + fence.len() + 1).unwrap_or(0);
        let inner = &md[start..md.len() - fence.len() - 2];
        prop_assert_eq!(inner, t.error.replace('\r', ""));
        for l in inner.lines() {
            prop_assert!(!l.trim_start().starts_with(fence), "closed early by {:?}", l);
        }
    }
}

/// Regression: a smoke-test answer went into the summary whole, on a public page.
#[test]
fn the_summary_shows_only_the_start_of_a_smoke_test_answer_and_says_so() {
    let mut t = benign();
    t.payload = format!("{{\"customer\": \"{}\"}}", "y".repeat(5000));
    let md = report(&t).summary_markdown();
    assert!(!md.contains(&"y".repeat(300)), "{md}");
    assert!(md.contains("characters"), "the cut is said: {md}");
}
