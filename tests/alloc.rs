//! No allocation where none is promised, counted by a global allocator that tallies the
//! allocations of the current thread:
//!
//! - the critic: with a workspace made once, evaluations, TD errors, data vectors, pushes and
//!   normalised updates allocate nothing, and `TdLoss` allocates per call, not per
//!   transition;
//! - REINFORCE: after one warm-up round of a given size, recording a batch or episodes and
//!   estimating from them allocates nothing, for every baseline and every weighting, and on
//!   the DRA path (caller-built logits through `softmax_sample` and `softmax_score` into
//!   `Episodes::push_step`);
//! - environments: restoring a rollout environment from a snapshot with `clone_from`, and
//!   stepping it, allocate nothing (the DRA tasks and the two-step, go/no-go and restless
//!   bandit tasks);
//! - observation models: a trial of `Lapse` around softmax (log-probability at every order,
//!   probabilities) allocates nothing.
//!
//! One test binary, one counting allocator: a `#[global_allocator]` belongs to the whole
//! binary, so the counter is per thread and tests running in parallel do not see each other's
//! allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod common;

struct Counting;

thread_local! {
    /// Allocations made by this thread: the harness's own threads may allocate while a test
    /// measures (a process-wide counter made the REINFORCE test fail about one run in six).
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
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

mod critic {
    use ndarray::{Array1, arr1, s};
    use rand::SeedableRng;
    use rlgrad::critic::{
        Activation, FnFeatures, NormalizedUpdate, ReplayBuffer, ShallowCritic, TdGradient,
        Trainable, Transition,
    };

    use super::allocations;

    #[test]
    fn evaluations_and_updates_do_not_allocate() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for act in [Activation::Tanh, Activation::Softplus] {
            let critic = ShallowCritic::new(3, 16, act).unwrap();
            let omega0 = critic.random_weights(&mut rng);
            let mut omega = omega0.clone();
            let mut grad = Array1::zeros(critic.dim());
            let mut d = Array1::zeros(critic.dim());
            let mut ws = critic.workspace();
            let mut buffer = ReplayBuffer::new(32, 3).unwrap();
            let z = arr1(&[0.1, -0.2, 0.3]);
            let zn = arr1(&[0.2, 0.0, -0.3]);
            // A strided view takes the copy path.
            let wide = Array1::from_shape_fn(2 * critic.dim(), |k| omega0[k / 2]);
            let strided = wide.slice(s![..;2]);
            let mut errors = Array1::zeros(32);
            let full = NormalizedUpdate::new(0.1, 0.9).unwrap();
            let semi = full.with_gradient(TdGradient::Semi);
            let output = full.with_trainable(Trainable::OutputLayer);

            let n = allocations(|| {
                for k in 0..40 {
                    let r = k as f64 / 40.0;
                    let t = if k % 5 == 4 {
                        Transition::terminal(z.view(), r)
                    } else {
                        Transition::new(z.view(), r, zn.view())
                    };
                    buffer.push(t).unwrap();
                    critic.value(omega.view(), z.view(), &mut ws).unwrap();
                    critic.value(strided, z.view(), &mut ws).unwrap();
                    critic
                        .value_and_grad(omega.view(), z.view(), grad.view_mut(), &mut ws)
                        .unwrap();
                    critic.td_error(omega.view(), t, 0.9, &mut ws).unwrap();
                    for kind in [TdGradient::Full, TdGradient::Semi] {
                        critic
                            .data_vector(omega.view(), t, 0.9, kind, d.view_mut(), &mut ws)
                            .unwrap();
                    }
                }
                for u in [full, semi, output] {
                    u.apply(&critic, &buffer, omega.view_mut(), &mut ws)
                        .unwrap();
                }
                buffer
                    .td_errors(&critic, omega.view(), 0.9, errors.view_mut(), &mut ws)
                    .unwrap();
            });
            assert_eq!(n, 0, "{act:?}: {n} allocations");
        }

        // A user feature map that does not allocate keeps it so.
        let one_hot = FnFeatures::new(1, 4, |z: &[f64], out: &mut [f64]| {
            out.fill(0.0);
            out[(z[0].max(0.0) as usize).min(3)] = 1.0;
        });
        let critic = ShallowCritic::with_features(one_hot, 4, Activation::Logistic).unwrap();
        let mut omega = critic.random_weights(&mut rng);
        let mut ws = critic.workspace();
        let mut buffer = ReplayBuffer::new(8, 1).unwrap();
        let update = NormalizedUpdate::new(0.5, 0.9).unwrap();
        let n = allocations(|| {
            for k in 0..8 {
                let (z, zn) = ([k as f64 % 4.0], [(k + 1) as f64 % 4.0]);
                let t = Transition::new(z[..].into(), 0.0, zn[..].into());
                buffer.push(t).unwrap();
            }
            for _ in 0..10 {
                update
                    .apply(&critic, &buffer, omega.view_mut(), &mut ws)
                    .unwrap();
            }
        });
        assert_eq!(n, 0, "feature map: {n} allocations");
    }

    /// `TdLoss` (a `Term`, called through `&self`) allocates one workspace per evaluation and
    /// nothing per transition: the count does not depend on the batch size, and the value
    /// alone allocates no more than the workspace (ω is copied into it, not into a new vector).
    #[test]
    fn td_loss_allocates_per_call_not_per_transition() {
        use rlgrad::Term;
        use rlgrad::critic::TdLoss;
        let critic = ShallowCritic::new(2, 8, Activation::Tanh).unwrap();
        let omega = critic.random_weights(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        let counts = |m: usize| {
            let mut batch = ReplayBuffer::new(m, 2).unwrap();
            for k in 0..m {
                let (z, zn) = (arr1(&[k as f64 / 8.0, 1.0]), arr1(&[0.0, 1.0]));
                batch
                    .push(Transition::new(z.view(), 0.5, zn.view()))
                    .unwrap();
            }
            let loss = TdLoss::new(&critic, &batch, 0.9).unwrap();
            let mut grad = Array1::zeros(critic.dim());
            let value = allocations(|| {
                loss.value(omega.view()).unwrap();
            });
            let gradient = allocations(|| {
                loss.value_and_grad(omega.view(), grad.view_mut()).unwrap();
            });
            let workspace = allocations(|| drop(critic.workspace()));
            (value, gradient, workspace)
        };
        let (small, large) = (counts(4), counts(64));
        assert_eq!(small, large);
        assert_eq!(small.0, small.2, "value: {small:?}");
        assert_eq!(small.1, small.2, "value and gradient: {small:?}");
    }
}

mod reinforce {
    use ndarray::Array1;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rlgrad::estimator::{
        Baseline, Batch, Episodes, Estimator, Reinforce, SequentialReinforce, StateBaseline,
        StepRecord, Weighting,
    };
    use rlgrad::policy::{GaussianMean, Policy, SoftmaxPolicy, softmax_sample, softmax_score};

    use super::allocations;
    use super::common::reinforce::every_baseline;

    #[test]
    fn recording_and_estimating_allocate_nothing_after_warm_up() {
        // The counter counts.
        assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))) > 0);
        let baselines = every_baseline(1.0, 0.9);
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
}

