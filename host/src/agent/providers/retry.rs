//! Retries: which failures are retried, how long to wait, and the loop that re-sends a
//! request.
//!
//! Retried: HTTP 408, 409, 429, 5xx (529 "overloaded" included), connection errors, the
//! idle-read timeout, streams that end before the message finished, and provider error events
//! that say the service is overloaded. Not retried: other 4xx (bad request, authentication,
//! permission, model not found), invalid tool-call JSON, and the caller dropping the stream.
//!
//! The wait is the server's `retry-after-ms` or `retry-after` (seconds or an HTTP date) when
//! it sends one, otherwise exponential backoff with jitter. Attempts are capped by
//! [`RetryPolicy::max_attempts`] and all waiting together by [`RetryPolicy::max_total_wait`]; a
//! server asking for a longer wait than that ends the request with its error.
//!
//! Partial output: the whole request is sent again. If the failed attempt had already
//! emitted events, [`ModelEvent::Retrying`] says `discard_partial: true` and the consumer
//! drops what it got; the final [`ModelEvent::Finished`] always carries the complete message
//! of the attempt that succeeded.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::sync::mpsc;

use super::ModelError;
use crate::agent::protocol::ModelEvent;

/// How a client retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The first backoff; doubled for each further retry.
    pub initial_backoff: Duration,
    /// The longest single backoff (not applied to a server's `retry-after`).
    pub max_backoff: Duration,
    /// The most time spent waiting between attempts, summed over the request.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_total_wait: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// The wait before the retry that follows failed attempt number `failed` (1-based):
    /// the server's requested wait when given, else backoff with up to 25 % jitter taken off.
    pub fn delay(&self, failed: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d;
        }
        let exp = failed.saturating_sub(1).min(20);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let jitter = random_unit() * 0.25;
        base.mul_f64(1.0 - jitter)
    }
}

/// A number in [0, 1) from the OS random source (0.5 if that fails).
fn random_unit() -> f64 {
    let mut buf = [0u8; 8];
    match getrandom::fill(&mut buf) {
        Ok(()) => (u64::from_le_bytes(buf) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The wait a response asks for: `retry-after-ms` (milliseconds), else `retry-after`
/// (seconds, or an HTTP date). Unparseable or negative values count as absent.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Where one attempt sends its events; remembers whether it sent any.
#[derive(Debug, Clone)]
pub(crate) struct Emitter {
    tx: mpsc::Sender<Result<ModelEvent, ModelError>>,
    emitted: Arc<AtomicBool>,
}

impl Emitter {
    /// Sends one event; `Err(Cancelled)` when the consumer has gone.
    pub(crate) async fn emit(&self, event: ModelEvent) -> Result<(), ModelError> {
        self.emitted.store(true, Ordering::Relaxed);
        self.tx
            .send(Ok(event))
            .await
            .map_err(|_| ModelError::Cancelled)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy says stop, reporting
/// retries as [`ModelEvent::Retrying`] and the final failure as an `Err` item on `tx`.
pub(crate) async fn run_with_retries<F, Fut>(
    policy: &RetryPolicy,
    tx: mpsc::Sender<Result<ModelEvent, ModelError>>,
    mut attempt: F,
) where
    F: FnMut(Emitter) -> Fut,
    Fut: Future<Output = Result<(), ModelError>>,
{
    let mut waited = Duration::ZERO;
    let mut number = 1u32;
    loop {
        let emitter = Emitter {
            tx: tx.clone(),
            emitted: Arc::new(AtomicBool::new(false)),
        };
        let emitted = emitter.emitted.clone();
        // A consumer that drops the stream cancels the attempt at once (the connection
        // closes), not at the next event.
        let result = tokio::select! {
            r = attempt(emitter) => r,
            _ = tx.closed() => return,
        };
        let err = match result {
            Ok(()) | Err(ModelError::Cancelled) => return,
            Err(e) => e,
        };
        if err.is_retryable() && number < policy.max_attempts.max(1) {
            let delay = policy.delay(number, err.retry_after());
            if waited + delay <= policy.max_total_wait {
                tracing::debug!(attempt = number, ?delay, error = %err, "model request retried");
                let event = ModelEvent::Retrying {
                    attempt: number + 1,
                    delay,
                    reason: err.to_string(),
                    discard_partial: emitted.load(Ordering::Relaxed),
                };
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = tx.closed() => return,
                }
                waited += delay;
                number += 1;
                continue;
            }
            let err = note_wait_too_long(err, delay);
            let _ = tx.send(Err(err)).await;
            return;
        }
        let _ = tx.send(Err(err)).await;
        return;
    }
}

/// Adds to an API error that the wait its server asked for is past the retry budget.
fn note_wait_too_long(err: ModelError, delay: Duration) -> ModelError {
    match err {
        ModelError::Api {
            status,
            kind,
            message,
            retry_after: Some(after),
            retryable,
        } => ModelError::Api {
            message: format!(
                "{message}; the server asked to wait {} s, longer than the retry budget: try again later",
                delay.as_secs_f64().ceil()
            ),
            status,
            kind,
            retry_after: Some(after),
            retryable,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after_at(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after_at(&headers(&[("retry-after", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after_at(
                &headers(&[("retry-after-ms", "250"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            retry_after_at(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(
            retry_after_at(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after_at(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(
            retry_after_at(&headers(&[("retry-after", "-4")]), now),
            None
        );
        assert_eq!(retry_after_at(&HeaderMap::new(), now), None);
    }

    #[tokio::test]
    async fn a_wait_past_the_budget_is_not_waited_for() {
        let policy = RetryPolicy {
            max_total_wait: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let (tx, mut rx) = mpsc::channel(8);
        let mut calls = 0;
        run_with_retries(&policy, tx, |_| {
            calls += 1;
            async {
                Err(ModelError::Api {
                    status: Some(429),
                    kind: "rate_limit_error".into(),
                    message: "rate limited".into(),
                    retry_after: Some(Duration::from_secs(3600)),
                    retryable: true,
                })
            }
        })
        .await;
        assert_eq!(calls, 1);
        let Some(Err(e)) = rx.recv().await else {
            panic!("expected the error")
        };
        assert_eq!(
            e.to_string(),
            "rate limited; the server asked to wait 3600 s, longer than the retry budget: try again later"
        );
        assert!(rx.recv().await.is_none());
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_total_wait: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 > Duration::from_millis(74) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3, None);
            assert!(d3 > Duration::from_millis(299) && d3 <= Duration::from_millis(400));
            let d9 = p.delay(9, None);
            assert!(d9 > Duration::from_millis(749) && d9 <= Duration::from_millis(1000));
        }
        // A server's wait is taken as it is, even above the backoff cap.
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
    }
}
