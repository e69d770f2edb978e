//! Simulated subjects for fitting: Rescorla–Wagner + softmax on a two-armed reversal bandit.
//!
//! Also compiled into `benches/fit.rs` (with `#[path]`), hence the allow of its own.
#![allow(dead_code)]

use ndarray::ArrayView1;
use rand::Rng;
use rlgrad::prelude::*;

/// Subject `s{i}`: one session "1" of `trials` trials that `model` simulates at θ on a bandit
/// whose arms pay 1 with probability 0.8 and 0.2 and swap every `reversal` trials.
pub fn reversal_subject<R: Rng + ?Sized>(
    model: &Model<RescorlaWagner, Softmax>,
    theta: ArrayView1<f64>,
    reversal: usize,
    trials: usize,
    i: usize,
    rng: &mut R,
) -> Subject {
    let mut env = Bandit::new(vec![0.8, 0.2])
        .unwrap()
        .with_reversals(reversal)
        .unwrap();
    let s = model.simulate(theta, &mut env, trials, "1", rng).unwrap();
    Subject::new(format!("s{i}"), vec![s]).unwrap()
}
