//! Garbage in, no panic and no NaN out, for the critic's public API: f64 values of every
//! class (NaN, ±∞, ±1e308, −0.0, subnormals) as weights, inputs, rewards, discounts and step
//! sizes; wrong lengths; sizes from 0 to huge; workspaces and buffers of other shapes.
//!
//! Every call must return `Ok` with finite outputs or an `Err` of a documented kind; never
//! panic. A failed update leaves ω unchanged; a rejected push leaves the buffer unchanged;
//! the value is the same bits whichever method computed it.

use ndarray::{Array1, Array2, ArrayView1};
use proptest::prelude::*;
use proptest::sample::select;
use rlgrad::critic::{
    Activation, CriticWorkspace, FeatureMap, Linearization, NormalizedUpdate, ReplayBuffer,
    ShallowCritic, TdGradient, TdLoss, Trainable, Transition,
};
use rlgrad::{Error, Term};

use crate::common;

use common::critic::{OwnedTransition, activation};
use common::nasty::{nasty, nasty_array};

/// Finite but possibly enormous: overflow must be an error, not a NaN.
fn extreme_finite(k: usize) -> BoxedStrategy<Array1<f64>> {
    proptest::collection::vec(
        prop_oneof![
            -3.0..3.0f64,
            select(vec![
                1e300, -1e300, 1e154, -1e154, 1e20, -1e20, 800.0, -800.0
            ])
        ],
        k,
    )
    .prop_map(Array1::from)
    .boxed()
}

fn allowed(e: &Error) -> bool {
    matches!(
        e,
        Error::DimensionMismatch { .. }
            | Error::NonFiniteTheta { .. }
            | Error::NonFiniteInput { .. }
            | Error::NonFiniteResult { .. }
            | Error::InvalidOption { .. }
            | Error::InvalidMatrix { .. }
    )
}

fn ok_finite(r: &rlgrad::Result<f64>, what: &str) -> Result<(), TestCaseError> {
    match r {
        Ok(v) => prop_assert!(v.is_finite(), "{what} returned Ok({v})"),
        Err(e) => prop_assert!(allowed(e), "{what}: unexpected error {e:?}"),
    }
    Ok(())
}

/// A sum of squares that may overflow: Ok and finite or +∞ (never NaN or −∞), or an
/// allowed error.
fn ok_loss(r: &rlgrad::Result<f64>, what: &str) -> Result<(), TestCaseError> {
    match r {
        Ok(v) => prop_assert!(
            v.is_finite() || *v == f64::INFINITY,
            "{what} returned Ok({v})"
        ),
        Err(e) => prop_assert!(allowed(e), "{what}: unexpected error {e:?}"),
    }
    Ok(())
}

/// Every evaluation of a Term: Ok and finite, or an allowed error; same value bits.
fn check_term_outputs(term: &dyn Term, theta: ArrayView1<f64>) -> Result<(), TestCaseError> {
    let k = term.dim();
    let value = term.value(theta);
    ok_finite(&value, "value")?;
    let mut g = Array1::from_elem(k, f64::NAN);
    let vg = term.value_and_grad(theta, g.view_mut());
    ok_finite(&vg, "value_and_grad")?;
    let mut g2 = Array1::from_elem(k, f64::NAN);
    let mut h2 = Array2::from_elem((k, k), f64::NAN);
    let vgh = term.value_grad_hessian(theta, g2.view_mut(), h2.view_mut());
    ok_finite(&vgh, "value_grad_hessian")?;
    if let Ok(v) = vg {
        prop_assert!(g.iter().all(|x| x.is_finite()));
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
    }
    if let Ok(v) = vgh {
        prop_assert!(g2.iter().chain(h2.iter()).all(|x| x.is_finite()));
        prop_assert!(vg.is_ok());
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
        prop_assert_eq!(&g2, &g);
    }
    Ok(())
}

