//! The DRA memory policy (`MemoryPolicy`, θ = σ), its KL resource cost (`KlCost`) and the
//! quadrature behind its exact two-action marginals (`numeric::normal_expectation`).
//!
//! - scores through the shared derivative checker (`check_term`, relative error ≤ 1e-6 with
//!   floor 1): the decision score A.3 for fixed ζ, and the marginal's score (exact by
//!   quadrature for A = 2, the fixed-draw average for A ≥ 3), both wrapped as `Term`s by
//!   `common::policy_terms::PolicyTerm`;
//! - the marginal and hard-Thompson probabilities against independent oracles (Monte Carlo,
//!   an independent Φ), and the samplers (`decide`, `sample`, `thompson`) against them;
//! - unbiasedness of the REINFORCE σ-gradient through `Episodes::record_decision` and
//!   `SequentialReinforce`, against the exact ∇J of the marginal;
//! - `KlCost` (gradient, exact Hessian, closed form, in an `Objective`);
//! - bad input: typed errors naming the entry, never a panic or a NaN.
//!
//! Statistical tolerances: a Monte Carlo quantity is within 4 standard errors of its exact
//! value (per component); where the "exact" value is itself the crate's 4096-draw average
//! (A ≥ 3), its own standard error is added in quadrature. All runs are seeded.

// Formulas index components the way they are written on paper.
#![allow(clippy::needless_range_loop)]

use ndarray::{Array1, Array2, arr1};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rlgrad::cost::KlCost;
use rlgrad::estimator::{
    Baseline, Episodes, Estimator, SequentialReinforce, StepRecord, Weighting,
};
use rlgrad::numeric::normal_expectation;
use rlgrad::policy::{MARGINAL_DRAWS, MemoryPolicy, Policy};
use rlgrad::testing::fd::{FdOptions, jacobian};
use rlgrad::testing::{CheckOptions, assert_term, check_term};
use rlgrad::{Error, Objective, Term};

use crate::common;

use common::policy_terms::PolicyTerm;
use common::stats::Stats;

// ---------------------------------------------------------------------------------------
// Independent oracles
// ---------------------------------------------------------------------------------------

/// softmax(β(q̄ + ζ ⊙ σ)), straight from the formula (max subtracted).
fn soft_given_zeta(beta: f64, q: &[f64], sigma: &[f64], zeta: &[f64]) -> Vec<f64> {
    let z: Vec<f64> = (0..q.len())
        .map(|j| beta * (q[j] + zeta[j] * sigma[j]))
        .collect();
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|x| (x - max).exp()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|x| x / total).collect()
}

/// log softmax(β(q̄ + ζ ⊙ σ))ₐ = zₐ − max − ln Σⱼ e^{zⱼ − max}, straight from the formula.
fn log_soft_given_zeta(beta: f64, q: &[f64], sigma: &[f64], zeta: &[f64], a: usize) -> f64 {
    let z: Vec<f64> = (0..q.len())
        .map(|j| beta * (q[j] + zeta[j] * sigma[j]))
        .collect();
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    z[a] - max - z.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// erfc(x) for x ≥ 0: the all-positive series of erf below 2.5, the continued fraction
/// erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) above.
fn erfc_nonneg(x: f64) -> f64 {
    let inv_sqrt_pi = 0.564_189_583_547_756_3;
    if x < 2.5 {
        // erf(x) = 2/√π e^{−x²} Σₙ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
        let (mut term, mut total, mut n) = (x, x, 0.0);
        while term > 1e-18 * total {
            n += 1.0;
            term *= 2.0 * x * x / (2.0 * n + 1.0);
            total += term;
        }
        1.0 - 2.0 * inv_sqrt_pi * (-x * x).exp() * total
    } else {
        let mut f = x;
        for k in (1..300).rev() {
            f = x + (k as f64 / 2.0) / f;
        }
        inv_sqrt_pi * (-x * x).exp() / f
    }
}

/// The standard normal CDF from `erfc_nonneg`.
fn phi_cdf(z: f64) -> f64 {
    let e = erfc_nonneg(z.abs() / std::f64::consts::SQRT_2);
    if z < 0.0 { 0.5 * e } else { 1.0 - 0.5 * e }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Composite Simpson's rule of f over [a, b] with n (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut total = f(a) + f(b);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        total += w * f(a + i as f64 * h);
    }
    total * h / 3.0
}

/// A policy over S × A memories with q̄ and β.
fn policy(s: usize, a: usize, beta: f64, q: Vec<f64>) -> MemoryPolicy {
    MemoryPolicy::new(s, a, beta)
        .unwrap()
        .with_q_bar(q)
        .unwrap()
}

/// Frequencies of `n` draws of `draw()` over `a` actions.
fn frequencies(a: usize, n: usize, mut draw: impl FnMut() -> usize) -> Vec<f64> {
    let mut counts = vec![0.0; a];
    for _ in 0..n {
        counts[draw()] += 1.0;
    }
    counts.iter().map(|c| c / n as f64).collect()
}

