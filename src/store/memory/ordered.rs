//! [`Ordered`]: slot numbers kept sorted by a key read from the slab.
//!
//! The store's ordered indexes (open jobs by workspace, pending jobs by `run_at`, ...)
//! hold 4-byte slot numbers rather than keys: a `BTreeSet<(DateTime<Utc>, JobId)>`
//! costs about 50 bytes per entry (28-byte keys in nodes about half full under the
//! mostly ascending inserts the scheduler makes), these blocks about 4 to 6.

use std::ops::Bound;

/// The most slots one block holds. Large enough that the blocks' own vector stays
/// short (and cheap to insert into), small enough that an insert into a block moves
/// at most 2 KiB.
const BLOCK: usize = 512;

/// Slot numbers sorted by `key(slot)`, in blocks of at most [`BLOCK`].
///
/// Every method takes the key function, which reads the slab. Callers remove a slot
/// before changing anything its key is read from and insert it again after, so the
/// key of every slot held is the one it was inserted with. The key function returns
/// `None` only for a vacant slot, which no index holds; `None` sorts first, so even
/// then the order stays total.
#[derive(Debug)]
pub(super) struct Ordered<K> {
    blocks: Vec<Block<K>>,
    len: usize,
}

#[derive(Debug)]
struct Block<K> {
    /// The key of `slots[0]`, so a search picks its block without reading the slab.
    first: Option<K>,
    /// Never empty: a block that loses its last slot is dropped.
    slots: Vec<u32>,
}