mod env {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rlgrad::env::{
        Environment, GoNoGoTask, GridWorld, MountainCar, PlanningTask, RestlessBandit,
        RestlessOptions, TwoStepOptions, TwoStepTask,
    };

    use super::allocations;

    /// A trainer restores its rollout environment from a snapshot before every rollout:
    /// `clone_from` and the steps of a rollout allocate nothing.
    #[test]
    fn restoring_and_stepping_environments_allocate_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let snapshot = GridWorld::paper_changed();
        let mut rollout = GridWorld::paper();
        let n = allocations(|| {
            for _ in 0..10 {
                rollout.clone_from(&snapshot);
                rollout.reset(&mut rng);
                for a in [0, 3, 3, 1, 2] {
                    rollout.step(a, &mut rng).unwrap();
                }
            }
        });
        assert_eq!(n, 0, "grid world: {n} allocations");

        let snapshot = MountainCar::new();
        let mut rollout = MountainCar::new().with_time_limit(50).unwrap();
        let n = allocations(|| {
            for _ in 0..10 {
                rollout.clone_from(&snapshot);
                rollout.reset(&mut rng);
                rollout.step(2, &mut rng).unwrap();
            }
        });
        assert_eq!(n, 0, "mountain car: {n} allocations");

        let snapshot = PlanningTask::new(4).unwrap().with_start(0).unwrap();
        let mut rollout = PlanningTask::new(4).unwrap();
        let n = allocations(|| {
            for _ in 0..10 {
                rollout.clone_from(&snapshot);
                rollout.reset(&mut rng);
                rollout.step(1, &mut rng).unwrap();
                rollout.optimal_return(3).unwrap();
            }
        });
        assert_eq!(n, 0, "planning task: {n} allocations");
    }

    /// The task environments (two-step, go/no-go, restless bandit): restoring from a
    /// snapshot, resetting and stepping allocate nothing.
    #[test]
    fn restoring_and_stepping_task_environments_allocate_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let snapshot = TwoStepTask::random(TwoStepOptions::default(), &mut rng).unwrap();
        let mut rollout = TwoStepTask::random(TwoStepOptions::default(), &mut rng).unwrap();
        let n = allocations(|| {
            for a in 0..10 {
                rollout.clone_from(&snapshot);
                rollout.reset(&mut rng);
                rollout.step(a % 2, &mut rng).unwrap();
                rollout.step(1, &mut rng).unwrap();
            }
        });
        assert_eq!(n, 0, "two-step task: {n} allocations");

        let snapshot = GoNoGoTask::new().with_blocks();
        let mut rollout = GoNoGoTask::new();
        let n = allocations(|| {
            for a in 0..10 {
                rollout.clone_from(&snapshot);
                for _ in 0..5 {
                    rollout.reset(&mut rng);
                    rollout.step(a % 2, &mut rng).unwrap();
                }
            }
        });
        assert_eq!(n, 0, "go/no-go task: {n} allocations");

        let mut snapshot = RestlessBandit::new(4, RestlessOptions::default(), &mut rng).unwrap();
        snapshot.step(0, &mut rng).unwrap();
        let mut rollout = RestlessBandit::new(4, RestlessOptions::default(), &mut rng).unwrap();
        let n = allocations(|| {
            for a in 0..10 {
                rollout.clone_from(&snapshot);
                rollout.reset(&mut rng);
                rollout.step(a % 4, &mut rng).unwrap();
            }
        });
        assert_eq!(n, 0, "restless bandit: {n} allocations");
        rollout.clone_from(&snapshot);
        assert_eq!(rollout, snapshot);
    }
}