/// A transition with garbage everywhere: entries, lengths, terminal or not.
fn garbage_transition(d: usize) -> BoxedStrategy<OwnedTransition> {
    (
        prop_oneof![4 => extreme_finite(d), 2 => nasty_array(d)],
        prop_oneof![4 => -5.0..5.0f64, 1 => nasty()],
        prop_oneof![4 => extreme_finite(d).prop_map(Some), 2 => nasty_array(d).prop_map(Some), 1 => Just(None)],
    )
        .prop_map(|(z, reward, next)| OwnedTransition { z, reward, next })
        .boxed()
}

/// Everything the critic offers, at these inputs.
#[allow(clippy::too_many_arguments)]
fn exercise<M: FeatureMap>(
    critic: &ShallowCritic<M>,
    ws: &mut CriticWorkspace,
    omega: &Array1<f64>,
    transitions: &[OwnedTransition],
    capacity: usize,
    gamma: f64,
    eta: f64,
    flags: (bool, bool),
) -> Result<(), TestCaseError> {
    let dim = critic.dim();
    let d = critic.input_dim();
    let w = omega.view();
    for t in transitions {
        let q = critic.value(w, t.z.view(), ws);
        ok_finite(&q, "value")?;
        let mut g = Array1::from_elem(dim, f64::NAN);
        let qg = critic.value_and_grad(w, t.z.view(), g.view_mut(), ws);
        ok_finite(&qg, "value_and_grad")?;
        if let Ok(v) = qg {
            prop_assert!(g.iter().all(|x| x.is_finite()));
            prop_assert_eq!(v.to_bits(), q.as_ref().unwrap().to_bits());
        }
        let e = critic.td_error(w, t.view(), gamma, ws);
        ok_finite(&e, "td_error")?;
        for kind in [TdGradient::Full, TdGradient::Semi] {
            let mut dv = Array1::from_elem(dim, 7.0);
            let ed = critic.data_vector(w, t.view(), gamma, kind, dv.view_mut(), ws);
            ok_finite(&ed, "data_vector")?;
            match ed {
                Ok(v) => {
                    prop_assert!(dv.iter().all(|x| x.is_finite()));
                    prop_assert_eq!(v.to_bits(), e.as_ref().unwrap().to_bits());
                }
                // Documented: on Err, d is left as it was.
                Err(_) => prop_assert!(dv.iter().all(|x| *x == 7.0), "{dv}"),
            }
        }
        match Linearization::new(critic, w, t.view(), gamma, ws) {
            Ok(lin) => {
                prop_assert!(lin.pivot().is_finite());
                prop_assert!(lin.data_vector().iter().all(|x| x.is_finite()));
                let shifted = omega.mapv(|x| x + 1e-3);
                ok_finite(&lin.model(shifted.view()), "linearisation model")?;
                ok_finite(
                    &lin.remainder(shifted.view(), ws),
                    "linearisation remainder",
                )?;
                ok_finite(
                    &lin.remainder(transitions[0].z.view(), ws),
                    "remainder, garbage ω",
                )?;
            }
            Err(e) => prop_assert!(allowed(&e), "{e:?}"),
        }
    }

    let mut buffer = match ReplayBuffer::new(capacity, d) {
        Ok(b) => b,
        Err(e) => {
            prop_assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
            return Ok(());
        }
    };
    for t in transitions {
        let before = buffer.clone();
        if let Err(e) = buffer.push(t.view()) {
            prop_assert!(
                matches!(
                    e,
                    Error::DimensionMismatch { .. } | Error::NonFiniteInput { .. }
                ),
                "{e:?}"
            );
            prop_assert_eq!(&buffer, &before);
            prop_assert_eq!(buffer.total_pushed(), before.total_pushed());
        }
    }
    prop_assert!(buffer.len() <= buffer.capacity());
    for t in buffer.iter() {
        prop_assert!(t.z.iter().all(|x| x.is_finite()) && t.reward.is_finite());
    }
    let mut errs = Array1::from_elem(buffer.len(), f64::NAN);
    let l = buffer.td_errors(critic, w, gamma, errs.view_mut(), ws);
    ok_loss(&l, "td_errors")?;
    if l.is_ok() {
        prop_assert!(errs.iter().all(|x| x.is_finite()));
    }

    match TdLoss::new(critic, &buffer, gamma) {
        Ok(loss) => {
            check_term_outputs(&loss, w)?;
            let mut semi = Array1::from_elem(dim, f64::NAN);
            let s = loss.semi_gradient(w, semi.view_mut());
            ok_finite(&s, "semi_gradient")?;
            if s.is_ok() {
                prop_assert!(semi.iter().all(|x| x.is_finite()));
            }
        }
        Err(e) => prop_assert!(allowed(&e), "{e:?}"),
    }

    let update = match NormalizedUpdate::new(eta, gamma) {
        Ok(u) => u
            .with_gradient(if flags.0 {
                TdGradient::Semi
            } else {
                TdGradient::Full
            })
            .with_trainable(if flags.1 {
                Trainable::OutputLayer
            } else {
                Trainable::All
            }),
        Err(e) => {
            prop_assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
            return Ok(());
        }
    };
    let mut w2 = omega.clone();
    for _ in 0..3 {
        let before = w2.clone();
        let r = update.apply(critic, &buffer, w2.view_mut(), ws);
        ok_loss(&r, "apply")?;
        match r {
            Ok(_) => prop_assert!(w2.iter().all(|x| x.is_finite())),
            Err(e) => {
                prop_assert!(allowed(&e), "{e:?}");
                prop_assert!(
                    w2.iter()
                        .zip(&before)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
                );
                break;
            }
        }
    }
    match update.contraction_matrix(critic, &buffer, w, ws) {
        Ok(c) => {
            prop_assert!(c.iter().all(|x| x.is_finite()));
            let rho = update.spectral_radius(critic, &buffer, w, ws);
            ok_finite(&rho, "spectral_radius")?;
        }
        Err(e) => prop_assert!(allowed(&e), "{e:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Small critics of every activation, garbage weights and transitions.
    #[test]
    fn critic_api_never_panics_on_garbage(
        (d, p, act, omega, transitions) in (0usize..=3, 1usize..=3, activation())
            .prop_flat_map(|(d, p, act)| {
                let dim = p * (d + 2);
                (
                    Just(d),
                    Just(p),
                    Just(act),
                    prop_oneof![3 => extreme_finite(dim), 2 => nasty_array(dim)],
                    proptest::collection::vec(garbage_transition(d), 1..4),
                )
            }),
        capacity in prop_oneof![4 => 1usize..5, 1 => Just(0usize)],
        gamma in prop_oneof![3 => 0.0..=1.0f64, 1 => nasty()],
        eta in prop_oneof![3 => 0.0..20.0f64, 1 => nasty()],
        flags in (any::<bool>(), any::<bool>()),
        foreign_ws in prop_oneof![5 => Just(false), 1 => Just(true)],
    ) {
        let critic = ShallowCritic::new(d, p, act).unwrap();
        // Sometimes a workspace of another shape.
        let mut ws = if foreign_ws {
            ShallowCritic::new(d + 1, p, act).unwrap().workspace()
        } else {
            critic.workspace()
        };
        exercise(&critic, &mut ws, &omega, &transitions, capacity, gamma, eta, flags)?;
    }

    /// Constructors with sizes from 0 to huge: Ok with consistent shapes, or InvalidOption.
    #[test]
    fn constructors_accept_or_reject_any_size(
        input_dim in prop_oneof![0usize..10, Just(usize::MAX), Just(usize::MAX / 2), Just(1 << 40)],
        hidden in prop_oneof![0usize..10, Just(usize::MAX), Just(usize::MAX / 3), Just(1 << 40)],
        capacity in prop_oneof![0usize..10, Just(usize::MAX), Just(1 << 40), Just(1 << 60)],
        act in activation(),
    ) {
        match ShallowCritic::new(input_dim, hidden, act) {
            Ok(c) => {
                prop_assert_eq!(c.dim(), hidden * (input_dim + 2));
                prop_assert!(c.weight_name(c.dim() - 1).starts_with("W2["));
                prop_assert!(c.weight_name(c.dim()).contains("out of range"));
            }
            Err(e) => prop_assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}"),
        }
        match ReplayBuffer::new(capacity, input_dim.min(1 << 20)) {
            Ok(b) => prop_assert!(b.is_empty() && b.capacity() == capacity),
            Err(e) => prop_assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}"),
        }
    }
}

