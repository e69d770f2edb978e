//! A learning rule written outside the crate, the way a user would, and proven with the
//! public checker: Rescorla–Wagner with forgetting of the options not chosen.
//!
//! ```text
//! chosen a:      Q[s,a] ← (1 − α) Q[s,a] + α r
//! others j ≠ a:  Q[s,j] ← (1 − φ) Q[s,j]               (decay toward 0)
//! ```
//!
//! On a missed trial (no response) no option is chosen, so with `Missed::Learn` every option
//! of the state decays (the rule's `update_missed`): forgetting that acts on every trial.
//!
//! Forward sensitivities, from the values before the trial (k, l over (α, φ)):
//!
//! ```text
//! chosen: D′ = (1 − α) D + 1[k = α] (r − Q)
//!         E′ = (1 − α) E − 1[k = α] D_l − 1[l = α] D_k
//! others: D′ = (1 − φ) D − 1[k = φ] Q
//!         E′ = (1 − φ) E − 1[k = φ] D_l − 1[l = φ] D_k
//! ```
//!
//! This file is the template for adding a rule: implement `LearningRule`, put it in a
//! `Model`, and run `rlgrad::testing::check_term` on its likelihood over random data and
//! parameters.

use ndarray::Array1;
use proptest::prelude::*;
use rlgrad::data::MISSED;
use rlgrad::learning::{Missed, Step, TableShape, order};
use rlgrad::params::{ParamSpec, Transform};
use rlgrad::prelude::*;
use rlgrad::testing::{CheckOptions, check_term};

use crate::common::models::{MISSED_RATE, session_with_missed};

/// Rescorla–Wagner with forgetting: parameters `alpha` (learning rate) and `phi` (decay of
/// the unchosen options), both in [0, 1].
struct Forgetful;

impl LearningRule for Forgetful {
    fn params(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec::new("alpha", Transform::unit()),
            ParamSpec::new("phi", Transform::unit()),
        ]
    }

    fn check_params(&self, psi: &[f64]) -> rlgrad::Result<()> {
        for (name, &v) in ["alpha", "phi"].iter().zip(psi) {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::InvalidParameter {
                    name: name.to_string(),
                    value: v,
                    reason: "is outside [0, 1]".to_string(),
                });
            }
        }
        Ok(())
    }

    fn reset<const ORDER: usize>(
        &self,
        _psi: &[f64],
        _shape: TableShape,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        q.fill(0.0);
        if ORDER >= order::GRADIENT {
            d.fill(0.0);
        }
        if ORDER >= order::HESSIAN {
            e.fill(0.0);
        }
    }

    fn update<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        step: Step,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        for j in 0..shape.n_actions {
            let i = shape.index(step.state, j);
            if j == step.action {
                learn::<ORDER>(psi[0], 0, step.reward, i, q, d, e);
            } else {
                learn::<ORDER>(psi[1], 1, 0.0, i, q, d, e);
            }
        }
    }

    /// No option was chosen: all of them decay.
    fn update_missed<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        state: usize,
        _reward: f64,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        for j in 0..shape.n_actions {
            learn::<ORDER>(psi[1], 1, 0.0, shape.index(state, j), q, d, e);
        }
    }
}

/// Entry `i` moves toward `target` at `rate`, ψ[`kr`]: Q ← (1 − rate) Q + rate · target, with
/// its sensitivities (the forcing term target − Q enters D in column `kr`).
fn learn<const ORDER: usize>(
    rate: f64,
    kr: usize,
    target: f64,
    i: usize,
    q: &mut [f64],
    d: &mut [f64],
    e: &mut [f64],
) {
    const K: usize = 2; // (alpha, phi)
    let keep = 1.0 - rate;
    if ORDER >= order::GRADIENT {
        let force = target - q[i];
        let old = [d[i * K], d[i * K + 1]];
        if ORDER >= order::HESSIAN {
            for r in 0..K {
                for c in 0..K {
                    let x = &mut e[(i * K + r) * K + c];
                    *x = keep * *x
                        - if r == kr { old[c] } else { 0.0 }
                        - if c == kr { old[r] } else { 0.0 };
                }
            }
        }
        for k in 0..K {
            d[i * K + k] = keep * old[k] + if k == kr { force } else { 0.0 };
        }
    }
    q[i] = keep * q[i] + rate * target;
}

