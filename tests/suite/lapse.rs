//! The lapse ε-mixture `Lapse<O>` (p = (1 − ε)·p_O + ε/A):
//!
//! - likelihood derivatives of every Rescorla–Wagner variant with `Lapse` around its softmax
//!   (with and without perseveration), for 2–5 actions and ε across (0, 1) including within
//!   1e-11 of either end, against finite differences (`check_term`, 1e-6 relative);
//! - every derivative of one trial (∂/∂Q, ∂/∂ψ, and all second derivatives) against finite
//!   differences, including the regime where p_O is far below ε/A;
//! - at ε = 0 the model is O bit for bit, and ε → 0 gives O's likelihood, gradient and
//!   Hessian to 1e-12; at ε = 1 it is the uniform guess;
//! - probabilities sum to 1 and are exp(ℓ) of each action; the same bits at every order;
//! - garbage: any θ and data give finite results or an error; ε outside [0, 1] is refused,
//!   naming `lapse`.

use crate::common;
use crate::garbage::check_outputs;
use crate::per_state;

use common::models::{Variant, case, variant};
use common::nasty::nasty_array;
use ndarray::{Array1, Array2, ArrayView1};
use proptest::prelude::*;
use rlgrad::learning::order;
use rlgrad::observation::{Choice, Context, Lapse, ObsBuffers, Observation, Softmax};
use rlgrad::params::Transform;
use rlgrad::prelude::*;
use rlgrad::testing::fd::{FdOptions, jacobian};
use rlgrad::testing::{CheckOptions, check_term};

/// The choice of `action` after `previous`, in state 0 (one place to update if `Choice`
/// grows).
fn choice(action: usize, previous: Option<usize>) -> Choice {
    Choice {
        action,
        state: 0,
        previous,
    }
}

/// `model` with `Lapse` around its observation model.
fn wrap<O: Observation + Clone>(
    model: &Model<RescorlaWagner, O>,
) -> Model<RescorlaWagner, Lapse<O>> {
    let shape = model.shape();
    let obs = Lapse::new(model.observation().clone());
    Model::new(model.rule().clone(), obs, shape.n_states, shape.n_actions).unwrap()
}

/// Variant `v` (`common::models`) with `Lapse` around its softmax.
fn lapse_model(v: Variant, s: usize, a: usize) -> Model<RescorlaWagner, Lapse<Softmax>> {
    wrap(&v.model(s, a))
}

/// θ of the lapse rate: ε = σ(θ) anywhere in (0, 1), within 1e-11 of 0, or within 1e-11 of 1.
fn lapse_theta() -> impl Strategy<Value = f64> {
    prop_oneof![-6.0..6.0f64, -25.0..-10.0f64, 10.0..25.0f64]
}

