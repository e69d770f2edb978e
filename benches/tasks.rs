//! Task models' likelihood cost per trial beside RW + softmax, measured in one run: value and
//! value + gradient (and the Hessian) of one simulated subject of 10 000 trials per model.
//! Throughput is trials, so criterion's "elem/s" is trials per second (ns per trial =
//! 1e9 / that). A two-step trial is two choices (two rows).
//!
//! Run: `cargo bench --bench tasks`. Compare ratios within one run (the machine is shared).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{FitModel, Simulate, TaskSimulator};
use rlgrad::prelude::*;
use rlgrad::task::{TaskModel, TwoStep};
use std::hint::black_box;

const TRIALS: usize = 10_000;

/// Times value, value + gradient and value + gradient + Hessian of `lik` at θ.
fn time(c: &mut Criterion, name: &str, lik: &dyn Term, theta: &Array1<f64>) {
    let k = theta.len();
    let mut group = c.benchmark_group("task_models");
    group.throughput(Throughput::Elements(TRIALS as u64));
    group.bench_function(BenchmarkId::new("value", name), |b| {
        b.iter(|| black_box(lik.value(black_box(theta.view())).unwrap()))
    });
    let mut g = Array1::zeros(k);
    group.bench_function(BenchmarkId::new("value_grad", name), |b| {
        b.iter(|| {
            black_box(
                lik.value_and_grad(black_box(theta.view()), g.view_mut())
                    .unwrap(),
            )
        })
    });
    let mut h = Array2::zeros((k, k));
    group.bench_function(BenchmarkId::new("value_grad_hessian", name), |b| {
        b.iter(|| {
            black_box(
                lik.value_grad_hessian(black_box(theta.view()), g.view_mut(), h.view_mut())
                    .unwrap(),
            )
        })
    });
    group.finish();
}

/// A task model's subject, simulated at the given natural parameters.
fn task_subject<M: TaskModel>(
    model: M,
    psi: &[(&str, f64)],
) -> (TaskSimulator<M>, Subject, Array1<f64>) {
    let sim = TaskSimulator::new(model, TRIALS).unwrap();
    let theta = sim.layout().theta_from_natural(psi).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let subject = sim
        .simulate_subject(theta.view(), 0, "bench", &mut rng)
        .unwrap();
    (sim, subject, theta)
}

fn bench(c: &mut Criterion) {
    // The reference: RW + softmax on a two-armed reversal bandit.
    let rw = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let theta = rw
        .layout()
        .theta_from_natural(&[("alpha", 0.3), ("beta", 4.0)])
        .unwrap();
    let mut env = Bandit::new(vec![0.8, 0.2])
        .unwrap()
        .with_reversals(100)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let session = rw
        .simulate(theta.view(), &mut env, TRIALS, "1", &mut rng)
        .unwrap();
    let subject = Subject::new("bench", vec![session]).unwrap();
    let lik = rw.likelihood(&subject).unwrap();
    time(c, "rw_softmax", &lik, &theta);

    let (sim, subject, theta) = task_subject(
        TwoStep::hybrid(),
        &[
            ("alpha_1", 0.5),
            ("alpha_2", 0.5),
            ("lambda", 0.6),
            ("w", 0.5),
            ("beta_1", 4.0),
            ("beta_2", 4.0),
            ("kappa", 0.2),
        ],
    );
    let lik = sim.likelihood(&subject).unwrap();
    time(c, "two_step_hybrid", &*lik, &theta);
}

criterion_group!(benches, bench);
criterion_main!(benches);
