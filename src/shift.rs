//! Gradual rollouts (`traffic-shift`): after the smoke test, every stable alias the run
//! moves keeps serving its version and routes a share of the requests to the new one
//! through Lambda's weighted alias routing; step by step the share grows, then the alias
//! points at the new version with no routing.
//!
//! - The `alarms` are read before the first step (one already in `ALARM` stops the run,
//!   nothing shifted) and at least every [`POLL`] during it; one in `ALARM` sends all the
//!   traffic back to the old version and fails the run, naming the alarm.
//! - A cancelled run (SIGTERM/SIGINT) sends the traffic back before it exits: the shift
//!   registers that as an undo action of [`crate::cancel`].
//! - Every routed alias records the shift in its description (see [`shifting_description`]),
//!   so a later run that finds routing a run left behind when it died clears it first, and
//!   says so ([`clear_leftovers`]).
//! - Each step reads every alias again: when a newer deploy moved it ([`crate::order`]),
//!   this run stops shifting, sends back what is still its own, and yields, as
//!   [`crate::race`] does for plain moves.
//!
//! The rules run against the [`Traffic`] trait (alias routing, alarm reads, a clock), so
//! they are unit-tested with an in-memory fake; [`live::Live`] is the real one.

mod live;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::aws::AwsError;
use crate::aws::ErrorKind;
use crate::aws::routing::RoutedAlias;
use crate::domain::shift::Alarm;
use crate::order::{OrderKey, Verdict, verdict};
use crate::race::{ALIAS_TRIES, Held};

pub use crate::domain::outcome::{Shifted, Step};
pub(crate) use live::{Rollout, before_moves};

/// Longest time between two reads of the alarms during a shift.
pub(crate) const POLL: Duration = Duration::from_secs(5);
/// What an alias description carries while a shift routes the alias.
const MARK: &str = ", shifting from version ";

/// What lambda-deploy needs from Lambda, CloudWatch and the clock to shift traffic.
pub trait Traffic {
    /// What keeps the undo action registered; dropping it forgets the action.
    type Guard;
    fn read(
        &self,
        alias: &str,
    ) -> impl Future<Output = Result<Option<RoutedAlias>, AwsError>> + Send;
    fn route(
        &self,
        alias: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// The run that last moved `current` (see [`crate::race::mover`]).
    fn mover(
        &self,
        name: &str,
        current: &RoutedAlias,
    ) -> impl Future<Output = Result<OrderKey, AwsError>> + Send;
    fn alarms(&self, names: &[String])
    -> impl Future<Output = Result<Vec<Alarm>, AwsError>> + Send;
    fn now(&self) -> SystemTime;
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
    /// Registers sending `back` back ([`rollback`]) for when the run is cancelled.
    fn on_cancel(&self, back: Vec<Back>, ours: OrderKey) -> Self::Guard;
}

/// An alias as it was before the shift: where the traffic goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Back {
    pub alias: String,
    pub version: String,
    pub description: Option<String>,
}

/// Why a shift failed; each says what became of the traffic.
#[derive(Debug, thiserror::Error)]
pub enum ShiftError {
    #[error(
        "alarms: no CloudWatch alarm named {names} in this account and region; no traffic was shifted: check the names in alarms"
    )]
    MissingAlarms { names: String },
    #[error(
        "alarm '{}' ({}) is in ALARM before the traffic shift started: {}; no traffic was shifted and the aliases keep serving their version: fix what the alarm reports, or wait until it is OK, then run again",
        .alarm.name, .alarm.metric, .alarm.reason
    )]
    FiringBefore { alarm: Alarm },
    #[error(
        "alarm '{}' ({}) went into ALARM at {weight}% on version {version}: {}; all traffic was sent back to the old version ({back}); timeline: {timeline}",
        .alarm.name, .alarm.metric, .alarm.reason
    )]
    Fired {
        alarm: Alarm,
        weight: u8,
        version: String,
        back: String,
        timeline: Timeline,
    },
    #[error(
        "{error}; the traffic shift stopped and all traffic was sent back to the old version ({back})"
    )]
    Interrupted { error: AwsError, back: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// A timeline, one line: `10:00:00 25% (errors OK), 10:05:00 100% (…)`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Timeline(pub Vec<Step>);

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{} {}%", s.at, s.weight)?;
            if !s.alarms.is_empty() {
                let states: Vec<String> =
                    s.alarms.iter().map(|(n, st)| format!("{n} {st}")).collect();
                write!(f, " ({})", states.join(", "))?;
            }
        }
        Ok(())
    }
}

/// What to shift.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// The aliases that serve another published version now.
    pub aliases: &'a [String],
    pub version: &'a str,
    /// The weights held in turn (percent), each for `hold`.
    pub steps: &'a [u8],
    pub hold: Duration,
    pub alarms: &'a [String],
    pub ours: &'a OrderKey,
    pub poll: Duration,
}

