//! The README's IAM section is generated from the permission table `bootstrap` writes
//! its policies from, so the documented and the granted actions stay the same.
//! `UPDATE_README=1 cargo test --test iam_readme` rewrites it (never under CI).

use std::path::Path;

fn replace_section(text: &str, name: &str, body: &str) -> Option<String> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let from = text.find(&start)? + start.len();
    let to = from + text[from..].find(&end)?;
    Some(format!("{}\n{body}{}", &text[..from], &text[to..]))
}

#[test]
fn readme_iam_section_is_generated_from_the_permission_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("read README.md");
    let generated = replace_section(
        &readme,
        "iam",
        &lambda_deploy::permissions::readme_section(),
    )
    .expect("README.md needs the markers <!-- iam:start --> and <!-- iam:end -->");
    if generated == readme {
        return;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if !ci && std::env::var_os("UPDATE_README").is_some_and(|v| v == "1") {
        std::fs::write(&path, generated).expect("write README.md");
        return;
    }
    let line = readme
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    panic!(
        "README.md's IAM section differs from src/permissions.rs (first difference at line {}); run `UPDATE_README=1 cargo test --test iam_readme`",
        line + 1
    );
}

#[test]
fn every_feature_has_a_row_and_every_row_a_known_action_prefix() {
    let section = lambda_deploy::permissions::readme_section();
    for f in lambda_deploy::permissions::Feature::ALL {
        assert!(section.contains(&format!("| `{f}`")), "no row for {f}");
    }
    for g in lambda_deploy::permissions::TABLE {
        for a in g.actions {
            let service = a.split(':').next().unwrap_or("");
            assert!(
                ["lambda", "iam", "s3", "ecr", "cloudwatch"].contains(&service),
                "{a}"
            );
        }
    }
}
