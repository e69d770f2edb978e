//! Independent checks of the likelihood's VALUES, not just of derivative consistency:
//!
//! - a brute-force re-implementation written here (plain loops: Q table, delta rule, softmax
//!   through `f64::exp`/`ln_1p` with the max shift, perseveration) agrees with
//!   `Likelihood::value` to 1e-12 relative for every model variant;
//! - probabilities normalise: summing exp(log-likelihood) over every possible action sequence
//!   of a tiny task gives 1 to 1e-12;
//! - the carried term: the seed's recursion for ∂Q/∂α (which drops (1 − α)·∂Q/∂α) gives a
//!   gradient that finite differences of the value reject, while the crate's agrees to 1e-7;
//! - numerical stability (spec section 7, "not errors, but must stay finite and exact"):
//!   β = 1e3, all values equal, α at 1e-12 and 1 − 1e-12, a log-probability of −1e-20 with
//!   full relative accuracy, and long sessions (1e5 trials here, 1e7 behind `--ignored`)
//!   against a Kahan-summed reference;
//! - value-only, value + gradient and value + gradient + Hessian return the same bits.

use crate::common;

use common::models::{Variant, all_variants, posterior};
use ndarray::{Array1, Array2, ArrayView1};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::learning::order;
use rlgrad::observation::{Choice, ObsBuffers};
use rlgrad::params::Transform;
use rlgrad::prelude::*;

// ---------------------------------------------------------------------------------------
// The brute-force reference model
// ---------------------------------------------------------------------------------------

/// Natural parameters, computed here from θ without the crate's transforms.
#[derive(Clone, Copy, Debug)]
struct Psi {
    alpha_pos: f64,
    alpha_neg: f64,
    q0: f64,
    beta: f64,
    kappa: f64,
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// ψ from θ laid out as the crate documents: rates, [q0], beta, [kappa].
fn psi_of(v: Variant, theta: &[f64]) -> Psi {
    assert_eq!(theta.len(), v.n_params());
    let mut it = theta.iter().copied();
    let alpha_pos = sigmoid(it.next().unwrap());
    let alpha_neg = if v.dual {
        sigmoid(it.next().unwrap())
    } else {
        alpha_pos
    };
    let q0 = if v.learned_q0 {
        it.next().unwrap()
    } else {
        0.0
    };
    let beta = it.next().unwrap().exp();
    let kappa = if v.perseveration {
        it.next().unwrap()
    } else {
        0.0
    };
    Psi {
        alpha_pos,
        alpha_neg,
        q0,
        beta,
        kappa,
    }
}

/// log softmax(z)[a], shifted by the maximum; the sum of the other terms goes through
/// `ln_1p`, so a log-probability near 0 keeps its relative accuracy.
fn log_softmax(z: &[f64], a: usize) -> f64 {
    let mut top = 0;
    for j in 1..z.len() {
        if z[j] > z[top] {
            top = j;
        }
    }
    let m = z[top];
    let mut rest = 0.0;
    for (j, &zj) in z.iter().enumerate() {
        if j != top {
            rest += (zj - m).exp();
        }
    }
    (z[a] - m) - rest.ln_1p()
}

/// The log-probability of every choice of a session, by the textbook recursion; a missed
/// trial (no response) has none and changes nothing.
fn reference_trials(p: &Psi, n_actions: usize, session: &Session) -> Vec<f64> {
    let n_states = session.n_states_used();
    let mut q = vec![vec![p.q0; n_actions]; n_states];
    let mut previous: Option<usize> = None;
    let mut out = Vec::with_capacity(session.len());
    let mut z = vec![0.0; n_actions];
    for t in 0..session.len() {
        let s = session.states()[t] as usize;
        if session.actions()[t] == rlgrad::data::MISSED {
            continue;
        }
        let a = session.actions()[t] as usize;
        let r = session.rewards()[t];
        for j in 0..n_actions {
            z[j] = p.beta * q[s][j];
            if previous == Some(j) {
                z[j] += p.kappa;
            }
        }
        out.push(log_softmax(&z, a));
        let delta = r - q[s][a];
        let alpha = if delta >= 0.0 {
            p.alpha_pos
        } else {
            p.alpha_neg
        };
        q[s][a] += alpha * delta;
        previous = Some(a);
    }
    out
}

/// Σ with Kahan's compensation.
fn kahan_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0_f64, 0.0_f64);
    for v in values {
        let y = v - c;
        let t = sum + y;
        c = (t - sum) - y;
        sum = t;
    }
    sum
}

