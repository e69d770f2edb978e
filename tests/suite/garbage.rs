//! Garbage in, no panic and no NaN out: proptest suites feeding arbitrary input to the public
//! API — f64 values of every class (NaN, ±∞, ±1e308, −0.0, subnormals) as θ entries, rewards
//! and weights; arbitrary lengths; action and state indices in and out of range; arbitrary
//! byte strings and mutated valid files to the CSV reader; arbitrary matrices to the prior;
//! arbitrary bounds to the transforms; arbitrary starts and options to `fit::maximize`.
//!
//! Every call must return `Ok` with finite outputs (the value, every gradient entry and every
//! Hessian entry) or an `Err`; never panic. The value is also the same bits whichever method
//! computed it, and a method that computes more never succeeds where one that computes less
//! fails.
//!
//! Several tests here are the smallest cases of defects these suites found (and that are now
//! fixed): they stay as regressions.

use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::{Array1, Array2, ArrayView1, arr1};
use proptest::prelude::*;
use proptest::sample::select;
use rand::SeedableRng;
use rlgrad::Error;
use rlgrad::data::{CsvOptions, Dataset, MISSED, NO_STATE, Session, Subject, read_csv_from};
use rlgrad::env::{Environment, Outcome};
use rlgrad::fit::{MaximizeOptions, maximize};
use rlgrad::learning::Missed;
use rlgrad::observation::{Context, Observation, Softmax};
use rlgrad::params::Transform;
use rlgrad::prelude::*;

use crate::common;

use common::models::{Variant, posterior, variant, weighted_posterior};
use common::nasty::{nasty, nasty_array, nasty_finite};

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// An index for a state or action: mostly small, sometimes huge.
fn index() -> BoxedStrategy<u32> {
    common::nasty::index(0..3, 3..6, vec![u32::MAX, u32::MAX - 1, 1 << 31])
}

/// A valid subject over `n_states` × `n_actions` with garbage (finite) rewards, and missed
/// trials (`MISSED`, their rewards garbage too) anywhere but one trial of each session.
pub(crate) fn garbage_subject(n_states: usize, n_actions: usize) -> BoxedStrategy<Subject> {
    let session = proptest::collection::vec(
        (
            0..n_states as u32,
            0..n_actions as u32,
            nasty_finite(),
            proptest::bool::weighted(0.25),
        ),
        1..20,
    )
    .prop_map(|rows| {
        let keep = rows.iter().position(|r| !r.3).unwrap_or(0);
        rows.into_iter()
            .enumerate()
            .map(|(t, (s, a, r, missed))| (s, if missed && t != keep { MISSED } else { a }, r))
            .collect::<Vec<_>>()
    });
    proptest::collection::vec(session, 1..3)
        .prop_map(|sessions| {
            let sessions = sessions
                .into_iter()
                .enumerate()
                .map(|(i, rows)| {
                    Session::new(
                        i.to_string(),
                        rows.iter().map(|r| r.0).collect(),
                        rows.iter().map(|r| r.1).collect(),
                        rows.iter().map(|r| r.2).collect(),
                    )
                    .unwrap()
                })
                .collect();
            Subject::new("g", sessions).unwrap()
        })
        .boxed()
}

