//! Task models' and pieces' likelihood cost per trial beside RW + softmax, measured in one run:
//! value, value + gradient and value + gradient + Hessian of one simulated subject of 10 000
//! trials per model (two-step hybrid, go/no-go m4, Kalman smep on 4 arms, RW + choice kernel,
//! RW + softmax with a lapse).
//! Throughput is trials, so criterion's "elem/s" is trials per second (ns per trial =
//! 1e9 / that). A two-step trial is two choices (two rows).
//!
//! Run: `cargo bench --bench tasks`. Compare ratios within one run (the machine is shared).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::fit::{FitModel, Simulate, TaskSimulator};
use rlgrad::observation::Lapse;
use rlgrad::prelude::*;
use rlgrad::task::{GoNoGo, KalmanBandit, RwChoiceKernel, TaskModel, TwoStep};
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
    let rw_subject = Subject::new("bench", vec![session]).unwrap();
    let lik = rw.likelihood(&rw_subject).unwrap();
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

    let (sim, subject, theta) = task_subject(
        GoNoGo::m4().unwrap(),
        &[
            ("xi", 0.05),
            ("epsilon", 0.2),
            ("b", 0.5),
            ("pi", 1.0),
            ("rho_rew", 4.0),
            ("rho_pun", 4.0),
        ],
    );
    let lik = sim.likelihood(&subject).unwrap();
    time(c, "go_nogo_m4", &*lik, &theta);

    let (sim, subject, theta) = task_subject(
        KalmanBandit::smep(4).unwrap(),
        &[("beta", 0.2), ("phi", 1.0), ("kappa", 2.0)],
    );
    let lik = sim.likelihood(&subject).unwrap();
    time(c, "kalman_smep_4_arms", &*lik, &theta);

    let kernel = RwChoiceKernel::new(1, 2)
        .unwrap()
        .with_task(
            Bandit::new(vec![0.8, 0.2])
                .unwrap()
                .with_reversals(100)
                .unwrap(),
        )
        .unwrap();
    let (sim, subject, theta) = task_subject(
        kernel,
        &[
            ("alpha", 0.3),
            ("beta", 4.0),
            ("alpha_c", 0.3),
            ("beta_c", 1.0),
        ],
    );
    let lik = sim.likelihood(&subject).unwrap();
    time(c, "rw_choice_kernel", &*lik, &theta);

    // The lapse around the hand-written softmax, on the RW reference's data.
    let lapse = Model::new(RescorlaWagner::new(), Lapse::new(Softmax::new()), 1, 2).unwrap();
    let theta = lapse
        .layout()
        .theta_from_natural(&[("alpha", 0.3), ("beta", 4.0), ("lapse", 0.05)])
        .unwrap();
    let lik = lapse.likelihood(&rw_subject).unwrap();
    time(c, "rw_softmax_lapse", &lik, &theta);
}

criterion_group!(benches, bench);
criterion_main!(benches);
