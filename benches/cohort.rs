//! The cohort kernel (`RwSoftmaxCohort`, eight subjects per SIMD instruction) beside the
//! scalar path (`TermCohort`: one `Likelihood` per subject) in the same run: RW + softmax,
//! two actions, 100 subjects × 200 trials (the benches' cohort) and 16 subjects × 10 000
//! trials; value + gradient and value alone; the kernel at the level this CPU selects and at
//! the baseline.
//!
//! Throughput is trials × subjects, so criterion's "elem/s" is trial·subjects per second
//! (ns per trial·subject = 1e9 / that). The bars (issue 12): value + gradient ≤ 2.5 ns per
//! trial·subject, and ≥ 4× the scalar path in the same run.
//!
//! Run: `cargo bench --bench cohort` (several times: the machine is shared, compare within
//! one run).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::cohort::{Cohort, RwSoftmaxCohort, SimdLevel, TermCohort};
use rlgrad::prelude::*;
use std::hint::black_box;

#[path = "../tests/common/cohort.rs"]
mod cohort;

use cohort::{bench_cohort, reversal_subject};

/// `n` subjects × `trials` trials on the reversal bandit (α and β spread as in
/// [`bench_cohort`]).
fn long_cohort(model: &Model<RescorlaWagner, Softmax>, n: usize, trials: usize) -> Vec<Subject> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    (0..n)
        .map(|i| {
            let alpha = 0.1 + 0.7 * (i as f64 / (n - 1) as f64);
            let beta = 1.0 + 9.0 * ((i * 37 % n) as f64 / (n - 1) as f64);
            let theta = model
                .layout()
                .theta_from_natural(&[("alpha", alpha), ("beta", beta)])
                .unwrap();
            reversal_subject(model, theta.view(), 50, trials, i, &mut rng)
        })
        .collect()
}

/// Times value + gradient and value alone of `cohort` at `thetas`.
fn time(
    c: &mut Criterion,
    group: &str,
    name: &str,
    cohort: &dyn Cohort,
    thetas: &[f64],
    elems: u64,
) {
    let n = cohort.n_subjects();
    let mut values = vec![0.0; n];
    let mut grads = vec![0.0; 2 * n];
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(elems));
    g.bench_function(BenchmarkId::new("value_grad", name), |b| {
        b.iter(|| {
            cohort
                .values_and_grads(black_box(thetas), &mut values, &mut grads)
                .unwrap();
            black_box(&values);
        })
    });
    g.bench_function(BenchmarkId::new("value", name), |b| {
        b.iter(|| {
            cohort.values(black_box(thetas), &mut values).unwrap();
            black_box(&values);
        })
    });
    g.finish();
}

/// The kernel at the detected level and at the baseline, and the scalar path, on `subjects`.
fn compare(
    c: &mut Criterion,
    group: &str,
    model: &Model<RescorlaWagner, Softmax>,
    subjects: &[Subject],
) {
    let n = subjects.len();
    let elems = subjects.iter().map(|s| s.n_trials() as u64).sum();
    // Each subject at its own θ near the generating values.
    let thetas: Vec<f64> = (0..n)
        .flat_map(|i| {
            [
                -1.0 + 2.0 * i as f64 / n as f64,
                0.5 + 1.5 * ((i * 7 % n) as f64 / n as f64),
            ]
        })
        .collect();
    let fast = RwSoftmaxCohort::new(model, subjects).unwrap();
    let level = fast.level();
    println!("{group}: the kernel runs at {level:?}");
    time(
        c,
        group,
        &format!("kernel_{level:?}"),
        &fast,
        &thetas,
        elems,
    );
    if level != SimdLevel::Baseline {
        let base = RwSoftmaxCohort::new(model, subjects)
            .unwrap()
            .with_level(SimdLevel::Baseline)
            .unwrap();
        time(c, group, "kernel_Baseline", &base, &thetas, elems);
    }
    let terms = subjects
        .iter()
        .map(|s| Box::new(model.likelihood(s).unwrap()) as Box<dyn Term>)
        .collect();
    let scalar = TermCohort::new(terms, 2).unwrap();
    time(c, group, "scalar", &scalar, &thetas, elems);
}

fn bench(c: &mut Criterion) {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let data = bench_cohort(&model);
    compare(c, "cohort_100x200", &model, data.subjects());
    let long = long_cohort(&model, 16, 10_000);
    compare(c, "cohort_16x10000", &model, &long);
}

criterion_group!(benches, bench);
criterion_main!(benches);
