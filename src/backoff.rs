//! One backoff schedule for every loop that waits and tries again: the registry client's
//! retries (jittered, so concurrent runs do not retry in step) and the polls of a run
//! waiting for another one (the alias lock, another run's alias moves). The AWS SDK's own
//! retries and waiters follow the same shape through their configuration
//! ([`crate::aws::retry::Bounds`]).
//!
//! The pause before try `n + 1` is `first` doubled `n - 1` times, capped at `max`; with
//! jitter it is a pause from zero up to that cap.

use std::time::Duration;

/// A doubling pause between tries, capped, optionally with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    jitter: bool,
    /// Pauses taken so far.
    taken: u32,
}

impl Backoff {
    /// Pauses of `first`, then twice as long each time, never over `max`.
    pub(crate) const fn doubling(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            jitter: false,
            taken: 0,
        }
    }

    /// The same schedule with full jitter: each pause is picked from zero up to its cap.
    pub(crate) const fn jittered(self) -> Self {
        Self {
            jitter: true,
            ..self
        }
    }

    /// The longest pause before retry number `attempt` (1 for the first retry).
    pub fn cap(&self, attempt: u32) -> Duration {
        self.first
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max)
    }

    /// The pause before retry number `attempt`, jittered when asked, from the clock.
    pub(crate) fn pause(&self, attempt: u32) -> Duration {
        let cap = self.cap(attempt);
        if !self.jitter {
            return cap;
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        jitter(cap, seed)
    }

    /// The next pause of this schedule.
    pub(crate) fn next_pause(&mut self) -> Duration {
        self.taken = self.taken.saturating_add(1);
        self.pause(self.taken)
    }

    /// Whether the next pause ends by `deadline` (for a jittered schedule: its cap).
    pub(crate) fn fits_before(&self, deadline: tokio::time::Instant) -> bool {
        tokio::time::Instant::now() + self.cap(self.taken.saturating_add(1)) <= deadline
    }

    /// Sleeps the next pause.
    pub async fn sleep(&mut self) {
        tokio::time::sleep(self.next_pause()).await;
    }
}

/// Full jitter: a pause from 0 up to (not including) `cap`, picked by `seed`.
pub fn jitter(cap: Duration, seed: u32) -> Duration {
    let millis = cap.as_millis().max(1) as u64;
    Duration::from_millis(u64::from(seed) % millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap() {
        let mut b = Backoff::doubling(Duration::from_millis(100), Duration::from_secs(2));
        let pauses: Vec<u64> = (0..7).map(|_| b.next_pause().as_millis() as u64).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1_600, 2_000, 2_000]);
    }

    #[test]
    fn jittered_pauses_stay_below_their_cap() {
        let b = Backoff::doubling(Duration::from_millis(500), Duration::from_secs(20)).jittered();
        for attempt in 1..30 {
            assert!(b.pause(attempt) < b.cap(attempt), "attempt {attempt}");
        }
    }
}
