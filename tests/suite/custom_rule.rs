//! A learning rule written outside the crate, the way a user would, and proven with the
//! public checker: Rescorla–Wagner with forgetting of the options not chosen.
//!
//! ```text
//! chosen a:      Q[s,a] ← (1 − α) Q[s,a] + α r
//! others j ≠ a:  Q[s,j] ← (1 − φ) Q[s,j]               (decay toward 0)
//! ```
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
use rlgrad::learning::{Step, TableShape, order};
use rlgrad::params::{ParamSpec, Transform};
use rlgrad::prelude::*;
use rlgrad::testing::{CheckOptions, check_term};

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
        const K: usize = 2; // (alpha, phi)
        for j in 0..shape.n_actions {
            let i = shape.index(step.state, j);
            let chosen = j == step.action;
            // The parameter that scales this entry, its index, and the δ-like forcing term.
            let (rate, kr, force) = if chosen {
                (psi[0], 0, step.reward - q[i])
            } else {
                (psi[1], 1, -q[i])
            };
            let keep = 1.0 - rate;
            if ORDER >= order::GRADIENT {
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
            q[i] = if chosen {
                keep * q[i] + rate * step.reward
            } else {
                keep * q[i]
            };
        }
    }
}

fn session(n_states: usize) -> impl Strategy<Value = Session> {
    proptest::collection::vec((0..n_states as u32, 0..3u32, -2.0..2.0f64), 1..80).prop_map(|rows| {
        Session::new(
            "1",
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            rows.iter().map(|r| r.2).collect(),
        )
        .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Gradient and Hessian of the likelihood (through the logistic transforms) against
    /// finite differences, and the Term contract.
    #[test]
    fn forgetful_rule_passes_the_checker(
        sessions in proptest::collection::vec(session(2), 1..3),
        theta in proptest::collection::vec(-2.0..2.0f64, 4),
        persev in any::<bool>(),
    ) {
        let obs = if persev { Softmax::with_perseveration() } else { Softmax::new() };
        let model = Model::new(Forgetful, obs, 2, 3).unwrap();
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
