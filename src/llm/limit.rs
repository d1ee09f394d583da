//! The cap on requests in flight. A request holds a permit only while it is on the wire: a
//! retry takes a fresh permit for its own attempt and none while it sleeps in backoff, and a
//! call cancelled while queueing for a permit never sends.

use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// At most `max` requests in flight across every task sharing this limit.
#[derive(Debug, Clone)]
pub struct InFlightLimit {
    permits: Arc<Semaphore>,
}

impl InFlightLimit {
    pub fn new(max: usize) -> Self {
        InFlightLimit {
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Waits for a permit, then drives `request` to completion holding it. Returns `None`
    /// when `cancel` fires first — before the permit (nothing sent) or mid-request (the
    /// request is dropped, its connection closed).
    pub async fn run<T>(
        &self,
        cancel: &CancellationToken,
        request: impl Future<Output = T>,
    ) -> Option<T> {
        // `biased`: a cancellation that is already due wins over a permit that is free, so
        // a cancelled call never starts a request.
        let _permit = tokio::select! {
            biased;
            () = cancel.cancelled() => return None,
            permit = self.permits.acquire() => permit.ok()?,
        };
        tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            answer = request => Some(answer),
        }
    }

    /// Permits free right now.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_are_in_flight() {
        let limit = InFlightLimit::new(3);
        let cancel = CancellationToken::new();
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let sent = AtomicUsize::new(0);
        let (in_flight_ref, peak_ref, sent_ref) = (&in_flight, &peak, &sent);
        let calls = (0..20).map(|i| {
            let (in_flight, peak, sent) = (in_flight_ref, peak_ref, sent_ref);
            limit.run(&cancel, async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10 + i % 7)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            })
        });
        futures_util::future::join_all(calls).await;
        assert_eq!(sent.load(Ordering::SeqCst), 20);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(limit.available(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_cancelled_while_waiting_for_a_permit_never_sends() {
        let limit = InFlightLimit::new(1);
        let busy = CancellationToken::new();
        let cancel = CancellationToken::new();
        let sent = AtomicUsize::new(0);
        let holder = limit.run(&busy, tokio::time::sleep(Duration::from_secs(10)));
        let waiter = limit.run(&cancel, async {
            sent.fetch_add(1, Ordering::SeqCst);
        });
        let canceller = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cancel.cancel();
        };
        let (held, waited, ()) = tokio::join!(holder, waiter, canceller);
        assert_eq!(held, Some(()));
        assert_eq!(waited, None);
        assert_eq!(sent.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_already_cancelled_call_never_starts() {
        let limit = InFlightLimit::new(1);
        let cancel = CancellationToken::new();
        cancel.cancel();
        let sent = AtomicUsize::new(0);
        let answer = limit
            .run(&cancel, async { sent.fetch_add(1, Ordering::SeqCst) })
            .await;
        assert_eq!(answer, None);
        assert_eq!(sent.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_mid_request_drops_it_at_once_and_frees_the_permit() {
        let limit = InFlightLimit::new(1);
        let cancel = CancellationToken::new();
        let start = tokio::time::Instant::now();
        let request = limit.run(&cancel, tokio::time::sleep(Duration::from_secs(60)));
        let canceller = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cancel.cancel();
        };
        let (answer, ()) = tokio::join!(request, canceller);
        assert_eq!(answer, None);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert_eq!(limit.available(), 1);
    }
}
