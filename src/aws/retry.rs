//! How hard lambda-deploy tries: the SDK's standard retry mode (exponential backoff with
//! full jitter) for throttling, 5xx answers, dropped connections and slow answers, bounded
//! by a number of attempts and a per-attempt timeout; and the one retry the SDK does not
//! do, after a `ResourceConflictException` ("an update is in progress"), which needs a
//! wait for the running update first.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use super::{AwsError, ErrorKind};
use crate::backoff::Backoff;

/// Attempts per call when `AWS_MAX_ATTEMPTS` is not set.
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Seconds one attempt may take (an upload included) when `LAMBDA_DEPLOY_ATTEMPT_TIMEOUT`
/// is not set.
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: u64 = 120;
/// First backoff; each retry doubles it (with full jitter) up to [`MAX_BACKOFF`].
pub(crate) const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Longest single backoff.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Times a write is tried again after a `ResourceConflictException`, each after a wait.
pub(crate) const CONFLICT_RETRIES: u32 = 3;

/// The bounds every AWS call runs within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Attempts per call, the first included (`AWS_MAX_ATTEMPTS`, 1 to 20).
    pub max_attempts: u32,
    /// Longest one attempt may take (`LAMBDA_DEPLOY_ATTEMPT_TIMEOUT`, seconds).
    pub attempt_timeout: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            attempt_timeout: Duration::from_secs(DEFAULT_ATTEMPT_TIMEOUT),
        }
    }
}

impl Bounds {
    /// Reads `AWS_MAX_ATTEMPTS` (the SDKs' standard variable) and
    /// `LAMBDA_DEPLOY_ATTEMPT_TIMEOUT`; values out of range fall back to the defaults.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let num = |k: &str| var(k).and_then(|v| v.trim().parse::<u64>().ok());
        Self {
            max_attempts: num("AWS_MAX_ATTEMPTS")
                .filter(|n| (1..=20).contains(n))
                .map_or(d.max_attempts, |n| n as u32),
            attempt_timeout: num("LAMBDA_DEPLOY_ATTEMPT_TIMEOUT")
                .filter(|n| (1..=3600).contains(n))
                .map_or(d.attempt_timeout, Duration::from_secs),
        }
    }

    /// The SDK's standard retry mode within these bounds.
    pub(crate) fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(INITIAL_BACKOFF)
            .with_max_backoff(MAX_BACKOFF)
    }

    /// Per-attempt and whole-call timeouts: a call ends, retries included, within
    /// `attempts x (attempt timeout + longest backoff)`.
    pub(crate) fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout())
            .build()
    }

    /// The longest one call may take, retries included.
    pub(crate) fn operation_timeout(&self) -> Duration {
        (self.attempt_timeout + MAX_BACKOFF) * self.max_attempts
    }
}

static BOUNDS: OnceLock<Bounds> = OnceLock::new();

/// Records the bounds in force, so final errors can name them.
pub(crate) fn remember(bounds: Bounds) {
    let _ = BOUNDS.set(bounds);
}

/// The bounds in force (the defaults before [`remember`]).
pub fn current() -> Bounds {
    BOUNDS.get().copied().unwrap_or_default()
}

/// The schedule of retries made outside the SDK (the registry client): exponential from
/// [`INITIAL_BACKOFF`], capped at [`MAX_BACKOFF`], with full jitter so concurrent runs do
/// not retry in step.
pub(crate) const RETRIES: Backoff = Backoff::doubling(INITIAL_BACKOFF, MAX_BACKOFF).jittered();

/// The pause before retry number `attempt` (1 for the first retry) of [`RETRIES`].
pub fn backoff(attempt: u32) -> Duration {
    RETRIES.pause(attempt)
}

/// What to do once the retries of a call ran out.
pub(crate) fn exhausted_hint(kind: ErrorKind) -> String {
    let b = current();
    let n = b.max_attempts;
    match kind {
        ErrorKind::Throttled => format!(
            "Lambda was still throttling after {n} attempts with backoff: run again later, or raise AWS_MAX_ATTEMPTS (now {n})"
        ),
        ErrorKind::NoAnswer => format!(
            "no answer within {}s on each of {n} attempts: check the network to AWS, or raise LAMBDA_DEPLOY_ATTEMPT_TIMEOUT (seconds)",
            b.attempt_timeout.as_secs()
        ),
        _ => format!(
            "Lambda answered with a server error or dropped the connection on each of {n} attempts: check the AWS Health Dashboard and run again; the steps before this one are kept and the next run continues from them"
        ),
    }
}

