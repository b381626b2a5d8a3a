//! The shift's rules against an in-memory fake of Lambda aliases, CloudWatch alarms and
//! the clock: time only moves when the shift sleeps, so every test is deterministic and
//! takes milliseconds.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

/// Something that happens to the world once the clock reaches a time.
#[derive(Debug, Clone)]
enum Event {
    /// The alarm goes into ALARM with this reason.
    Fires(&'static str, &'static str),
    /// A newer run (this run id) points the alias at a version, no routing.
    NewerRun(&'static str, u64, &'static str),
    /// SIGTERM: the cancellation gate refuses every call from now on.
    Cancel,
}

#[derive(Default)]
struct World {
    aliases: BTreeMap<String, RoutedAlias>,
    alarms: Vec<Alarm>,
    elapsed: Duration,
    events: Vec<(Duration, Event)>,
    /// Every routing write: `alias version [+other@weight]`.
    writes: Vec<String>,
    /// When the alarms were read.
    reads: Vec<Duration>,
    undo: Option<(Vec<Back>, OrderKey)>,
    gate_closed: bool,
    next_revision: u64,
}

struct Fake(Mutex<World>);

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn refused() -> AwsError {
    AwsError {
        operation: "UpdateAlias",
        resource: "alias".into(),
        kind: ErrorKind::Other,
        message: "lambda-deploy was cancelled (SIGTERM); no further AWS calls are made".into(),
    }
}

impl Fake {
    fn new(aliases: &[(&str, &str, &str)], alarms: &[&str]) -> Self {
        let mut w = World::default();
        for (name, version, desc) in aliases {
            w.aliases.insert(
                name.to_string(),
                RoutedAlias {
                    version: version.to_string(),
                    weight: None,
                    description: Some(desc.to_string()),
                    revision_id: Some("r0".into()),
                },
            );
        }
        w.alarms = alarms
            .iter()
            .map(|n| Alarm {
                name: n.to_string(),
                state: "OK".into(),
                metric: "AWS/Lambda/Errors".into(),
                reason: "Threshold Crossed: no datapoints were above 0".into(),
            })
            .collect();
        Self(Mutex::new(w))
    }

    fn at(self, secs: u64, e: Event) -> Self {
        self.world().events.push((Duration::from_secs(secs), e));
        self
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }

    fn alias(&self, name: &str) -> RoutedAlias {
        self.world().aliases[name].clone()
    }

    fn writes(&self) -> Vec<String> {
        self.world().writes.clone()
    }

    /// Runs the registered undo action as the cancellation does: with the gate open to it.
    async fn undo(&self) -> String {
        let (back, ours) = self
            .world()
            .undo
            .clone()
            .expect("an undo action was registered");
        self.world().gate_closed = false;
        rollback(self, &back, &ours).await
    }
}

impl World {
    fn happen(&mut self) {
        let now = self.elapsed;
        let due: Vec<Event> = self
            .events
            .iter()
            .filter(|(t, _)| *t <= now)
            .map(|(_, e)| e.clone())
            .collect();
        self.events.retain(|(t, _)| *t > now);
        for e in due {
            match e {
                Event::Fires(name, reason) => {
                    let a = self.alarms.iter_mut().find(|a| a.name == name).unwrap();
                    a.state = "ALARM".into();
                    a.reason = reason.into();
                }
                Event::NewerRun(alias, run, version) => {
                    let a = self.aliases.get_mut(alias).unwrap();
                    a.version = version.into();
                    a.weight = None;
                    a.description = Some(format!("lambda-deploy: moved by run {run}"));
                    a.revision_id = Some("newer".into());
                }
                Event::Cancel => self.gate_closed = true,
            }
        }
    }
}

impl Traffic for Fake {
    type Guard = ();

    async fn read(&self, alias: &str) -> Result<Option<RoutedAlias>, AwsError> {
        let w = self.world();
        if w.gate_closed {
            return Err(refused());
        }
        Ok(w.aliases.get(alias).cloned())
    }

    async fn route(
        &self,
        alias: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        let mut w = self.world();
        if w.gate_closed {
            return Err(refused());
        }
        w.next_revision += 1;
        let rev = format!("r{}", w.next_revision);
        let a = w.aliases.get_mut(alias).unwrap();
        if revision_id.is_some() && revision_id != a.revision_id.as_deref() {
            return Err(AwsError {
                kind: ErrorKind::PreconditionFailed,
                ..refused()
            });
        }
        a.version = version.into();
        a.weight = weight.map(|(v, w)| (v.to_string(), w));
        a.description = Some(description.into());
        a.revision_id = Some(rev);
        let routed = weight.map_or(String::new(), |(v, w)| format!(" +{v}@{w}"));
        w.writes.push(format!("{alias} {version}{routed}"));
        Ok(())
    }