/// A case of `common::models::case` (variant, 1–4 states, 2–5 actions, subject, θ) with θ
/// of the lapse rate appended.
#[allow(clippy::type_complexity)]
fn lapse_case(
    max_trials: usize,
) -> impl Strategy<Value = (Variant, usize, usize, Subject, Array1<f64>)> {
    (case(max_trials), lapse_theta()).prop_map(|((v, s, a, subject, theta), lapse)| {
        let mut t = theta.to_vec();
        t.push(lapse);
        (v, s, a, subject, Array1::from(t))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Sessions of up to 60 trials, and one case in eight up to 800 (errors that build up
    /// over many trials).
    #[test]
    fn lapse_likelihood_derivatives_match_finite_differences(
        (v, s, a, subject, theta) in prop_oneof![7 => lapse_case(60), 1 => lapse_case(800)],
    ) {
        let model = lapse_model(v, s, a);
        let lik = model.likelihood(&subject).unwrap();
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{:?} {}x{} at {}: {}", v, s, a, theta, report);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `Lapse` around the per-state softmax (one β per group of states, `tests/suite/per_state.rs`).
    #[test]
    fn lapse_around_the_per_state_softmax_matches_finite_differences(
        ((groups, a, persev, subject, theta), lapse) in (per_state::case(), lapse_theta()),
    ) {
        let model = wrap(&per_state::model(&groups, a, persev));
        let mut t = theta.to_vec();
        t.push(lapse);
        let theta = Array1::from(t);
        let lik = model.likelihood(&subject).unwrap();
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "groups {:?}, {} actions at {}: {}", groups, a, theta, report);
    }
}

/// The wrapped model's shape check applies: a per-state softmax with groups for 2 states
/// does not fit 3.
#[test]
fn the_inner_shape_check_applies() {
    let obs = Lapse::new(Softmax::per_state(&[0, 1]).unwrap());
    let e = Model::new(RescorlaWagner::new(), obs.clone(), 3, 2).unwrap_err();
    assert!(
        matches!(e, Error::InvalidOption { ref name, .. } if name == "groups"),
        "{e:?}"
    );
    assert!(Model::new(RescorlaWagner::new(), obs, 2, 2).is_ok());
}

/// More actions than the likelihood keeps on its stack (8), where the observation gets heap
/// buffers with the fields of higher orders empty.
#[test]
fn lapse_with_many_actions_matches_finite_differences() {
    let v = Variant {
        dual: true,
        learned_q0: false,
        perseveration: true,
    };
    let (n_states, n_actions) = (2, 10);
    let trials = 120;
    let session = Session::new(
        "1",
        (0..trials).map(|t| (t % n_states) as u32).collect(),
        (0..trials).map(|t| ((t * 7) % n_actions) as u32).collect(),
        (0..trials).map(|t| f64::from((t % 3) as u8)).collect(),
    )
    .unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let model = lapse_model(v, n_states as usize, n_actions as usize);
    let lik = model.likelihood(&subject).unwrap();
    for lapse in [-15.0, -2.0, 1.0, 15.0] {
        let theta = Array1::from(vec![0.4, -0.7, 0.8, 0.3, lapse]);
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        assert!(report.passed(), "lapse θ {lapse}: {report}");
    }
}

// ---------------------------------------------------------------------------------------
// One trial
// ---------------------------------------------------------------------------------------

/// Softmax with its log-probability split another way: ℓ = (ℓ + k) − ln(e^k), so
/// `LogProb { shift: ℓ, norm: 1 }` for k = 0 and a positive shift for ℓ > −k: how `Lapse`
/// sees an observation model whose split is not the softmax's.
#[derive(Clone, Debug)]
struct Resplit {
    softmax: Softmax,
    k: f64,
}

impl Observation for Resplit {
    fn params(&self) -> Vec<rlgrad::params::ParamSpec> {
        self.softmax.params()
    }

    fn log_prob<const ORDER: usize>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut rlgrad::observation::ObsDerivs<'_>,
    ) -> rlgrad::observation::LogProb {
        let lp = self.softmax.log_prob::<ORDER>(psi, q, choice, out);
        rlgrad::observation::LogProb {
            shift: lp.value() + self.k,
            norm: self.k.exp(),
        }
    }

    fn probabilities(&self, psi: &[f64], q: &[f64], context: Context, out: &mut [f64]) {
        self.softmax.probabilities(psi, q, context, out);
    }
}

/// One trial's inputs: the model (around softmax, or around [`Resplit`] softmax with
/// `resplit` = Some(k)), ψ_O, ε, the values, the choice.
#[derive(Clone, Debug)]
struct Trial {
    obs: Lapse<Softmax>,
    resplit: Option<f64>,
    psi_o: Vec<f64>,
    eps: f64,
    q: Vec<f64>,
    choice: Choice,
}

impl Trial {
    fn psi(&self) -> Vec<f64> {
        let mut p = self.psi_o.clone();
        p.push(self.eps);
        p
    }

    /// ℓ and its derivatives at `ORDER`, in buffers first filled with NaN (so an entry left
    /// unwritten shows).
    fn eval<const ORDER: usize>(&self, psi: &[f64], q: &[f64]) -> (f64, ObsBuffers) {
        let mut b = ObsBuffers::for_order(q.len(), psi.len(), ORDER).unwrap();
        for f in [&mut b.dq, &mut b.dpsi, &mut b.hqq, &mut b.hqp, &mut b.hpp] {
            f.fill(f64::NAN);
        }
        let lp = if let Some(k) = self.resplit {
            let softmax = self.obs.inner().clone();
            Lapse::new(Resplit { softmax, k }).log_prob::<ORDER>(
                psi,
                q,
                self.choice,
                &mut b.derivs(),
            )
        } else {
            self.obs
                .log_prob::<ORDER>(psi, q, self.choice, &mut b.derivs())
        };
        assert!(lp.norm >= 1.0);
        (lp.value(), b)
    }
}

/// A trial with A in `actions`, values in `q`, ln β in `log_beta`, κ ∈ [−2, 2], ε from `eps`
/// (0 is taken as 1e-300), around softmax or [`Resplit`] softmax (k = 0 or 3).
fn trial_in(
    actions: std::ops::RangeInclusive<usize>,
    q: std::ops::Range<f64>,
    log_beta: std::ops::Range<f64>,
    eps: BoxedStrategy<f64>,
) -> impl Strategy<Value = Trial> {
    let resplit = prop_oneof![Just(None), Just(Some(0.0)), Just(Some(3.0))];
    (actions, any::<bool>(), resplit).prop_flat_map(move |(n, persev, resplit)| {
        (
            proptest::collection::vec(q.clone(), n),
            log_beta.clone(),
            -2.0..2.0f64,
            eps.clone(),
            0..n,
            proptest::option::of(0..n),
        )
            .prop_map(move |(q, log_beta, kappa, eps, action, previous)| {
                let (obs, psi_o) = if persev {
                    (
                        Lapse::new(Softmax::with_perseveration()),
                        vec![log_beta.exp(), kappa],
                    )
                } else {
                    (Lapse::new(Softmax::new()), vec![log_beta.exp()])
                };
                Trial {
                    obs,
                    resplit,
                    psi_o,
                    eps: eps.max(1e-300),
                    q,
                    choice: choice(action, previous),
                }
            })
    })
}

/// A trial: 1–5 actions, values in [−5, 5], β = e^[−2, 2.3] (up to 10, so p_O reaches
/// e^(−100), far below ε/A), ε anywhere in [1e-300, 1 − 1e-9].
fn trial() -> impl Strategy<Value = Trial> {
    let eps = prop_oneof![
        Just(1e-300),
        Just(1e-40),
        Just(1e-12),
        Just(1e-6),
        0.0..1.0f64,
        Just(1.0 - 1e-9),
        Just(0.5)
    ];
    trial_in(1..=5, -5.0..5.0, -2.0..2.3, eps.boxed())
}

/// A trial where p = (1 − ε)·p_O + ε/A falls below 2⁻¹⁰⁰, so `Lapse` works in logarithms:
/// 2–4 actions, values in [−1, 1], β ∈ [20, 100] (p_O down to e^(−200)), ε from 1e-300 to
/// 1e-35 (ln(ε/A) from −692 to −81, on either side of ℓ_O).
fn tiny_trial() -> impl Strategy<Value = Trial> {
    let eps = proptest::sample::select(vec![1e-300, 1e-150, 1e-80, 1e-60, 1e-45, 1e-35]);
    trial_in(2..=4, -1.0..1.0, 20f64.ln()..100f64.ln(), eps.boxed())
}

/// |a − n| ≤ 1e-6 · max(|n|, 1) entry by entry.
fn assert_close(what: &str, analytic: &Array2<f64>, numeric: &Array2<f64>) {
    for ((idx, a), n) in analytic.indexed_iter().zip(numeric.iter()) {
        assert!(
            (a - n).abs() <= 1e-6 * n.abs().max(1.0),
            "{what}{idx:?}: analytic {a} vs finite differences {n}\n{analytic}\n{numeric}"
        );
    }
}

/// One trial's gradient and Hessian over x = (Q, ψ_O, t) against finite differences, where
/// ε = ε₀ + s·t with s = min(ε₀, 1 − ε₀) (so that the steps stay inside [0, 1]).
fn check_trial(tr: &Trial) {
    let (na, ko) = (tr.q.len(), tr.psi_o.len());
    let k = ko + 1;
    let dim = na + k;
    let s = tr.eps.min(1.0 - tr.eps);
    let split = |x: ArrayView1<f64>| {
        let q = x.slice(ndarray::s![..na]).to_vec();
        let mut psi = x.slice(ndarray::s![na..]).to_vec();
        psi[ko] = tr.eps + s * psi[ko];
        (q, psi)
    };
    // The analytic gradient in x.
    let grad = |x: ArrayView1<f64>| -> rlgrad::Result<Array1<f64>> {
        let (q, psi) = split(x);
        let (_, b) = tr.eval::<{ order::HESSIAN }>(&psi, &q);
        let mut g: Vec<f64> = b.dq.clone();
        g.extend(&b.dpsi);
        g[na + ko] *= s;
        Ok(Array1::from(g))
    };
    let mut x0 = tr.q.clone();
    x0.extend(&tr.psi_o);
    x0.push(0.0);
    let x0 = Array1::from(x0);
    let opts = FdOptions::default();
    let value = |x: ArrayView1<f64>| -> rlgrad::Result<Array1<f64>> {
        let (q, psi) = split(x);
        Ok(Array1::from(vec![tr.eval::<{ order::VALUE }>(&psi, &q).0]))
    };
    let g_fd = jacobian(x0.view(), &opts, value).unwrap();
    let g = grad(x0.view()).unwrap();
    assert_close(
        "gradient",
        &g.clone().into_shape_with_order((1, dim)).unwrap(),
        &g_fd,
    );
    let h_fd = jacobian(x0.view(), &opts, grad).unwrap();
    let (_, b) = tr.eval::<{ order::HESSIAN }>(&tr.psi(), &tr.q);
    let h = Array2::from_shape_fn((dim, dim), |(r, c)| {
        let scale = |i: usize| if i == na + ko { s } else { 1.0 };
        let v = match (r < na, c < na) {
            (true, true) => b.hqq[r * na + c],
            (true, false) => b.hqp[r * k + (c - na)],
            (false, true) => b.hqp[c * k + (r - na)],
            (false, false) => b.hpp[(r - na) * k + (c - na)],
        };
        v * scale(r) * scale(c)
    });
    assert_close("hessian", &h, &h_fd);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn one_trial_derivatives_match_finite_differences(tr in trial()) {
        check_trial(&tr);
    }

    #[test]
    fn one_trial_derivatives_in_logarithms_match_finite_differences(tr in tiny_trial()) {
        check_trial(&tr);
    }

    /// The value does not depend on how O splits its log-probability (to 1e-14, or 1e-15
    /// absolute: the splits round differently).
    #[test]
    fn values_do_not_depend_on_the_inner_split(tr in prop_oneof![trial(), tiny_trial()]) {
        let psi = tr.psi();
        let (l, _) = Trial { resplit: None, ..tr.clone() }.eval::<{ order::VALUE }>(&psi, &tr.q);
        for k in [0.0, 3.0] {
            let (other, _) = Trial { resplit: Some(k), ..tr.clone() }.eval::<{ order::VALUE }>(&psi, &tr.q);
            prop_assert!((l - other).abs() <= 1e-14 * l.abs() + 1e-15, "k = {}: {} vs {}", k, l, other);
        }
    }

    /// The same bits at every order: the value, and the gradient at both derivative orders.
    #[test]
    fn values_are_the_same_bits_at_every_order(tr in trial()) {
        let psi = tr.psi();
        let (v0, _) = tr.eval::<{ order::VALUE }>(&psi, &tr.q);
        let (v1, b1) = tr.eval::<{ order::GRADIENT }>(&psi, &tr.q);
        let (v2, b2) = tr.eval::<{ order::HESSIAN }>(&psi, &tr.q);
        prop_assert_eq!(v0.to_bits(), v1.to_bits());
        prop_assert_eq!(v0.to_bits(), v2.to_bits());
        prop_assert_eq!(&b1.dq, &b2.dq);
        prop_assert_eq!(&b1.dpsi, &b2.dpsi);
        prop_assert!(b2.dq.iter().chain(&b2.dpsi).chain(&b2.hqq).chain(&b2.hqp).chain(&b2.hpp)
            .all(|x| x.is_finite()));
    }

    /// The probabilities sum to 1 and are exp(ℓ) of each action, which is also
    /// (1 − ε)·p_O + ε/A computed directly.
    #[test]
    fn probabilities_are_the_mixture_and_match_the_log_probability(tr in trial()) {
        let psi = tr.psi();
        let na = tr.q.len();
        let mut p = vec![0.0; na];
        tr.obs.probabilities(&psi, &tr.q, tr.choice.context(), &mut p);
        let mut p_o = vec![0.0; na];
        tr.obs.inner().probabilities(&tr.psi_o, &tr.q, tr.choice.context(), &mut p_o);
        prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-14, "{:?}", p);
        for a in 0..na {
            let at = Trial { choice: Choice { action: a, ..tr.choice }, ..tr.clone() };
            let (l, _) = at.eval::<{ order::VALUE }>(&psi, &tr.q);
            let direct = (1.0 - tr.eps) * p_o[a] + tr.eps / na as f64;
            prop_assert!((p[a] - direct).abs() <= 1e-15 * direct, "action {}: {} vs {}", a, p[a], direct);
            prop_assert!((l.exp() - p[a]).abs() <= 1e-13 * p[a], "action {}: {} vs {}", a, l.exp(), p[a]);
        }
    }

    /// At ε = 0 the mixture is O bit for bit: value, derivatives (re-strided) and
    /// probabilities.
    #[test]
    fn zero_lapse_is_the_inner_model_bit_for_bit(tr in trial()) {
        let at = Trial {
            eps: 0.0,
            resplit: None,
            ..tr
        };
        let (na, ko) = (at.q.len(), at.psi_o.len());
        let k = ko + 1;
        let (l, b) = at.eval::<{ order::HESSIAN }>(&at.psi(), &at.q);
        let mut o = ObsBuffers::new(na, ko).unwrap();
        let lo = at.obs.inner().log_prob::<{ order::HESSIAN }>(&at.psi_o, &at.q, at.choice, &mut o.derivs());
        prop_assert_eq!(l.to_bits(), lo.value().to_bits());
        prop_assert_eq!(&b.dq, &o.dq);
        prop_assert_eq!(&b.dpsi[..ko], &o.dpsi[..]);
        prop_assert_eq!(&b.hqq, &o.hqq);
        for j in 0..na {
            prop_assert_eq!(&b.hqp[j * k..j * k + ko], &o.hqp[j * ko..(j + 1) * ko]);
        }
        for m in 0..ko {
            prop_assert_eq!(&b.hpp[m * k..m * k + ko], &o.hpp[m * ko..(m + 1) * ko]);
        }
        // ∂ℓ/∂ε = 1/(A p_O) − 1 and ∂²ℓ/∂ε² = −(∂ℓ/∂ε)², from the branch for ε = 0.
        let g_eps = 1.0 / (na as f64 * lo.value().exp()) - 1.0;
        prop_assert!((b.dpsi[ko] - g_eps).abs() <= 1e-12 * g_eps.abs().max(1.0), "{} vs {}", b.dpsi[ko], g_eps);
        let h_eps = -(b.dpsi[ko] * b.dpsi[ko]);
        prop_assert_eq!(b.hpp[ko * k + ko], h_eps);
        let (mut p, mut p_o) = (vec![0.0; na], vec![0.0; na]);
        at.obs.probabilities(&at.psi(), &at.q, at.choice.context(), &mut p);
        at.obs.inner().probabilities(&at.psi_o, &at.q, at.choice.context(), &mut p_o);
        prop_assert_eq!(p, p_o);
    }
}

/// At ε = 1 the choice is a uniform guess: ℓ = −ln A, nothing depends on Q or ψ_O, and
/// ∂ℓ/∂ε = 1 − A·p_O.
#[test]
fn full_lapse_is_the_uniform_guess() {
    let obs = Lapse::new(Softmax::with_perseveration());
    let q = [0.3, -1.0, 2.0];
    let psi = [2.0, 0.5, 1.0];
    let mut b = ObsBuffers::new(3, 3).unwrap();
    let l = obs
        .log_prob::<{ order::HESSIAN }>(&psi, &q, choice(1, Some(0)), &mut b.derivs())
        .value();
    assert!((l + 3f64.ln()).abs() < 1e-15, "{l}");
    assert!(b.dq.iter().chain(&b.dpsi[..2]).all(|&g| g == 0.0));
    let mut p_o = [0.0; 3];
    obs.inner()
        .probabilities(&psi[..2], &q, choice(1, Some(0)).context(), &mut p_o);
    assert!((b.dpsi[2] - (1.0 - 3.0 * p_o[1])).abs() < 1e-14);
}

/// A near-certain choice with a tiny lapse rate keeps ℓ's relative accuracy: ℓ = ln(1 − r),
/// r = ε(1 − 1/A) + (1 − ε)(1 − p_O), whether O splits ℓ_O as softmax does (ℓ_O ≈ −1e-20 in
/// the shift) or returns it whole (ℓ_O ≈ −1e-8 or −4.5e-5, where 1 − p_O needs e^ℓ_O − 1 in
/// full).
#[test]
fn log_probability_near_zero_keeps_its_relative_accuracy() {
    for (x, eps, resplit) in [
        (46.0, 2e-20, None),
        (46.0, 2e-20, Some(0.0)),
        (18.4, 1e-12, Some(0.0)),
        (10.0, 1e-10, Some(0.0)),
    ] {
        let tr = Trial {
            obs: Lapse::new(Softmax::new()),
            resplit,
            psi_o: vec![1.0],
            eps,
            q: vec![x, 0.0],
            choice: choice(0, None),
        };
        let (l, _) = tr.eval::<{ order::VALUE }>(&tr.psi(), &tr.q);
        let not_o = 1.0 / (1.0 + f64::exp(x)); // 1 − σ(x) = σ(−x)
        let expected = (-(eps * 0.5 + (1.0 - eps) * not_o)).ln_1p();
        assert!(
            (l / expected - 1.0).abs() < 1e-14,
            "x {x}, ε {eps}, resplit {resplit:?}: {l} vs {expected}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The likelihood as ε → 0
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// With ε = σ(−700) ≈ 1e-304 the likelihood, its gradient and Hessian over the rule and
    /// softmax parameters are O's to 1e-12.
    #[test]
    fn vanishing_lapse_gives_the_inner_likelihood(
        (v, s, a, subject, theta) in lapse_case(60),
    ) {
        let k = theta.len() - 1;
        let inner = v.model(s, a);
        let model = lapse_model(v, s, a);
        let mut t = theta.to_vec();
        t[k] = -700.0;
        let t = Array1::from(t);
        let (mut g, mut h) = (Array1::zeros(k + 1), Array2::zeros((k + 1, k + 1)));
        let l = model.likelihood(&subject).unwrap()
            .value_grad_hessian(t.view(), g.view_mut(), h.view_mut()).unwrap();
        let (mut go, mut ho) = (Array1::zeros(k), Array2::zeros((k, k)));
        let lo = inner.likelihood(&subject).unwrap()
            .value_grad_hessian(theta.slice(ndarray::s![..k]), go.view_mut(), ho.view_mut())
            .unwrap();
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1.0);
        prop_assert!(close(l, lo), "{} vs {}", l, lo);
        for i in 0..k {
            prop_assert!(close(g[i], go[i]), "gradient {}: {} vs {}", i, g[i], go[i]);
            for j in 0..k {
                prop_assert!(close(h[[i, j]], ho[[i, j]]), "hessian {},{}: {} vs {}", i, j, h[[i, j]], ho[[i, j]]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Garbage and bad parameters
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any θ (NaN, ±∞, ±1e308, subnormals, wrong lengths), 1–5 actions, garbage rewards:
    /// finite results or a term's error, the same bits from every method.
    #[test]
    fn lapse_likelihood_at_garbage_theta_is_finite_or_an_error(
        (v, s, a, subject, theta) in (variant(), 1usize..=3, 1usize..=5)
            .prop_flat_map(|(v, s, a)| {
                let k = lapse_model(v, s, a).n_params();
                (Just(v), Just(s), Just(a), crate::garbage::garbage_subject(s, a), nasty_array(k))
            }),
    ) {
        let model = lapse_model(v, s, a);
        let lik = model.likelihood(&subject).unwrap();
        check_outputs(&lik, theta.view())?;
    }

    /// ε given directly (identity transform): values outside [0, 1] are refused naming
    /// `lapse`; 0 and 1 themselves are accepted.
    #[test]
    fn lapse_outside_the_unit_interval_is_refused(
        eps in prop_oneof![-1e3..1e3f64, Just(0.0), Just(1.0), Just(-0.0), Just(1.0 + f64::EPSILON)],
    ) {
        let model = Model::new(RescorlaWagner::new(), Lapse::new(Softmax::new()), 1, 2)
            .unwrap()
            .with_transform("lapse", Transform::Identity)
            .unwrap();
        let session = Session::bandit("1", vec![0, 1, 1], vec![1.0, 0.0, 1.0]).unwrap();
        let subject = Subject::new("s", vec![session]).unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let theta = Array1::from(vec![0.0, 1.0, eps]);
        match lik.value(theta.view()) {
            Ok(l) => {
                prop_assert!((0.0..=1.0).contains(&eps));
                prop_assert!(l.is_finite());
                check_outputs(&lik, theta.view())?;
            }
            Err(Error::InvalidParameter { name, value, .. }) => {
                prop_assert!(!(0.0..=1.0).contains(&eps));
                prop_assert_eq!(name, "lapse");
                prop_assert_eq!(value.to_bits(), eps.to_bits());
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }
}

/// The wrapped model's own checks run first, on its own parameters only.
#[test]
fn check_params_checks_the_inner_model_and_the_rate() {
    let obs = Lapse::new(Softmax::with_perseveration());
    assert!(obs.check_params(&[1.0, 0.0, 0.3]).is_ok());
    let e = obs.check_params(&[f64::NAN, 0.0, 0.3]).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { ref name, .. } if name == "beta"),
        "{e:?}"
    );
    let e = obs.check_params(&[1.0, 0.0, 1.5]).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParameter { ref name, .. } if name == "lapse"),
        "{e:?}"
    );
    // The softmax sees only its own parameters.
    assert!(Lapse::new(Softmax::new()).check_params(&[1.0, 0.5]).is_ok());
    let e = obs.check_params(&[]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                expected: 3,
                found: 0,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        obs.params()
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["beta", "kappa", "lapse"]
    );
}
