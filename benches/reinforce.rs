//! REINFORCE estimator cost.
//!
//! - `reinforce_N{n}_K{k}`: one estimate from a recorded batch of N samples with K-dimensional
//!   scores (a softmax bandit over K arms), for each baseline; throughput N elements, so
//!   criterion's "elem/s" is samples per second and ns per sample = 1e9 / that. `draw` is
//!   the cost of recording the batch (sampling the policy, the reward, the score), for scale.
//! - `sequential`: one estimate from 10 episodes of 50 steps of a softmax policy over a
//!   54-state × 4-action table of logits (θ ∈ ℝ²¹⁶, the DRA grid world's size), for each
//!   weighting; throughput = steps, so ns per step = 1e9 / (elem/s). `record` is the cost of
//!   recording a step's score block from the policy.
//!
//! Run: `cargo bench --bench reinforce` (quick: `-- --warm-up-time 1 --measurement-time 2`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::estimator::{
    Baseline, Batch, Episodes, Estimator, Reinforce, SequentialReinforce, StateBaseline,
    StepRecord, Weighting,
};
use rlgrad::policy::{Policy, SoftmaxPolicy};
use std::hint::black_box;

#[path = "../tests/common/reinforce.rs"]
mod reinforce;

fn baselines() -> [Baseline; 6] {
    reinforce::every_baseline(0.5, 0.9)
}

fn single_step(c: &mut Criterion) {
    for (n, k) in [(16usize, 4usize), (256, 4), (256, 64)] {
        let policy = SoftmaxPolicy::logits(1, k).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = Array1::from_shape_fn(k, |j| (j as f64 * 0.37).sin());
        let rewards: Vec<f64> = (0..k).map(|j| (j as f64 * 0.11).cos()).collect();
        let mut batch = Batch::new(policy.at(0), theta.view()).unwrap();
        batch
            .draw(n, &mut rng, |&a, r| rewards[a] + r.random::<f64>())
            .unwrap();
        let mut group = c.benchmark_group(format!("reinforce_N{n}_K{k}"));
        group.throughput(Throughput::Elements(n as u64));
        for b in baselines() {
            let mut est = Reinforce::new(b).unwrap();
            let mut g = Array1::zeros(k);
            group.bench_function(BenchmarkId::new("estimate", b.name()), |bench| {
                bench.iter(|| {
                    black_box(
                        est.add_estimate(black_box(&batch), 1.0, g.view_mut())
                            .unwrap(),
                    )
                })
            });
        }
        let mut scratch = Batch::new(policy.at(0), theta.view()).unwrap();
        group.bench_function("draw", |bench| {
            bench.iter(|| {
                scratch.clear();
                scratch
                    .draw(n, &mut rng, |&a, r| rewards[a] + r.random::<f64>())
                    .unwrap();
                black_box(scratch.len())
            })
        });
        group.finish();
    }
}

fn sequential(c: &mut Criterion) {
    const STATES: usize = 54;
    const ACTIONS: usize = 4;
    const EPISODES: usize = 10;
    const LENGTH: usize = 50;
    let policy = SoftmaxPolicy::logits(STATES, ACTIONS).unwrap();
    let theta: Vec<f64> = (0..policy.dim()).map(|j| (j as f64 * 0.7).sin()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut episodes = Episodes::new(policy.dim());
    let fill = |episodes: &mut Episodes, rng: &mut ChaCha8Rng| {
        episodes.clear();
        for _ in 0..EPISODES {
            let mut s = 0;
            for _ in 0..LENGTH {
                let a = policy.sample(&theta, s, rng).unwrap();
                let step = StepRecord::new(s, a, -1.0).with_psi(rng.random::<f64>() - 0.5);
                episodes.record(&policy, &theta, step).unwrap();
                s = (s * 7 + a + 1) % STATES;
            }
            episodes.end_episode();
        }
    };
    fill(&mut episodes, &mut rng);
    let steps = (EPISODES * LENGTH) as u64;
    let mut group = c.benchmark_group("sequential_10x50_S54_A4");
    group.throughput(Throughput::Elements(steps));
    let weightings = [
        (
            "reward-to-go",
            Weighting::RewardToGo {
                gamma: 0.9,
                discount_weight: true,
                baseline: StateBaseline::None,
            },
        ),
        (
            "reward-to-go, running b(s)",
            Weighting::RewardToGo {
                gamma: 0.9,
                discount_weight: true,
                baseline: StateBaseline::RunningAverage {
                    n_states: STATES,
                    decay: 0.9,
                },
            },
        ),
        (
            "total return",
            Weighting::TotalReturn {
                gamma: 1.0,
                baseline: Baseline::None,
            },
        ),
        (
            "total return, leave-one-out",
            Weighting::TotalReturn {
                gamma: 1.0,
                baseline: Baseline::LeaveOneOut,
            },
        ),
        (
            "total return, optimal leave-one-out",
            Weighting::TotalReturn {
                gamma: 1.0,
                baseline: Baseline::OptimalLeaveOneOut,
            },
        ),
        ("supplied psi", Weighting::Supplied),
    ];
    for (name, w) in weightings {
        let mut est = SequentialReinforce::new(w).unwrap();
        let mut g = Array1::zeros(policy.dim());
        group.bench_function(BenchmarkId::new("estimate", name), |bench| {
            bench.iter(|| {
                black_box(
                    est.add_estimate(black_box(&episodes), 1.0, g.view_mut())
                        .unwrap(),
                )
            })
        });
    }
    let mut scratch = Episodes::new(policy.dim());
    group.bench_function("record", |bench| {
        bench.iter(|| {
            fill(&mut scratch, &mut rng);
            black_box(scratch.n_steps())
        })
    });
    group.finish();
}

criterion_group!(benches, single_step, sequential);
criterion_main!(benches);