mod dra {
    use rlgrad::dra::{DraConfig, Psi, Trainer};
    use rlgrad::env::{GridWorld, PlanningTask};

    use super::allocations;

    /// A DRA trial (online episode, rollouts recorded in the Episodes buffer, the estimate,
    /// the σ step) and an evaluation allocate nothing once the buffers have grown: every
    /// weighting, both tasks with their own shapes (the planning task's search budget).
    #[test]
    fn trials_allocate_nothing_after_warm_up() {
        // Ψ as supplied weights here; the planning preset below weighs by the return (the
        // estimator's whole-episode weighting, with a leave-one-out baseline).
        for psi in [Psi::Advantage] {
            let mut config = DraConfig::grid_world_published(3.0);
            config.psi = psi;
            config.eval_every = 2;
            config.eval_episodes = 2;
            let mut trainer = Trainer::new(&GridWorld::paper(), &config, 1).unwrap();
            for _ in 0..200 {
                trainer.run_trial().unwrap();
            }
            // Episodes are shorter now than in the first trials, so the buffers fit.
            let n = allocations(|| {
                for _ in 0..10 {
                    trainer.run_trial().unwrap();
                }
            });
            assert_eq!(n, 0, "grid world, {}: {n} allocations", psi.name());
        }
        let mut config = DraConfig::planning();
        config.search_budget = Some(12);
        config.eval_every = 3;
        config.eval_episodes = 5;
        let mut trainer = Trainer::new(&PlanningTask::new(3).unwrap(), &config, 1).unwrap();
        for _ in 0..50 {
            trainer.run_trial().unwrap();
        }
        let n = allocations(|| {
            for _ in 0..10 {
                trainer.run_trial().unwrap();
            }
        });
        assert_eq!(n, 0, "planning: {n} allocations");
    }
}

mod observation {
    use rlgrad::learning::order;
    use rlgrad::observation::{Choice, Lapse, ObsBuffers, Observation, Softmax};

    use super::allocations;

    /// A trial of the lapse mixture, at every order and for two and many actions, allocates
    /// nothing: it works in the caller's buffers.
    #[test]
    fn lapse_trials_allocate_nothing() {
        let obs = Lapse::new(Softmax::with_perseveration());
        let psi = [2.0, 0.5, 0.1];
        for q in [&[0.3, -0.2][..], &[0.3, -0.2, 1.0, 0.0, 0.7][..]] {
            let mut b = ObsBuffers::new(q.len(), psi.len()).unwrap();
            let mut p = vec![0.0; q.len()];
            let choice = Choice {
                action: 1,
                state: 0,
                previous: Some(0),
            };
            let n = allocations(|| {
                let mut d = b.derivs();
                obs.log_prob::<{ order::VALUE }>(&psi, q, choice, &mut d);
                obs.log_prob::<{ order::GRADIENT }>(&psi, q, choice, &mut d);
                obs.log_prob::<{ order::HESSIAN }>(&psi, q, choice, &mut d);
                obs.probabilities(&psi, q, choice.context(), &mut p);
            });
            assert_eq!(n, 0, "{} actions: {n} allocations", q.len());
        }
    }
}
