//! Likelihood cost per trial: value, value + gradient, value + gradient + Hessian, and central
//! finite differences of the value for comparison, for T ∈ {1e2, 1e3, 1e4, 1e5} trials and
//! 2 and 4 actions (RW + softmax, K = 2). Throughput is set to T elements, so criterion's
//! "elem/s" is trials per second; ns per trial = 1e9 / that.
//!
//! Run: `cargo bench --bench likelihood`. The speed bars compare the three analytic passes
//! on the same data in the same run (ratios), not absolute times on different machines.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array1, Array2, arr1};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::prelude::*;
use rlgrad::testing::fd::{self, FdOptions};
use std::hint::black_box;

fn subject(model: &Model<RescorlaWagner, Softmax>, n_actions: usize, trials: usize) -> Subject {
    let theta = model
        .layout()
        .theta_from_natural(&[("alpha", 0.3), ("beta", 4.0)])
        .unwrap();
    let probs: Vec<f64> = (0..n_actions)
        .map(|j| 0.2 + 0.6 * j as f64 / (n_actions - 1) as f64)
        .collect();
    let mut env = Bandit::new(probs).unwrap().with_reversals(100).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let session = model
        .simulate(theta.view(), &mut env, trials, "1", &mut rng)
        .unwrap();
    Subject::new("bench", vec![session]).unwrap()
}

fn bench(c: &mut Criterion) {
    for n_actions in [2usize, 4] {
        let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, n_actions).unwrap();
        let mut group = c.benchmark_group(format!("likelihood_{n_actions}_actions"));
        for trials in [100usize, 1_000, 10_000, 100_000] {
            let subj = subject(&model, n_actions, trials);
            let lik = model.likelihood(&subj).unwrap();
            let theta = arr1(&[-0.5, 1.2]);
            group.throughput(Throughput::Elements(trials as u64));
            group.bench_with_input(BenchmarkId::new("value", trials), &trials, |b, _| {
                b.iter(|| black_box(lik.value(black_box(theta.view())).unwrap()))
            });
            let mut g = Array1::zeros(2);
            group.bench_with_input(BenchmarkId::new("value_grad", trials), &trials, |b, _| {
                b.iter(|| {
                    black_box(
                        lik.value_and_grad(black_box(theta.view()), g.view_mut())
                            .unwrap(),
                    )
                })
            });
            let mut h = Array2::zeros((2, 2));
            group.bench_with_input(
                BenchmarkId::new("value_grad_hessian", trials),
                &trials,
                |b, _| {
                    b.iter(|| {
                        black_box(
                            lik.value_grad_hessian(
                                black_box(theta.view()),
                                g.view_mut(),
                                h.view_mut(),
                            )
                            .unwrap(),
                        )
                    })
                },
            );
            let plain = FdOptions {
                step: 1e-6,
                richardson: false,
            };
            group.bench_with_input(
                BenchmarkId::new("central_differences", trials),
                &trials,
                |b, _| {
                    b.iter(|| {
                        black_box(fd::gradient(&lik, black_box(theta.view()), &plain).unwrap())
                    })
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
