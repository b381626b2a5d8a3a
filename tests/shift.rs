//! Gradual rollouts end to end: the real binary against the local AWS emulator, with the
//! test watching the alias's weighted routing while the shift runs and flipping a real
//! CloudWatch alarm in the middle of one.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{Run, block, deploy, example_copy, path_str, role, sdk_config, unique};

/// What the alias served at one look: its version and the weights of its routing.
type Seen = (String, BTreeMap<String, f64>);

fn read_alias(function: &str) -> Seen {
    let c = support::lambda();
    block(async {
        let a = c
            .get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
            .expect("GetAlias");
        let weights = a
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        (
            a.function_version().unwrap_or_default().to_string(),
            weights,
        )
    })
}

fn inputs<'a>(name: &'a str, dir: &'a str, role: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("function-name", name),
        ("source-dir", dir),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("role", role),
        ("alias", "live"),
    ]
}

/// A function with version 1 behind alias `live`, and a changed copy of its code.
fn deployed(prefix: &str) -> (String, tempfile::TempDir) {
    let name = unique(prefix);
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    deploy(&inputs(&name, &d, &role), &[], &[]).assert_ok();
    std::fs::write(dir.path().join("extra.py"), "CHANGED = True\n").expect("change the code");
    (name, dir)
}

/// Runs a second deploy with `more` inputs on a thread while the test looks at the alias
/// every 100 ms; returns the run and every distinct state seen, in order.
fn deploy_watching(
    name: &str,
    dir: &tempfile::TempDir,
    more: &[(&str, &str)],
    during: impl Fn(&Seen) + Send + 'static,
) -> (Run, Vec<Seen>) {
    let (d, role) = (path_str(dir.path()), role());
    let mut all: Vec<(String, String)> = inputs(name, &d, &role)
        .into_iter()
        .chain(more.iter().copied())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.sort();
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let done = Arc::new(Mutex::new(false));
    let watcher = {
        let (seen, done, name) = (seen.clone(), done.clone(), name.to_string());
        thread::spawn(move || {
            while !*done.lock().unwrap() {
                let now = read_alias(&name);
                during(&now);
                let mut s = seen.lock().unwrap();
                if s.last() != Some(&now) {
                    s.push(now);
                }
                drop(s);
                thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = deploy(&pairs, &[], &[]);
    *done.lock().unwrap() = true;
    watcher.join().expect("watcher");
    let mut seen = seen.lock().unwrap().clone();
    // The run may end between two looks: the state it left is the last one seen.
    let last = read_alias(name);
    if seen.last() != Some(&last) {
        seen.push(last);
    }
    (run, seen)
}

fn routed(version: &str, to: &str, weight: f64) -> Seen {
    (
        version.to_string(),
        BTreeMap::from([(to.to_string(), weight)]),
    )
}

fn plain(version: &str) -> Seen {
    (version.to_string(), BTreeMap::new())
}

#[test]
fn a_canary_is_seen_mid_way_on_the_old_version_and_ends_on_the_new_one() {
    let (name, dir) = deployed("canary");
    let (run, seen) = deploy_watching(&name, &dir, &[("traffic-shift", "canary 25% 3s")], |_| {});
    run.assert_ok();
    assert!(seen.contains(&routed("1", "2", 0.25)), "{seen:?}");
    assert_eq!(read_alias(&name), plain("2"));
    assert_eq!(seen.last(), Some(&plain("2")), "{seen:?}");
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("version"), "2");
    assert_eq!(run.out("aliases"), "live");
    assert!(
        run.summary.contains(
            "**Traffic shift** `canary 25% 3s` of `live` from version `1` to `2`: completed"
        ),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("| 25% | none |"), "{}", run.summary);
    assert!(run.summary.contains("| 100% | none |"), "{}", run.summary);
}

#[test]
fn a_linear_shift_is_seen_at_each_step() {
    let (name, dir) = deployed("linear");
    let (run, seen) = deploy_watching(
        &name,
        &dir,
        &[("traffic-shift", "linear 30% every 2s")],
        |_| {},
    );
    run.assert_ok();
    let expected = [
        plain("1"),
        routed("1", "2", 0.3),
        routed("1", "2", 0.6),
        routed("1", "2", 0.9),
        plain("2"),
    ];
    assert_eq!(seen, expected, "every step, in order");
    assert_eq!(run.out("status"), "deployed");
}

fn cloudwatch() -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&sdk_config())
}

fn put_alarm(alarm: &str, function: &str) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
    let c = cloudwatch();
    block(async {
        c.put_metric_alarm()
            .alarm_name(alarm)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .dimensions(
                Dimension::builder()
                    .name("FunctionName")
                    .value(function)
                    .build(),
            )
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(0.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .expect("PutMetricAlarm");
        c.set_alarm_state()
            .alarm_name(alarm)
            .state_value(StateValue::Ok)
            .state_reason("no errors")
            .send()
            .await
            .expect("SetAlarmState OK");
    });
}

fn set_alarm(alarm: &str, reason: &str) {
    let c = cloudwatch();
    block(async {
        c.set_alarm_state()
            .alarm_name(alarm)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason(reason)
            .send()
            .await
            .expect("SetAlarmState ALARM");
    });
}

#[test]
fn an_alarm_mid_shift_sends_the_traffic_back_and_fails_the_run_naming_it() {
    let (name, dir) = deployed("alarmed");
    let alarm = format!("{name}-errors");
    put_alarm(&alarm, &name);
    let fired_at = Arc::new(Mutex::new(None::<Instant>));
    let during = {
        let (alarm, fired_at) = (alarm.clone(), fired_at.clone());
        move |now: &Seen| {
            let mut f = fired_at.lock().unwrap();
            if f.is_none() && *now == routed("1", "2", 0.25) {
                set_alarm(&alarm, "Threshold Crossed: 1 datapoint [4.0] > 0.0");
                *f = Some(Instant::now());
            }
        }
    };
    let more = [
        ("traffic-shift", "canary 25% 60s"),
        ("alarms", alarm.as_str()),
    ];
    let (run, seen) = deploy_watching(&name, &dir, &more, during);
    let ended = Instant::now();
    assert!(!run.ok(), "{}", run.everything());
    let fired = fired_at
        .lock()
        .unwrap()
        .expect("the alias was seen routed 25%");
    // The shift reads the alarms every 5 s at the most.
    assert!(
        ended - fired < Duration::from_secs(10),
        "{:?}",
        ended - fired
    );
    assert_eq!(read_alias(&name), plain("1"), "{seen:?}");
    assert_eq!(seen.last(), Some(&plain("1")), "{seen:?}");
    let err = run.stderr();
    assert!(
        err.contains(&format!(
            "alarm '{alarm}' (AWS/Lambda/Errors) went into ALARM at 25% on version 2"
        )),
        "{err}"
    );
    assert!(
        err.contains("Threshold Crossed: 1 datapoint [4.0] > 0.0"),
        "{err}"
    );
    assert!(err.contains("alias 'live' is back on version 1"), "{err}");
    assert!(run.summary.contains(&alarm), "{}", run.summary);
}

#[test]
fn a_bad_traffic_shift_is_refused_before_anything_is_created() {
    let name = unique("badshift");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut i = inputs(&name, &d, &role);
    i.push(("traffic-shift", "canary 25 every 3s"));
    let run = deploy(&i, &[], &[]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains("input traffic-shift: 'canary 25 every 3s' is not a traffic shift"),
        "{err}"
    );
    assert!(err.contains("`linear <P>% every <D>`"), "{err}");
    assert!(!support::snapshot(&name).exists, "nothing was created");
}
