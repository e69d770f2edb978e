//! No allocation per sample or per step: after one warm-up round of a given size, recording
//! a batch or episodes and estimating from them allocates nothing, for every baseline and
//! every weighting, and on the DRA path (caller-built logits through `softmax_sample` and
//! `softmax_score` into `Episodes::push_step`). A global allocator counts the
//! allocations of the measuring thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::Array1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::estimator::{
    Baseline, Batch, Episodes, Estimator, Reinforce, SequentialReinforce, StateBaseline,
    StepRecord, Weighting,
};
use rlgrad::policy::{softmax_sample, softmax_score, GaussianMean, Policy, SoftmaxPolicy};

struct Counting;

thread_local! {
    /// Allocations made by this thread: the harness's own threads may allocate while a test
    /// measures (a process-wide counter made this test fail about one run in six).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: no panic while the thread's locals are being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` (on this thread).
fn allocations(mut f: impl FnMut()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn recording_and_estimating_allocate_nothing_after_warm_up() {
    // The counter counts.
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))) > 0);
    let baselines = [
        Baseline::None,
        Baseline::Constant(1.0),
        Baseline::LeaveOneOut,
        Baseline::BatchMean,
        Baseline::OptimalLeaveOneOut,
        Baseline::RunningAverage { decay: 0.9 },
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(1);

    // Softmax bandit: draw 64 samples, estimate; repeat with a new θ each round.
    let policy = SoftmaxPolicy::logits(1, 5).unwrap();
    let mut theta = Array1::from_elem(5, 0.1);
    let mut batch = Batch::new(policy.at(0), theta.view()).unwrap();
    let mut g = Array1::zeros(5);
    for b in baselines {
        let mut est = Reinforce::new(b).unwrap();
        let mut round = |theta: &mut Array1<f64>| {
            batch.reset(theta.view()).unwrap();
            batch
                .draw(64, &mut rng, |&a, r| a as f64 + r.random::<f64>())
                .unwrap();
            est.add_estimate(&batch, 0.1, theta.view_mut()).unwrap();
            est.estimate(&batch, g.view_mut()).unwrap();
        };
        round(&mut theta);
        let n = allocations(|| {
            for _ in 0..5 {
                round(&mut theta);
            }
        });
        assert_eq!(n, 0, "softmax batch, {}: {n} allocations", b.name());
    }

    // Gaussian: heap samples (Vec<f64>) are reused too.
    let dist = GaussianMean::new(3, 1.0).unwrap();
    let mu = Array1::zeros(3);
    let mut gbatch = Batch::new(&dist, mu.view()).unwrap();
    let mut g3 = Array1::zeros(3);
    for b in baselines {
        let mut est = Reinforce::new(b).unwrap();
        let mut round = || {
            gbatch.reset(mu.view()).unwrap();
            gbatch
                .draw(32, &mut rng, |z, _| z.iter().sum::<f64>())
                .unwrap();
            est.estimate(&gbatch, g3.view_mut()).unwrap();
        };
        round();
        let n = allocations(|| {
            for _ in 0..5 {
                round();
            }
        });
        assert_eq!(n, 0, "gaussian batch, {}: {n} allocations", b.name());
    }

    // Episodes: record 8 episodes of 20 steps, estimate, for every weighting.
    let policy = SoftmaxPolicy::logits(6, 3).unwrap();
    let theta: Vec<f64> = (0..policy.dim()).map(|j| (j as f64).sin()).collect();
    let mut episodes = Episodes::new(policy.dim());
    let mut gs = Array1::zeros(policy.dim());
    let weightings = [
        Weighting::RewardToGo {
            gamma: 0.9,
            discount_weight: true,
            baseline: StateBaseline::RunningAverage {
                n_states: 6,
                decay: 0.5,
            },
        },
        Weighting::RewardToGo {
            gamma: 1.0,
            discount_weight: false,
            baseline: StateBaseline::Fixed(vec![0.5; 6]),
        },
        Weighting::TotalReturn {
            gamma: 1.0,
            baseline: Baseline::OptimalLeaveOneOut,
        },
        Weighting::TotalReturn {
            gamma: 0.9,
            baseline: Baseline::RunningAverage { decay: 0.9 },
        },
        Weighting::Supplied,
    ];
    for w in weightings {
        let mut est = SequentialReinforce::new(w.clone()).unwrap();
        let mut round = || {
            episodes.clear();
            for _ in 0..8 {
                let mut s = 0;
                for _ in 0..20 {
                    let a = policy.sample(&theta, s, &mut rng).unwrap();
                    let step = StepRecord::new(s, a, rng.random()).with_psi(rng.random());
                    episodes.record(&policy, &theta, step).unwrap();
                    s = (s + a + 1) % 6;
                }
                episodes.end_episode();
            }
            est.estimate(&episodes, gs.view_mut()).unwrap();
        };
        round();
        let n = allocations(|| {
            for _ in 0..5 {
                round();
            }
        });
        assert_eq!(n, 0, "episodes, {w:?}: {n} allocations");
    }

    // The DRA path: the caller builds the logits softmax(β(q̄ + ζ ⊙ σ)) with fresh noise ζ,
    // draws with softmax_sample, writes the score w.r.t. σ with softmax_score into stack
    // buffers and records it with push_step; estimated with supplied Ψ and with reward-to-go.
    const A: usize = 3;
    let beta = 4.0;
    let q_bar: Vec<f64> = (0..6 * A).map(|j| (j as f64 * 0.3).cos()).collect();
    let sigma: Vec<f64> = (0..6 * A)
        .map(|j| 0.5 + (j as f64 * 0.7).sin().abs())
        .collect();
    let mut dra = Episodes::new(6 * A);
    let mut gd = Array1::zeros(6 * A);
    let dra_weightings = [
        Weighting::Supplied,
        Weighting::RewardToGo {
            gamma: 0.95,
            discount_weight: true,
            baseline: StateBaseline::RunningAverage {
                n_states: 6,
                decay: 0.9,
            },
        },
    ];
    for w in dra_weightings {
        let mut est = SequentialReinforce::new(w.clone()).unwrap();
        let mut round = || {
            dra.clear();
            for _ in 0..8 {
                let mut s = 0;
                for _ in 0..20 {
                    let (mut logits, mut dz, mut pi, mut score) =
                        ([0.0; A], [0.0; A], [0.0; A], [0.0; A]);
                    for j in 0..A {
                        let zeta = rng.random::<f64>() - 0.5;
                        logits[j] = beta * (q_bar[s * A + j] + zeta * sigma[s * A + j]);
                        dz[j] = beta * zeta;
                    }
                    let (a, _) = softmax_sample(&logits, &mut rng, &mut pi).unwrap();
                    softmax_score(&pi, a, &dz, 1.0, &mut score).unwrap();
                    let step = StepRecord::new(s, a, rng.random()).with_psi(rng.random());
                    dra.push_step(step, s * A, &score).unwrap();
                    s = (s + a + 1) % 6;
                }
                dra.end_episode();
            }
            est.estimate(&dra, gd.view_mut()).unwrap();
            est.add_estimate(&dra, 0.5, gd.view_mut()).unwrap();
        };
        round();
        let n = allocations(|| {
            for _ in 0..5 {
                round();
            }
        });
        assert_eq!(n, 0, "DRA episodes, {w:?}: {n} allocations");
    }
}
