//! The Rescorla–Wagner + softmax variants the crate ships, proptest strategies for random
//! sessions, subjects and θ over them, and the posterior objective the tests build.
//!
//! The generated sessions have missed trials (no response, `MISSED`) in random positions, at
//! the rate [`MISSED_RATE`], so every test built on them covers data with missing responses;
//! [`session_with_missed`] takes the rate explicitly.

use ndarray::Array1;
use proptest::prelude::*;
use rlgrad::data::MISSED;
use rlgrad::prelude::*;

/// The share of trials without a response in [`session`] (and so [`subject`] and [`case`]).
pub const MISSED_RATE: f64 = 0.1;

/// The model variants the crate ships: single/dual rate, fixed/learned q0,
/// with/without perseveration.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub dual: bool,
    pub learned_q0: bool,
    pub perseveration: bool,
}

impl Variant {
    pub fn model(&self, n_states: usize, n_actions: usize) -> Model<RescorlaWagner, Softmax> {
        let mut rule = if self.dual {
            RescorlaWagner::dual()
        } else {
            RescorlaWagner::new()
        };
        if self.learned_q0 {
            rule = rule.with_learned_initial_value();
        }
        let obs = if self.perseveration {
            Softmax::with_perseveration()
        } else {
            Softmax::new()
        };
        Model::new(rule, obs, n_states, n_actions).unwrap()
    }

    pub fn n_params(&self) -> usize {
        1 + usize::from(self.dual)
            + usize::from(self.learned_q0)
            + 1
            + usize::from(self.perseveration)
    }

    /// θ laid out as the crate documents: `rates[0]` (and `rates[1]` for the dual rule only),
    /// then q0 if learned, log β, and κ with perseveration.
    pub fn theta_of(&self, rates: &[f64], q0: f64, log_beta: f64, kappa: f64) -> Array1<f64> {
        let mut t = vec![rates[0]];
        if self.dual {
            t.push(rates[1]);
        }
        if self.learned_q0 {
            t.push(q0);
        }
        t.push(log_beta);
        if self.perseveration {
            t.push(kappa);
        }
        Array1::from(t)
    }
}

/// Every variant the crate ships (all eight).
pub fn all_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for dual in [false, true] {
        for learned_q0 in [false, true] {
            for perseveration in [false, true] {
                out.push(Variant {
                    dual,
                    learned_q0,
                    perseveration,
                });
            }
        }
    }
    out
}

pub fn variant() -> impl Strategy<Value = Variant> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(dual, learned_q0, perseveration)| {
        Variant {
            dual,
            learned_q0,
            perseveration,
        }
    })
}

/// One session over `n_states` × `n_actions`; rewards are binary when `binary` (the dual
/// rule has a kink at δ = 0 that binary rewards with q0 = 0 never straddle), else continuous.
/// A share [`MISSED_RATE`] of the trials are missed.
pub fn session(
    n_states: usize,
    n_actions: usize,
    max_trials: usize,
    binary: bool,
) -> impl Strategy<Value = Session> {
    session_with_missed(n_states, n_actions, max_trials, binary, MISSED_RATE)
}

/// [`session`] with each trial missed (action `MISSED`, its reward kept) with probability
/// `missed`, anywhere in the session; but the session has one choice at least (a subject
/// needs one).
pub fn session_with_missed(
    n_states: usize,
    n_actions: usize,
    max_trials: usize,
    binary: bool,
    missed: f64,
) -> impl Strategy<Value = Session> {
    proptest::collection::vec(
        (
            0..n_states as u32,
            0..n_actions as u32,
            -3.0..3.0f64,
            any::<bool>(),
            proptest::bool::weighted(missed),
        ),
        1..=max_trials,
    )
    .prop_map(move |rows| {
        let states = rows.iter().map(|r| r.0).collect();
        let keep = rows.iter().position(|r| !r.4).unwrap_or(0);
        let actions = rows
            .iter()
            .enumerate()
            .map(|(t, r)| if r.4 && t != keep { MISSED } else { r.1 })
            .collect();
        let rewards = rows
            .iter()
            .map(|r| {
                if binary {
                    f64::from(u8::from(r.3))
                } else {
                    r.2
                }
            })
            .collect();
        Session::new("p", states, actions, rewards).unwrap()
    })
}

/// A subject with 1–3 sessions (with missed trials, as [`session`]).
pub fn subject(
    n_states: usize,
    n_actions: usize,
    max_trials: usize,
    binary: bool,
) -> impl Strategy<Value = Subject> {
    proptest::collection::vec(session(n_states, n_actions, max_trials, binary), 1..=3).prop_map(
        |sessions| {
            let sessions = sessions
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    Session::new(
                        i.to_string(),
                        s.states().to_vec(),
                        s.actions().to_vec(),
                        s.rewards().to_vec(),
                    )
                    .unwrap()
                })
                .collect();
            Subject::new("prop", sessions).unwrap()
        },
    )
}

/// θ for a variant: learning rates from logistic(θ) with θ ∈ [−2.5, 2.5]; log β ∈ [−1, 2.5]
/// (β up to 12); κ ∈ [−2, 2]; q0 ∈ ±[0.05, 1.5] for the single rule, but q0 ∈ [0.05, 0.95]
/// for the dual rule. The dual rule's derivative is discontinuous where δ = 0 (a kink by
/// design); with binary rewards and q0 inside (0, 1) every value stays inside (0, 1), so δ is
/// −Q < 0 or 1 − Q > 0 and never near 0. With q0 outside, a value on its way to one reward
/// passes the other (from −0.45 towards 1 it crosses 0), and a finite-difference step can
/// land on both sides of the kink (a case with 1178 trials found this).
pub fn theta(v: Variant) -> impl Strategy<Value = Array1<f64>> {
    let n_rates = 1 + usize::from(v.dual);
    (
        proptest::collection::vec(-2.5..2.5f64, n_rates),
        0.05..1.5f64,
        any::<bool>(),
        -1.0..2.5f64,
        -2.0..2.0f64,
    )
        .prop_map(move |(rates, q0, neg, log_beta, kappa)| {
            let q0 = if v.dual {
                0.05 + 0.9 * (q0 - 0.05) / 1.45
            } else if neg {
                -q0
            } else {
                q0
            };
            v.theta_of(&rates, q0, log_beta, kappa)
        })
}

/// A full case: variant, shape, subject, θ.
pub fn case(
    max_trials: usize,
) -> impl Strategy<Value = (Variant, usize, usize, Subject, Array1<f64>)> {
    (variant(), 1usize..=4, 2usize..=5).prop_flat_map(move |(v, s, a)| {
        (
            Just(v),
            Just(s),
            Just(a),
            subject(s, a, max_trials, v.dual),
            theta(v),
        )
    })
}

/// The log posterior over `k` parameters: `lik` (named "likelihood") plus `prior` (named
/// "prior"), each with weight 1.
pub fn posterior<'a>(k: usize, lik: impl Term + 'a, prior: impl Term + 'a) -> Objective<'a> {
    weighted_posterior(k, 1.0, lik, 1.0, prior)
}

/// `w_lik` × `lik` (named "likelihood") plus `w_prior` × `prior` (named "prior").
pub fn weighted_posterior<'a>(
    k: usize,
    w_lik: f64,
    lik: impl Term + 'a,
    w_prior: f64,
    prior: impl Term + 'a,
) -> Objective<'a> {
    Objective::new(k)
        .with("likelihood", w_lik, lik)
        .unwrap()
        .with("prior", w_prior, prior)
        .unwrap()
}
