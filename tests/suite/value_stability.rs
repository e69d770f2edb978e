//! Value stability: seeded outputs pinned, in the way rand_distr's `value_stability` tests
//! pin its samplers.
//!
//! Every other test holds results to a tolerance, so a change inside a hot loop (a reordered
//! sum, a fused operation, another formula for the same quantity) that moves results by a few
//! ulp passes them unnoticed. These tests do not: each pins a simulated session, a
//! likelihood's value, gradient and Hessian, a `fit::map` estimate, REINFORCE estimates, a
//! prior draw and a critic update to the last bit. A change that moves one must say why in
//! its commit, and re-pin.
//!
//! Provenance: recorded with `RLGRAD_PRINT_PINS=1 cargo test --test suite value_stability --
//! --nocapture` at commit 6374b32 (before the foundation refactor), on x86_64 Linux (glibc);
//! the refactor kept every one of them. Rust does not contract `a * b + c` into a fused
//! operation, so the arithmetic itself is the same on every target; `ln`, `exp` and friends
//! come from the platform's libm, which may round differently elsewhere, and the dense linear
//! algebra of a fit's standard errors or a prior's factor from the backend (nalgebra by
//! default, LAPACK with the `lapack` features, which differ in the last bits). So the
//! comparison is bit for bit on x86_64 Linux with the default backend, and within 1e-12
//! relative (fits: 1e-9) on other platforms and on the LAPACK path.

use ndarray::{Array1, Array2, arr1, arr2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::critic::{Activation, NormalizedUpdate, ReplayBuffer, ShallowCritic, Transition};
use rlgrad::estimator::{
    Baseline, Batch, Episodes, Estimator, Reinforce, SequentialReinforce, StateBaseline,
    StepRecord, Weighting,
};
use rlgrad::policy::{GaussianMean, Policy, SoftmaxPolicy, softmax_sample};
use rlgrad::prelude::*;

use crate::common;

use common::cohort::reversal_subject;

/// Whether the pins hold to the bit here (see the module docs).
const EXACT: bool = cfg!(all(
    target_arch = "x86_64",
    target_os = "linux",
    target_env = "gnu",
    not(feature = "lapack")
));

/// Compares `got` with the pinned `want`: bit for bit where [`EXACT`], else within `rel`
/// relative (floor 1e-300). With `RLGRAD_PRINT_PINS` set, prints `got` instead (to re-pin).
pub(crate) fn pinned(what: &str, got: &[f64], want: &[f64], rel: f64) {
    if std::env::var_os("RLGRAD_PRINT_PINS").is_some() {
        println!("{what}: {got:?}");
        return;
    }
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = if EXACT {
            g.to_bits() == w.to_bits()
        } else {
            (g - w).abs() <= rel * g.abs().max(w.abs()).max(1e-300)
        };
        assert!(same, "{what}[{i}]: got {g:?}, pinned {w:?}");
    }
}

/// Integer outputs (actions, states) are pinned exactly on every platform.
pub(crate) fn pinned_ints(what: &str, got: &[u32], want: &[u32]) {
    if std::env::var_os("RLGRAD_PRINT_PINS").is_some() {
        println!("{what}: {got:?}");
        return;
    }
    assert_eq!(got, want, "{what}");
}

pub(crate) const KERNEL: f64 = 1e-12;
const FIT: f64 = 1e-9;

fn flat(h: &Array2<f64>) -> Vec<f64> {
    h.iter().copied().collect()
}

