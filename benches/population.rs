//! Population fitting over a cohort of 100 subjects × 200 trials (RW + softmax, two-armed
//! reversal bandit): one EM iteration (an E-step of warm-started MAP fits under the group
//! prior, summed into an `EStep`, and its M-step), and the integrated BIC with 2000 draws
//! from the group prior.
//!
//! Run: `cargo bench --bench population`.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{self, Covariance, EStep, EmOptions};
use rlgrad::prelude::*;
use std::hint::black_box;

#[path = "../tests/common/cohort.rs"]
mod cohort;

use cohort::bench_cohort;

fn bench(c: &mut Criterion) {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let data = bench_cohort(&model);
    // A converged EM gives the group prior and the warm starts of a mid-run iteration.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let em = fit::em(&model, &data, &EmOptions::default(), &mut rng).unwrap();
    let warm: Vec<_> = em
        .fits
        .iter()
        .map(|f| f.fit().map_or_else(|| em.prior.mean(), |m| m.theta.clone()))
        .collect();
    let options = MapOptions {
        n_starts: 1,
        warm_starts: Some(warm),
        ..MapOptions::default()
    };
    let mut group = c.benchmark_group("population_100x200");
    group.sample_size(20);
    group.bench_function("em_iteration", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        b.iter(|| {
            let fits = fit::map(&model, &data, &em.prior, &options, &mut rng).unwrap();
            let mut stats = EStep::new(2);
            for f in &fits {
                stats.add(f).unwrap();
            }
            black_box(stats.m_step(Covariance::Full, 1e-6).unwrap())
        })
    });
    group.bench_function("ibic_2000", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        b.iter(|| {
            black_box(
                fit::ibic(&model, &data, &em.prior, Covariance::Full, 2000, &mut rng)
                    .unwrap()
                    .ibic,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
