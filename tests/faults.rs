//! Faults the emulator cannot produce, injected by a proxy between lambda-deploy and
//! the emulator; assertions are on the final state Lambda holds.

mod support;

use serde_json::json;
use support::faults::FaultProxy;
use support::{deploy, example_copy, path_str, role, services, snapshot, unique};

#[test]
fn throttled_publish_is_retried_and_the_deploy_completes() {
    let proxy = FaultProxy::start(&services()["AWS_ENDPOINT_URL"]);
    let name = unique("throttle");
    let dir = example_copy("python-hello");
    let d = path_str(dir.path());
    let role = role();
    proxy.add(json!([{
        "match": {"method": "POST", "path": format!("/functions/{name}/versions")},
        "times": 2,
        "fault": {"status": 429, "error": "TooManyRequestsException", "message": "Rate exceeded"}
    }]));
    let run = deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
            ("alias", "live"),
        ],
        &[("AWS_ENDPOINT_URL_LAMBDA", &proxy.url)],
        &[],
    );
    run.assert_ok();
    let publishes = proxy
        .log()
        .iter()
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/versions"))
        })
        .count();
    assert_eq!(
        publishes, 3,
        "two throttled attempts, then one that went through"
    );
    assert_eq!(
        snapshot(&name).aliases.get("live").map(String::as_str),
        Some("1")
    );
}