/// A session simulated from RW + softmax on a reversing two-armed bandit, and the
/// likelihood's value, gradient and Hessian there (the two-action fast path).
#[test]
fn simulated_session_and_its_likelihood_two_actions() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let theta = model
        .layout()
        .theta_from_natural(&[("alpha", 0.35), ("beta", 4.0)])
        .unwrap();
    let mut env = Bandit::new(vec![0.75, 0.25])
        .unwrap()
        .with_reversals(20)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let session = model
        .simulate(theta.view(), &mut env, 60, "1", &mut rng)
        .unwrap();
    pinned_ints(
        "actions",
        session.actions(),
        &[
            1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
            1, 0,
        ],
    );
    let rewards: Vec<u32> = session.rewards().iter().map(|&r| r as u32).collect();
    pinned_ints(
        "rewards",
        &rewards,
        &[
            0, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1,
            0, 1,
        ],
    );
    let subject = Subject::new("s", vec![session]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let at = arr1(&[0.2, 1.1]);
    let mut g = Array1::zeros(2);
    let mut h = Array2::zeros((2, 2));
    let v = lik
        .value_grad_hessian(at.view(), g.view_mut(), h.view_mut())
        .unwrap();
    pinned("value", &[v], &[-26.567467736701996], KERNEL);
    pinned(
        "gradient",
        g.as_slice().unwrap(),
        &[-0.08056249837010719, 1.459099723079342],
        KERNEL,
    );
    pinned(
        "hessian",
        &flat(&h),
        &[
            -2.2599293448650224,
            -4.044030176947497,
            -4.044030176947497,
            -15.24551933600211,
        ],
        KERNEL,
    );
}

/// Three actions, dual rates, a learned q₀ and perseveration (five parameters: the general
/// path of the likelihood's loop, with its buffers on the heap), on a one-state bandit.
#[test]
fn simulated_session_and_its_likelihood_general_path() {
    let model = Model::new(
        RescorlaWagner::dual().with_learned_initial_value(),
        Softmax::with_perseveration(),
        1,
        3,
    )
    .unwrap();
    let theta = model
        .layout()
        .theta_from_natural(&[
            ("alpha_pos", 0.4),
            ("alpha_neg", 0.15),
            ("q0", 0.3),
            ("beta", 3.0),
            ("kappa", 0.5),
        ])
        .unwrap();
    let mut env = Bandit::new(vec![0.2, 0.8, 0.5])
        .unwrap()
        .with_reversals(15)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let session = model
        .simulate(theta.view(), &mut env, 45, "a", &mut rng)
        .unwrap();
    pinned_ints(
        "actions",
        session.actions(),
        &[
            0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1,
        ],
    );
    let subject = Subject::new("s", vec![session]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let at = arr1(&[-0.3, -1.2, 0.25, 0.9, 0.4]);
    let mut g = Array1::zeros(5);
    let mut h = Array2::zeros((5, 5));
    let v = lik
        .value_grad_hessian(at.view(), g.view_mut(), h.view_mut())
        .unwrap();
    pinned("value", &[v], &[-26.602398410105174], KERNEL);
    pinned(
        "gradient",
        g.as_slice().unwrap(),
        &[
            0.5124943683478367,
            -0.7437710134774859,
            -10.17181572711542,
            7.300427706769083,
            3.8365331579931485,
        ],
        KERNEL,
    );
    pinned(
        "hessian",
        &flat(&h),
        &[
            -1.3037611851838329,
            0.9337891340762599,
            2.4478603417789646,
            -0.35710701096801517,
            -0.551374992509349,
            0.9337891340762599,
            -1.7772414954435007,
            -2.7664405006355213,
            -1.2893758593785445,
            0.11596811198792396,
            2.4478603417789646,
            -2.7664405006355213,
            -23.9318007047168,
            3.5964939120181,
            8.411743761993911,
            -0.35710701096801517,
            -1.2893758593785445,
            3.5964939120181,
            -7.615998485327488,
            -7.65703445686813,
            -0.551374992509349,
            0.11596811198792396,
            8.411743761993911,
            -7.65703445686813,
            -8.47205015183208,
        ],
        KERNEL,
    );
    // The value-only pass must give the same bits (the compile-time order does no
    // derivative work, but the value is computed the same way).
    assert_eq!(lik.value(at.view()).unwrap().to_bits(), v.to_bits());
}

/// MAP estimates of a small seeded cohort (parallel fitting is deterministic).
#[test]
fn map_estimates_of_a_seeded_cohort() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let subjects = [(0.2, 2.0), (0.5, 6.0), (0.7, 3.5)]
        .iter()
        .enumerate()
        .map(|(i, &(alpha, beta))| {
            let theta = model
                .layout()
                .theta_from_natural(&[("alpha", alpha), ("beta", beta)])
                .unwrap();
            reversal_subject(&model, theta.view(), 30, 150, i, &mut rng)
        })
        .collect();
    let data = Dataset::new(subjects).unwrap();
    let prior = MvGaussian::isotropic(2, 0.0, 4.0).unwrap();
    let fits = rlgrad::fit::map(&model, &data, &prior, &MapOptions::default(), &mut rng).unwrap();
    let mut theta = Vec::new();
    let mut log_post = Vec::new();
    let mut se = Vec::new();
    for f in &fits {
        let f = f.fit().expect("fitted");
        theta.extend(f.theta.iter());
        log_post.push(f.log_posterior);
        se.extend(f.theta_se.iter());
    }
    pinned(
        "theta",
        &theta,
        &[
            -1.6847119152908585,
            1.1380651554938104,
            0.07555988345278694,
            1.6980869293876308,
            0.6965397415789698,
            1.1007858573129752,
        ],
        FIT,
    );
    pinned(
        "log posterior",
        &log_post,
        &[-83.88436620562277, -28.720018782867548, -60.108544524242426],
        FIT,
    );
    pinned(
        "theta se",
        &se,
        &[
            0.2946937359584088,
            0.2229899575492038,
            0.43742841032619023,
            0.1721370937517136,
            0.5315971413777302,
            0.15646811643881528,
        ],
        FIT,
    );
}