impl<K> Default for Ordered<K> {
    fn default() -> Self {
        Ordered {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Copy> Ordered<K> {
    /// How many slots are held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Adds `slot`, which must not be held yet.
    pub(super) fn insert(&mut self, slot: u32, key: impl Fn(u32) -> Option<K>) {
        let k = key(slot);
        self.len += 1;
        // The last block starting at or below `k`, or the first block when `k` sorts
        // before every key.
        let b = self
            .blocks
            .partition_point(|block| block.first <= k)
            .saturating_sub(1);
        let last = b + 1 == self.blocks.len();
        let Some(block) = self.blocks.get_mut(b) else {
            self.blocks.push(Block {
                first: k,
                slots: vec![slot],
            });
            return;
        };
        let at = block.slots.partition_point(|&s| key(s) <= k);
        if block.slots.len() < BLOCK {
            grow(&mut block.slots);
            block.slots.insert(at, slot);
            if at == 0 {
                block.first = k;
            }
            return;
        }
        // A full block splits before the insert, so no block outgrows BLOCK. Keys
        // mostly arrive ascending (workspace ids page by page, run_at times near
        // now): an insert into the back half of the last block splits where it lands,
        // which leaves the block before it full rather than half empty.
        let cut = if last && at >= BLOCK / 2 {
            at
        } else {
            BLOCK / 2
        };
        let mut right = block.slots.split_off(cut);
        if at < cut {
            block.slots.insert(at, slot);
            if at == 0 {
                block.first = k;
            }
        } else {
            grow(&mut right);
            right.insert(at - cut, slot);
        }
        // `right` holds the new slot or the slots from `cut`, which is below BLOCK.
        let first = right.first().and_then(|&s| key(s));
        self.blocks.insert(
            b + 1,
            Block {
                first,
                slots: right,
            },
        );
    }

    /// Removes `slot`; false if it was not held.
    pub(super) fn remove(&mut self, slot: u32, key: impl Fn(u32) -> Option<K>) -> bool {
        let k = key(slot);
        let (mut b, mut at) = self.seek(|x| *x < k, &key);
        // Keys are unique in every index the store keeps; should two be equal, the
        // slot is among the run of them.
        loop {
            let Some(block) = self.blocks.get(b) else {
                return false;
            };
            match block.slots.get(at) {
                None => (b, at) = (b + 1, 0),
                Some(&s) if s == slot => break,
                Some(&s) if key(s) == k => at += 1,
                Some(_) => return false,
            }
        }
        let Some(block) = self.blocks.get_mut(b) else {
            return false;
        };
        block.slots.remove(at);
        self.len -= 1;
        match block.slots.first() {
            None => {
                self.blocks.remove(b);
                return true;
            }
            Some(&s) if at == 0 => block.first = key(s),
            Some(_) => {}
        }
        if block.slots.len() < block.slots.capacity() / 4 {
            block.slots.shrink_to(block.slots.capacity() / 2);
        }
        if block.slots.len() < BLOCK / 4 {
            self.merge(b);
        }
        true
    }

    /// Joins block `b` with a neighbour when the two fit in three quarters of a block,
    /// so that removals cannot leave many nearly empty blocks behind.
    fn merge(&mut self, b: usize) {
        let fits = |i: usize, j: usize| match (self.blocks.get(i), self.blocks.get(j)) {
            (Some(x), Some(y)) => x.slots.len() + y.slots.len() <= BLOCK * 3 / 4,
            _ => false,
        };
        let left = match b.checked_sub(1) {
            Some(a) if fits(a, b) => a,
            _ if fits(b, b + 1) => b,
            _ => return,
        };
        // `fits` found both blocks, so `left + 1` exists.
        let right = self.blocks.remove(left + 1);
        if let Some(block) = self.blocks.get_mut(left) {
            block.slots.reserve_exact(right.slots.len());
            block.slots.extend(right.slots);
        }
    }

    /// The slots whose keys lie within `(lower, upper)`, in key order.
    pub(super) fn range<'a>(
        &'a self,
        lower: Bound<K>,
        upper: Bound<K>,
        key: impl Fn(u32) -> Option<K> + 'a,
    ) -> impl Iterator<Item = u32> + 'a {
        let below = |x: &Option<K>| match lower {
            Bound::Included(l) => *x < Some(l),
            Bound::Excluded(l) => *x <= Some(l),
            Bound::Unbounded => false,
        };
        let (b, at) = self.seek(below, &key);
        let within = move |x: Option<K>| match upper {
            Bound::Included(u) => x <= Some(u),
            Bound::Excluded(u) => x < Some(u),
            Bound::Unbounded => true,
        };
        self.blocks
            .get(b..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(i, block)| {
                let from = if i == 0 { at } else { 0 };
                block.slots.get(from..).unwrap_or_default().iter().copied()
            })
            .take_while(move |&s| matches!(upper, Bound::Unbounded) || within(key(s)))
    }

    /// The slot with key `k`, if one is held.
    pub(super) fn get(&self, k: K, key: impl Fn(u32) -> Option<K>) -> Option<u32> {
        self.range(Bound::Included(k), Bound::Included(k), key)
            .next()
    }

    /// The position (block, index in block) of the first slot whose key is not
    /// `below`, which must hold for a prefix of the order. Past the end if none.
    fn seek(
        &self,
        below: impl Fn(&Option<K>) -> bool,
        key: &impl Fn(u32) -> Option<K>,
    ) -> (usize, usize) {
        let b = self.blocks.partition_point(|block| below(&block.first));
        // Blocks before `b` start below: the first slot not below is in the last of
        // them, or else it starts block `b`.
        let Some(block) = b.checked_sub(1).and_then(|a| self.blocks.get(a)) else {
            return (b, 0);
        };
        let at = block.slots.partition_point(|&s| below(&key(s)));
        if at < block.slots.len() {
            (b - 1, at)
        } else {
            (b, 0)
        }
    }
}

/// Makes room for one more slot, doubling the capacity as a `Vec` would but never past
/// [`BLOCK`], so a full block holds no spare capacity.
fn grow(slots: &mut Vec<u32>) {
    if slots.len() == slots.capacity() {
        let more = slots.len().max(4).min(BLOCK.saturating_sub(slots.len()));
        slots.reserve_exact(more.max(1));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::ops::RangeBounds;

    use proptest::prelude::*;

    use super::*;

    /// Slot `s` has key `keys[s]`, as the slab gives it.
    fn keyed(keys: &[u16]) -> impl Fn(u32) -> Option<(u16, u32)> + '_ {
        move |s| keys.get(s as usize).map(|&k| (k, s))
    }

    proptest! {
        #[test]
        fn behaves_as_a_btreeset(
            keys in proptest::collection::vec(0u16..300, 1..3000),
            ops in proptest::collection::vec((any::<bool>(), any::<prop::sample::Index>()), 0..6000),
            bounds in (0u16..300, 0u16..300),
        ) {
            let key = keyed(&keys);
            let mut ordered = Ordered::default();
            let mut model = BTreeSet::new();
            for (add, index) in ops {
                let s = index.index(keys.len()) as u32;
                let k = (keys[s as usize], s);
                if add && !model.contains(&k) {
                    ordered.insert(s, &key);
                    model.insert(k);
                } else {
                    prop_assert_eq!(ordered.remove(s, &key), model.remove(&k));
                }
                prop_assert_eq!(ordered.len(), model.len());
            }
            let all: Vec<u32> = ordered.range(Bound::Unbounded, Bound::Unbounded, &key).collect();
            prop_assert_eq!(all, model.iter().map(|&(_, s)| s).collect::<Vec<_>>());
            let (lo, hi) = ((bounds.0, 0), (bounds.1, u32::MAX));
            for (lower, upper) in [
                (Bound::Included(lo), Bound::Included(hi)),
                (Bound::Excluded(lo), Bound::Excluded(hi)),
                (Bound::Excluded(lo), Bound::Unbounded),
                (Bound::Unbounded, Bound::Included(hi)),
            ] {
                let got: Vec<u32> = ordered.range(lower, upper, &key).collect();
                let want: Vec<u32> = model
                    .iter()
                    .filter(|&&k| (lower, upper).contains(&k))
                    .map(|&(_, s)| s)
                    .collect();
                prop_assert_eq!(got, want);
            }
            for block in &ordered.blocks {
                prop_assert!(!block.slots.is_empty() && block.slots.capacity() <= BLOCK);
                prop_assert_eq!(block.first, key(block.slots[0]));
            }
        }
    }

    #[test]
    fn ascending_inserts_fill_their_blocks() {
        let keys: Vec<u16> = (0..20_000u32).map(|i| (i / 7) as u16).collect();
        let key = keyed(&keys);
        let mut ordered = Ordered::default();
        for s in 0..keys.len() as u32 {
            ordered.insert(s, &key);
        }
        let held: usize = ordered.blocks.iter().map(|b| b.slots.capacity()).sum();
        assert!(held <= keys.len() + 2 * BLOCK, "{held} slots of capacity");
        // Draining from the front frees every block.
        for s in 0..keys.len() as u32 {
            assert!(ordered.remove(s, &key));
        }
        assert!(ordered.blocks.is_empty() && ordered.len() == 0);
    }
}
