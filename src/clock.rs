//! Time: the [`Clock`] every decision reads "now" from, [`SystemClock`] for production
//! and [`FakeClock`] for tests.
//!
//! The engine never reads the system time or sleeps on tokio's timer directly. With a
//! `FakeClock`, time moves only when a test moves it, so every behaviour that depends on
//! deadlines, leases, retries or timeouts runs deterministically and instantly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};

/// A source of "now" and a way to sleep until an instant.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use workspace_lifecycle::{Clock, FakeClock, SystemClock};
///
/// // Code that reads time only through a `Clock` runs on the wall clock in production and
/// // on a clock the test moves.
/// fn is_due(clock: &impl Clock, deadline: DateTime<Utc>) -> bool {
///     clock.now() >= deadline
/// }
/// let deadline = "2026-01-05T18:00:00Z".parse().unwrap();
/// assert!(is_due(&FakeClock::new(deadline), deadline));
/// assert!(!is_due(&FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap()), deadline));
/// assert!(is_due(&SystemClock::new(), "2000-01-01T00:00:00Z".parse().unwrap()));
/// ```
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    ///
    /// ```
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// let at = "2026-01-05T08:00:00Z".parse().unwrap();
    /// assert_eq!(FakeClock::new(at).now(), at);
    /// ```
    fn now(&self) -> DateTime<Utc>;

    /// Returns once [`now`](Clock::now) has reached `deadline` (at once if it has).
    /// Dropping the future cancels the sleep.
    ///
    /// ```
    /// use workspace_lifecycle::{Clock, SystemClock};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = SystemClock::new();
    /// let deadline = clock.now() + chrono::TimeDelta::milliseconds(20);
    /// clock.sleep_until(deadline).await;
    /// assert!(clock.now() >= deadline);
    /// clock.sleep_until(deadline).await; // already reached: returns at once
    /// # });
    /// ```
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

/// Adds a duration to an instant, saturating at chrono's largest instant instead of
/// overflowing: a far-future deadline stays far in the future.
pub(crate) fn add(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Subtracts a duration from an instant, saturating at chrono's smallest instant.
pub(crate) fn sub(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| at.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The wall clock, sleeping on tokio's timer in bounded steps.
///
/// A sleep re-reads the wall clock at least every [`max_step`](SystemClock::max_step),
/// so a wall-clock jump (NTP correction, a suspended VM resuming) delays a sleeper by at
/// most one step instead of stranding it for the length of the jump.
///
/// ```
/// use workspace_lifecycle::{Clock, SystemClock};
///
/// let before = chrono::Utc::now();
/// let clock = SystemClock::new();
/// assert!(clock.now() >= before);
/// assert_eq!(clock.max_step(), SystemClock::DEFAULT_MAX_STEP);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    max_step: Duration,
    /// Where the wall time is read: `Utc::now` except in the jump test.
    wall: fn() -> DateTime<Utc>,
}

impl SystemClock {
    /// The default step: one second.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::SystemClock;
    ///
    /// assert_eq!(SystemClock::DEFAULT_MAX_STEP, Duration::from_secs(1));
    /// assert_eq!(SystemClock::default().max_step(), SystemClock::DEFAULT_MAX_STEP);
    /// ```
    pub const DEFAULT_MAX_STEP: Duration = Duration::from_secs(1);

    /// A system clock with the default step.
    ///
    /// ```
    /// use workspace_lifecycle::SystemClock;
    ///
    /// assert_eq!(SystemClock::new().max_step(), SystemClock::DEFAULT_MAX_STEP);
    /// ```
    pub fn new() -> Self {
        Self::with_max_step(Self::DEFAULT_MAX_STEP)
    }

    /// A system clock that re-reads the wall clock at least every `max_step`
    /// (at least one millisecond).
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::SystemClock;
    ///
    /// let clock = SystemClock::with_max_step(Duration::from_millis(100));
    /// assert_eq!(clock.max_step(), Duration::from_millis(100));
    /// assert_eq!(SystemClock::with_max_step(Duration::ZERO).max_step(), Duration::from_millis(1));
    /// ```
    pub fn with_max_step(max_step: Duration) -> Self {
        SystemClock {
            max_step: max_step.max(Duration::from_millis(1)),
            wall: Utc::now,
        }
    }

    /// The longest single sleep before the wall clock is read again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::SystemClock;
    ///
    /// let clock = SystemClock::with_max_step(Duration::from_secs(5));
    /// assert_eq!(clock.max_step(), Duration::from_secs(5));
    /// ```
    pub fn max_step(&self) -> Duration {
        self.max_step
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        (self.wall)()
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        loop {
            let left = match (deadline - self.now()).to_std() {
                Ok(left) if !left.is_zero() => left,
                // Negative or zero: the deadline has passed.
                _ => return,
            };
            tokio::time::sleep(left.min(self.max_step)).await;
        }
    }
}

/// A clock that moves only when told.
///
/// - [`advance`](FakeClock::advance) and [`set`](FakeClock::set) move it and wake every
///   sleeper whose deadline has been reached, in deadline order (ties in the order they
///   went to sleep).
/// - [`sleepers`](FakeClock::sleepers) and
///   [`wait_for_sleepers`](FakeClock::wait_for_sleepers) let a test wait until the code
///   under test is asleep before it moves time, so no test sleeps for real.
/// - [`next_deadline`](FakeClock::next_deadline) tells when the earliest sleeper wakes,
///   so a test can step from timer to timer.
///
/// Clones share one time.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::{Clock, FakeClock};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// let deadline = clock.now() + chrono::TimeDelta::minutes(5);
/// let sleeper = tokio::spawn({
///     let clock = clock.clone();
///     async move { clock.sleep_until(deadline).await; clock.now() }
/// });
/// clock.wait_for_sleepers(1).await;
/// assert_eq!(clock.next_deadline(), Some(deadline));
/// clock.advance(Duration::from_secs(300));
/// assert_eq!(sleeper.await.unwrap(), deadline);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct FakeClock {
    inner: Arc<FakeInner>,
}