/// Single-step REINFORCE on a softmax bandit and on a Gaussian: the samples drawn, and the
/// estimates with three baselines (a running average over two batches included).
#[test]
fn reinforce_estimates() {
    let policy = SoftmaxPolicy::logits(1, 3).unwrap();
    let theta = arr1(&[0.3, -0.2, 0.1]);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut batch = Batch::new(policy.at(0), theta.view()).unwrap();
    batch
        .draw(12, &mut rng, |&a, _| [1.0, 0.0, 0.5][a])
        .unwrap();
    let arms: Vec<u32> = batch.samples().iter().map(|&a| a as u32).collect();
    pinned_ints("arms", &arms, &[0, 2, 2, 2, 1, 0, 2, 2, 1, 2, 2, 0]);
    pinned(
        "log probs",
        batch.log_probs().as_slice().unwrap(),
        &[
            -0.8859393176684558,
            -1.0859393176684558,
            -1.0859393176684558,
            -1.0859393176684558,
            -1.3859393176684558,
            -0.8859393176684558,
            -1.0859393176684558,
            -1.0859393176684558,
            -1.3859393176684558,
            -1.0859393176684558,
            -1.0859393176684558,
            -0.8859393176684558,
        ],
        KERNEL,
    );
    let mut g = Array1::zeros(3);
    let mut estimates = Vec::new();
    for baseline in [Baseline::LeaveOneOut, Baseline::OptimalLeaveOneOut] {
        Reinforce::new(baseline)
            .unwrap()
            .estimate(&batch, g.view_mut())
            .unwrap();
        estimates.extend(g.iter());
    }
    let mut running = Reinforce::new(Baseline::RunningAverage { decay: 0.8 }).unwrap();
    running.estimate(&batch, g.view_mut()).unwrap();
    batch.reset(theta.view()).unwrap();
    batch
        .draw(12, &mut rng, |&a, _| [1.0, 0.0, 0.5][a])
        .unwrap();
    running.estimate(&batch, g.view_mut()).unwrap();
    estimates.extend(g.iter());
    pinned(
        "bandit estimates",
        &estimates,
        &[
            0.12500000000000003,
            -0.09848484848484848,
            -0.026515151515151533,
            0.14357303458836562,
            -0.13305860126311078,
            -0.019123396137493982,
            0.15661166509059068,
            -0.11111850916291985,
            -0.045493155927670816,
        ],
        KERNEL,
    );

    let gauss = GaussianMean::new(2, 0.7).unwrap();
    let mu = arr1(&[0.5, -1.0]);
    let mut batch = Batch::new(&gauss, mu.view()).unwrap();
    batch.draw(6, &mut rng, |z, _| z[0] * z[0] - z[1]).unwrap();
    let samples: Vec<f64> = batch.samples().iter().flatten().copied().collect();
    pinned(
        "gaussian samples",
        &samples,
        &[
            0.9593991262925448,
            -1.565089854638666,
            -0.05540052306152721,
            -0.8240004858447849,
            -0.1181756279504691,
            -0.7179792992527647,
            0.2456088847301623,
            -1.1362662865744324,
            0.8915337677364055,
            -1.1995707159508817,
            1.0712899181733264,
            0.12067278099146184,
        ],
        KERNEL,
    );
    Reinforce::new(Baseline::OptimalLeaveOneOut)
        .unwrap()
        .estimate(&batch, g.view_mut().slice_move(ndarray::s![..2]))
        .unwrap();
    pinned(
        "gaussian estimate",
        &g.as_slice().unwrap()[..2],
        &[0.534741143722698, -0.7810888394780826],
        KERNEL,
    );
}