    async fn mover(&self, _name: &str, current: &RoutedAlias) -> Result<OrderKey, AwsError> {
        Ok(current
            .description
            .as_deref()
            .and_then(OrderKey::from_alias_description)
            .unwrap_or_default())
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, AwsError> {
        let mut w = self.world();
        if w.gate_closed {
            return Err(refused());
        }
        let at = w.elapsed;
        w.reads.push(at);
        Ok(w.alarms
            .iter()
            .filter(|a| names.contains(&a.name))
            .cloned()
            .collect())
    }

    fn now(&self) -> SystemTime {
        start() + self.world().elapsed
    }

    async fn sleep(&self, d: Duration) {
        let mut w = self.world();
        w.elapsed += d;
        w.happen();
    }

    fn on_cancel(&self, back: Vec<Back>, ours: OrderKey) {
        self.world().undo = Some((back, ours));
    }
}

fn run_key(id: u64) -> OrderKey {
    OrderKey {
        release: None,
        run_id: Some(id),
    }
}

const OLD: &str = "lambda-deploy: moved by run 5";

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

async fn shift(
    fake: &Fake,
    aliases: &[&str],
    steps: &[u8],
    alarms: &[&str],
) -> Result<Shifted, ShiftError> {
    let (aliases, alarms, ours) = (names(aliases), names(alarms), run_key(10));
    let spec = Spec {
        aliases: &aliases,
        version: "7",
        steps,
        hold: Duration::from_secs(60),
        alarms: &alarms,
        ours: &ours,
        poll: POLL,
    };
    run(fake, &spec).await
}

#[tokio::test]
async fn a_canary_routes_its_share_then_moves_the_alias_with_no_routing() {
    let fake = Fake::new(&[("live", "6", OLD)], &["errors"]);
    let s = shift(&fake, &["live"], &[25], &["errors"]).await.unwrap();
    assert_eq!(fake.writes(), ["live 6 +7@0.25", "live 7"]);
    let live = fake.alias("live");
    assert_eq!((live.version.as_str(), live.weight), ("7", None));
    assert_eq!(
        live.description.as_deref(),
        Some("lambda-deploy: moved by run 10")
    );
    assert!(s.completed);
    let weights: Vec<u8> = s.timeline.iter().map(|t| t.weight).collect();
    assert_eq!(weights, [25, 100]);
    assert_eq!(s.timeline[0].at, "08:00:00");
    assert_eq!(s.timeline[1].at, "08:01:00");
    assert_eq!(
        s.timeline[0].alarms,
        [("errors".to_string(), "OK".to_string())]
    );
}

#[tokio::test]
async fn the_alarms_are_read_at_least_every_five_seconds_during_a_step() {
    let fake = Fake::new(&[("live", "6", OLD)], &["errors"]);
    shift(&fake, &["live"], &[10, 20], &["errors"])
        .await
        .unwrap();
    let reads = fake.world().reads.clone();
    assert!(reads.len() >= 2 * 60 / 5, "{reads:?}");
    for pair in reads.windows(2) {
        assert!(pair[1] - pair[0] <= POLL, "{reads:?}");
    }
}

#[tokio::test]
async fn a_linear_shift_holds_each_weight_in_turn() {
    let fake = Fake::new(&[("live", "6", OLD), ("v1", "6", OLD)], &[]);
    let s = shift(&fake, &["live", "v1"], &[30, 60, 90], &[])
        .await
        .unwrap();
    assert_eq!(
        fake.writes(),
        [
            "live 6 +7@0.3",
            "v1 6 +7@0.3",
            "live 6 +7@0.6",
            "v1 6 +7@0.6",
            "live 6 +7@0.9",
            "v1 6 +7@0.9",
            "live 7",
            "v1 7"
        ]
    );
    let at: Vec<&str> = s.timeline.iter().map(|t| t.at.as_str()).collect();
    assert_eq!(at, ["08:00:00", "08:01:00", "08:02:00", "08:03:00"]);
}

#[tokio::test]
async fn an_alarm_already_firing_stops_the_run_before_any_traffic_moves() {
    let fake =
        Fake::new(&[("live", "6", OLD)], &["errors"]).at(0, Event::Fires("errors", "5 errors"));
    fake.world().happen();
    let e = shift(&fake, &["live"], &[25], &["errors"])
        .await
        .unwrap_err();
    assert!(matches!(e, ShiftError::FiringBefore { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("'errors' (AWS/Lambda/Errors)") && msg.contains("5 errors"),
        "{msg}"
    );
    assert!(fake.writes().is_empty());
    assert_eq!(fake.alias("live").version, "6");
}

#[tokio::test]
async fn a_missing_alarm_stops_the_run_before_any_traffic_moves() {
    let fake = Fake::new(&[("live", "6", OLD)], &["errors"]);
    let e = shift(&fake, &["live"], &[25], &["errors", "latency"])
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no CloudWatch alarm named 'latency'"),
        "{e}"
    );
    assert!(fake.writes().is_empty());
}

#[tokio::test]
async fn an_alarm_mid_shift_sends_all_traffic_back_and_names_the_alarm() {
    let fake = Fake::new(&[("live", "6", OLD)], &["errors"]).at(
        22,
        Event::Fires("errors", "Threshold Crossed: 3 datapoints > 1"),
    );
    let e = shift(&fake, &["live"], &[25, 50], &["errors"])
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ShiftError::Fired { weight: 25, .. }), "{msg}");
    assert!(msg.contains("alarm 'errors' (AWS/Lambda/Errors)"), "{msg}");
    assert!(msg.contains("Threshold Crossed: 3 datapoints > 1"), "{msg}");
    assert!(msg.contains("alias 'live' is back on version 6"), "{msg}");
    // Seen at the first read after it fired (22 s), not at the end of the step.
    assert_eq!(*fake.world().reads.last().unwrap(), Duration::from_secs(25));
    assert_eq!(fake.writes(), ["live 6 +7@0.25", "live 6"]);
    let live = fake.alias("live");
    assert_eq!((live.version.as_str(), live.weight), ("6", None));
    assert_eq!(live.description.as_deref(), Some(OLD));
}