#[derive(Debug)]
struct FakeInner {
    state: Mutex<FakeState>,
    /// The number of sleepers, published so `wait_for_sleepers` can await a change
    /// without polling.
    count: watch::Sender<usize>,
}

#[derive(Debug)]
struct FakeState {
    now: DateTime<Utc>,
    /// Sleepers by (deadline, arrival): the BTreeMap order is the wake order.
    sleepers: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>,
    next_seq: u64,
}

impl FakeClock {
    /// A clock standing at `now`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// let at = "2026-01-05T08:00:00Z".parse().unwrap();
    /// let clock = FakeClock::new(at);
    /// assert_eq!(clock.now(), at);
    /// let clone = clock.clone();
    /// clock.advance(Duration::from_secs(60));
    /// assert_eq!(clone.now(), at + chrono::TimeDelta::seconds(60)); // clones share one time
    /// ```
    pub fn new(now: DateTime<Utc>) -> Self {
        FakeClock {
            inner: Arc::new(FakeInner {
                state: Mutex::new(FakeState {
                    now,
                    sleepers: BTreeMap::new(),
                    next_seq: 0,
                }),
                count: watch::Sender::new(0),
            }),
        }
    }

    /// The clock's time: the same as [`Clock::now`], callable without the trait in
    /// scope.
    ///
    /// ```
    /// use workspace_lifecycle::FakeClock;
    ///
    /// let at = "2026-01-05T08:00:00Z".parse().unwrap();
    /// assert_eq!(FakeClock::new(at).now(), at);
    /// ```
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.state.lock().now
    }

    /// Moves time forward by `by` (saturating at chrono's limit) and wakes the sleepers
    /// now due, earliest deadline first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use chrono::{DateTime, Utc};
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// let at: DateTime<Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// let clock = FakeClock::new(at);
    /// clock.advance(Duration::from_secs(3600));
    /// assert_eq!(clock.now(), at + chrono::TimeDelta::hours(1));
    /// clock.advance(Duration::MAX);
    /// assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut state = self.inner.state.lock();
        state.now = add(state.now, by);
        self.wake_due(&mut state);
    }

    /// Sets the time to `now` (backwards too: sleepers then simply wait longer) and
    /// wakes the sleepers now due, earliest deadline first.
    ///
    /// ```
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let deadline = "2026-01-05T09:00:00Z".parse().unwrap();
    /// let sleeper = tokio::spawn({
    ///     let clock = clock.clone();
    ///     async move { clock.sleep_until(deadline).await }
    /// });
    /// clock.wait_for_sleepers(1).await;
    /// clock.set("2026-01-05T07:00:00Z".parse().unwrap()); // backwards: still asleep
    /// assert_eq!(clock.sleepers(), 1);
    /// clock.set(deadline);
    /// sleeper.await.unwrap();
    /// assert_eq!(clock.sleepers(), 0);
    /// # });
    /// ```
    pub fn set(&self, now: DateTime<Utc>) {
        let mut state = self.inner.state.lock();
        state.now = now;
        self.wake_due(&mut state);
    }

    /// How many tasks are asleep on this clock.
    ///
    /// ```
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let deadline = clock.now() + chrono::TimeDelta::minutes(1);
    /// let sleeper = tokio::spawn({
    ///     let clock = clock.clone();
    ///     async move { clock.sleep_until(deadline).await }
    /// });
    /// clock.wait_for_sleepers(1).await;
    /// assert_eq!(clock.sleepers(), 1);
    /// sleeper.abort(); // a dropped sleep leaves the count
    /// let _ = sleeper.await;
    /// assert_eq!(clock.sleepers(), 0);
    /// # });
    /// ```
    pub fn sleepers(&self) -> usize {
        self.inner.state.lock().sleepers.len()
    }

    /// The earliest deadline anyone sleeps until.
    ///
    /// ```
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// assert_eq!(clock.next_deadline(), None);
    /// let early = clock.now() + chrono::TimeDelta::minutes(1);
    /// let late = clock.now() + chrono::TimeDelta::hours(1);
    /// for deadline in [late, early] {
    ///     let clock = clock.clone();
    ///     tokio::spawn(async move { clock.sleep_until(deadline).await });
    /// }
    /// clock.wait_for_sleepers(2).await;
    /// assert_eq!(clock.next_deadline(), Some(early));
    /// clock.set(early);
    /// assert_eq!(clock.next_deadline(), Some(late));
    /// # });
    /// ```
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.inner
            .state
            .lock()
            .sleepers
            .keys()
            .next()
            .map(|(at, _)| *at)
    }

    /// Waits until at least `n` tasks are asleep on this clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{Clock, FakeClock};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let task = tokio::spawn({
    ///     let clock = clock.clone();
    ///     async move {
    ///         clock.sleep_until(clock.now() + chrono::TimeDelta::seconds(30)).await;
    ///         "woke"
    ///     }
    /// });
    /// // Moving time before the task sleeps would leave it waiting for the next move.
    /// clock.wait_for_sleepers(1).await;
    /// clock.advance(Duration::from_secs(30));
    /// assert_eq!(task.await.unwrap(), "woke");
    /// # });
    /// ```
    pub async fn wait_for_sleepers(&self, n: usize) {
        let mut rx = self.inner.count.subscribe();
        // `wait_for` only fails if the sender is dropped, and `self` holds it.
        let _ = rx.wait_for(|count| *count >= n).await;
    }

    fn wake_due(&self, state: &mut FakeState) {
        while let Some(entry) = state.sleepers.first_entry() {
            if entry.key().0 > state.now {
                break;
            }
            // A send fails only if the sleeper was dropped meanwhile; nothing to wake.
            let _ = entry.remove().send(());
        }
        self.publish(state);
    }

    fn publish(&self, state: &FakeState) {
        self.inner.count.send_replace(state.sleepers.len());
    }
}