/// (variant, states, actions, subject, θ) with garbage everywhere but the data's indices.
#[allow(clippy::type_complexity)]
fn garbage_case() -> BoxedStrategy<(Variant, usize, usize, Subject, Array1<f64>)> {
    (variant(), 1usize..=3, 1usize..=5)
        .prop_flat_map(|(v, s, a)| {
            (
                Just(v),
                Just(s),
                Just(a),
                garbage_subject(s, a),
                nasty_array(v.n_params()),
            )
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------
// The property every evaluation must satisfy
// ---------------------------------------------------------------------------------------

fn is_term_error(e: &Error) -> bool {
    matches!(
        e,
        Error::DimensionMismatch { .. }
            | Error::NonFiniteTheta { .. }
            | Error::InvalidParameter { .. }
            | Error::NonFiniteResult { .. }
    )
}

/// Calls every evaluation method of `term` at `theta` and checks: each returns `Ok` with a
/// finite value, gradient and Hessian, or an `Err` of a kind a term may return; values are
/// bit-identical across methods; more derivatives never succeed where fewer fail.
pub(crate) fn check_outputs(term: &dyn Term, theta: ArrayView1<f64>) -> Result<(), TestCaseError> {
    let k = term.dim();
    let value = term.value(theta);

    let mut g = Array1::from_elem(k, f64::NAN); // never read by the overwriting forms
    let vg = term.value_and_grad(theta, g.view_mut());

    let mut g2 = Array1::from_elem(k, f64::NAN);
    let mut h2 = Array2::from_elem((k, k), f64::NAN);
    let vgh = term.value_grad_hessian(theta, g2.view_mut(), h2.view_mut());

    let mut g3 = Array1::zeros(k);
    let avg = term.add_value_and_grad(theta, 1.0, g3.view_mut());

    let mut g4 = Array1::zeros(k);
    let mut h4 = Array2::zeros((k, k));
    let avgh = term.add_value_grad_hessian(theta, 1.0, g4.view_mut(), h4.view_mut());

    for (name, r) in [
        ("value", &value),
        ("value_and_grad", &vg),
        ("value_grad_hessian", &vgh),
        ("add_value_and_grad", &avg),
        ("add_value_grad_hessian", &avgh),
    ] {
        match r {
            Ok(v) => prop_assert!(v.is_finite(), "{name} returned Ok({v}) at {theta}"),
            Err(e) => prop_assert!(is_term_error(e), "{name}: unexpected error kind {e:?}"),
        }
    }
    if let Ok(v) = vg {
        prop_assert!(g.iter().all(|x| x.is_finite()), "gradient {g} at {theta}");
        prop_assert!(value.is_ok(), "value failed where value_and_grad did not");
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
    }
    if let Ok(v) = avg {
        prop_assert!(g3.iter().all(|x| x.is_finite()), "gradient {g3} at {theta}");
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
        prop_assert!(vg.is_ok());
        prop_assert_eq!(&g3, &g);
    }
    if let Ok(v) = vgh {
        prop_assert!(g2.iter().all(|x| x.is_finite()), "gradient {g2} at {theta}");
        prop_assert!(h2.iter().all(|x| x.is_finite()), "hessian {h2} at {theta}");
        prop_assert!(
            vg.is_ok(),
            "value_grad_hessian succeeded where value_and_grad failed"
        );
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
        prop_assert_eq!(&g2, &g);
    }
    if let Ok(v) = avgh {
        prop_assert!(g4.iter().all(|x| x.is_finite()), "gradient {g4} at {theta}");
        prop_assert!(h4.iter().all(|x| x.is_finite()), "hessian {h4} at {theta}");
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
        prop_assert!(vgh.is_ok());
        prop_assert_eq!(&h4, &h2);
    }
    Ok(())
}

/// A constructed dataset is valid: non-empty sessions, equal columns, finite rewards.
fn check_dataset(d: &Dataset) -> Result<(), TestCaseError> {
    prop_assert!(!d.is_empty());
    let mut n = 0;
    for s in d.subjects() {
        prop_assert!(!s.sessions().is_empty());
        for sess in s.sessions() {
            prop_assert!(!sess.is_empty());
            prop_assert_eq!(sess.states().len(), sess.len());
            prop_assert_eq!(sess.rewards().len(), sess.len());
            prop_assert!(sess.rewards().iter().all(|r| r.is_finite()));
            prop_assert_eq!(sess.trials().count(), sess.len());
            n += sess.len();
        }
    }
    prop_assert_eq!(n, d.n_trials());
    prop_assert_eq!(d.n_choices() + d.n_missed(), n);
    // Every subject made a choice.
    prop_assert!(d.subjects().iter().all(|s| s.n_choices() >= 1));
    prop_assert!(d.n_actions() >= 1 && d.n_states() >= 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Data, likelihood, prior, objective
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Data constructors with mismatched columns, empty sessions, non-finite rewards, huge
    /// indices, next states of any length, duplicate ids; then the likelihood of whatever
    /// was accepted, under a model of random size, at an ordinary θ.
    #[test]
    fn data_constructors_and_model_check_never_panic(
        sessions in proptest::collection::vec(
            (
                proptest::collection::vec(
                    (index(), index(), prop_oneof![9 => nasty_finite(), 1 => nasty()]),
                    1..6,
                ),
                0u8..10,
                proptest::collection::vec(index(), 0..6),
            ),
            1..4,
        ),
        split in 0usize..4,
        same_ids in any::<bool>(),
        fit_data in any::<bool>(),
        v in variant(),
        n_states in 1usize..4,
        n_actions in 1usize..5,
    ) {
        let mut built = Vec::new();
        for (i, (rows, mangle, next)) in sessions.into_iter().enumerate() {
            let mut states: Vec<u32> = rows.iter().map(|r| r.0).collect();
            let mut actions: Vec<u32> = rows.iter().map(|r| r.1).collect();
            let mut rewards: Vec<f64> = rows.iter().map(|r| r.2).collect();
            match mangle {
                1 => { states.pop(); }
                2 => rewards.push(0.0),
                5 => { states.clear(); actions.clear(); rewards.clear(); }
                _ => {}
            }
            let n = actions.len();
            let session = Session::new(format!("s{i}"), states, actions, rewards);
            let session = match (mangle, session) {
                (3, Ok(s)) => s.with_next_states(next),
                (4, Ok(s)) => s.with_next_states(vec![NO_STATE; n]),
                (_, s) => s,
            };
            match session {
                Ok(s) => {
                    prop_assert_eq!(s.len(), n);
                    // A state may be any u32 (NO_STATE is a sentinel of the next-state
                    // column only), so this is at most 2^32.
                    prop_assert!(s.n_states_used() <= 1 << 32);
                    built.push(s);
                }
                Err(e) => prop_assert!(matches!(e, Error::DimensionMismatch { .. }), "{e:?}"),
            }
        }
        let split = split.min(built.len());
        let second = built.split_off(split);
        let mut subjects = Vec::new();
        for (id, group) in [("a", built), (if same_ids { "a" } else { "b" }, second)] {
            match Subject::new(id, group) {
                Ok(s) => subjects.push(s),
                Err(e) => prop_assert!(
                    matches!(e, Error::EmptyData { .. } | Error::InvalidTrial { .. }),
                    "{e:?}"
                ),
            }
        }
        for subject in &subjects {
            // Half the time, a model exactly as large as the data (when that is small).
            let used = |f: fn(&Session) -> usize| subject.sessions().iter().map(f).max().unwrap();
            let (s_used, a_used) = (used(Session::n_states_used), used(Session::n_actions_used));
            let model = if fit_data && s_used <= 6 && a_used <= 6 {
                v.model(s_used.max(1), a_used.max(1))
            } else {
                v.model(n_states, n_actions)
            };
            let theta = Array1::from_elem(model.n_params(), 0.3);
            match model.likelihood(subject) {
                Ok(lik) => check_outputs(&lik, theta.view())?,
                Err(e) => prop_assert!(matches!(e, Error::InvalidTrial { .. }), "{e:?}"),
            }
        }
        match Dataset::new(subjects) {
            Ok(d) => check_dataset(&d)?,
            Err(e) => prop_assert!(
                matches!(e, Error::EmptyData { .. } | Error::DuplicateSubject { .. }),
                "{e:?}"
            ),
        }
    }

    /// Likelihoods of every variant, with garbage rewards and missed trials (skipped or
    /// learned from), at garbage θ.
    #[test]
    fn likelihood_at_garbage_theta_is_finite_or_an_error(
        (v, s, a, subject, theta) in garbage_case(),
        learn in any::<bool>(),
    ) {
        let missed = if learn { Missed::Learn } else { Missed::Skip };
        let model = v.model(s, a).with_missed(missed);
        let lik = model.likelihood(&subject).unwrap();
        check_outputs(&lik, theta.view())?;
    }

    /// The same, with θ drawn near the edges where transforms saturate or overflow.
    #[test]
    fn likelihood_at_extreme_but_finite_theta_is_finite_or_an_error(
        (v, s, a, subject, _) in garbage_case(),
        raw in proptest::collection::vec(
            prop_oneof![-1e3..1e3f64, select(vec![-745.0, -709.0, 700.0, 709.7, 709.8, 1e300])],
            5,
        ),
    ) {
        let model = v.model(s, a);
        let lik = model.likelihood(&subject).unwrap();
        let theta = Array1::from(raw[..v.n_params()].to_vec());
        check_outputs(&lik, theta.view())?;
    }

    /// Multivariate Gaussians from arbitrary means and matrices (any shape, symmetric or
    /// not, finite or not, definite or not).
    #[test]
    fn prior_from_garbage_matrices_is_valid_or_an_error(
        (k, theta) in (0usize..4).prop_flat_map(|k| (Just(k), nasty_array(k))),
        extra_mean in prop_oneof![4 => Just(0usize), 1 => Just(1usize)],
        kind in 0u8..6,
        entries in proptest::collection::vec(nasty(), 25),
        scale in prop_oneof![
            3 => Just(1.0),
            2 => select(vec![1e-300, 1e-150, 1e-8, 1e8, 1e150, 1e300, 5e-324]),
        ],
        rows in 0usize..5,
        cols in 0usize..5,
        mean in prop_oneof![
            proptest::collection::vec(nasty(), 5),
            proptest::collection::vec(-10.0..10.0f64, 5),
        ],
        seed in any::<u64>(),
    ) {
        let mean = Array1::from(mean[..k + extra_mean].to_vec());
        let cov = match kind {
            0 => Array2::from_shape_fn((rows, cols), |(i, j)| entries[i * 5 + j]),
            1 => Array2::from_shape_fn((k, k), |(i, j)| entries[i.max(j) * 5 + i.min(j)]),
            _ => {
                // B Bᵀ + I, scaled: positive definite in exact arithmetic.
                let b = Array2::from_shape_fn((k, k), |(i, j)| entries[i * 5 + j].clamp(-1e3, 1e3));
                let b = b.mapv(|x| if x.is_nan() { 0.0 } else { x });
                (b.dot(&b.t()) + Array2::<f64>::eye(k)) * scale
            }
        };
        match MvGaussian::new(mean, cov) {
            Ok(prior) => {
                prop_assert!(prior.precision().iter().all(|x| x.is_finite()));
                prop_assert!(prior.cholesky().iter().all(|x| x.is_finite()));
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                let draw = prior.sample(&mut rng);
                prop_assert!(draw.iter().all(|x| x.is_finite()), "draw {draw}");
                check_outputs(&prior, theta.view())?;
                check_outputs(&prior, prior.mean().view())?;
            }
            Err(e) => prop_assert!(
                matches!(
                    e,
                    Error::DimensionMismatch { .. }
                        | Error::EmptyData { .. }
                        | Error::InvalidMatrix { .. }
                        | Error::NotPositiveDefinite { .. }
                ),
                "{e:?}"
            ),
        }
    }

    /// A posterior (likelihood + prior) with weights in [−1, 1] at garbage θ. (Larger weights
    /// are `objective_with_any_weights_is_finite_or_an_error`.)
    #[test]
    fn objective_with_unit_weights_is_finite_or_an_error(
        (v, s, a, subject, theta) in garbage_case(),
        w_lik in -1.0..=1.0f64,
        w_prior in -1.0..=1.0f64,
        variance in select(vec![1e-6, 1.0, 1e6]),
    ) {
        let model = v.model(s, a);
        let k = model.n_params();
        let lik = model.likelihood(&subject).unwrap();
        let prior = MvGaussian::isotropic(k, 0.0, variance).unwrap();
        let objective = weighted_posterior(k, w_lik, &lik, w_prior, &prior);
        check_outputs(&objective, theta.view())?;
    }
}

/// ±10^e for e in [290, 308.25]: weights near the overflow threshold.
fn huge_weight() -> BoxedStrategy<f64> {
    (290.0..308.25f64, any::<bool>())
        .prop_map(|(e, neg)| if neg { -(10f64.powf(e)) } else { 10f64.powf(e) })
        .prop_filter("finite", |w| w.is_finite())
        .boxed()
}

proptest! {
    // Overflowing the gradient while the value stays finite needs a weight in a narrow
    // band, so this suite runs more cases.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The same with any finite weights.
    #[test]
    fn objective_with_any_weights_is_finite_or_an_error(
        (v, s, a, subject, garbage_theta) in garbage_case(),
        small_theta in proptest::collection::vec(-0.5..0.5f64, 5),
        use_small in any::<bool>(),
        w_lik in prop_oneof![nasty_finite(), huge_weight()],
        w_prior in prop_oneof![nasty_finite(), huge_weight()],
        variance in select(vec![1e-10, 1.0]),
    ) {
        let model = v.model(s, a);
        let k = model.n_params();
        let lik = model.likelihood(&subject).unwrap();
        let prior = MvGaussian::isotropic(k, 0.0, variance).unwrap();
        let objective = weighted_posterior(k, w_lik, &lik, w_prior, &prior);
        let theta = if use_small { Array1::from(small_theta[..k].to_vec()) } else { garbage_theta };
        check_outputs(&objective, theta.view())?;
    }
}

/// The smallest case of a defect this suite found (the objective did not check its weighted
/// sum): one prior with a large weight. Its value is
/// finite (about 1e305), its gradient −∞.
#[test]
fn objective_weighted_gradient_overflow_is_an_error() {
    let prior = MvGaussian::isotropic(1, 0.0, 1e-10).unwrap();
    let objective = Objective::new(1).with("prior", 1e304, &prior).unwrap();
    let theta = arr1(&[1e-5]);
    let mut g = Array1::zeros(1);
    let mut h = Array2::zeros((1, 1));
    let r = objective.value_and_grad(theta.view(), g.view_mut());
    assert!(
        r.is_err() || g.iter().all(|x| x.is_finite()),
        "Ok({r:?}) with gradient {g}"
    );
    let r = objective.value_grad_hessian(theta.view(), g.view_mut(), h.view_mut());
    assert!(
        r.is_err() || h.iter().all(|x| x.is_finite()),
        "Ok({r:?}) with hessian {h}"
    );
}

/// The same defect with an ordinary weight: a likelihood whose own gradient is finite
/// (about −2e307 for q0 at β = e^709) overflows once weighted by 708.56.
#[test]
fn objective_weighted_likelihood_gradient_overflow_is_an_error() {
    let v = Variant {
        dual: false,
        learned_q0: true,
        perseveration: false,
    };
    let model = v.model(1, 2);
    let session = Session::bandit("0", vec![0, 0], vec![0.0, 0.0]).unwrap();
    let subject = Subject::new("g", vec![session]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let theta = arr1(&[0.0, 0.0, 709.0]);
    let mut g = Array1::zeros(3);
    lik.value_and_grad(theta.view(), g.view_mut()).unwrap();
    assert!(g.iter().all(|x| x.is_finite()), "the term itself: {g}");
    let objective = Objective::new(3).with("likelihood", 708.56, &lik).unwrap();
    let r = objective.value_and_grad(theta.view(), g.view_mut());
    assert!(
        r.is_err() || g.iter().all(|x| x.is_finite()),
        "Ok({r:?}) with gradient {g}"
    );
}

// ---------------------------------------------------------------------------------------
// Transforms
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `Transform::logistic` with any bounds; where it accepts them, `apply` stays within the
    /// bounds and `inverse` is finite or an error.
    #[test]
    fn logistic_transform_from_garbage_bounds(
        lo in nasty(),
        hi in nasty(),
        theta in nasty_finite(),
        psi in nasty(),
        u in 0.0..1.0f64,
    ) {
        match Transform::logistic(lo, hi) {
            Err(e) => prop_assert!(matches!(e, Error::InvalidTransform { .. }), "{e:?}"),
            Ok(t) => {
                prop_assert!(lo.is_finite() && hi.is_finite() && lo < hi);
                if (hi - lo).is_finite() {
                    let (v, d1, d2) = t.derivatives(theta);
                    prop_assert!(v >= lo && v <= hi, "apply({theta}) = {v}");
                    prop_assert!(d1.is_finite() && d1 >= 0.0 && d2.is_finite());
                }
                for p in [psi, lo + (hi - lo) * u] {
                    match t.inverse("x", p) {
                        Ok(x) => prop_assert!(x.is_finite(), "inverse({p}) = {x}"),
                        Err(e) => prop_assert!(
                            matches!(e, Error::InvalidParameter { .. }),
                            "{e:?}"
                        ),
                    }
                }
            }
        }
    }

    /// `inverse` of the unbounded transforms at any ψ: finite or an error.
    #[test]
    fn unbounded_transform_inverse_of_garbage(psi in nasty(), theta in nasty_finite()) {
        for t in [Transform::Identity, Transform::Exp, Transform::Softplus] {
            match t.inverse("x", psi) {
                Ok(x) => prop_assert!(x.is_finite(), "{t:?}.inverse({psi}) = {x}"),
                Err(e) => prop_assert!(matches!(e, Error::InvalidParameter { .. }), "{e:?}"),
            }
            // apply may overflow (exp(800) = inf, caught where θ enters a model), but
            // never produces a NaN from a finite θ.
            let (v, d1, d2) = t.derivatives(theta);
            prop_assert!(!v.is_nan() && !d1.is_nan() && !d2.is_nan(), "{t:?} at {theta}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A logistic transform that accepted its bounds inverts every ψ inside them to a finite
    /// θ, however close to a bound.
    #[test]
    fn logistic_inverse_is_finite_everywhere(
        lo in nasty_finite(),
        hi in nasty_finite(),
        psi in nasty_finite(),
    ) {
        if let Ok(t) = Transform::logistic(lo, hi)
            && let Ok(x) = t.inverse("x", psi) {
                prop_assert!(x.is_finite(), "logistic({lo}, {hi}).inverse({psi}) = {x}");
            }
    }
}

#[test]
fn softplus_inverse_is_finite_and_accurate() {
    for psi in [
        1e-300, 1e-20, 1e-16, 1e-10, 1e-6, 1e-3, 0.5, 3.0, 40.0, 1e10,
    ] {
        let x = Transform::Softplus.inverse("x", psi).unwrap();
        // ln(e^ψ − 1) = ln(expm1(ψ)), accurate for every ψ where expm1 does not overflow.
        let exact = psi.exp_m1().ln();
        let exact = if exact.is_finite() { exact } else { psi };
        assert!(
            (x - exact).abs() <= 1e-12 * exact.abs().max(1.0),
            "softplus inverse({psi}) = {x}, exact {exact}"
        );
    }
}

#[test]
fn logistic_inverse_near_the_bounds_is_finite() {
    let cases = [
        (0.0, 2.0, 5e-324),
        (0.0, 1e300, 1e-300),
        (-28.0, 0.0, -3.825910079350274e-106),
        (-1.0, 0.0, -1e-300),
    ];
    for (lo, hi, psi) in cases {
        let t = Transform::logistic(lo, hi).unwrap();
        let x = t.inverse("x", psi).unwrap();
        let exact = (psi - lo).ln() - (hi - psi).ln();
        assert!(
            (x - exact).abs() <= 1e-9 * exact.abs(),
            "logistic({lo}, {hi}).inverse({psi}) = {x}, exact {exact}"
        );
    }
}

#[test]
fn logistic_apply_stays_within_its_bounds() {
    let (lo, hi) = (-33.58292620316268, -2.2250738585072014e-308);
    let t = Transform::logistic(lo, hi).unwrap();
    for theta in [40.0, 800.0, f64::MAX] {
        let v = t.apply(theta);
        assert!(
            lo <= v && v <= hi,
            "apply({theta}) = {v} outside [{lo}, {hi}]"
        );
    }
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

fn read_bytes(bytes: &[u8], options: &CsvOptions) -> Result<(), TestCaseError> {
    let n_lines = bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
    match read_csv_from(bytes, options) {
        Ok((d, _)) => {
            check_dataset(&d)?;
            if let Some(n) = options.n_actions {
                prop_assert!(d.n_actions() <= n);
            }
            if let Some(n) = options.n_states {
                prop_assert!(d.n_states() <= n);
            }
        }
        Err(e) => match &e {
            Error::CsvRow { line, .. }
            | Error::CsvField { line, .. }
            | Error::CsvHeader { line, .. } => {
                prop_assert!(
                    *line >= 1 && *line <= n_lines,
                    "line {line} of {n_lines}: {e}"
                )
            }
            Error::EmptyData { .. } => {}
            // A limit of 0 admits no trial: the option itself is refused.
            Error::InvalidOption { name, .. } => prop_assert!(
                (name == "n_actions" && options.n_actions == Some(0))
                    || (name == "n_states" && options.n_states == Some(0)),
                "{e}"
            ),
            other => prop_assert!(false, "unexpected error kind {other:?}"),
        },
    }
    Ok(())
}

/// Bytes that look like CSV: delimiters, digits, signs, quotes, the letters of `nan` and
/// `inf`, newlines of both kinds, and a few invalid UTF-8 bytes.
fn csvish_byte() -> BoxedStrategy<u8> {
    select(b"0123456789,,,\n\n\r\"-+.eEnaifNIsubjectrwd \t\xff\xc3".to_vec()).boxed()
}

/// A valid CSV text with its rows: (subject, session, trial, state, action, reward). Actions
/// 3 to 5 are missed trials (`NA`, empty, `nan`; the reward of action 5 is `NA`), but never
/// on a subject's first row, so every subject makes a choice.
fn valid_csv() -> BoxedStrategy<String> {
    proptest::collection::vec((0u8..3, 0u8..2, 0u32..3, 0u32..6, -2.0..2.0f64), 1..12)
        .prop_map(|rows| {
            let mut text = String::from("subject,session,trial,state,action,reward\n");
            let mut trial = std::collections::HashMap::new();
            let mut seen = std::collections::HashSet::new();
            for (subj, sess, state, action, reward) in rows {
                let t = trial.entry((subj, sess)).or_insert(0u32);
                *t += 1;
                let (action, reward) = match (seen.insert(subj), action) {
                    (true, _) | (false, 0..=2) => ((action % 3).to_string(), reward.to_string()),
                    (false, 3) => ("NA".to_string(), reward.to_string()),
                    (false, 4) => (String::new(), reward.to_string()),
                    (false, _) => ("nan".to_string(), "NA".to_string()),
                };
                text.push_str(&format!("s{subj},{sess},{t},{state},{action},{reward}\n"));
            }
            text
        })
        .boxed()
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize),
    Insert(usize, u8),
    Replace(usize, u8),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), csvish_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), csvish_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::SwapLines(i, j)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
    .boxed()
}

fn mutate(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let n = bytes.len().max(1);
        match *m {
            Mutation::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % n);
            }
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Replace(i, b) if !bytes.is_empty() => bytes[i % n] = b,
            Mutation::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                let l = lines.len();
                match *m {
                    Mutation::DuplicateLine(_) => {
                        let line = lines[i % l].clone();
                        lines.insert(i % l, line);
                    }
                    Mutation::SwapLines(_, j) => lines.swap(i % l, j % l),
                    _ => unreachable!(),
                }
                bytes = lines.join(&b'\n');
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csv_from_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        read_bytes(&bytes, &CsvOptions::default())?;
    }

    #[test]
    fn csv_from_csvish_bytes_after_a_header(
        body in proptest::collection::vec(csvish_byte(), 0..300),
        limits in (proptest::option::of(0usize..4), proptest::option::of(0usize..4)),
    ) {
        let mut bytes = b"subject,session,trial,state,action,reward,next_state\n".to_vec();
        bytes.extend(body);
        let options = CsvOptions { n_actions: limits.0, n_states: limits.1, ..CsvOptions::default() };
        read_bytes(&bytes, &options)?;
    }

    #[test]
    fn csv_from_mutated_valid_files(
        text in valid_csv(),
        mutations in proptest::collection::vec(mutation(), 0..5),
    ) {
        // The unmutated file is read, completely.
        let (d, _) = read_csv_from(text.as_bytes(), &CsvOptions::default()).unwrap();
        prop_assert_eq!(d.n_trials(), text.lines().count() - 1);
        read_bytes(&mutate(&text, &mutations), &CsvOptions::default())?;
        let limited = CsvOptions { n_actions: Some(2), n_states: Some(2), ..CsvOptions::default() };
        read_bytes(&mutate(&text, &mutations), &limited)?;
    }
}

// ---------------------------------------------------------------------------------------
// Fitting and simulation
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `fit::maximize` from garbage starts with garbage options, on a likelihood alone (which
    /// may run off to infinity), a prior alone, or a posterior.
    #[test]
    fn maximize_from_garbage_starts(
        (v, s, a, subject, start) in garbage_case(),
        which in 0u8..3,
        max_iters in 0u64..12,
        grad_tol in select(vec![0.0, 1e-6, 1e-300, -1.0, f64::NAN, f64::INFINITY]),
        converged in select(vec![1e-3, 0.0, 1e308, f64::NAN]),
        history in 0usize..4,
    ) {
        let model = v.model(s, a);
        let k = model.n_params();
        let lik = model.likelihood(&subject).unwrap();
        let prior = MvGaussian::isotropic(k, 0.0, 4.0).unwrap();
        let posterior = posterior(k, &lik, &prior);
        let term: &dyn Term = match which {
            0 => &lik,
            1 => &prior,
            _ => &posterior,
        };
        let options = MaximizeOptions {
            max_iters,
            grad_tol,
            converged_grad_norm: converged,
            history,
        };
        match maximize(term, start.view(), &options) {
            Ok(best) => {
                prop_assert!(best.theta.iter().all(|x| x.is_finite()), "{:?}", best);
                prop_assert!(best.value.is_finite() && best.grad_norm.is_finite(), "{:?}", best);
                prop_assert!(best.iterations <= max_iters);
                prop_assert_eq!(best.value.to_bits(), term.value(best.theta.view()).unwrap().to_bits());
                // Never worse than the start.
                prop_assert!(best.value >= term.value(start.view()).unwrap());
            }
            Err(e) => prop_assert!(
                is_term_error(&e) || matches!(e, Error::InvalidOption { .. } | Error::Optimizer { .. }),
                "{e:?}"
            ),
        }
    }

    /// `Model::simulate` at garbage θ: a valid session or an error.
    #[test]
    fn simulate_at_garbage_theta(
        v in variant(),
        n_actions in 2usize..5,
        theta in nasty_array(5),
        n_trials in 0usize..40,
        seed in any::<u64>(),
    ) {
        let model = v.model(1, n_actions);
        let theta = if theta.len() >= v.n_params() && theta.len() == 5 {
            Array1::from(theta.to_vec()[..v.n_params()].to_vec())
        } else {
            theta
        };
        let mut env = Bandit::new(vec![0.7; n_actions]).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        match model.simulate(theta.view(), &mut env, n_trials, "sim", &mut rng) {
            Ok(s) => {
                prop_assert_eq!(s.len(), n_trials);
                prop_assert!(s.actions().iter().all(|&x| (x as usize) < n_actions));
                prop_assert!(s.rewards().iter().all(|r| r.is_finite()));
            }
            Err(e) => prop_assert!(
                is_term_error(&e) || matches!(e, Error::InvalidOption { .. }),
                "{e:?}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Defects found by the suites above, as the smallest cases
// ---------------------------------------------------------------------------------------

/// A table whose size S·A overflows `usize` is accepted by `Model::new`, and the first
/// evaluation then panics ("attempt to multiply with overflow" in `TableShape::len`).
#[test]
fn model_with_an_overflowing_table_size_is_an_error() {
    let session = Session::bandit("1", vec![0, 1], vec![1.0, 0.0]).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let model = match Model::new(RescorlaWagner::new(), Softmax::new(), 1usize << 62, 4) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        let lik = model.likelihood(&subject)?;
        lik.value(arr1(&[0.0, 0.0]).view())
    }));
    match outcome {
        Err(_) => panic!("Model::new / Likelihood::value panicked on an overflowing table size"),
        Ok(r) => assert!(
            matches!(r, Err(Error::InvalidOption { .. })),
            "expected InvalidOption, got {r:?}"
        ),
    }
}

/// One state, three actions, and action 2 pays 10.
struct PaysTen;

impl Environment for PaysTen {
    fn n_states(&self) -> usize {
        1
    }
    fn n_actions(&self) -> usize {
        3
    }
    fn reset<R: rand::Rng + ?Sized>(&mut self, _: &mut R) -> usize {
        0
    }
    fn step<R: rand::Rng + ?Sized>(&mut self, action: usize, _: &mut R) -> rlgrad::Result<Outcome> {
        rlgrad::check::index("action", action, 3)?;
        Ok(Outcome {
            reward: if action == 2 { 10.0 } else { 0.0 },
            next_state: None,
        })
    }
}

/// At β = e^709 and Q = (0, 0, 10), β·Q₂ overflows; the softmax probabilities come out NaN
/// and `simulate` silently picks action 0 on every later trial, although p(2) = 1.
#[test]
fn simulate_at_extreme_beta_never_draws_from_nan_probabilities() {
    let mut out = [0.0; 3];
    Softmax::new().probabilities(
        &[709f64.exp()],
        &[0.0, 0.0, 10.0],
        Context::default(),
        &mut out,
    );
    assert!(out.iter().all(|p| p.is_finite()), "probabilities {out:?}");
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 3).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let theta = arr1(&[30.0, 709.0]); // alpha ≈ 1, beta = e^709
    if let Ok(s) = model.simulate(theta.view(), &mut PaysTen, 50, "x", &mut rng) {
        let first = s.actions().iter().position(|&a| a == 2);
        if let Some(t) = first {
            assert!(
                s.actions()[t..].iter().all(|&a| a == 2),
                "after Q[2] = 10 every choice must be 2: {:?}",
                s.actions()
            );
        }
    }
}
