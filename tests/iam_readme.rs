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

/// The IAM action of an SDK operation the adapters call (`None`: no request of its own).
fn action_of(service: &str, op: &str) -> Option<String> {
    let special = match (service, op) {
        (_, "clone") | (_, "send") => return None,
        (_, w) if w.starts_with("wait_until_") => return None,
        ("lambda", "invoke") => "InvokeFunction",
        ("s3", "head_object") => "GetObject",
        ("s3", "list_objects_v2") => "ListBucket",
        ("s3", "create_multipart_upload" | "upload_part" | "complete_multipart_upload") => {
            "PutObject"
        }
        _ => "",
    };
    if !special.is_empty() {
        return Some(format!("{service}:{special}"));
    }
    let camel: String = op
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    Some(format!("{service}:{camel}"))
}

/// moto cannot enforce IAM on Lambda calls, so the table is checked against the code:
/// every operation an AWS adapter sends (`client.<operation>()`) must be granted by some
/// feature's statement. A new call without its permission fails here.
#[test]
fn every_sdk_operation_the_code_calls_is_in_the_permission_table() {
    let granted: std::collections::BTreeSet<&str> = lambda_deploy::permissions::TABLE
        .iter()
        .flat_map(|g| g.actions.iter().copied())
        .collect();
    let aws = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
    let mut files: Vec<_> = std::fs::read_dir(&aws)
        .expect("read src/aws")
        .chain(std::fs::read_dir(aws.join("s3")).expect("read src/aws/s3"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut seen = 0;
    let mut missing = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let service = match name.as_str() {
            "iam.rs" => continue, // bootstrap's own calls, made by an IAM administrator
            "ecr.rs" => "ecr",
            "cloudwatch.rs" => "cloudwatch",
            _ if file.parent().is_some_and(|p| p.ends_with("s3")) => "s3",
            _ => "lambda",
        };
        let text: String = std::fs::read_to_string(&file)
            .expect("read source")
            .split_whitespace()
            .collect();
        for (i, m) in text
            .match_indices("client.")
            .chain(text.match_indices("client()."))
        {
            let rest = &text[i + m.len()..];
            let Some(op) = rest.split("()").next().filter(|o| {
                o.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            }) else {
                continue;
            };
            if let Some(action) = action_of(service, op) {
                seen += 1;
                if !granted.contains(action.as_str()) {
                    missing.push(format!("{action} (src/aws/{name})"));
                }
            }
        }
    }
    assert!(seen > 30, "only {seen} SDK calls were found in src/aws");
    assert!(
        missing.is_empty(),
        "not in src/permissions.rs TABLE: {missing:?}"
    );
}