/// Episodes recorded from a softmax policy on two states, weighted by reward-to-go with a
/// running state baseline, and by the whole return with the optimal baseline.
#[test]
fn sequential_estimates() {
    let policy = SoftmaxPolicy::logits(2, 2).unwrap();
    let theta = [0.2, -0.1, -0.4, 0.3];
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut episodes = Episodes::new(4);
    let mut rtg = SequentialReinforce::new(Weighting::RewardToGo {
        gamma: 0.9,
        discount_weight: true,
        baseline: StateBaseline::RunningAverage {
            n_states: 2,
            decay: 0.7,
        },
    })
    .unwrap();
    let mut total = SequentialReinforce::new(Weighting::TotalReturn {
        gamma: 0.9,
        baseline: Baseline::OptimalLeaveOneOut,
    })
    .unwrap();
    let mut g = Array1::zeros(4);
    let mut out = Vec::new();
    let mut actions = Vec::new();
    for _ in 0..2 {
        episodes.clear();
        for _ in 0..5 {
            let mut s = 0;
            for _ in 0..3 {
                let a = policy.sample(&theta, s, &mut rng).unwrap();
                let reward = [[1.0, 0.0], [-0.5, 2.0]][s][a];
                episodes
                    .record(&policy, &theta, StepRecord::new(s, a, reward))
                    .unwrap();
                actions.push(a as u32);
                s = a;
            }
            episodes.end_episode();
        }
        rtg.estimate(&episodes, g.view_mut()).unwrap();
        out.extend(g.iter());
        total.estimate(&episodes, g.view_mut()).unwrap();
        out.extend(g.iter());
    }
    pinned_ints(
        "actions",
        &actions,
        &[
            0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
            1,
        ],
    );
    pinned(
        "estimates",
        &out,
        &[
            0.39010041046791527,
            -0.39010041046791527,
            -0.3617131447457316,
            0.3617131447457316,
            0.04902251846953953,
            -0.04902251846953953,
            -0.164816329592171,
            0.164816329592171,
            -0.14021200369164152,
            0.14021200369164152,
            -0.4220402678850055,
            0.4220402678850055,
            -0.328486938654841,
            0.328486938654841,
            0.010617991290618689,
            -0.010617991290618689,
        ],
        KERNEL,
    );
}

/// softmax_sample's draws and log-probabilities over fixed logits, and a prior's draws.
#[test]
fn softmax_draws_and_prior_draws() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let logits = [0.4, -1.3, 2.0, 0.0];
    let mut pi = [0.0; 4];
    let mut actions = Vec::new();
    let mut log_p = Vec::new();
    for _ in 0..24 {
        let (a, lp) = softmax_sample(&logits, &mut rng, &mut pi).unwrap();
        actions.push(a as u32);
        log_p.push(lp);
    }
    pinned_ints(
        "actions",
        &actions,
        &[
            2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 2, 0, 2, 0, 2, 2, 2, 3, 2, 3, 0, 2,
        ],
    );
    pinned(
        "log probabilities",
        &log_p,
        &[
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -1.9178098647046777,
            -1.9178098647046777,
            -0.31780986470467754,
            -1.9178098647046777,
            -0.31780986470467754,
            -1.9178098647046777,
            -0.31780986470467754,
            -0.31780986470467754,
            -0.31780986470467754,
            -2.3178098647046776,
            -0.31780986470467754,
            -2.3178098647046776,
            -1.9178098647046777,
            -0.31780986470467754,
        ],
        KERNEL,
    );
    pinned(
        "probabilities",
        &pi,
        &[
            0.14692840308375274,
            0.026841398458780644,
            0.7277411445384225,
            0.0984890539190441,
        ],
        KERNEL,
    );

    let prior = MvGaussian::new(arr1(&[0.5, -1.0]), arr2(&[[2.0, 0.6], [0.6, 1.0]])).unwrap();
    let mut draws = Vec::new();
    for _ in 0..3 {
        draws.extend(prior.sample(&mut rng).iter());
    }
    pinned(
        "prior draws",
        &draws,
        &[
            1.370817088975392,
            0.6046921826360951,
            0.2367273485226694,
            -0.8933932594609224,
            1.3396976196873056,
            1.00374801219554,
        ],
        KERNEL,
    );
}