/// The description of an alias this run routes while it shifts from version `from`.
pub(crate) fn shifting_description(ours: &OrderKey, from: &str) -> String {
    let full = format!("{}{MARK}{from}", ours.alias_description());
    if full.len() <= 256 {
        return full;
    }
    let short = OrderKey {
        release: None,
        run_id: ours.run_id,
    };
    format!("{}{MARK}{from}", short.alias_description())
}

/// The version a shift recorded in `description` started from, when it is one.
fn shifting_from(description: Option<&str>) -> Option<&str> {
    description?.rsplit_once(MARK).map(|(_, v)| v)
}

/// `HH:MM:SS` of `t`, in UTC.
fn time_of_day(t: SystemTime) -> String {
    let s = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Whether a newer deploy than this run moved `current` last.
async fn newer<T: Traffic>(
    t: &T,
    name: &str,
    current: &RoutedAlias,
    ours: &OrderKey,
) -> Result<Option<Held>, AwsError> {
    let theirs = t.mover(name, current).await?;
    Ok(match verdict(ours, &theirs) {
        Verdict::Older(why) => Some(Held {
            name: name.to_string(),
            serving: current.version.clone(),
            why,
        }),
        Verdict::Move => None,
    })
}

/// Removes routing that a shift left on `names` when its run died (recorded in the alias
/// description), unless a newer deploy owns the alias: all its traffic goes back to the
/// version it serves. Returns a warning per alias cleared.
pub(crate) async fn clear_leftovers<T: Traffic>(
    t: &T,
    names: &[String],
    ours: &OrderKey,
) -> Result<Vec<String>, AwsError> {
    let mut said = Vec::new();
    for name in names {
        let Some(a) = t.read(name).await? else {
            continue;
        };
        let (Some((to, w)), Some(desc)) = (&a.weight, a.description.as_deref()) else {
            continue;
        };
        if shifting_from(Some(desc)).is_none() || newer(t, name, &a, ours).await?.is_some() {
            continue;
        }
        let kept = desc.rsplit_once(MARK).map_or(desc, |(d, _)| d);
        t.route(name, &a.version, None, kept, a.revision_id.as_deref())
            .await?;
        let warning = format!(
            "alias '{name}' still routed {:.0}% to version {to} from a traffic shift that did not finish (its run stopped); the routing was removed, so all of its traffic is on version {} again",
            w * 100.0,
            a.version
        );
        tracing::warn!("{warning}");
        said.push(warning);
    }
    Ok(said)
}

/// Sends each alias of `back` that this run still routes back to its old version, with
/// no routing and its old description; leaves aliases a newer deploy moved. Says what it
/// did, one clause per alias.
pub async fn rollback<T: Traffic>(t: &T, back: &[Back], ours: &OrderKey) -> String {
    let mut said = Vec::new();
    for b in back {
        let done = async {
            let Some(a) = t.read(&b.alias).await? else {
                return Ok(format!("alias '{}' is gone", b.alias));
            };
            if shifting_from(a.description.as_deref()).is_none() {
                return Ok(format!("alias '{}' was not shifting", b.alias));
            }
            if let Some(h) = newer(t, &b.alias, &a, ours).await? {
                return Ok(format!(
                    "alias '{}' left to a newer deploy: {}",
                    b.alias, h.why
                ));
            }
            let desc = b.description.clone().unwrap_or_default();
            t.route(&b.alias, &b.version, None, &desc, a.revision_id.as_deref())
                .await?;
            Ok::<_, AwsError>(format!(
                "alias '{}' is back on version {}",
                b.alias, b.version
            ))
        };
        said.push(match done.await {
            Ok(s) => s,
            Err(e) => format!("alias '{}' could not be sent back: {e}", b.alias),
        });
    }
    said.join("; ")
}

/// Reads the alarms; fails when one is missing.
async fn read_alarms<T: Traffic>(t: &T, names: &[String]) -> Result<Vec<Alarm>, ShiftError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let found = t.alarms(names).await?;
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !found.iter().any(|a| &a.name == *n))
        .map(|n| format!("'{n}'"))
        .collect();
    if !missing.is_empty() {
        return Err(ShiftError::MissingAlarms {
            names: missing.join(", "),
        });
    }
    Ok(found)
}

fn states(alarms: &[Alarm]) -> Vec<(String, String)> {
    alarms
        .iter()
        .map(|a| (a.name.clone(), a.state.clone()))
        .collect()
}

/// Shifts the aliases of `spec` to its version, as the module docs say.
pub async fn run<T: Traffic>(t: &T, spec: &Spec<'_>) -> Result<Shifted, ShiftError> {
    let before = read_alarms(t, spec.alarms).await?;
    if let Some(a) = before.iter().find(|a| a.firing()) {
        return Err(ShiftError::FiringBefore { alarm: a.clone() });
    }
    let mut back = Vec::new();
    for name in spec.aliases {
        // Only an alias on another published version has two versions to route between.
        if let Some(a) = t.read(name).await?
            && a.version != spec.version
            && a.version.parse::<u64>().is_ok()
        {
            back.push(Back {
                alias: name.clone(),
                version: a.version,
                description: a.description,
            });
        }
    }
    let _undo = t.on_cancel(back.clone(), spec.ours.clone());
    let mut shifted = Shifted {
        shift: String::new(),
        aliases: back.iter().map(|b| b.alias.clone()).collect(),
        from: back.iter().map(|b| b.version.clone()).collect(),
        to: spec.version.to_string(),
        timeline: Vec::new(),
        completed: false,
        overtaken: Vec::new(),
    };
    match steps(t, spec, &back, &mut shifted).await {
        Ok(()) => Ok(shifted),
        Err(ShiftError::Aws(error)) => {
            let back = rollback(t, &back, spec.ours).await;
            Err(ShiftError::Interrupted { error, back })
        }
        Err(e) => Err(e),
    }
}

