//! REINFORCE fixtures.
//!
//! Also compiled into `benches/reinforce.rs` (with `#[path]`), hence the allow of its own.
#![allow(dead_code)]

use rlgrad::estimator::Baseline;

/// Every baseline the estimator offers, in the order of `Baseline`'s variants, with the given
/// constant for `Constant` and decay for `RunningAverage`.
pub fn every_baseline(constant: f64, decay: f64) -> [Baseline; 6] {
    [
        Baseline::None,
        Baseline::Constant(constant),
        Baseline::LeaveOneOut,
        Baseline::BatchMean,
        Baseline::OptimalLeaveOneOut,
        Baseline::RunningAverage { decay },
    ]
}
