//! Running many calls with at most N of them in flight, on the current task.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Runs every future, at most `limit` at a time, and returns their results in the order
/// given. Futures are polled on the calling task, so they need not be `Send`.
pub async fn bounded<F: Future>(futures: Vec<F>, limit: usize) -> Vec<F::Output> {
    bounded_until(futures, limit, |_| false).await
}

/// As [`bounded`], but stops as soon as `enough` says so of a result: the futures still
/// running are dropped, those not started never start, and the results so far are
/// returned in the order given.
pub async fn bounded_until<F: Future>(
    futures: Vec<F>,
    limit: usize,
    mut enough: impl FnMut(&F::Output) -> bool,
) -> Vec<F::Output> {
    let limit = limit.max(1);
    let total = futures.len();
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    let mut results: Vec<Option<F::Output>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit {
                match waiting.next() {
                    Some((i, f)) => running.push((i, Box::pin(f))),
                    None => break,
                }
            }
            let mut progressed = false;
            let mut k = 0;
            while k < running.len() {
                if let Poll::Ready(out) = running[k].1.as_mut().poll(cx) {
                    let (i, _) = running.swap_remove(k);
                    let stop = enough(&out);
                    results[i] = Some(out);
                    done += 1;
                    progressed = true;
                    if stop {
                        running.clear();
                        return Poll::Ready(());
                    }
                } else {
                    k += 1;
                }
            }
            if done == total {
                return Poll::Ready(());
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_the_limit_runs_at_once_and_order_is_kept() {
        let now = Cell::new(0usize);
        let most = Cell::new(0usize);
        let calls: Vec<_> = (0..40)
            .map(|i| {
                let (now, most) = (&now, &most);
                async move {
                    now.set(now.get() + 1);
                    most.set(most.get().max(now.get()));
                    tokio::time::sleep(Duration::from_millis(1 + (i % 3))).await;
                    now.set(now.get() - 1);
                    i
                }
            })
            .collect();
        let out = bounded(calls, 6).await;
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert_eq!(most.get(), 6);
        assert!(
            bounded(Vec::<std::future::Ready<u8>>::new(), 3)
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn enough_stops_the_rest_and_keeps_what_finished() {
        let started = Cell::new(0usize);
        let calls: Vec<_> = (0..40u64)
            .map(|i| {
                let started = &started;
                async move {
                    started.set(started.get() + 1);
                    tokio::time::sleep(Duration::from_millis(1 + i % 3)).await;
                    i
                }
            })
            .collect();
        let out = bounded_until(calls, 4, |i| *i == 9).await;
        assert!(out.contains(&9), "{out:?}");
        assert!(out.windows(2).all(|w| w[0] < w[1]), "in order: {out:?}");
        assert!(out.len() < 40 && started.get() < 40, "{out:?}");
        assert!(started.get() <= 9 + 4, "started {}", started.get());
    }
}