/// Three normalised replay updates of a tanh critic from seeded weights.
#[test]
fn critic_updates() {
    let critic = ShallowCritic::new(2, 4, Activation::Tanh).unwrap();
    let mut buffer = ReplayBuffer::new(6, 2).unwrap();
    for k in 0..6 {
        let x = k as f64 / 2.0 - 1.0;
        let (z, zn) = (
            arr1(&[x, (k % 2) as f64]),
            arr1(&[x + 0.5, ((k + 1) % 2) as f64]),
        );
        if k < 5 {
            buffer
                .push(Transition::new(z.view(), -0.1, zn.view()))
                .unwrap();
        } else {
            buffer.push(Transition::terminal(z.view(), 1.0)).unwrap();
        }
    }
    let mut omega = critic.random_weights(&mut ChaCha8Rng::seed_from_u64(3));
    let update = NormalizedUpdate::new(0.5 * buffer.step_size_bound(), 0.9).unwrap();
    let mut ws = critic.workspace();
    let mut losses = Vec::new();
    for _ in 0..3 {
        losses.push(
            update
                .apply(&critic, &buffer, omega.view_mut(), &mut ws)
                .unwrap(),
        );
    }
    pinned(
        "losses",
        &losses,
        &[0.9470309399584134, 0.3958681457113613, 0.25196853667087404],
        KERNEL,
    );
    pinned(
        "omega",
        omega.as_slice().unwrap(),
        &[
            0.39339805859646876,
            -1.0045043732757322,
            -0.2397644345265909,
            -0.7666123674723292,
            0.2289768923381116,
            0.6276467754580969,
            -0.5329896774895877,
            -0.5274877591386257,
            -0.4236769737502052,
            -0.4081568294416528,
            0.580837626249366,
            0.7711179655847774,
            -0.1176352423168583,
            0.37470765122104027,
            0.44027177515576493,
            -0.486976052236273,
        ],
        KERNEL,
    );
}

/// A two-state session built from a seeded stream (not simulated), and the likelihood of two
/// models on it: three actions with two parameters (the loop copy compiled for 3 actions and
/// one rule and one observation parameter) and three actions with four (the stack-array path
/// with run-time sizes).
#[test]
fn multi_state_likelihoods_on_the_stack_paths() {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let n = 80;
    let states: Vec<u32> = (0..n).map(|_| rng.random_range(0..2u32)).collect();
    let actions: Vec<u32> = (0..n).map(|_| rng.random_range(0..3u32)).collect();
    let rewards: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let session = Session::new("m", states, actions, rewards).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let simple = Model::new(RescorlaWagner::new(), Softmax::new(), 2, 3).unwrap();
    let rich = Model::new(RescorlaWagner::dual(), Softmax::with_perseveration(), 2, 3).unwrap();
    let mut out = Vec::new();
    for (model, at) in [
        (&simple, arr1(&[0.4, 0.7])),
        (&rich, arr1(&[0.4, -0.6, 0.7, 0.3])),
    ] {
        let k = at.len();
        let lik = model.likelihood(&subject).unwrap();
        let mut g = Array1::zeros(k);
        let mut h = Array2::zeros((k, k));
        out.push(
            lik.value_grad_hessian(at.view(), g.view_mut(), h.view_mut())
                .unwrap(),
        );
        out.extend(g.iter());
        out.extend(h.iter());
    }
    pinned(
        "values, gradients, hessians",
        &out,
        &[
            -100.33027053882739,
            -8.215898627179094,
            -23.8768408971075,
            -2.2262680539615514,
            -14.886174837118972,
            -14.886174837118972,
            -42.900983161578694,
            -97.96135229990415,
            -3.0916975086624134,
            -3.046708888308596,
            -17.06397386628673,
            -5.758923299817884,
            1.0568481023557823,
            -1.8969366693558583,
            -5.580787226243356,
            -0.5006855229802823,
            -1.8969366693558583,
            -0.9205674851510508,
            -6.289581383042547,
            0.4615187069833908,
            -5.580787226243356,
            -6.289581383042547,
            -31.051840811466953,
            0.7675418697464911,
            -0.5006855229802823,
            0.4615187069833908,
            0.7675418697464911,
            -16.946463646009487,
        ],
        KERNEL,
    );
}

