//! [`Stamp`]: what a recording buffer holds, so that running baselines fold each buffer in
//! once however many estimates and surrogates are taken from it.

use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies what a recording buffer ([`Batch`], [`Episodes`]) holds: a process-unique id
/// for the buffer (a clone gets a new one) and a generation bumped by every change of its
/// contents. Two equal stamps mean the same, unchanged data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    id: u64,
    generation: u64,
}

impl Stamp {
    /// A stamp for a new buffer.
    pub(crate) fn fresh() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Stamp {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: 0,
        }
    }

    /// The contents changed.
    #[inline]
    pub(crate) fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}