fn reference_ll(p: &Psi, n_actions: usize, subject: &Subject) -> f64 {
    kahan_sum(
        subject
            .sessions()
            .iter()
            .flat_map(|s| reference_trials(p, n_actions, s)),
    )
}

fn relative_error(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// θ with the natural values given (rates and β on their natural scale).
fn theta_natural(v: Variant, rates: (f64, f64), q0: f64, beta: f64, kappa: f64) -> Array1<f64> {
    let logit = |a: f64| (a / (1.0 - a)).ln();
    v.theta_of(&[logit(rates.0), logit(rates.1)], q0, beta.ln(), kappa)
}

/// θ drawn wider than the derivative tests use: rates from logistic(±6), β ∈ [e^-3, e^3].
fn oracle_theta(v: Variant) -> impl Strategy<Value = Array1<f64>> {
    (
        proptest::collection::vec(-6.0..6.0f64, 2),
        -3.0..3.0f64,
        -3.0..3.0f64,
        -3.0..3.0f64,
    )
        .prop_map(move |(rates, q0, log_beta, kappa)| v.theta_of(&rates, q0, log_beta, kappa))
}

// ---------------------------------------------------------------------------------------
// Brute force vs the crate
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn value_matches_brute_force_reimplementation(
        (v, s, a, subject, theta) in (common::models::variant(), 1usize..=4, 2usize..=5)
            .prop_flat_map(|(v, s, a)| {
                (Just(v), Just(s), Just(a), common::models::subject(s, a, 60, false), oracle_theta(v))
            }),
    ) {
        let model = v.model(s, a);
        let lik = model.likelihood(&subject).unwrap();
        let value = lik.value(theta.view()).unwrap();
        let reference = reference_ll(&psi_of(v, theta.as_slice().unwrap()), a, &subject);
        prop_assert!(
            relative_error(value, reference) <= 1e-12,
            "{v:?} {s}x{a}: crate {value}, reference {reference}, rel {:e}",
            relative_error(value, reference)
        );
    }

    /// value, value_and_grad and value_grad_hessian (and the axpy forms, with any alpha)
    /// return identical bits.
    #[test]
    fn value_is_bit_identical_across_methods(
        (v, s, a, subject, theta) in common::models::case(60),
        alpha in -3.0..3.0f64,
    ) {
        let model = v.model(s, a);
        let k = model.n_params();
        let lik = model.likelihood(&subject).unwrap();
        let prior = MvGaussian::isotropic(k, 0.3, 2.0).unwrap();
        let posterior = posterior(k, &lik, &prior);
        for (name, term) in [("likelihood", &lik as &dyn Term), ("posterior", &posterior)] {
            let t = theta.view();
            let v0 = term.value(t).unwrap();
            let mut g = Array1::zeros(k);
            let mut h = Array2::zeros((k, k));
            let v1 = term.value_and_grad(t, g.view_mut()).unwrap();
            let v2 = term.value_grad_hessian(t, g.view_mut(), h.view_mut()).unwrap();
            let v3 = term.add_value_and_grad(t, alpha, g.view_mut()).unwrap();
            let v4 = term.add_value_grad_hessian(t, alpha, g.view_mut(), h.view_mut()).unwrap();
            let v5 = term.value(t).unwrap();
            for (m, x) in [("value_and_grad", v1), ("value_grad_hessian", v2),
                           ("add_value_and_grad", v3), ("add_value_grad_hessian", v4),
                           ("value again", v5)] {
                prop_assert_eq!(x.to_bits(), v0.to_bits(), "{} {}: {} vs value {}", name, m, x, v0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exact enumeration: probabilities normalise
// ---------------------------------------------------------------------------------------

/// A reward that depends only on the trial and the action.
fn fixed_reward(t: usize, a: usize) -> f64 {
    ((3 * t + 5 * a) % 7) as f64 / 3.0 - 1.0
}

/// Σ over all A^T action sequences of exp(log-likelihood), states t mod S.
fn total_probability(
    v: Variant,
    n_states: usize,
    n_actions: usize,
    n_trials: usize,
    theta: ArrayView1<f64>,
) -> f64 {
    let model = v.model(n_states, n_actions);
    let count = n_actions.pow(n_trials as u32);
    let mut probs = Vec::with_capacity(count);
    for code in 0..count {
        let mut c = code;
        let actions: Vec<u32> = (0..n_trials)
            .map(|_| {
                let a = c % n_actions;
                c /= n_actions;
                a as u32
            })
            .collect();
        let states = (0..n_trials).map(|t| (t % n_states) as u32).collect();
        let rewards = actions
            .iter()
            .enumerate()
            .map(|(t, &a)| fixed_reward(t, a as usize))
            .collect();
        let session = Session::new("e", states, actions, rewards).unwrap();
        let subject = Subject::new("e", vec![session]).unwrap();
        let ll = model.likelihood(&subject).unwrap().value(theta).unwrap();
        assert!(ll <= 0.0);
        probs.push(ll.exp());
    }
    kahan_sum(probs)
}

#[test]
fn probabilities_over_all_action_sequences_sum_to_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(20240611);
    let shapes = [
        (1, 3, 4),
        (2, 3, 4),
        (1, 2, 6),
        (3, 2, 5),
        (2, 4, 3),
        (1, 5, 3),
    ];
    for v in all_variants() {
        for &(s, a, t) in &shapes {
            for _ in 0..3 {
                let theta: Array1<f64> = (0..v.n_params())
                    .map(|_| rng.random_range(-2.0..2.5))
                    .collect();
                let total = total_probability(v, s, a, t, theta.view());
                assert!(
                    (total - 1.0).abs() <= 1e-12,
                    "{v:?} {s}x{a}, T = {t}, theta {theta}: total {total}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The carried term
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Recursion {
    /// ∂Q′/∂α = (1 − α)·∂Q/∂α + (r − Q).
    Correct,
    /// ∂Q′/∂α = (r − Q): the carried term dropped.
    Dropped,
    /// ∂Q′/∂α = (1 − α)·Q + (r − Q), the seed's last line read literally.
    SeedLiteral,
}

/// ∂ℓ/∂α of a one-state session under single-rate RW (q0 = 0) and softmax, with the given
/// sensitivity recursion.
fn grad_alpha(rec: Recursion, alpha: f64, beta: f64, n_actions: usize, session: &Session) -> f64 {
    let mut q = vec![0.0; n_actions];
    let mut d = vec![0.0; n_actions];
    let mut grad = 0.0;
    for t in 0..session.len() {
        let a = session.actions()[t] as usize;
        let r = session.rewards()[t];
        let m = q.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(beta * x));
        let e: Vec<f64> = q.iter().map(|&x| (beta * x - m).exp()).collect();
        let total: f64 = e.iter().sum();
        for j in 0..n_actions {
            let pj = e[j] / total;
            let dl_dq = beta * (if j == a { 1.0 } else { 0.0 } - pj);
            grad += dl_dq * d[j];
        }
        let delta = r - q[a];
        d[a] = match rec {
            Recursion::Correct => (1.0 - alpha) * d[a] + delta,
            Recursion::Dropped => delta,
            Recursion::SeedLiteral => (1.0 - alpha) * q[a] + delta,
        };
        q[a] += alpha * delta;
    }
    grad
}

/// Central difference with one Richardson step, along coordinate `k`.
fn fd_central(f: &dyn Fn(&Array1<f64>) -> f64, x: &Array1<f64>, k: usize, h: f64) -> f64 {
    let d = |h: f64| {
        let (mut p, mut m) = (x.clone(), x.clone());
        p[k] += h;
        m[k] -= h;
        (f(&p) - f(&m)) / (2.0 * h)
    };
    (4.0 * d(h / 2.0) - d(h)) / 3.0
}

#[test]
fn carried_term_is_needed_and_present() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 3).unwrap();
    // Action 0 is updated five times, action 1 twice.
    let session = Session::bandit(
        "1",
        vec![0, 0, 1, 0, 2, 0, 1, 0],
        vec![1.0, 0.5, -1.0, 1.0, 0.0, 0.25, 1.0, -0.5],
    )
    .unwrap();
    let subject = Subject::new("s", vec![session.clone()]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let (alpha, beta): (f64, f64) = (0.3, 2.0);
    let theta = Array1::from(vec![(alpha / (1.0 - alpha)).ln(), beta.ln()]);
    let f = |t: &Array1<f64>| lik.value(t.view()).unwrap();
    let fd = fd_central(&f, &theta, 0, 1e-3);
    let mut g = Array1::zeros(2);
    lik.value_and_grad(theta.view(), g.view_mut()).unwrap();
    let chain = sigmoid(theta[0]) * (1.0 - sigmoid(theta[0])); // dα/dθ
    let correct = grad_alpha(Recursion::Correct, alpha, beta, 3, &session) * chain;
    let dropped = grad_alpha(Recursion::Dropped, alpha, beta, 3, &session) * chain;
    let literal = grad_alpha(Recursion::SeedLiteral, alpha, beta, 3, &session) * chain;

    assert!(
        relative_error(g[0], fd) <= 1e-7,
        "crate {} vs fd {fd}: {:e}",
        g[0],
        relative_error(g[0], fd)
    );
    assert!(
        relative_error(correct, g[0]) <= 1e-10,
        "test's own correct recursion {correct} vs crate {}",
        g[0]
    );
    for (name, wrong) in [("dropped", dropped), ("seed literal", literal)] {
        assert!(
            relative_error(wrong, fd) > 1e-3,
            "{name}: {wrong} should disagree with fd {fd} (rel {:e})",
            relative_error(wrong, fd)
        );
    }

    // When no entry is updated twice, the carried term is zero and every recursion agrees:
    // the seed's slip only shows from the second update of an entry on.
    let once = Session::bandit("2", vec![0, 1, 2], vec![1.0, -0.5, 0.25]).unwrap();
    let c = grad_alpha(Recursion::Correct, alpha, beta, 3, &once);
    for rec in [Recursion::Dropped, Recursion::SeedLiteral] {
        assert_eq!(grad_alpha(rec, alpha, beta, 3, &once), c, "{rec:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Numerical stability
// ---------------------------------------------------------------------------------------

/// Relative error at most `rel`, or absolute error at most 1e-300 (for values that underflow).
fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(got.is_finite(), "{what}: {got}");
    assert!(
        relative_error(got, want) <= rel || (got - want).abs() <= 1e-300,
        "{what}: got {got:e}, want {want:e}, rel {:e}",
        relative_error(got, want)
    );
}

/// The value + gradient + Hessian pass of `lik` at θ gives `value`'s bits and finite
/// derivatives.
fn assert_full_pass_agrees(lik: &dyn Term, theta: ArrayView1<f64>, value: f64) {
    let k = lik.dim();
    let mut g = Array1::zeros(k);
    let mut h = Array2::zeros((k, k));
    let v2 = lik
        .value_grad_hessian(theta, g.view_mut(), h.view_mut())
        .unwrap();
    assert_eq!(v2.to_bits(), value.to_bits());
    assert!(g.iter().chain(h.iter()).all(|x| x.is_finite()));
}

/// A session whose values become distinct: each action in turn, with distinct rewards.
fn distinct_values_session(n_actions: usize, n_trials: usize) -> Session {
    let actions: Vec<u32> = (0..n_trials).map(|t| (t % n_actions) as u32).collect();
    let rewards: Vec<f64> = (0..n_trials)
        .map(|t| 1.0 / (1.0 + (t % 7) as f64) - 0.1 * (t % 3) as f64)
        .collect();
    Session::bandit("d", actions, rewards).unwrap()
}

#[test]
fn beta_1e3_with_distinct_values_through_the_likelihood() {
    for v in all_variants() {
        for n_actions in [2, 3, 5] {
            let session = distinct_values_session(n_actions, 40);
            let subject = Subject::new("s", vec![session]).unwrap();
            let model = v.model(1, n_actions);
            let lik = model.likelihood(&subject).unwrap();
            let theta = theta_natural(v, (0.5, 0.3), 0.2, 1e3, 0.7);
            let value = lik.value(theta.view()).unwrap();
            let reference =
                reference_ll(&psi_of(v, theta.as_slice().unwrap()), n_actions, &subject);
            assert!(
                value < -100.0,
                "{v:?}: the test should reach very negative terms"
            );
            assert_close(&format!("{v:?} A = {n_actions}"), value, reference, 1e-12);
            assert_full_pass_agrees(&lik, theta.view(), value);
        }
    }
}

/// One trial's log-probability from the observation model at each derivative order, which
/// must all give the same bits.
fn softmax_log_prob(sm: &Softmax, psi: &[f64], q: &[f64], choice: Choice) -> f64 {
    let mut b = ObsBuffers::new(q.len(), psi.len()).unwrap();
    let v0 = sm
        .log_prob::<{ order::VALUE }>(psi, q, choice, &mut b.derivs())
        .value();
    let v1 = sm
        .log_prob::<{ order::GRADIENT }>(psi, q, choice, &mut b.derivs())
        .value();
    let v2 = sm
        .log_prob::<{ order::HESSIAN }>(psi, q, choice, &mut b.derivs())
        .value();
    assert_eq!(v0.to_bits(), v1.to_bits());
    assert_eq!(v0.to_bits(), v2.to_bits());
    assert!(
        b.dq.iter()
            .chain(&b.hqq)
            .chain(&b.hpp)
            .all(|x| x.is_finite())
    );
    v0
}

#[test]
fn beta_1e3_log_probabilities_near_zero_and_very_negative() {
    let sm = Softmax::new();
    let beta = 1e3;
    let cases: [(&[f64], usize); 9] = [
        (&[0.0, 1.0, 0.5], 0), // ≈ −1000
        (&[0.0, 1.0, 0.5], 1), // ≈ −e^−500
        (&[0.0, 1.0, 0.5], 2), // ≈ −500
        (&[0.0, 0.7], 1),      // −ln(1 + e^−700) ≈ −9.86e−305
        (&[0.0, 0.7], 0),      // ≈ −700
        (&[0.0, 1.0], 1),      // −ln(1 + e^−1000): underflows to −0
        (&[0.3, 0.30001], 0),  // a gap of 0.01 in the logits
        (&[-2.0, 3.0, 2.999, 1.0, -5.0], 1),
        (&[-2.0, 3.0, 2.999, 1.0, -5.0], 4), // ≈ −8000
    ];
    for (q, a) in cases {
        let z: Vec<f64> = q.iter().map(|x| beta * x).collect();
        let want = log_softmax(&z, a);
        let choice = Choice {
            action: a,
            state: 0,
            previous: None,
        };
        let got = softmax_log_prob(&sm, &[beta], q, choice);
        assert_close(&format!("q = {q:?}, a = {a}"), got, want, 1e-12);
    }
}

#[test]
fn log_probability_of_minus_1e_20_has_full_relative_accuracy() {
    // Two actions, logit gap x: log p = −ln(1 + e^−x) = −e^−x (1 − e^−x/2 + …) ≈ −e^−x.
    for x in [46.0517_f64, 40.0, 60.0, 100.0, 700.0] {
        let want = -(-x).exp();
        let choice = Choice {
            action: 0,
            state: 0,
            previous: None,
        };
        // The gap from the values...
        let got = softmax_log_prob(&Softmax::new(), &[1.0], &[x, 0.0], choice);
        assert_close(&format!("x = {x} through beta·Q"), got, want, 1e-14);
        // ...and from perseveration alone (κ = x on the previous action).
        let choice = Choice {
            action: 1,
            state: 0,
            previous: Some(1),
        };
        let got = softmax_log_prob(
            &Softmax::with_perseveration(),
            &[1.0, x],
            &[0.0, 0.0],
            choice,
        );
        assert_close(&format!("x = {x} through kappa"), got, want, 1e-14);
        // Three actions (the general path): −ln(1 + 2e^−x) ≈ −2e^−x.
        let choice = Choice {
            action: 1,
            state: 0,
            previous: None,
        };
        let got = softmax_log_prob(&Softmax::new(), &[1.0], &[0.0, x, 0.0], choice);
        assert_close(&format!("x = {x}, three actions"), got, 2.0 * want, 1e-14);
    }
    let near = softmax_log_prob(
        &Softmax::new(),
        &[1.0],
        &[46.0517, 0.0],
        Choice {
            action: 0,
            state: 0,
            previous: None,
        },
    );
    assert!((-1.1e-20..-0.9e-20).contains(&near), "{near:e}");
}

#[test]
fn all_values_equal_give_exactly_uniform_choice() {
    for v in all_variants() {
        for n_actions in 1..=5 {
            for beta in [1e-3, 1.0, 1e3, 1e6] {
                for q0 in [0.0, 0.7, 1e6] {
                    if q0 != 0.0 && !v.learned_q0 {
                        continue;
                    }
                    // Rewards equal to q0: δ = 0, values never move; κ = 0.
                    let n = 200;
                    let actions = (0..n).map(|t| ((t * 7) % n_actions) as u32).collect();
                    let session = Session::bandit("u", actions, vec![q0; n]).unwrap();
                    let subject = Subject::new("s", vec![session]).unwrap();
                    let model = v.model(1, n_actions);
                    let lik = model.likelihood(&subject).unwrap();
                    let theta = theta_natural(v, (0.4, 0.6), q0, beta, 0.0);
                    let value = lik.value(theta.view()).unwrap();
                    let want = -(n as f64) * (n_actions as f64).ln();
                    if n_actions == 1 {
                        assert_eq!(value, 0.0);
                    } else {
                        assert!(
                            relative_error(value, want) <= 1e-12,
                            "{v:?} A = {n_actions} beta = {beta} q0 = {q0}: {value} vs {want}"
                        );
                    }
                    assert_full_pass_agrees(&lik, theta.view(), value);
                }
            }
        }
    }
}

/// The names of a variant's learning rates.
fn rate_names(v: Variant) -> &'static [&'static str] {
    if v.dual {
        &["alpha_pos", "alpha_neg"]
    } else {
        &["alpha"]
    }
}

/// Derivative along coordinate `k` from one side only (forward if `dir` = 1, backward if −1):
/// the three-point formula, with one Richardson step (error O(h³)).
fn fd_one_sided(
    f: &dyn Fn(&Array1<f64>) -> f64,
    x: &Array1<f64>,
    k: usize,
    h: f64,
    dir: f64,
) -> f64 {
    let d = |h: f64| {
        let at = |s: f64| {
            let mut p = x.clone();
            p[k] += dir * s;
            f(&p)
        };
        dir * (-3.0 * at(0.0) + 4.0 * at(h) - at(2.0 * h)) / (2.0 * h)
    };
    (4.0 * d(h / 2.0) - d(h)) / 3.0
}

#[test]
fn learning_rates_at_1e_12_and_1_minus_1e_12() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 60;
    let actions: Vec<u32> = (0..n).map(|_| rng.random_range(0..3)).collect();
    let rewards: Vec<f64> = (0..n)
        .map(|_| f64::from(rng.random_range(0..2u8)))
        .collect();
    let session = Session::bandit("x", actions, rewards).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    for v in all_variants() {
        for alpha in [1e-12, 1.0 - 1e-12] {
            // ψ-space: learning rates with the identity transform, so that finite
            // differences see the rate itself (one-sided: the rule accepts only [0, 1]).
            let mut model = v.model(1, 3);
            for name in rate_names(v) {
                model = model.with_transform(name, Transform::Identity).unwrap();
            }
            let lik = model.likelihood(&subject).unwrap();
            let k = model.n_params();
            let mut theta = theta_natural(v, (0.5, 0.5), 0.4, 2.0, 0.3);
            let rates: Vec<usize> = rate_names(v)
                .iter()
                .map(|n| model.layout().index_of(n).unwrap())
                .collect();
            for &i in &rates {
                theta[i] = alpha;
            }
            // Values against the reference.
            let psi = Psi {
                alpha_pos: alpha,
                alpha_neg: alpha,
                q0: if v.learned_q0 { 0.4 } else { 0.0 },
                beta: 2.0,
                kappa: if v.perseveration { 0.3 } else { 0.0 },
            };
            let value = lik.value(theta.view()).unwrap();
            assert_close(
                &format!("{v:?} alpha = {alpha}"),
                value,
                reference_ll(&psi, 3, &subject),
                1e-12,
            );
            let mut g = Array1::zeros(k);
            let mut h = Array2::zeros((k, k));
            lik.value_grad_hessian(theta.view(), g.view_mut(), h.view_mut())
                .unwrap();
            assert!(g.iter().chain(h.iter()).all(|x| x.is_finite()));

            // Gradient and Hessian against finite differences.
            let dir = if alpha < 0.5 { 1.0 } else { -1.0 };
            let diff = |f: &dyn Fn(&Array1<f64>) -> f64, c: usize| {
                if rates.contains(&c) {
                    fd_one_sided(f, &theta, c, 1e-4, dir)
                } else {
                    fd_central(f, &theta, c, 1e-3)
                }
            };
            let value_fn = |t: &Array1<f64>| lik.value(t.view()).unwrap();
            for c in 0..k {
                let fd = diff(&value_fn, c);
                let err = (g[c] - fd).abs() / fd.abs().max(1.0);
                assert!(
                    err <= 1e-6,
                    "{v:?} alpha = {alpha}: gradient[{c}] = {} vs fd {fd} ({err:e})",
                    g[c]
                );
                for r in 0..k {
                    let grad_r = |t: &Array1<f64>| {
                        let mut gg = Array1::zeros(k);
                        lik.value_and_grad(t.view(), gg.view_mut()).unwrap();
                        gg[r]
                    };
                    let fd = diff(&grad_r, c);
                    let err = (h[[r, c]] - fd).abs() / fd.abs().max(1.0);
                    assert!(
                        err <= 1e-6,
                        "{v:?} alpha = {alpha}: hessian[{r}, {c}] = {} vs fd {fd} ({err:e})",
                        h[[r, c]]
                    );
                }
            }

            // θ-space with the default logistic transform: θ = ±27.63. Finite, the same
            // value, and the chain rule g′(θ)·∂ℓ/∂α for the rates.
            let model_t = v.model(1, 3);
            let lik_t = model_t.likelihood(&subject).unwrap();
            let mut theta_t = theta.clone();
            for &i in &rates {
                theta_t[i] = (alpha / (1.0 - alpha)).ln();
            }
            let mut gt = Array1::zeros(k);
            let mut ht = Array2::zeros((k, k));
            let vt = lik_t
                .value_grad_hessian(theta_t.view(), gt.view_mut(), ht.view_mut())
                .unwrap();
            assert!(gt.iter().chain(ht.iter()).all(|x| x.is_finite()));
            assert!(relative_error(vt, value) <= 1e-12, "{vt} vs {value}");
            for &i in &rates {
                let s = sigmoid(theta_t[i]);
                // σ(θ)·σ(−θ), not σ(1 − σ): the latter cancels at θ ≈ 27.6.
                let want = g[i] * s * sigmoid(-theta_t[i]);
                assert!(
                    relative_error(gt[i], want) <= 1e-9 || (gt[i] - want).abs() < 1e-25,
                    "{v:?} alpha = {alpha}: theta-gradient {} vs chain rule {want}",
                    gt[i]
                );
            }
        }
    }
}

/// A long random session: 2 states, 3 actions, rewards in [−1, 1].
fn long_subject(n: usize, seed: u64) -> Subject {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let states = (0..n).map(|_| rng.random_range(0..2u32)).collect();
    let actions = (0..n).map(|_| rng.random_range(0..3u32)).collect();
    let rewards = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    Subject::new(
        "long",
        vec![Session::new("1", states, actions, rewards).unwrap()],
    )
    .unwrap()
}

fn check_long_session(n: usize, fd_check: bool) {
    let subject = long_subject(n, 99);
    for dual in [true, false] {
        let v = Variant {
            dual,
            learned_q0: true,
            perseveration: true,
        };
        let model = v.model(2, 3);
        let k = model.n_params();
        let lik = model.likelihood(&subject).unwrap();
        let theta = Array1::from(vec![-0.4, 0.3, 0.2, 0.8, 0.4][5 - k..].to_vec());
        let value = lik.value(theta.view()).unwrap();
        let reference = reference_ll(&psi_of(v, theta.as_slice().unwrap()), 3, &subject);
        assert!(
            relative_error(value, reference) <= 1e-10,
            "{v:?}, {n} trials: crate {value}, Kahan reference {reference}, rel {:e}",
            relative_error(value, reference)
        );
        let mut g = Array1::zeros(k);
        let v1 = lik.value_and_grad(theta.view(), g.view_mut()).unwrap();
        assert_eq!(v1.to_bits(), value.to_bits());
        assert!(g.iter().all(|x| x.is_finite()), "{g}");
        // Finite differences only for the single rate: with two rates and continuous
        // rewards the likelihood has a kink wherever some δ crosses 0, and over 1e5 trials
        // a difference quotient straddles many of them.
        if fd_check && !dual {
            let f = |t: &Array1<f64>| lik.value(t.view()).unwrap();
            for c in 0..k {
                let fd = fd_central(&f, &theta, c, 1e-3);
                assert!(
                    (g[c] - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                    "{v:?}: gradient[{c}] = {} vs fd {fd}",
                    g[c]
                );
            }
        }
    }
}

#[test]
fn long_session_1e5_trials() {
    check_long_session(100_000, true);
}

#[test]
#[ignore = "long: cargo test --release --test suite -- --ignored oracles::"]
fn long_session_1e7_trials() {
    check_long_session(10_000_000, false);
}