/// The softmax kernel where no likelihood pin reaches it: the observation model's
/// probabilities (three actions with perseveration: what simulation draws from), the limit at
/// infinite logits, log-sum-exp, and a value-table policy's probabilities and score.
#[test]
fn softmax_kernel_outputs() {
    use rlgrad::numeric::{log_sum_exp, softmax_probabilities};
    use rlgrad::observation::Observation;
    let mut out = Vec::new();
    let mut p = [0.0; 3];
    Softmax::with_perseveration().probabilities(
        &[2.5, 0.8],
        &[0.3, -0.4, 0.9],
        rlgrad::observation::Context {
            state: 0,
            previous: Some(1),
        },
        &mut p,
    );
    out.extend(p);
    softmax_probabilities(|j| [f64::INFINITY, 1.0, f64::INFINITY][j], &mut p);
    out.extend(p);
    out.push(log_sum_exp(&[0.25, -1.5, 3.0, 2.999]));
    out.push(log_sum_exp(&[-800.0, -801.0]));
    let policy = SoftmaxPolicy::values(arr2(&[[0.2, 0.9, -0.3], [1.0, 1.0, 0.0]]).view()).unwrap();
    policy.probabilities(&[1.7], 1, &mut p).unwrap();
    out.extend(p);
    let mut score = [0.0];
    out.push(policy.log_prob_and_score(&[1.7], 0, 2, &mut score).unwrap());
    out.push(score[0]);
    pinned(
        "kernel outputs",
        &out,
        &[
            0.17040332491269983,
            0.06590195627678742,
            0.7636947188105129,
            0.5,
            0.0,
            0.5,
            3.7294971219779627,
            -799.6867383124818,
            0.45815162343977067,
            0.45815162343977067,
            0.08369675312045878,
            -2.4006420470308734,
            -0.9427301067828707,
        ],
        KERNEL,
    );
}

/// A short seeded DRA run on the grid world: its evaluation curve and a few entries of σ and
/// q̄ (the memory policy's decisions, the expected-SARSA updates, the REINFORCE estimate of the
/// σ gradient, the KL gradient and the clipped step, all in one).
#[test]
fn dra_grid_world_run() {
    use rlgrad::dra::{DraConfig, train};
    use rlgrad::env::GridWorld;
    let mut config = DraConfig::grid_world_published(3.0);
    config.n_trials = 9;
    config.n_traj = 3;
    config.eval_every = 4;
    config.eval_episodes = 3;
    let log = train(&GridWorld::paper(), &config, 2026).unwrap();
    let curve: Vec<f64> = log
        .curve
        .iter()
        .flat_map(|p| [p.return_mean, p.cost])
        .collect();
    pinned(
        "dra curve (return, cost)",
        &curve,
        &[
            -756.3333333333333,
            4.115247481200361,
            -92.0,
            4.142851281660507,
            -132.66666666666666,
            4.126606322681451,
        ],
        KERNEL,
    );
    let picks: Vec<f64> = [0, 17, 40, 101, 215]
        .iter()
        .flat_map(|&i| [log.sigma[i], log.q_bar[i]])
        .collect();
    pinned(
        "dra sigma and q_bar entries",
        &picks,
        &[
            3.2568518902772188,
            -2.7392928782752506,
            3.0510832848640814,
            -2.2815701421060752,
            2.9028531994818123,
            -3.0989711460194362,
            3.019084693662499,
            0.0,
            2.976372707179314,
            -2.0099611118761707,
        ],
        KERNEL,
    );
}