/// A contraction matrix over more than 16 384 weights exceeds `MAX_FLOATS` and is refused
/// by the size arithmetic, before any allocation (the critic itself is small).
#[test]
fn contraction_matrix_above_the_limit_is_refused_before_allocating() {
    let critic = ShallowCritic::new(1, 5462, Activation::Identity).unwrap(); // dim = 16 386
    let omega = Array1::zeros(critic.dim());
    let buffer = ReplayBuffer::new(1, 1).unwrap();
    let mut ws = critic.workspace();
    let update = NormalizedUpdate::new(0.1, 0.9).unwrap();
    let err = update
        .contraction_matrix(&critic, &buffer, omega.view(), &mut ws)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
}

#[test]
fn errors_name_the_place() {
    let critic = ShallowCritic::new(2, 3, Activation::Tanh).unwrap();
    let mut ws = critic.workspace();
    let mut omega = Array1::zeros(critic.dim());
    omega[critic.w2_index(1, 2)] = f64::NAN;
    let z = ndarray::arr1(&[0.0, 1.0]);
    let err = critic.value(omega.view(), z.view(), &mut ws).unwrap_err();
    assert_eq!(err.to_string(), "theta[10] (W2[1,2]) = NaN is not finite");
    omega.fill(0.0);
    let bad = ndarray::arr1(&[0.0, f64::INFINITY]);
    let err = critic
        .td_error(
            omega.view(),
            Transition::new(z.view(), 0.0, bad.view()),
            0.9,
            &mut ws,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "next z[1] = inf is not finite");
    let err = critic
        .td_error(
            omega.view(),
            Transition::terminal(z.view(), 0.0),
            1.5,
            &mut ws,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid option `gamma` = 1.5: the discount must be in [0, 1]"
    );
    let err = ShallowCritic::new(2, 0, Activation::Tanh).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid option `hidden` = 0: the critic needs at least one hidden unit"
    );
    // Overflow at finite weights is an error, not a NaN (tanh saturates; the identity
    // does not: w₁ · h = 1e300 · 2e300).
    omega.fill(1e300);
    assert_eq!(
        critic.value(omega.view(), z.view(), &mut ws).unwrap(),
        3e300
    );
    let linear = ShallowCritic::new(2, 3, Activation::Identity).unwrap();
    let err = linear.value(omega.view(), z.view(), &mut ws).unwrap_err();
    assert!(matches!(err, Error::NonFiniteResult { .. }), "{err}");
}

