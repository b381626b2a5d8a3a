//! What a hostile or unlucky run must not get through, end to end against the local
//! services (the real binary, moto, and the fault proxy where moto cannot misbehave).

mod support;

use support::faults::Deployed;

/// Values no output may hold: one the live function already has, two given as inputs
/// (one of them spread over lines of a JSON object's string).
const LIVE_VALUE: &str = "liveSECRETvalue7Qz";
const INPUT_VALUE: &str = "inputSECRETvalue3Kd";
const JSON_VALUE: &str = "jsonSECRETvalue9Wm";

/// Every byte a run wrote where people or other steps can read it.
fn everything(run: &support::Run) -> String {
    let outputs: Vec<String> = run
        .outputs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{}\n{}\n{}\n{}",
        run.stdout(),
        run.stderr(),
        outputs.join("\n"),
        run.summary
    )
}

#[track_caller]
fn assert_values_hidden(run: &support::Run, masked: &[&str], what: &str) {
    let stdout = run.stdout();
    for value in masked {
        let mask = format!("::add-mask::{value}");
        assert!(stdout.contains(&mask), "{what}: {value} was not masked");
        let before = stdout.split(&mask).next().unwrap_or_default();
        assert!(
            before.lines().all(|l| l.starts_with("::add-mask::")),
            "{what}: output came before the mask of {value}:\n{before}"
        );
    }
    let mut rest = everything(run);
    for value in masked {
        rest = rest.replace(&format!("::add-mask::{value}"), "");
    }
    for value in [LIVE_VALUE, INPUT_VALUE, JSON_VALUE] {
        assert!(!rest.contains(value), "{what}: {value} leaked:\n{rest}");
    }
}

/// Regression: `--format json` serialised the planned `environment` map, values and all,
/// both the live function's and the inputs'.
#[test]
fn environment_values_never_reach_any_output_in_any_format() {
    let f = Deployed::new("envsecret");
    let live = format!("DB_PASSWORD={LIVE_VALUE}");
    f.change_code("with env");
    f.deploy(None, &[("environment", &live)], &[]).assert_ok();

    let actions = [("GITHUB_ACTIONS", "true"), ("LAMBDA_DEPLOY_LOG", "debug")];
    let lines = format!("API_KEY={INPUT_VALUE}\nMODE=plain");
    let json = format!("{{\"TOKEN\": \"{JSON_VALUE}\", \"MODE\": \"plain\"}}");
    for (i, env) in [lines.as_str(), json.as_str()].into_iter().enumerate() {
        let masked: &[&str] = if i == 0 {
            &[INPUT_VALUE]
        } else {
            &[JSON_VALUE]
        };
        for args in [
            &["--format", "json", "--dry-run", "true"][..],
            &["--format", "json"][..],
            &["--dry-run", "true"][..],
        ] {
            f.change_code(&format!("env {i} {args:?}"));
            let run = support::deploy(
                &[
                    ("function-name", f.name.as_str()),
                    ("source-dir", &support::path_str(f.dir.path())),
                    ("environment", env),
                    ("alias", "live"),
                ],
                &actions,
                args,
            );
            run.assert_ok();
            let what = format!("environment #{i} with {args:?}");
            // The first run of each input plans the change: it names the keys.
            let first = args.len() == 4;
            assert!(
                !first || run.stdout().contains("API_KEY") || run.stdout().contains("TOKEN"),
                "{what}: the key names are still shown:\n{}",
                run.stdout()
            );
            assert_values_hidden(&run, masked, &what);
        }
    }
    // The values did reach Lambda: hiding them is about output, not about deploying.
    let s = support::snapshot(&f.name);
    assert_eq!(
        s.environment.get("DB_PASSWORD").map(String::as_str),
        Some(LIVE_VALUE)
    );
    assert_eq!(
        s.environment.get("TOKEN").map(String::as_str),
        Some(JSON_VALUE)
    );
}