/// Removes a sleeper that is dropped before it is woken.
struct SleeperGuard<'a> {
    clock: &'a FakeClock,
    key: (DateTime<Utc>, u64),
}

impl Drop for SleeperGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.clock.inner.state.lock();
        if state.sleepers.remove(&self.key).is_some() {
            self.clock.publish(&state);
        }
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        FakeClock::now(self)
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        let (key, rx) = {
            let mut state = self.inner.state.lock();
            if deadline <= state.now {
                return;
            }
            let key = (deadline, state.next_seq);
            state.next_seq += 1;
            let (tx, rx) = oneshot::channel();
            state.sleepers.insert(key, tx);
            self.publish(&state);
            (key, rx)
        };
        let _guard = SleeperGuard { clock: self, key };
        // The sender lives in the map until it fires; the guard removes it only after
        // this await ends, so the receiver never sees a dropped sender while waiting.
        let _ = rx.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-03-01T00:00:00Z".parse().unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn sleepers_wake_in_deadline_order() {
        rt().block_on(async {
            let clock = FakeClock::new(t0());
            let order = Arc::new(Mutex::new(Vec::new()));
            let mut handles = Vec::new();
            for secs in [30u64, 10, 20] {
                let clock = clock.clone();
                let order = order.clone();
                handles.push(tokio::spawn(async move {
                    clock
                        .sleep_until(add(t0(), Duration::from_secs(secs)))
                        .await;
                    order.lock().push(secs);
                }));
            }
            clock.wait_for_sleepers(3).await;
            assert_eq!(
                clock.next_deadline(),
                Some(add(t0(), Duration::from_secs(10)))
            );
            clock.advance(Duration::from_secs(15));
            clock.wait_for_sleepers(2).await;
            tokio::task::yield_now().await;
            assert_eq!(*order.lock(), vec![10]);
            clock.advance(Duration::from_secs(100));
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(*order.lock(), vec![10, 20, 30]);
            assert_eq!(clock.sleepers(), 0);
        });
    }

    #[test]
    fn past_deadline_returns_at_once_and_dropped_sleepers_leave() {
        rt().block_on(async {
            let clock = FakeClock::new(t0());
            clock.sleep_until(t0()).await;
            let far = add(t0(), Duration::from_secs(3600));
            let sleeper = {
                let clock = clock.clone();
                tokio::spawn(async move { clock.sleep_until(far).await })
            };
            clock.wait_for_sleepers(1).await;
            sleeper.abort();
            let _ = sleeper.await;
            assert_eq!(clock.sleepers(), 0);
            assert_eq!(clock.next_deadline(), None);
        });
    }

    #[test]
    fn set_backwards_does_not_wake() {
        rt().block_on(async {
            let clock = FakeClock::new(t0());
            let deadline = add(t0(), Duration::from_secs(60));
            let sleeper = {
                let clock = clock.clone();
                tokio::spawn(async move { clock.sleep_until(deadline).await })
            };
            clock.wait_for_sleepers(1).await;
            clock.set(t0() - TimeDelta::hours(1));
            tokio::task::yield_now().await;
            assert_eq!(clock.sleepers(), 1);
            clock.set(deadline);
            sleeper.await.unwrap();
        });
    }

    #[test]
    fn add_saturates() {
        assert_eq!(
            add(DateTime::<Utc>::MAX_UTC, Duration::from_secs(1)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(add(t0(), Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }

    static JUMP_SECS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

    fn jumping_wall() -> DateTime<Utc> {
        Utc::now() + TimeDelta::seconds(JUMP_SECS.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[test]
    fn system_clock_sleeper_survives_wall_clock_jump() {
        rt().block_on(async {
            let clock = SystemClock {
                max_step: Duration::from_millis(10),
                wall: jumping_wall,
            };
            // A sleeper one hour out; the wall clock then jumps two hours ahead. Without
            // bounded steps it would sleep on for the full hour of monotonic time.
            let deadline = clock.now() + TimeDelta::hours(1);
            let sleeper = tokio::spawn(async move { clock.sleep_until(deadline).await });
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert!(!sleeper.is_finished());
            JUMP_SECS.store(7200, std::sync::atomic::Ordering::SeqCst);
            // Generous guard against a hang; the sleeper returns within one step.
            tokio::time::timeout(Duration::from_secs(30), sleeper)
                .await
                .expect("sleeper stranded after a wall-clock jump")
                .unwrap();
        });
    }

    #[test]
    fn system_clock_sleeps_in_steps_until_deadline() {
        rt().block_on(async {
            let clock = SystemClock::with_max_step(Duration::from_millis(5));
            let deadline = Utc::now() + TimeDelta::milliseconds(30);
            clock.sleep_until(deadline).await;
            assert!(Utc::now() >= deadline);
            assert_eq!(clock.max_step(), Duration::from_millis(5));
            assert_eq!(
                SystemClock::with_max_step(Duration::ZERO).max_step(),
                Duration::from_millis(1)
            );
        });
    }
}
