//! [`Ids`]: the slot of each job, by job id.
//!
//! An open-addressing table of 4-byte slot numbers: the id it is looked up by is read
//! from the slab, not stored. At 1,000,000 jobs it takes 8 MiB where a
//! `HashMap<JobId, u32>` takes 42 (2^21 buckets of 20 bytes and a control byte).

use crate::config::splitmix64;
use crate::job::JobId;

/// A bucket holding no slot. The slab never hands out this slot number.
const EMPTY: u32 = u32::MAX;

/// Slot numbers by the id read from the slab, with linear probing.
///
/// `buckets.len()` is zero or a power of two, and at most seven eighths of the buckets
/// are full, so every probe meets an empty bucket. Every method takes `id_of`, the id
/// of the job in a slot (`None` for a vacant slot, which the table never holds).
#[derive(Debug, Default)]
pub(super) struct Ids {
    buckets: Vec<u32>,
    len: usize,
}

/// The job ids this store draws are already uniformly random; the mixing is for ids
/// looked up from elsewhere, so that they spread too.
fn hash(id: Option<JobId>) -> usize {
    let (hi, lo) = id.map_or((0, 0), |id| id.0.as_u64_pair());
    // Truncation to usize keeps the low bits, which are the ones the mask uses.
    splitmix64(hi ^ lo.rotate_left(32)) as usize
}

impl Ids {
    /// The slot of the job with id `id`.
    pub(super) fn get(&self, id: JobId, id_of: impl Fn(u32) -> Option<JobId>) -> Option<u32> {
        self.find(id, &id_of).map(|i| self.buckets[i])
    }

    /// Records that the job with id `id`, not yet in the table, is in `slot`.
    pub(super) fn insert(&mut self, id: JobId, slot: u32, id_of: impl Fn(u32) -> Option<JobId>) {
        if (self.len + 1) * 8 > self.buckets.len() * 7 {
            let size = (self.buckets.len() * 2).max(16);
            let old = std::mem::replace(&mut self.buckets, vec![EMPTY; size]);
            for s in old.into_iter().filter(|&s| s != EMPTY) {
                self.place(hash(id_of(s)), s);
            }
        }
        self.place(hash(Some(id)), slot);
        self.len += 1;
    }

    /// Forgets the job with id `id`; its slot, if it was in the table.
    pub(super) fn remove(
        &mut self,
        id: JobId,
        id_of: impl Fn(u32) -> Option<JobId>,
    ) -> Option<u32> {
        let mut hole = self.find(id, &id_of)?;
        let slot = self.buckets[hole];
        self.len -= 1;
        // Backward-shift deletion: move up each later entry of the run that may sit
        // in the hole (its home bucket is not cyclically within (hole, j]), so no
        // probe ever stops early at the hole.
        let mask = self.buckets.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.buckets[j];
            if s == EMPTY {
                break;
            }
            let home = hash(id_of(s)) & mask;
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.buckets[hole] = s;
                hole = j;
            }
        }
        self.buckets[hole] = EMPTY;
        Some(slot)
    }

    /// The bucket holding the job with id `id`.
    fn find(&self, id: JobId, id_of: &impl Fn(u32) -> Option<JobId>) -> Option<usize> {
        let mask = self.buckets.len().checked_sub(1)?;
        let mut i = hash(Some(id)) & mask;
        loop {
            let s = self.buckets[i];
            if s == EMPTY {
                return None;
            }
            if id_of(s) == Some(id) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Puts `slot` in the first empty bucket from `hash`'s home; there is room.
    fn place(&mut self, hash: usize, slot: u32) {
        let mask = self.buckets.len() - 1;
        let mut i = hash & mask;
        while self.buckets[i] != EMPTY {
            i = (i + 1) & mask;
        }
        self.buckets[i] = slot;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;

    proptest! {
        #[test]
        fn behaves_as_a_hashmap(ops in proptest::collection::vec((any::<bool>(), 0u32..400), 0..4000)) {
            // Slot `s` holds job `ids[s]`; small ids collide in the low bits often.
            let ids: Vec<JobId> = (0..400u128).map(|i| JobId(Uuid::from_u128(i * 97 % 1024))).collect();
            let id_of = |s: u32| ids.get(s as usize).copied();
            let mut table = Ids::default();
            let mut model = HashMap::new();
            for (add, s) in ops {
                let id = ids[s as usize];
                if add && !model.contains_key(&id) {
                    table.insert(id, s, id_of);
                    model.insert(id, s);
                } else {
                    prop_assert_eq!(table.remove(id, id_of), model.remove(&id));
                }
                prop_assert_eq!(table.len, model.len());
            }
            for &id in &ids {
                prop_assert_eq!(table.get(id, id_of), model.get(&id).copied());
            }
        }
    }
}
