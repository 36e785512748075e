//! [`SeededRng`]: reproducible randomness for simulations and soak tests.

/// SplitMix64: a seeded, reproducible random source for simulations and soak tests,
/// so a seed replays a run.
///
/// ```
/// use workspace_lifecycle::testkit::SeededRng;
/// let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
/// assert_eq!(a.below(1000), b.below(1000));
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator whose sequence is fixed by `seed`.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
    /// let draws = |rng: &mut SeededRng| [rng.next_u64(), rng.next_u64(), rng.next_u64()];
    /// assert_eq!(draws(&mut a), draws(&mut b));
    /// ```
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let mut rng = SeededRng::new(7);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// assert_ne!(SeededRng::new(1).next_u64(), SeededRng::new(2).next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::config::splitmix64(self.0.wrapping_sub(0x9E37_79B9_7F4A_7C15))
    }

    /// A number in `0..n` (0 when `n` is 0).
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let mut rng = SeededRng::new(7);
    /// assert!((0..1000).all(|_| rng.below(6) < 6));
    /// assert_eq!(rng.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// True `percent` times in 100.
    ///
    /// ```
    /// use workspace_lifecycle::testkit::SeededRng;
    ///
    /// let mut rng = SeededRng::new(7);
    /// assert!((0..1000).all(|_| !rng.chance(0) && rng.chance(100)));
    /// ```
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