/// Task models: a seeded two-step subject (hybrid, 60 trials) and a seeded RW + choice kernel
/// subject (80 trials): the simulated actions and the likelihoods' values, gradients (the
/// two-step's hand-written path) and Hessians (forward-mode differentiation).
#[test]
fn task_model_simulations_and_likelihoods() {
    use rlgrad::fit::{Simulate, TaskSimulator};
    use rlgrad::task::{RwChoiceKernel, TwoStep};
    let two_step = TaskSimulator::new(TwoStep::hybrid(), 60).unwrap();
    let kernel =
        TaskSimulator::new(RwChoiceKernel::new(1, 3).unwrap().with_lapse().unwrap(), 80).unwrap();
    let cases: [(&dyn Simulate, Array1<f64>); 2] = [
        (&two_step, arr1(&[0.2, -0.3, 0.5, 0.1, 1.2, 0.9, 0.3])),
        (&kernel, arr1(&[-0.4, 1.1, 0.2, 0.8, -2.0])),
    ];
    let mut actions = Vec::new();
    let mut out = Vec::new();
    for (i, (sim, theta)) in cases.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(90 + i as u64);
        let subject = sim
            .simulate_subject(theta.view(), 0, "s", &mut rng)
            .unwrap();
        actions.extend_from_slice(subject.sessions()[0].actions());
        let lik = sim.likelihood(&subject).unwrap();
        let k = theta.len();
        let (mut g, mut h) = (Array1::zeros(k), Array2::zeros((k, k)));
        out.push(lik.value_and_grad(theta.view(), g.view_mut()).unwrap());
        out.extend(g.iter());
        lik.value_grad_hessian(theta.view(), g.view_mut(), h.view_mut())
            .unwrap();
        out.extend(h.iter());
    }
    pinned_ints(
        "task-model actions",
        &actions,
        &[
            1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0,
            0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1,
            0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1,
            1, 0, 1, 1, 2, 1, 2, 2, 0, 0, 1, 2, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0,
            1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1,
            1, 0, 2, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 2, 0, 0, 2, 1, 0, 2, 2, 1, 0,
        ],
    );
    pinned(
        "task-model values, gradients, hessians",
        &out,
        &[
            -62.31467460790958,
            0.08805386449045124,
            -0.0661949095185175,
            0.1998395201715884,
            -0.32745076780840826,
            2.526046737073227,
            3.175054979579555,
            0.9063088260878478,
            -0.7160859250825979,
            0.03078328287454454,
            -0.16854320288279956,
            0.34475741502758966,
            -0.9374950482235739,
            0.0,
            -0.3373334331015822,
            0.03078328287454454,
            -1.6171924289284079,
            -0.10952398413887345,
            -0.122658604005408,
            0.03282234760574218,
            -1.7435661635567776,
            -0.03763044358979873,
            -0.16854320288279956,
            -0.10952398413887345,
            -0.2975635558986448,
            0.16181353582139138,
            -0.19509832650547793,
            0.0,
            -0.24637813343099638,
            0.34475741502758966,
            -0.122658604005408,
            0.16181353582139138,
            -1.068546079951286,
            0.6290846370205174,
            0.0,
            0.8167531599030842,
            -0.9374950482235739,
            0.03282234760574218,
            -0.19509832650547793,
            0.6290846370205174,
            -2.5721612071116553,
            0.0,
            -3.1948288903601987,
            0.0,
            -1.7435661635567776,
            0.0,
            0.0,
            0.0,
            -10.274894697126904,
            0.0,
            -0.3373334331015822,
            -0.03763044358979873,
            -0.24637813343099638,
            0.8167531599030842,
            -3.1948288903601987,
            0.0,
            -12.418827681079316,
            -67.21989297226871,
            -0.09559065212213891,
            -2.363113116496737,
            0.17913436098543323,
            -2.169267683533504,
            1.026691633940117,
            -1.9301857890991578,
            -0.8233724154996018,
            -0.1267550135348381,
            0.5878614136386792,
            0.252108253488051,
            -0.8233724154996018,
            -15.674978836028219,
            0.5074123065794518,
            -1.7773571271631567,
            4.892493852312505,
            -0.1267550135348381,
            0.5074123065794518,
            0.133977947505519,
            -0.4430505990708892,
            0.09672517958487052,
            0.5878614136386792,
            -1.7773571271631567,
            -0.4430505990708892,
            -2.960731605278206,
            2.019089560380816,
            0.252108253488051,
            4.892493852312505,
            0.09672517958487052,
            2.019089560380816,
            -0.7816246195207162,
        ],
        KERNEL,
    );
}