#[tokio::test]
async fn a_cancelled_shift_leaves_an_undo_that_sends_the_traffic_back() {
    let fake =
        Fake::new(&[("live", "6", OLD), ("v1", "6", OLD)], &["errors"]).at(30, Event::Cancel);
    let e = shift(&fake, &["live", "v1"], &[25, 50], &["errors"])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert_eq!(fake.alias("live").weight, Some(("7".into(), 0.25)));
    let said = fake.undo().await;
    assert_eq!(
        said,
        "alias 'live' is back on version 6; alias 'v1' is back on version 6"
    );
    for name in ["live", "v1"] {
        let a = fake.alias(name);
        assert_eq!((a.version.as_str(), a.weight), ("6", None), "{name}");
    }
}

#[tokio::test]
async fn a_newer_run_mid_shift_wins_and_this_run_stops_without_failing() {
    let fake = Fake::new(&[("live", "6", OLD), ("v1", "6", OLD)], &[])
        .at(30, Event::NewerRun("live", 20, "8"));
    let s = shift(&fake, &["live", "v1"], &[25, 50], &[]).await.unwrap();
    assert!(!s.completed);
    assert_eq!(s.overtaken.len(), 1);
    assert_eq!(s.overtaken[0].name, "live");
    assert!(
        s.overtaken[0].warning().contains("run 20"),
        "{}",
        s.overtaken[0].warning()
    );
    let live = fake.alias("live");
    assert_eq!(
        (live.version.as_str(), live.weight),
        ("8", None),
        "the newer run's alias is untouched"
    );
    let v1 = fake.alias("v1");
    assert_eq!(
        (v1.version.as_str(), v1.weight),
        ("6", None),
        "this run's routing is removed"
    );
    assert!(!fake.writes().iter().any(|w| w.starts_with("live 7")));
}

#[tokio::test]
async fn routing_left_by_a_run_that_died_is_cleared_and_said() {
    let dead = "lambda-deploy: moved by run 3, shifting from version 6";
    let newer = "lambda-deploy: moved by run 30, shifting from version 6";
    let fake = Fake::new(
        &[("live", "6", dead), ("v1", "6", newer), ("v2", "6", OLD)],
        &[],
    );
    for name in ["live", "v1", "v2"] {
        fake.world().aliases.get_mut(name).unwrap().weight = Some(("7".into(), 0.25));
    }
    let said = clear_leftovers(&fake, &names(&["live", "v1", "v2"]), &run_key(10))
        .await
        .unwrap();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("alias 'live' still routed 25% to version 7"),
        "{}",
        said[0]
    );
    let live = fake.alias("live");
    assert_eq!((live.version.as_str(), live.weight), ("6", None));
    assert_eq!(
        live.description.as_deref(),
        Some("lambda-deploy: moved by run 3")
    );
    assert!(
        fake.alias("v1").weight.is_some(),
        "a newer run's shift is left alone"
    );
    assert!(
        fake.alias("v2").weight.is_some(),
        "routing lambda-deploy did not set is left alone"
    );
}

#[test]
fn the_shift_mark_survives_in_the_order_key_and_is_read_back() {
    let d = shifting_description(&run_key(42), "6");
    assert_eq!(d, "lambda-deploy: moved by run 42, shifting from version 6");
    assert_eq!(OrderKey::from_alias_description(&d), Some(run_key(42)));
    assert_eq!(shifting_from(Some(&d)), Some("6"));
    assert_eq!(shifting_from(Some(OLD)), None);
}