/// Every step, then the final move; stops early when a newer deploy took an alias.
async fn steps<T: Traffic>(
    t: &T,
    spec: &Spec<'_>,
    back: &[Back],
    shifted: &mut Shifted,
) -> Result<(), ShiftError> {
    let weights = spec.steps.iter().map(|w| Some(*w)).chain([None]);
    for weight in weights {
        let overtaken = write_step(t, spec, back, weight).await?;
        if !overtaken.is_empty() {
            for h in &overtaken {
                tracing::warn!("{}; this run stops its traffic shift", h.warning());
            }
            let said = rollback(t, back, spec.ours).await;
            tracing::warn!("traffic shift stopped: {said}");
            shifted.overtaken = overtaken;
            return Ok(());
        }
        let alarms = read_alarms(t, spec.alarms).await?;
        let percent = weight.unwrap_or(100);
        tracing::info!(weight = percent, version = spec.version, "traffic shifted");
        shifted.timeline.push(Step {
            at: time_of_day(t.now()),
            weight: percent,
            alarms: states(&alarms),
        });
        let Some(weight) = weight else {
            shifted.completed = true;
            return Ok(());
        };
        if let Some(a) = alarms.iter().find(|a| a.firing()) {
            return Err(fired(t, spec, back, a, weight, shifted).await);
        }
        hold(t, spec, back, weight, shifted).await?;
    }
    Ok(())
}

/// Waits out one step, reading the alarms at least every `spec.poll`.
async fn hold<T: Traffic>(
    t: &T,
    spec: &Spec<'_>,
    back: &[Back],
    weight: u8,
    shifted: &Shifted,
) -> Result<(), ShiftError> {
    let end = t.now() + spec.hold;
    while let Ok(left) = end.duration_since(t.now()) {
        if left.is_zero() {
            break;
        }
        t.sleep(left.min(spec.poll)).await;
        let alarms = read_alarms(t, spec.alarms).await?;
        if let Some(a) = alarms.iter().find(|a| a.firing()) {
            return Err(fired(t, spec, back, a, weight, shifted).await);
        }
    }
    Ok(())
}

/// Sends the traffic back after `alarm` fired; the error to fail the run with.
async fn fired<T: Traffic>(
    t: &T,
    spec: &Spec<'_>,
    back: &[Back],
    alarm: &Alarm,
    weight: u8,
    shifted: &Shifted,
) -> ShiftError {
    tracing::error!(alarm = %alarm.name, metric = %alarm.metric, reason = %alarm.reason, "alarm in ALARM during the traffic shift; sending all traffic back");
    let back = rollback(t, back, spec.ours).await;
    ShiftError::Fired {
        alarm: alarm.clone(),
        weight,
        version: spec.version.to_string(),
        back,
        timeline: Timeline(shifted.timeline.clone()),
    }
}

/// Routes every alias to `weight` percent on the new version (`None`: all of it, no
/// routing). Returns the aliases a newer deploy moved meanwhile (then nothing more is
/// written).
async fn write_step<T: Traffic>(
    t: &T,
    spec: &Spec<'_>,
    back: &[Back],
    weight: Option<u8>,
) -> Result<Vec<Held>, AwsError> {
    let mut overtaken = Vec::new();
    for b in back {
        let mut tries = 0;
        loop {
            tries += 1;
            let Some(a) = t.read(&b.alias).await? else {
                break;
            };
            if let Some(h) = newer(t, &b.alias, &a, spec.ours).await? {
                overtaken.push(h);
                break;
            }
            let rev = a.revision_id.as_deref();
            let written = match weight {
                Some(w) => {
                    let desc = shifting_description(spec.ours, &b.version);
                    let share = Some((spec.version, f64::from(w) / 100.0));
                    t.route(&b.alias, &b.version, share, &desc, rev).await
                }
                None => {
                    let desc = spec.ours.alias_description();
                    t.route(&b.alias, spec.version, None, &desc, rev).await
                }
            };
            match written {
                Ok(()) => break,
                Err(e) if e.kind == ErrorKind::PreconditionFailed && tries < ALIAS_TRIES => {
                    tracing::warn!(alias = %b.alias, error = %e, "the alias changed during the traffic shift; reading it again");
                }
                Err(e) => return Err(e),
            }
        }
        if !overtaken.is_empty() {
            break;
        }
    }
    Ok(overtaken)
}