/// Largest |freq − p| in binomial standard errors √(p(1−p)(1/n + extra)), where `extra` is
/// 1/M when p is itself an average of M independent draws with values in [0, 1] (whose
/// variance is then at most p(1 − p)), 0 when p is exact.
fn worst_in_se(freq: &[f64], p: &[f64], n: usize, extra: f64) -> f64 {
    freq.iter()
        .zip(p)
        .map(|(f, p)| {
            let se = (p * (1.0 - p) * (1.0 / n as f64 + extra))
                .sqrt()
                .max(1e-300);
            (f - p).abs() / se
        })
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------
// 1. The decision score (seed A.3)
// ---------------------------------------------------------------------------------------

/// S, A, β, q̄, σ, ζ, state, action.
type DecisionCase = (
    usize,
    usize,
    f64,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    usize,
    usize,
);

/// A random memory table and decision: S, A, β, q̄, σ > 0, ζ, state, action.
fn decision_case() -> impl Strategy<Value = DecisionCase> {
    (1usize..=3, 1usize..=6).prop_flat_map(|(s, a)| {
        (
            Just(s),
            Just(a),
            0.05..10.0f64,
            prop::collection::vec(-2.0..2.0f64, s * a),
            prop::collection::vec(-3.0..1.5f64, s * a), // log10 σ: σ ∈ [0.001, 31.6]
            prop::collection::vec(-3.0..3.0f64, a),
            0..s,
            0..a,
        )
            .prop_map(|(s, a, beta, q, log_sigma, zeta, state, action)| {
                let sigma = log_sigma.iter().map(|l| 10f64.powf(*l)).collect();
                (s, a, beta, q, sigma, zeta, state, action)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decision_score_passes_the_checker(
        (s, a, beta, q, sigma, zeta, state, action) in decision_case()
    ) {
        let policy = policy(s, a, beta, q.clone());
        let term = PolicyTerm::decision(&policy, state, action, zeta.clone());
        let theta = Array1::from(sigma.clone());
        let report = check_term(&term, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "S={s} A={a} beta={beta}: {report}");

        // The closed form βζⱼ(1[j = a] − πⱼ) in the state's row, zero elsewhere, and the value
        // log πₐ.
        let r = state * a..(state + 1) * a;
        let pi = soft_given_zeta(beta, &q[r.clone()], &sigma[r.clone()], &zeta);
        let mut g = Array1::zeros(s * a);
        let v = term.value_and_grad(theta.view(), g.view_mut()).unwrap();
        let want = log_soft_given_zeta(beta, &q[r.clone()], &sigma[r.clone()], &zeta, action);
        prop_assert!((v - want).abs() <= 1e-12 * v.abs().max(1.0), "{v} vs {want}");
        for k in 0..s * a {
            let want = if r.contains(&k) {
                let j = k - r.start;
                beta * zeta[j] * (f64::from(u8::from(j == action)) - pi[j])
            } else {
                0.0
            };
            prop_assert!((g[k] - want).abs() <= 1e-12 * want.abs().max(1.0), "entry {k}: {} vs {want}", g[k]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. The marginal's score
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A = 2 (exact quadrature), over β up to 10 and σ from 0.01 to 100 (β·σ up to 1000).
    #[test]
    fn two_action_marginal_score_passes_the_checker(
        beta in prop_oneof![Just(10.0), 0.1..10.0f64],
        q in prop::collection::vec(-2.0..2.0f64, 4),
        log_sigma in prop::collection::vec(-2.0..2.0f64, 4),
        state in 0usize..2,
        action in 0usize..2,
    ) {
        // Two states, so the score must land in the state's block and nowhere else.
        let sigma: Vec<f64> = log_sigma.iter().map(|l| 10f64.powf(*l)).collect();
        let policy = policy(2, 2, beta, q);
        let term = PolicyTerm::marginal(&policy, state, action);
        let report = assert_term(&term, arr1(&sigma).view(), &CheckOptions::default());
        prop_assert!(report.is_ok(), "beta={beta} sigma={sigma:?}: {report:?}");
    }
}

#[test]
fn two_action_marginal_score_at_the_extremes() {
    for (beta, q, sigma) in [
        (10.0, [1.0, 0.0], [100.0, 100.0]),
        (10.0, [1.0, 0.0], [0.01, 0.01]),
        (10.0, [0.0, 0.0], [0.01, 100.0]),
        (10.0, [2.0, -2.0], [0.01, 0.02]),
        (0.1, [0.0, 0.0], [0.01, 0.01]),
    ] {
        let policy = policy(1, 2, beta, q.to_vec());
        for action in 0..2 {
            let term = PolicyTerm::marginal(&policy, 0, action);
            let report = check_term(&term, arr1(&sigma).view(), &CheckOptions::default()).unwrap();
            assert!(
                report.passed(),
                "beta={beta} q={q:?} sigma={sigma:?}: {report}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]

    /// A = 3, 4: the marginal is the fixed-draw average, and its score is that average's exact
    /// gradient. One state: each case costs some 70 averages over 4096 draws (the block's
    /// placement in a larger table is checked by the two-action and decision tests).
    #[test]
    fn many_action_marginal_score_passes_the_checker(
        a in 3usize..=4,
        beta in 0.5..10.0f64,
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let q: Vec<f64> = (0..a).map(|_| rng.random_range(-1.0..1.0)).collect();
        let sigma: Vec<f64> = (0..a).map(|_| 10f64.powf(rng.random_range(-1.5..1.0))).collect();
        let action = rng.random_range(0..a);
        let policy = policy(1, a, beta, q);
        let term = PolicyTerm::marginal(&policy, 0, action);
        let report = check_term(&term, arr1(&sigma).view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "A={a} beta={beta} sigma={sigma:?}: {report}");
    }
}

// ---------------------------------------------------------------------------------------
// 3. The marginal and hard probabilities
// ---------------------------------------------------------------------------------------

/// A = 2: the quadrature against a seeded Monte Carlo average of π(0 | ζ) (200 000 draws,
/// within 4 standard errors), and the probabilities sum to 1.
#[test]
fn two_action_marginal_matches_monte_carlo() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let n = 200_000;
    for (beta, q, sigma) in [
        (1.0, [0.5, 0.0], [1.0, 2.0]),
        (10.0, [1.0, 0.0], [0.5, 2.0]),
        (10.0, [0.2, 0.0], [0.05, 0.01]),
        (0.3, [-1.0, 1.0], [3.0, 0.2]),
        (10.0, [1.0, -1.0], [30.0, 80.0]),
    ] {
        let policy = policy(1, 2, beta, q.to_vec());
        let mut p = [0.0; 2];
        policy.probabilities(&sigma, 0, &mut p).unwrap();
        assert!((p[0] + p[1] - 1.0).abs() < 1e-12, "{p:?}");
        // π(0 | ζ) = logistic(β(q̄₀ − q̄₁ + ζ₀σ₀ − ζ₁σ₁)), averaged over ζ.
        let (mut sum, mut sum2) = (0.0, 0.0);
        for _ in 0..n {
            let (z0, z1): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            let x = logistic(beta * (q[0] - q[1] + z0 * sigma[0] - z1 * sigma[1]));
            sum += x;
            sum2 += x * x;
        }
        let mean = sum / n as f64;
        let se = ((sum2 / n as f64 - mean * mean) / (n - 1) as f64).sqrt();
        let err = (mean - p[0]).abs() / se;
        assert!(
            err < 4.0,
            "beta={beta} q={q:?} sigma={sigma:?}: quadrature {} vs MC {mean} ± {se} ({err:.2} se)",
            p[0],
        );
        // log_prob is the log of the same probability.
        for a in 0..2 {
            let lp = policy.log_prob(&sigma, 0, a).unwrap();
            assert!((lp - p[a].ln()).abs() < 1e-12 * lp.abs().max(1.0));
        }
    }
}

#[test]
fn independent_normal_cdf_is_right() {
    for (z, want) in [
        (1.0, 0.841_344_746_068_542_9),
        (0.5, 0.691_462_461_274_013_1),
        (2.0, 0.977_249_868_051_820_8),
        (-3.0, 0.001_349_898_031_630_094_6),
        (-5.0, 2.866_515_718_791_939e-7),
        (0.0, 0.5),
    ] {
        assert!(
            (phi_cdf(z) - want).abs() <= 1e-15 + 1e-13 * want,
            "Φ({z}) = {} vs {want}",
            phi_cdf(z)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A = 2: hard Thompson is Φ((q̄₀ − q̄₁)/√(σ₀² + σ₁²)); the soft marginal lies between ½ and
    /// it; probabilities sum to 1; the entropy is in [0, ln 2].
    #[test]
    fn two_action_probabilities_are_consistent(
        beta in 0.05..10.0f64,
        q in prop::collection::vec(-3.0..3.0f64, 2),
        log_sigma in prop::collection::vec(-2.0..2.0f64, 2),
    ) {
        let sigma: Vec<f64> = log_sigma.iter().map(|l| 10f64.powf(*l)).collect();
        let policy = policy(1, 2, beta, q.clone());
        let (mut soft, mut hard) = ([0.0; 2], [0.0; 2]);
        policy.probabilities(&sigma, 0, &mut soft).unwrap();
        policy.thompson_probabilities(&sigma, 0, &mut hard).unwrap();
        let want = phi_cdf((q[0] - q[1]) / sigma[0].hypot(sigma[1]));
        for (got, want) in [(hard[0], want), (hard[1], 1.0 - want)] {
            prop_assert!((got - want).abs() <= 1e-12 + 1e-9 * want, "hard {got} vs Φ {want}");
        }
        prop_assert!((soft[0] + soft[1] - 1.0).abs() < 1e-12, "{soft:?}");
        prop_assert!((hard[0] + hard[1] - 1.0).abs() < 1e-12, "{hard:?}");
        // For q̄₀ ≥ q̄₁: ½ ≤ soft₀ ≤ hard₀ (the logistic noise only blurs the comparison).
        let (lo, s0, h0) = if q[0] >= q[1] { (0.5, soft[0], hard[0]) } else { (0.5, soft[1], hard[1]) };
        prop_assert!(lo - 1e-12 <= s0 && s0 <= h0 + 1e-12, "½ ≤ {s0} ≤ {h0}");
        let h = policy.choice_entropy(&sigma, 0).unwrap();
        prop_assert!((0.0..=std::f64::consts::LN_2 + 1e-12).contains(&h), "entropy {h}");
    }
}

#[test]
fn choice_entropy_bounds_and_limit() {
    let ln2 = std::f64::consts::LN_2;
    let policy2 = policy(1, 2, 1.0, vec![1.0, 0.0]);
    let mut last = 0.0;
    for sigma in [0.01, 0.1, 1.0, 10.0, 100.0, 1e4] {
        let h = policy2.choice_entropy(&[sigma, sigma], 0).unwrap();
        assert!(
            h >= 0.0 && h <= ln2 && h >= last,
            "σ = {sigma}: {h} (last {last})"
        );
        last = h;
    }
    assert!(ln2 - last < 1e-6, "{last}");
    // A certain choice has entropy ≈ 0: β(q̄₀ − q̄₁) = 40 and small σ.
    let sure = policy(1, 2, 10.0, vec![2.0, -2.0]);
    assert!(sure.choice_entropy(&[0.01, 0.01], 0).unwrap() < 1e-15);
    // A = 4: ≤ ln 4; equal memories give exactly the uniform choice by symmetry only on
    // average, so the bound is checked with a tolerance of the draws' standard error.
    let policy4 = policy(1, 4, 2.0, vec![0.3, 0.0, -0.2, 0.1]);
    for sigma in [0.1, 1.0, 30.0] {
        let h = policy4.choice_entropy(&[sigma; 4], 0).unwrap();
        assert!(h >= 0.0 && h <= 4f64.ln(), "{h}");
    }
    let h = policy4.choice_entropy(&[1e4; 4], 0).unwrap();
    assert!(4f64.ln() - h < 1e-3, "{h}");
    // A = 1: the choice is certain.
    assert_eq!(
        policy(1, 1, 1.0, vec![0.0])
            .choice_entropy(&[2.0], 0)
            .unwrap(),
        0.0
    );
}

/// A ≥ 3: the probabilities sum to 1 (an average of softmaxes), and the fixed-draw average is
/// within its standard error of an independent Monte Carlo average.
#[test]
fn many_action_marginal_is_an_average_of_softmaxes() {
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let (beta, q, sigma) = (3.0, [0.5, 0.0, -0.3, 0.2], [1.0, 0.3, 2.0, 0.7]);
    let policy = policy(1, 4, beta, q.to_vec());
    let mut p = [0.0; 4];
    policy.probabilities(&sigma, 0, &mut p).unwrap();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{p:?}");
    let n = 50_000;
    let samples: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            let zeta: Vec<f64> = (0..4).map(|_| rng.sample(StandardNormal)).collect();
            soft_given_zeta(beta, &q, &sigma, &zeta)
        })
        .collect();
    let stats = Stats::new(&samples);
    for j in 0..4 {
        // Both are averages with per-draw variance var[j]: SE of the difference.
        let se = (stats.var[j] * (1.0 / n as f64 + 1.0 / MARGINAL_DRAWS as f64)).sqrt();
        assert!(
            (p[j] - stats.mean[j]).abs() < 4.0 * se,
            "action {j}: {} vs {}",
            p[j],
            stats.mean[j]
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. The samplers
// ---------------------------------------------------------------------------------------

#[test]
fn decide_and_sample_draw_from_the_marginal() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let n = 40_000;
    let mut zeta = Vec::new();
    for (s, a, beta, q, sigma) in [
        (1, 2, 10.0, vec![1.0, 0.0], vec![0.5, 2.0]),
        (1, 2, 1.0, vec![0.2, 0.0], vec![3.0, 0.1]),
        (
            2,
            3,
            3.0,
            vec![9.0, 9.0, 9.0, 0.5, 0.0, -0.3],
            vec![1.0; 3].into_iter().chain([1.0, 0.3, 2.0]).collect(),
        ),
    ] {
        let policy = policy(s, a, beta, q);
        let state = s - 1;
        let mut p = vec![0.0; a];
        policy.probabilities(&sigma, state, &mut p).unwrap();
        let extra = if a == 2 {
            0.0
        } else {
            1.0 / MARGINAL_DRAWS as f64
        };
        let f = frequencies(a, n, || {
            let act = policy.decide(&sigma, state, &mut rng, &mut zeta).unwrap();
            assert_eq!(zeta.len(), a);
            act
        });
        let e = worst_in_se(&f, &p, n, extra);
        assert!(e < 4.0, "decide, A={a}: {f:?} vs {p:?} ({e:.2} se)");
        let f = frequencies(a, n, || policy.sample(&sigma, state, &mut rng).unwrap());
        let e = worst_in_se(&f, &p, n, extra);
        assert!(e < 4.0, "sample, A={a}: {f:?} vs {p:?} ({e:.2} se)");
    }
}

#[test]
fn thompson_draws_from_the_hard_probabilities() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 40_000;
    for (a, q, sigma) in [
        (2, vec![1.0, 0.0], vec![0.5, 2.0]),
        (2, vec![0.1, 0.0], vec![0.01, 0.02]),
        (3, vec![0.5, 0.0, -0.3], vec![1.0, 0.3, 2.0]),
    ] {
        let policy = policy(1, a, 5.0, q);
        let mut p = vec![0.0; a];
        policy.thompson_probabilities(&sigma, 0, &mut p).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let f = frequencies(a, n, || policy.thompson(&sigma, 0, &mut rng).unwrap());
        let extra = if a == 2 {
            0.0
        } else {
            1.0 / MARGINAL_DRAWS as f64
        };
        let e = worst_in_se(&f, &p, n, extra);
        assert!(e < 4.0, "thompson, A={a}: {f:?} vs {p:?} ({e:.2} se)");
    }
}

// ---------------------------------------------------------------------------------------
// 5. Unbiasedness of the REINFORCE σ-gradient
// ---------------------------------------------------------------------------------------

/// J(σ) = Σₐ π(a; σ) r̄(a) by the quadrature marginal.
fn expected_reward(policy: &MemoryPolicy, sigma: &[f64], mean_reward: &[f64; 2]) -> f64 {
    let mut p = [0.0; 2];
    policy.probabilities(sigma, 0, &mut p).unwrap();
    p[0] * mean_reward[0] + p[1] * mean_reward[1]
}

/// One state, two actions, reward r(a) with mean r̄(a) (fixed, or Bernoulli(r̄(a))). ∇J from the
/// marginal score Σₐ r̄(a) π(a) ∇log π(a), checked against finite differences of J; then M
/// batches of N one-step episodes, decided by `decide`, recorded by `record_decision` and
/// estimated by `SequentialReinforce` (total return, no baseline): the mean estimate is within
/// 4 standard errors (SE = sd/√M over the batches) of ∇J in each component.
#[test]
fn reinforce_with_decision_scores_is_unbiased_for_the_marginal_gradient() {
    let (m, n) = (400, 50);
    for (bernoulli, beta, q, sigma, mean_reward) in [
        (false, 2.0, [0.5, 0.0], [1.0, 2.0], [1.0, 0.0]),
        (true, 10.0, [0.3, 0.0], [0.4, 0.1], [0.8, 0.3]),
        (false, 1.0, [0.3, 0.0], [3.0, 0.5], [1.0, 0.0]),
    ] {
        let policy = policy(1, 2, beta, q.to_vec());
        // The exact gradient by the marginal score …
        let mut grad = [0.0; 2];
        for a in 0..2 {
            let mut score = [0.0; 2];
            let lp = policy.log_prob_and_score(&sigma, 0, a, &mut score).unwrap();
            for j in 0..2 {
                grad[j] += mean_reward[a] * lp.exp() * score[j];
            }
        }
        // … and by finite differences of J.
        let fd = jacobian(arr1(&sigma).view(), &FdOptions::default(), |t| {
            Ok(arr1(&[expected_reward(
                &policy,
                t.as_slice().unwrap(),
                &mean_reward,
            )]))
        })
        .unwrap();
        for j in 0..2 {
            assert!(
                (grad[j] - fd[[0, j]]).abs() < 1e-9,
                "∇J[{j}]: score {} vs fd {}",
                grad[j],
                fd[[0, j]]
            );
        }
        assert!(
            grad.iter().any(|g| g.abs() > 1e-3),
            "a test with ∇J ≈ 0 proves little: {grad:?}"
        );

        let mut rng = ChaCha8Rng::seed_from_u64(55);
        let mut episodes = Episodes::new(policy.dim());
        let mut est = SequentialReinforce::new(Weighting::TotalReturn {
            gamma: 1.0,
            baseline: Baseline::None,
        })
        .unwrap();
        let mut zeta = Vec::new();
        let mut g = Array1::zeros(2);
        let estimates: Vec<Vec<f64>> = (0..m)
            .map(|_| {
                episodes.clear();
                for _ in 0..n {
                    let a = policy.decide(&sigma, 0, &mut rng, &mut zeta).unwrap();
                    let r = if bernoulli {
                        f64::from(u8::from(rng.random::<f64>() < mean_reward[a]))
                    } else {
                        mean_reward[a]
                    };
                    episodes
                        .record_decision(&policy, &sigma, StepRecord::new(0, a, r), &zeta)
                        .unwrap();
                    episodes.end_episode();
                }
                est.estimate(&episodes, g.view_mut()).unwrap();
                g.to_vec()
            })
            .collect();
        let stats = Stats::new(&estimates);
        let err = stats.bias_in_se(&grad);
        assert!(
            err < 4.0,
            "beta={beta} sigma={sigma:?}: mean {:?} ± {:?} vs exact {grad:?} ({err:.2} se)",
            stats.mean,
            stats.mean_se
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. The KL resource cost
// ---------------------------------------------------------------------------------------

/// KL(N(μ, s²) ‖ N(μ, b²)) = ln(b/s) + s²/(2b²) − ½, the textbook form of one memory.
fn kl_gaussians(s: f64, b: f64) -> f64 {
    (b / s).ln() + s * s / (2.0 * b * b) - 0.5
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn kl_cost_passes_the_checker_and_is_the_kl(
        log_sigma in prop::collection::vec(-2.0..2.0f64, 1..8),
        log_base in -1.0..2.0f64,
        mask_bits in any::<u8>(),
        masked in any::<bool>(),
        lambda in 0.01..2.0f64,
    ) {
        let sigma: Vec<f64> = log_sigma.iter().map(|l| 10f64.powf(*l)).collect();
        let k = sigma.len();
        let b = 10f64.powf(log_base);
        let mask: Vec<bool> = (0..k).map(|i| !masked || (mask_bits >> i) & 1 == 1).collect();
        let mut cost = KlCost::new(k, b).unwrap();
        if masked {
            cost = cost.with_mask(mask.clone()).unwrap();
        }
        let theta = arr1(&sigma);
        // The finite-difference step must be small next to the smallest σ (the default
        // 10⁻³ is 10% of σ = 0.01, too coarse for the 1/σ² curvature).
        let smallest = sigma.iter().copied().fold(1.0, f64::min);
        let mut opts = CheckOptions::default();
        opts.fd.step = 1e-3 * smallest;
        let report = check_term(&cost, theta.view(), &opts).unwrap();
        prop_assert!(report.passed(), "{report}");
        prop_assert!(cost.has_exact_hessian());

        let want: f64 = (0..k).filter(|&i| mask[i]).map(|i| kl_gaussians(sigma[i], b)).sum();
        let v = cost.value(theta.view()).unwrap();
        prop_assert!((v - want).abs() <= 1e-12 * want.abs().max(1.0), "{v} vs {want}");
        prop_assert!(v >= 0.0);

        // In an objective with weight −λ: gradient −λ(σ/σ_b² − 1/σ) on counted memories.
        let obj = Objective::new(k).with("cost", -lambda, &cost).unwrap();
        let mut g = Array1::zeros(k);
        let (mut g2, mut h) = (Array1::zeros(k), Array2::zeros((k, k)));
        let ov = obj.value_and_grad(theta.view(), g.view_mut()).unwrap();
        obj.value_grad_hessian(theta.view(), g2.view_mut(), h.view_mut()).unwrap();
        prop_assert!((ov + lambda * v).abs() <= 1e-12 * ov.abs().max(1.0));
        for i in 0..k {
            let s = sigma[i];
            let (wg, wh) = if mask[i] {
                (-lambda * (s / (b * b) - 1.0 / s), -lambda * (1.0 / (b * b) + 1.0 / (s * s)))
            } else {
                (0.0, 0.0)
            };
            prop_assert!((g[i] - wg).abs() <= 1e-12 * wg.abs().max(1.0), "grad {i}: {} vs {wg}", g[i]);
            prop_assert!((h[[i, i]] - wh).abs() <= 1e-12 * wh.abs().max(1.0), "hess {i}: {} vs {wh}", h[[i, i]]);
            for j in 0..k {
                if j != i {
                    prop_assert_eq!(h[[i, j]], 0.0);
                }
            }
        }
    }
}

#[test]
fn kl_cost_is_zero_at_the_base() {
    for b in [0.01, 1.0, 5.0, 100.0] {
        let cost = KlCost::new(3, b).unwrap();
        let mut g = Array1::zeros(3);
        let v = cost
            .value_and_grad(arr1(&[b; 3]).view(), g.view_mut())
            .unwrap();
        assert!(v.abs() < 1e-15, "{v}");
        assert!(g.iter().all(|x| x.abs() < 1e-12 / b), "{g}");
    }
}

// ---------------------------------------------------------------------------------------
// 7. Bad input
// ---------------------------------------------------------------------------------------

fn invalid_option(e: Error, name: &str) {
    match e {
        Error::InvalidOption { name: n, .. } => assert_eq!(n, name),
        e => panic!("expected InvalidOption `{name}`, got {e:?}"),
    }
}

fn dimension_mismatch(e: Error, what: &str) {
    match e {
        Error::DimensionMismatch { what: w, .. } => assert_eq!(w, what),
        e => panic!("expected DimensionMismatch `{what}`, got {e:?}"),
    }
}

fn index_out_of_range(e: Error, what: &str) {
    match e {
        Error::IndexOutOfRange { what: w, .. } => assert_eq!(w, what),
        e => panic!("expected IndexOutOfRange `{what}`, got {e:?}"),
    }
}

fn non_finite_input(e: Error, what: &str) {
    match e {
        Error::NonFiniteInput { what: w, .. } => assert_eq!(w, what),
        e => panic!("expected NonFiniteInput `{what}`, got {e:?}"),
    }
}

fn invalid_parameter(e: Error, name: &str) {
    match e {
        Error::InvalidParameter { name: n, .. } => assert_eq!(n, name),
        e => panic!("expected InvalidParameter `{name}`, got {e:?}"),
    }
}

fn non_finite_theta(e: Error, index: usize, name: &str) {
    match e {
        Error::NonFiniteTheta {
            index: i, name: n, ..
        } => {
            assert_eq!((i, n.as_str()), (index, name));
        }
        e => panic!("expected NonFiniteTheta {index} `{name}`, got {e:?}"),
    }
}

#[test]
fn memory_policy_options_are_checked() {
    invalid_option(MemoryPolicy::new(0, 2, 1.0).unwrap_err(), "n_states");
    invalid_option(MemoryPolicy::new(2, 0, 1.0).unwrap_err(), "n_actions");
    invalid_option(
        MemoryPolicy::new(usize::MAX, 2, 1.0).unwrap_err(),
        "n_states x n_actions",
    );
    for beta in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
        invalid_option(MemoryPolicy::new(1, 2, beta).unwrap_err(), "beta");
        let mut p = MemoryPolicy::new(1, 2, 2.0).unwrap();
        invalid_option(p.set_beta(beta).unwrap_err(), "beta");
        assert_eq!(p.beta(), 2.0, "a refused β leaves the policy alone");
    }
    let p = MemoryPolicy::new(2, 2, 1.0).unwrap();
    dimension_mismatch(p.clone().with_q_bar(vec![0.0; 3]).unwrap_err(), "q_bar");
    non_finite_input(
        p.clone()
            .with_q_bar(vec![0.0, f64::NAN, 0.0, 0.0])
            .unwrap_err(),
        "q_bar[1]",
    );
    non_finite_input(
        p.with_q_bar(vec![0.0, 0.0, 0.0, f64::NEG_INFINITY])
            .unwrap_err(),
        "q_bar[3]",
    );
}

/// Every method that reads σ in state 1 of a 2 × 3 table, as one closure returning the error.
fn every_method(
    policy: &MemoryPolicy,
    sigma: &[f64],
    state: usize,
    action: usize,
) -> Vec<(&'static str, rlgrad::Result<()>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = policy.n_actions();
    let (mut buf, mut zeta, mut probs) = (vec![0.0; a], vec![0.0; a], vec![0.0; a]);
    let noise = vec![0.5; a];
    vec![
        (
            "probabilities",
            policy.probabilities(sigma, state, &mut buf),
        ),
        ("sample", policy.sample(sigma, state, &mut rng).map(drop)),
        ("log_prob", policy.log_prob(sigma, state, action).map(drop)),
        (
            "add_log_prob_and_score",
            policy
                .add_log_prob_and_score(sigma, state, action, 1.0, &mut buf)
                .map(drop),
        ),
        (
            "decide",
            policy.decide(sigma, state, &mut rng, &mut zeta).map(drop),
        ),
        (
            "decide_into",
            policy
                .decide_into(sigma, state, &mut rng, &mut zeta, &mut probs)
                .map(drop),
        ),
        (
            "add_decision_score",
            policy
                .add_decision_score(sigma, state, action, &noise, 1.0, &mut buf)
                .map(drop),
        ),
        (
            "thompson",
            policy.thompson(sigma, state, &mut rng).map(drop),
        ),
        (
            "thompson_probabilities",
            policy.thompson_probabilities(sigma, state, &mut buf),
        ),
        (
            "choice_entropy",
            policy.choice_entropy(sigma, state).map(drop),
        ),
    ]
}

#[test]
fn bad_sigma_state_and_action_are_typed_errors() {
    for a in [2, 3] {
        let policy = MemoryPolicy::new(2, a, 2.0).unwrap();
        let good = vec![1.0; 2 * a];
        for (name, r) in every_method(&policy, &good, 1, a - 1) {
            assert!(r.is_ok(), "{name}: {r:?}");
        }
        // σ ≤ 0 in the state's row: InvalidParameter naming sigma[s, a].
        for bad in [0.0, -0.0, -1.0, -f64::MIN_POSITIVE] {
            let mut sigma = good.clone();
            sigma[a + 1] = bad;
            for (name, r) in every_method(&policy, &sigma, 1, 0) {
                let e = r.expect_err(name);
                invalid_parameter(e, "sigma[1, 1]");
            }
            invalid_parameter(policy.check_sigma(&sigma).unwrap_err(), "sigma[1, 1]");
            invalid_parameter(policy.check_theta(&sigma).unwrap_err(), "sigma[1, 1]");
            // Another state's row is not read.
            for (name, r) in every_method(&policy, &sigma, 0, 0) {
                assert!(r.is_ok(), "{name}: {r:?}");
            }
        }
        // σ NaN or ±∞: NonFiniteTheta with the θ index and the name.
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut sigma = good.clone();
            sigma[a] = bad;
            for (name, r) in every_method(&policy, &sigma, 1, 0) {
                let e = r.expect_err(name);
                non_finite_theta(e, a, "sigma[1, 0]");
            }
            non_finite_theta(policy.check_sigma(&sigma).unwrap_err(), a, "sigma[1, 0]");
        }
        // Wrong σ length.
        for len in [0, 2 * a - 1, 2 * a + 1] {
            for (name, r) in every_method(&policy, &vec![1.0; len], 1, 0) {
                dimension_mismatch(r.expect_err(name), "sigma");
            }
        }
        // State out of range.
        for (name, r) in every_method(&policy, &good, 2, 0) {
            index_out_of_range(r.expect_err(name), "state");
        }
        index_out_of_range(policy.score_block(2).unwrap_err(), "state");
        // Action out of range (the methods that take one).
        let mut buf = vec![0.0; a];
        index_out_of_range(policy.log_prob(&good, 1, a).unwrap_err(), "action");
        index_out_of_range(
            policy
                .add_log_prob_and_score(&good, 1, a, 1.0, &mut buf)
                .unwrap_err(),
            "action",
        );
        index_out_of_range(
            policy
                .add_decision_score(&good, 1, a, &vec![0.0; a], 1.0, &mut buf)
                .unwrap_err(),
            "action",
        );
        // A non-finite q̄ entry in the row read (through q_bar_mut).
        let mut p = policy.clone();
        p.q_bar_mut()[a + 1] = f64::NAN;
        for (name, r) in every_method(&p, &good, 1, 0) {
            non_finite_input(r.expect_err(name), "q_bar[1, 1]");
        }
    }
}

#[test]
fn bad_noise_and_buffers_are_typed_errors() {
    let policy = MemoryPolicy::new(1, 3, 2.0).unwrap();
    let sigma = [1.0; 3];
    let mut score = [0.0; 3];
    for len in [0, 2, 4] {
        dimension_mismatch(
            policy
                .add_decision_score(&sigma, 0, 0, &vec![0.0; len], 1.0, &mut score)
                .unwrap_err(),
            "noise (zeta)",
        );
    }
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        non_finite_input(
            policy
                .add_decision_score(&sigma, 0, 0, &vec![0.0, 0.0, bad], 1.0, &mut score)
                .unwrap_err(),
            "zeta[2]",
        );
        non_finite_input(
            policy
                .add_decision_score(&sigma, 0, 0, &vec![0.0; 3], bad, &mut score)
                .unwrap_err(),
            "alpha",
        );
        non_finite_input(
            policy
                .add_log_prob_and_score(&sigma, 0, 0, bad, &mut score)
                .unwrap_err(),
            "alpha",
        );
    }
    assert_eq!(score, [0.0; 3], "refused calls leave the score alone");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut short, mut ok) = (vec![0.0; 2], vec![0.0; 3]);
    dimension_mismatch(
        policy
            .add_decision_score(&sigma, 0, 0, &vec![0.0; 3], 1.0, &mut short)
            .unwrap_err(),
        "score block",
    );
    dimension_mismatch(
        policy
            .add_log_prob_and_score(&sigma, 0, 0, 1.0, &mut short)
            .unwrap_err(),
        "score block",
    );
    dimension_mismatch(
        policy.probabilities(&sigma, 0, &mut short).unwrap_err(),
        "probabilities buffer",
    );
    dimension_mismatch(
        policy
            .thompson_probabilities(&sigma, 0, &mut short)
            .unwrap_err(),
        "probabilities buffer",
    );
    dimension_mismatch(
        policy
            .decide_into(&sigma, 0, &mut rng, &mut short, &mut ok)
            .unwrap_err(),
        "zeta buffer",
    );
    dimension_mismatch(
        policy
            .decide_into(&sigma, 0, &mut rng, &mut ok, &mut short)
            .unwrap_err(),
        "probabilities buffer",
    );
    // record_decision passes the noise check through, and stores nothing.
    let mut episodes = Episodes::new(3);
    assert!(
        episodes
            .record_decision(
                &policy,
                &sigma,
                StepRecord::new(0, 0, 1.0),
                &vec![f64::NAN; 3]
            )
            .is_err()
    );
    assert_eq!(episodes.n_steps(), 0);
}

/// Extreme but valid numbers: an error or a finite answer, never a panic or a NaN. Every
/// violation is collected (one line per method and case) and reported at once.
#[test]
fn extreme_valid_numbers_give_finite_answers_or_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut bad = Vec::new();
    let mut see = |ok: bool, what: &str, ctx: &str, got: String| {
        if !ok {
            bad.push(format!("{what} {ctx}: {got}"));
        }
    };
    for &beta in &[1e-300, 1.0, 1e300] {
        for &q in &[0.0, 1.0, 1e300] {
            for a in [2, 3] {
                let qs: Vec<f64> = (0..a)
                    .map(|j| if j == 0 { q } else { -q * j as f64 / 2.0 })
                    .collect();
                let policy = policy(1, a, beta, qs);
                // A = 3 averages 4096 draws per call: fewer σ for it.
                let (s0s, s1s): (&[f64], &[f64]) = if a == 2 {
                    (
                        &[5e-324, 1e-160, 1.0, 1e160, f64::MAX],
                        &[1e-300, 1.0, 1e300],
                    )
                } else {
                    (&[5e-324, 1.0, f64::MAX], &[1e-300, 1e300])
                };
                for &s0 in s0s {
                    for &s1 in s1s {
                        let mut sigma = vec![s1; a];
                        sigma[0] = s0;
                        let ctx = format!("A={a} beta={beta:e} q={q:e} sigma={sigma:?}");
                        let mut p = vec![0.0; a];
                        if policy.probabilities(&sigma, 0, &mut p).is_ok() {
                            see(
                                p.iter().all(|x| x.is_finite()),
                                "probabilities",
                                &ctx,
                                format!("{p:?}"),
                            );
                        }
                        if policy.thompson_probabilities(&sigma, 0, &mut p).is_ok() {
                            see(
                                p.iter().all(|x| x.is_finite()),
                                "thompson_probabilities",
                                &ctx,
                                format!("{p:?}"),
                            );
                        }
                        if let Ok(h) = policy.choice_entropy(&sigma, 0) {
                            see(
                                h.is_finite() && h >= -1e-12,
                                "choice_entropy",
                                &ctx,
                                format!("{h}"),
                            );
                        }
                        for act in 0..a {
                            let mut score = vec![0.0; a];
                            if let Ok(lp) =
                                policy.add_log_prob_and_score(&sigma, 0, act, 1.0, &mut score)
                            {
                                see(
                                    lp.is_finite() && lp <= 1e-12,
                                    "marginal log_prob",
                                    &ctx,
                                    format!("{lp}"),
                                );
                            }
                            see(
                                score.iter().all(|x| x.is_finite()),
                                "marginal score",
                                &ctx,
                                format!("{score:?}"),
                            );
                        }
                        let mut zeta = Vec::new();
                        let mut probs = vec![0.0; a];
                        if let Ok(act) = policy.decide(&sigma, 0, &mut rng, &mut zeta) {
                            let mut score = vec![0.0; a];
                            if let Ok(lp) =
                                policy.add_decision_score(&sigma, 0, act, &zeta, 1.0, &mut score)
                            {
                                see(lp.is_finite(), "decision log_prob", &ctx, format!("{lp}"));
                            }
                            see(
                                score.iter().all(|x| x.is_finite()),
                                "decision score",
                                &ctx,
                                format!("{score:?}"),
                            );
                        }
                        if let Ok((_, lp)) =
                            policy.decide_into(&sigma, 0, &mut rng, &mut zeta, &mut probs)
                        {
                            see(
                                lp.is_finite() && probs.iter().all(|x| x.is_finite()),
                                "decide_into",
                                &ctx,
                                format!("{lp} {probs:?}"),
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} violations:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn kl_cost_bad_input_is_a_typed_error() {
    invalid_option(KlCost::new(0, 1.0).unwrap_err(), "dim");
    for b in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        invalid_option(KlCost::new(2, b).unwrap_err(), "sigma_base");
    }
    for len in [0, 1, 3] {
        dimension_mismatch(
            KlCost::new(2, 1.0)
                .unwrap()
                .with_mask(vec![true; len])
                .unwrap_err(),
            "mask",
        );
    }
    let cost = KlCost::new(3, 2.0).unwrap();
    let mut g = Array1::zeros(3);
    for bad in [0.0, -0.0, -1.0] {
        invalid_parameter(
            cost.value_and_grad(arr1(&[1.0, bad, 1.0]).view(), g.view_mut())
                .unwrap_err(),
            "sigma[1]",
        );
        invalid_parameter(
            cost.value(arr1(&[1.0, 1.0, bad]).view()).unwrap_err(),
            "sigma[2]",
        );
    }
    for bad in [f64::NAN, f64::INFINITY] {
        assert!(matches!(
            cost.value(arr1(&[1.0, bad, 1.0]).view()).unwrap_err(),
            Error::NonFiniteTheta { index: 1, .. }
        ));
    }
    dimension_mismatch(cost.value(arr1(&[1.0; 2]).view()).unwrap_err(), "theta");
    dimension_mismatch(
        cost.value_and_grad(arr1(&[1.0; 3]).view(), Array1::zeros(2).view_mut())
            .unwrap_err(),
        "gradient buffer",
    );
    // A masked-out memory is not part of the allocation: its σ is not read (even σ ≤ 0).
    let masked = KlCost::new(3, 2.0)
        .unwrap()
        .with_mask(vec![true, false, true])
        .unwrap();
    let v = masked.value(arr1(&[2.0, -1.0, 2.0]).view()).unwrap();
    assert_eq!(v, 0.0);
    let v = masked.value(arr1(&[2.0, 0.0, 4.0]).view()).unwrap();
    assert!((v - kl_gaussians(4.0, 2.0)).abs() < 1e-15);
    invalid_parameter(
        masked.value(arr1(&[2.0, 1.0, 0.0]).view()).unwrap_err(),
        "sigma[2]",
    );
}

/// Tiny or huge (valid) σ: the value, gradient and Hessian are finite, or the call is an error.
#[test]
fn kl_cost_extreme_sigma_is_finite_or_an_error() {
    let cost = KlCost::new(1, 1.0).unwrap();
    for s in [
        5e-324,
        1e-310,
        1e-200,
        1e-160,
        1e-150,
        1e-3,
        1e150,
        1e160,
        1e200,
        f64::MAX,
    ] {
        let theta = arr1(&[s]);
        let (mut g, mut h) = (Array1::zeros(1), Array2::zeros((1, 1)));
        if let Ok(v) = cost.value_and_grad(theta.view(), g.view_mut()) {
            assert!(
                v.is_finite() && g[0].is_finite(),
                "σ = {s:e}: value {v}, gradient {}",
                g[0]
            );
        }
        let (mut g, mut h2) = (Array1::zeros(1), Array2::zeros((1, 1)));
        if let Ok(v) = cost.value_grad_hessian(theta.view(), g.view_mut(), h2.view_mut()) {
            assert!(
                v.is_finite() && g[0].is_finite() && h2[[0, 0]].is_finite(),
                "σ = {s:e}: value {v}, gradient {}, hessian {}",
                g[0],
                h2[[0, 0]]
            );
        }
        h.fill(0.0);
    }
}

// ---------------------------------------------------------------------------------------
// 8. normal_expectation
// ---------------------------------------------------------------------------------------

/// E[logistic(m + s z)] by composite Simpson over [−12, 12], split at the logistic's centre
/// z = −m/s with a fine grid of ±0.05 around it.
fn logistic_expectation_simpson(m: f64, s: f64) -> f64 {
    let f =
        |z: f64| logistic(m + s * z) * (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let c = -m / s;
    if c.abs() < 11.9 {
        simpson(f, -12.0, c - 0.05, 40_000)
            + simpson(f, c - 0.05, c + 0.05, 40_000)
            + simpson(f, c + 0.05, 12.0, 40_000)
    } else {
        simpson(f, -12.0, 12.0, 100_000)
    }
}

#[test]
fn normal_expectation_of_a_logistic_matches_simpson() {
    for s in [1e-3, 1.0, 70.0, 1500.0] {
        for m in [-30.0, -3.0, -0.4, 0.0, 0.7, 5.0, 100.0] {
            let c = -m / s;
            let [got] = normal_expectation(|z| [logistic(m + s * z)], c, 1.0 / s);
            let want = logistic_expectation_simpson(m, s);
            assert!(
                (got - want).abs() < 1e-11,
                "m={m} s={s}: quadrature {got} vs Simpson {want}"
            );
        }
    }
}

#[test]
fn normal_expectation_moments() {
    for (centre, width) in [
        (0.0, 1.0),
        (0.3, 1e-4),
        (-5.0, 0.01),
        (f64::NAN, 1.0),
        (50.0, 1.0),
    ] {
        let [m0, m6] = normal_expectation(|z| [1.0, z.powi(6)], centre, width);
        assert!((m0 - 1.0).abs() < 1e-13, "{m0}");
        assert!((m6 - 15.0).abs() < 1e-10, "centre {centre}: E[z⁶] = {m6}");
    }
}

/// Logits beyond the double range (β·σ·ζ ≈ 1e600, so ±∞): `decide` and `sample` take the
/// limit where it exists (one logit at +∞ wins) and refuse the draw where it does not (two at
/// +∞: ∞ − ∞), never drawing from NaN probabilities or returning a bad index. Over many
/// draws with A = 3, both outcomes occur.
#[test]
fn decisions_refuse_logits_that_overflow() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for a in [2, 3] {
        let policy = policy(1, a, 1e300, vec![0.0; a]);
        let sigma = vec![1e300; a];
        let mut zeta = Vec::new();
        let (mut ok, mut refused) = (0, 0);
        for _ in 0..200 {
            match policy.decide(&sigma, 0, &mut rng, &mut zeta) {
                Ok(action) => {
                    ok += 1;
                    // The winner is the one logit at +∞.
                    let top = (0..a).filter(|&j| zeta[j] > 0.0).count();
                    assert_eq!(top, 1, "{zeta:?}");
                    assert!(zeta[action] > 0.0, "{zeta:?} -> {action}");
                }
                Err(e) => {
                    refused += 1;
                    assert!(matches!(e, Error::NonFiniteResult { .. }), "{e:?}");
                }
            }
            if let Ok(action) = policy.sample(&sigma, 0, &mut rng) {
                assert!(action < a);
            }
        }
        assert!(
            ok > 0 && (a == 2 || refused > 0),
            "A = {a}: {ok} drawn, {refused} refused"
        );
    }
}