/// The feature map (1, z, z²) on z ∈ ℝ, except that for z ≥ 1 entry `slot` is `bad` (±∞ or
/// NaN): a user map that misbehaves on part of the input space.
fn leaky_features(
    bad: f64,
    slot: usize,
) -> rlgrad::critic::FnFeatures<impl Fn(&[f64], &mut [f64]) + Send + Sync> {
    rlgrad::critic::FnFeatures::new(1, 3, move |z: &[f64], out: &mut [f64]| {
        out.copy_from_slice(&[1.0, z[0], z[0] * z[0]]);
        if z[0] >= 1.0 {
            out[slot] = bad;
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A non-finite feature is an error on every path, whatever the activation (tanh and
    /// the logistic saturate at ±∞, so the value alone would look finite): `value` is Ok
    /// exactly when `value_and_grad` is, the TD error exactly when its data vector is, the
    /// loss's value exactly when its gradient and Hessian are, and an update over a batch
    /// that touches such a z fails and leaves ω unchanged. Weights and features are
    /// moderate, so no gradient can overflow: Ok exactly when no feature was bad.
    #[test]
    fn non_finite_features_fail_every_path(
        act in activation(),
        p in 1usize..=3,
        bad in select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN]),
        slot in 0usize..3,
        w in proptest::collection::vec(-3.0..3.0f64, 12),
        zs in proptest::collection::vec(-2.0..2.0f64, 2..6),
        gamma in 0.0..=1.0f64,
    ) {
        let critic = ShallowCritic::with_features(leaky_features(bad, slot), p, act).unwrap();
        let dim = critic.dim();
        let omega = Array1::from(w[..dim].to_vec());
        let mut ws = critic.workspace();
        let is_bad = |z: f64| z >= 1.0;
        for &z in &zs {
            let z1 = ndarray::arr1(&[z]);
            let v = critic.value(omega.view(), z1.view(), &mut ws);
            let mut g = Array1::zeros(dim);
            let vg = critic.value_and_grad(omega.view(), z1.view(), g.view_mut(), &mut ws);
            prop_assert_eq!(v.is_ok(), vg.is_ok(), "z = {}: {:?} vs {:?}", z, v, vg);
            prop_assert_eq!(v.is_err(), is_bad(z), "z = {}: {:?}", z, v);
            if let Err(e) = v {
                prop_assert!(matches!(e, Error::NonFiniteResult { .. }), "{e:?}");
                let named = format!("critic feature {slot} of z (the feature map wrote {bad})");
                prop_assert!(e.to_string().starts_with(&named), "{e}");
            }
        }
        let mut buffer = ReplayBuffer::new(zs.len() - 1, 1).unwrap();
        let mut any_bad = false;
        for pair in zs.windows(2) {
            let (z, zn) = (ndarray::arr1(&[pair[0]]), ndarray::arr1(&[pair[1]]));
            let t = Transition::new(z.view(), 0.5, zn.view());
            let this_bad = is_bad(pair[0]) || is_bad(pair[1]);
            any_bad |= this_bad;
            let e = critic.td_error(omega.view(), t, gamma, &mut ws);
            prop_assert_eq!(e.is_err(), this_bad, "{:?}", e);
            for kind in [TdGradient::Full, TdGradient::Semi] {
                let mut d = Array1::zeros(dim);
                let ed = critic.data_vector(omega.view(), t, gamma, kind, d.view_mut(), &mut ws);
                prop_assert_eq!(ed.is_err(), this_bad, "{:?}: {:?}", kind, ed);
            }
            buffer.push(t).unwrap();
        }
        let loss = TdLoss::new(&critic, &buffer, gamma).unwrap();
        let value = loss.value(omega.view());
        let mut g = Array1::zeros(dim);
        let vg = loss.value_and_grad(omega.view(), g.view_mut());
        let mut h = Array2::zeros((dim, dim));
        let vgh = loss.value_grad_hessian(omega.view(), g.view_mut(), h.view_mut());
        prop_assert_eq!(value.is_err(), any_bad, "{:?}", value);
        prop_assert_eq!(vg.is_err(), any_bad, "{:?}", vg);
        prop_assert_eq!(vgh.is_err(), any_bad, "{:?}", vgh);
        let mut errs = Array1::zeros(buffer.len());
        let te = buffer.td_errors(&critic, omega.view(), gamma, errs.view_mut(), &mut ws);
        prop_assert_eq!(te.is_err(), any_bad, "{:?}", te);
        for trainable in [Trainable::All, Trainable::OutputLayer] {
            let update = NormalizedUpdate::new(0.1, gamma).unwrap().with_trainable(trainable);
            let mut w2 = omega.clone();
            let r = update.apply(&critic, &buffer, w2.view_mut(), &mut ws);
            prop_assert_eq!(r.is_err(), any_bad, "{:?}: {:?}", trainable, r);
            if r.is_err() {
                prop_assert_eq!(&w2, &omega, "{:?} moved the weights", trainable);
            }
            let c = update.contraction_matrix(&critic, &buffer, omega.view(), &mut ws);
            prop_assert_eq!(c.is_err(), any_bad, "{:?}: {:?}", trainable, c.map(|_| ()));
        }
    }
}

/// A critic whose weight vector or workspace could not be allocated is refused at
/// construction, not accepted and aborted on later (`workspace`, `random_weights`).
#[test]
fn constructors_refuse_sizes_that_cannot_be_allocated() {
    for (input_dim, hidden) in [(1 << 40, 1), (1, 1 << 40), (1 << 20, 1 << 20)] {
        let err = ShallowCritic::new(input_dim, hidden, Activation::Tanh).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    }
}
