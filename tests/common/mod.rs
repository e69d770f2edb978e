//! Shared test helpers: proptest strategies (random models, sessions, parameters, nasty
//! numbers) and independent oracles (dense linear algebra straight from nalgebra, not
//! through the crate's own seam).
#![allow(dead_code)]

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use proptest::sample::select;
use rlgrad::prelude::*;

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
pub fn session(
    n_states: usize,
    n_actions: usize,
    max_trials: usize,
    binary: bool,
) -> impl Strategy<Value = Session> {
    proptest::collection::vec(
        (
            0..n_states as u32,
            0..n_actions as u32,
            -3.0..3.0f64,
            any::<bool>(),
        ),
        1..=max_trials,
    )
    .prop_map(move |rows| {
        let states = rows.iter().map(|r| r.0).collect();
        let actions = rows.iter().map(|r| r.1).collect();
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

/// A subject with 1–3 sessions.
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
            let mut t = rates;
            if v.learned_q0 {
                t.push(if v.dual {
                    0.05 + 0.9 * (q0 - 0.05) / 1.45
                } else if neg {
                    -q0
                } else {
                    q0
                });
            }
            t.push(log_beta);
            if v.perseveration {
                t.push(kappa);
            }
            Array1::from(t)
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

// Garbage: the inputs the no-panic suites feed to every public entry point.

/// Special values every numeric input is tried with.
pub const SPECIAL: [f64; 30] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    1e308,
    -1e308,
    1e200,
    -1e200,
    1e15,
    -1e15,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    1e-300,
    1e-12,
    709.0,
    710.0,
    -745.0,
    800.0,
    -800.0,
    27.631,
    -27.631,
    f64::EPSILON,
];

/// Any f64: moderate numbers, the special values, and proptest's full-range f64 (all
/// classes: normal, subnormal, zero, infinite, NaN).
pub fn nasty() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => -40.0..40.0f64,
        2 => select(SPECIAL.to_vec()),
        2 => any::<f64>(),
    ]
    .boxed()
}

/// Any finite f64 (rewards must be finite to make a subject at all).
pub fn nasty_finite() -> BoxedStrategy<f64> {
    nasty().prop_filter("finite", |x| x.is_finite()).boxed()
}

// Independent linear algebra: nalgebra directly, not the crate's `linalg` seam.

fn to_nalgebra(a: &Array2<f64>) -> nalgebra::DMatrix<f64> {
    nalgebra::DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// The eigenvalues of a symmetric matrix, ascending.
pub fn eigenvalues(a: &Array2<f64>) -> Array1<f64> {
    let mut v: Vec<f64> = nalgebra::SymmetricEigen::new(to_nalgebra(a))
        .eigenvalues
        .iter()
        .copied()
        .collect();
    v.sort_by(f64::total_cmp);
    Array1::from(v)
}

/// The inverse of an invertible matrix (LU).
pub fn inverse(a: &Array2<f64>) -> Array2<f64> {
    let inv = to_nalgebra(a).try_inverse().expect("an invertible matrix");
    Array2::from_shape_fn(a.dim(), |(i, j)| inv[(i, j)])
}

// Ulp measurements of the f64 kernels against reference functions.

/// Distance in units in the last place between two finite numbers of the same sign.
pub fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
}

/// The largest ulp distance seen so far between a kernel and its reference. Values below
/// 1e-300 are compared absolutely (subnormal tails, where an ulp is meaningless), and a sign
/// difference counts one more ulp.
#[derive(Debug, Default)]
pub struct UlpMeter {
    pub worst: u64,
}

impl UlpMeter {
    pub fn see(&mut self, got: f64, want: f64, x: f64) {
        if got == want {
            return;
        }
        if want.abs() > 1e-300 {
            let d = ulps(got.abs(), want.abs()) + u64::from(got.signum() != want.signum());
            self.worst = self.worst.max(d);
        } else {
            assert!((got - want).abs() < 1e-300, "{x}: {got} vs {want}");
        }
    }
}

/// The arguments the kernels are swept over: a dense grid of [−40, 40], every decade from
/// 1e-320 to 1e308 (both signs), the branch points (±0.625 for tanh) and the extremes.
pub fn ulp_sweep() -> Vec<f64> {
    let mut xs: Vec<f64> = (-400_000..=400_000).map(|k| k as f64 * 1e-4).collect();
    for e in -320..=308 {
        for m in [1.0, 1.7, 6.25, 9.9] {
            xs.push(m * 10f64.powi(e));
            xs.push(-m * 10f64.powi(e));
        }
    }
    xs.extend([
        0.0,
        -0.0,
        0.625,
        -0.625,
        0.624_999_999_999_999_9,
        709.0,
        745.0,
    ]);
    xs.extend([f64::MAX, f64::MIN, f64::INFINITY, f64::NEG_INFINITY]);
    xs
}
