//! Simulated subjects for fitting: Rescorla–Wagner + softmax on a two-armed reversal bandit.
//!
//! Also compiled into `benches/fit.rs` and `benches/population.rs` (with `#[path]`), hence
//! the allow of its own.
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

/// The benches' cohort: 100 subjects × 200 trials (reversal every 50), α spread over
/// [0.1, 0.8] and β over [1, 10], seeded.
pub fn bench_cohort(model: &Model<RescorlaWagner, Softmax>) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let subjects = (0..100)
        .map(|i| {
            let alpha = 0.1 + 0.7 * (i as f64 / 99.0);
            let beta = 1.0 + 9.0 * ((i * 37 % 100) as f64 / 99.0);
            let theta = model
                .layout()
                .theta_from_natural(&[("alpha", alpha), ("beta", beta)])
                .unwrap();
            reversal_subject(model, theta.view(), 50, 200, i, &mut rng)
        })
        .collect();
    Dataset::new(subjects).unwrap()
}