/// Runs `op`; after a `ResourceConflictException` (an update in progress, from another run
/// or the console) runs `wait` (the LastUpdateStatus waiter) and tries again, at most
/// [`CONFLICT_RETRIES`] times. Any other error is returned as it is.
pub(crate) async fn after_conflicts<T, Op, OpFut, Wait, WaitFut>(
    mut op: Op,
    mut wait: Wait,
) -> Result<T, AwsError>
where
    Op: FnMut() -> OpFut,
    OpFut: Future<Output = Result<T, AwsError>>,
    Wait: FnMut() -> WaitFut,
    WaitFut: Future<Output = Result<Option<String>, AwsError>>,
{
    let mut conflicts = 0;
    loop {
        match op().await {
            Err(e) if e.kind == ErrorKind::Conflict && conflicts < CONFLICT_RETRIES => {
                conflicts += 1;
                tracing::warn!(
                    operation = e.operation,
                    attempt = conflicts,
                    "an update is in progress on the function; waiting for it to finish, then trying again"
                );
                wait().await?;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::jitter as jittered;

    /// The longest pause before retry number `attempt`.
    fn backoff_cap(attempt: u32) -> Duration {
        RETRIES.cap(attempt)
    }

    #[test]
    fn bounds_come_from_the_environment_within_range() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Bounds::from_env(env(&[])), Bounds::default());
        let b = Bounds::from_env(env(&[
            ("AWS_MAX_ATTEMPTS", "3"),
            ("LAMBDA_DEPLOY_ATTEMPT_TIMEOUT", "2"),
        ]));
        assert_eq!(b.max_attempts, 3);
        assert_eq!(b.attempt_timeout, Duration::from_secs(2));
        assert_eq!(b.operation_timeout(), Duration::from_secs(66));
        let bad = Bounds::from_env(env(&[
            ("AWS_MAX_ATTEMPTS", "0"),
            ("LAMBDA_DEPLOY_ATTEMPT_TIMEOUT", "soon"),
        ]));
        assert_eq!(bad, Bounds::default());
    }

    fn conflict() -> AwsError {
        AwsError {
            operation: "UpdateFunctionCode",
            resource: "function 'f'".into(),
            kind: ErrorKind::Conflict,
            message: "ResourceConflictException: an update is in progress".into(),
        }
    }

    #[tokio::test]
    async fn conflicts_wait_then_retry_within_the_bound() {
        let (mut calls, mut waits) = (0, 0);
        let out = after_conflicts(
            || {
                calls += 1;
                let n = calls;
                async move { if n < 3 { Err(conflict()) } else { Ok(n) } }
            },
            || {
                waits += 1;
                async { Ok(None) }
            },
        )
        .await;
        assert_eq!(out.ok(), Some(3));
        assert_eq!(waits, 2);

        let mut calls = 0;
        let out: Result<(), _> = after_conflicts(
            || {
                calls += 1;
                async { Err(conflict()) }
            },
            || async { Ok(None) },
        )
        .await;
        assert_eq!(out.map_err(|e| e.kind), Err(ErrorKind::Conflict));
        assert_eq!(calls, 1 + CONFLICT_RETRIES);
    }

    #[test]
    fn backoff_doubles_from_the_initial_pause_up_to_its_cap() {
        let caps: Vec<u64> = (1..=8).map(|a| backoff_cap(a).as_millis() as u64).collect();
        assert_eq!(
            caps,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000]
        );
        assert_eq!(backoff_cap(40), MAX_BACKOFF);
        assert_eq!(backoff_cap(0), INITIAL_BACKOFF);
    }

    #[test]
    fn jitter_spans_the_whole_range_below_the_cap() {
        let cap = Duration::from_millis(4_000);
        assert_eq!(jittered(cap, 0), Duration::ZERO);
        assert_eq!(jittered(cap, 3_999), Duration::from_millis(3_999));
        assert_eq!(jittered(cap, 4_000), Duration::ZERO);
        // Seeds are the sub-second nanoseconds of the clock: across them the pauses cover
        // the range evenly, so a retry waits half its cap on average.
        let picks: Vec<u64> = (0..1_000u32)
            .map(|i| jittered(cap, i * 999_983).as_millis() as u64)
            .collect();
        assert!(picks.iter().all(|&p| p < 4_000));
        let mean = picks.iter().sum::<u64>() / picks.len() as u64;
        assert!((1_600..=2_400).contains(&mean), "mean {mean} ms");
        assert!(picks.iter().any(|&p| p >= 3_600) && picks.iter().any(|&p| p < 400));
    }

    #[test]
    fn backoff_waits_within_the_cap_of_its_attempt() {
        for attempt in 1..30 {
            assert!(backoff(attempt) < backoff_cap(attempt), "attempt {attempt}");
        }
    }
}