/// A session over `n_states` × 3 actions, with missed trials at the shared rate.
fn session(n_states: usize) -> impl Strategy<Value = Session> {
    session_with_missed(n_states, 3, 80, false, MISSED_RATE)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Gradient and Hessian of the likelihood (through the logistic transforms) against
    /// finite differences, and the Term contract; missed trials skipped or learned from
    /// (forgetting on them too).
    #[test]
    fn forgetful_rule_passes_the_checker(
        sessions in proptest::collection::vec(session(2), 1..3),
        theta in proptest::collection::vec(-2.0..2.0f64, 4),
        persev in any::<bool>(),
        learn in any::<bool>(),
    ) {
        let obs = if persev { Softmax::with_perseveration() } else { Softmax::new() };
        let missed = if learn { Missed::Learn } else { Missed::Skip };
        let model = Model::new(Forgetful, obs, 2, 3).unwrap().with_missed(missed);
        let subject = Subject::new("s", sessions).unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let theta = Array1::from(theta[..model.n_params()].to_vec());
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }
}

/// The forgetting is real: with φ > 0 an option's value decays while it is not chosen, which
/// changes the likelihood relative to φ → 0 (plain Rescorla–Wagner).
#[test]
fn forgetting_changes_the_likelihood() {
    let model = Model::new(Forgetful, Softmax::new(), 1, 3).unwrap();
    let rw = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 3).unwrap();
    let s = Session::bandit(
        "1",
        vec![0, 1, 1, 2, 0, 0],
        vec![1.0, 0.0, 0.5, 1.0, 1.0, 0.0],
    )
    .unwrap();
    let subject = Subject::new("s", vec![s]).unwrap();
    let l = model.likelihood(&subject).unwrap();
    let l_rw = rw.likelihood(&subject).unwrap();
    let no_decay = l.value(ndarray::arr1(&[0.2, -40.0, 1.0]).view()).unwrap();
    let plain = l_rw.value(ndarray::arr1(&[0.2, 1.0]).view()).unwrap();
    assert!((no_decay - plain).abs() < 1e-12, "{no_decay} vs {plain}");
    let decay = l.value(ndarray::arr1(&[0.2, 0.0, 1.0]).view()).unwrap();
    assert!((decay - plain).abs() > 1e-3);
}

/// Missed trials: with `Missed::Learn` the options decay on them (the likelihood and the
/// latents follow `update_missed`), with `Missed::Skip` they change nothing; for plain
/// Rescorla–Wagner, which has no action-independent learning, the two are the same bits.
#[test]
fn learning_from_missed_trials() {
    let with_gaps = Session::bandit(
        "1",
        vec![0, MISSED, MISSED, 0, 1, MISSED, 0],
        vec![1.0, 0.0, 0.5, 1.0, 0.0, 2.0, 1.0],
    )
    .unwrap();
    let subject = Subject::new("s", vec![with_gaps]).unwrap();
    let theta = ndarray::arr1(&[0.3, -0.5, 1.2]);
    let forgetful = Model::new(Forgetful, Softmax::new(), 1, 3).unwrap();
    let skip = forgetful
        .likelihood(&subject)
        .unwrap()
        .value(theta.view())
        .unwrap();
    let learner = forgetful.with_missed(Missed::Learn);
    let learn = learner
        .likelihood(&subject)
        .unwrap()
        .value(theta.view())
        .unwrap();
    assert!((learn - skip).abs() > 1e-3, "{learn} vs {skip}");

    // The latents' values follow: two decays of Q[0] by (1 − φ) between trials 0 and 3.
    let lat = learner.latents(theta.view(), &subject).unwrap();
    let phi = 1.0 / (1.0 + 0.5f64.exp());
    let after_first = lat.values()[[1, 0]];
    assert!(after_first > 0.0);
    assert!((lat.values()[[2, 0]] - (1.0 - phi) * after_first).abs() <= 1e-15);
    let decayed = (1.0 - phi) * (1.0 - phi) * after_first;
    assert!((lat.values()[[3, 0]] - decayed).abs() <= 1e-15);
    assert!((lat.log_likelihood() - learn).abs() <= 1e-12 * learn.abs());

    let rw = Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 1, 3).unwrap();
    let t = ndarray::arr1(&[0.3, 1.2, 0.4]);
    let mut g = [ndarray::Array1::zeros(3), ndarray::Array1::zeros(3)];
    let mut h = [
        ndarray::Array2::zeros((3, 3)),
        ndarray::Array2::zeros((3, 3)),
    ];
    let mut v = [0.0; 2];
    for (i, missed) in [Missed::Skip, Missed::Learn].into_iter().enumerate() {
        let m = rw.clone().with_missed(missed);
        let lik = m.likelihood(&subject).unwrap();
        v[i] = lik
            .value_grad_hessian(t.view(), g[i].view_mut(), h[i].view_mut())
            .unwrap();
    }
    assert_eq!(v[0].to_bits(), v[1].to_bits());
    assert_eq!((&g[0], &h[0]), (&g[1], &h[1]));
}
