//! Every analytic gradient and Hessian against central finite differences (Richardson,
//! relative error ≤ 1e-6 with floor 1), over random models, sessions and parameters; plus the
//! Term contract (value bit-identical across methods, axpy semantics).

use crate::common;

use common::models::{Variant, case, posterior, weighted_posterior};
use ndarray::{Array1, Array2, arr1};
use proptest::prelude::*;
use rlgrad::prelude::*;
use rlgrad::testing::{CheckOptions, check_term};

/// The likelihood of variant `v` over `s` states × `a` actions passes the derivative checker
/// at θ.
fn likelihood_passes_the_checker(
    v: Variant,
    s: usize,
    a: usize,
    subject: &Subject,
    theta: &Array1<f64>,
) -> Result<(), TestCaseError> {
    let model = v.model(s, a);
    let lik = model.likelihood(subject).unwrap();
    let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
    prop_assert!(report.passed(), "{:?} {}x{}: {}", v, s, a, report);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Long sessions: errors that build up over many trials (a wrong carried term, a
    /// recursion that drifts) show here even when short sessions pass.
    #[test]
    fn long_session_derivatives_match_finite_differences((v, s, a, subject, theta) in case(1500)) {
        likelihood_passes_the_checker(v, s, a, &subject, &theta)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn likelihood_derivatives_match_finite_differences((v, s, a, subject, theta) in case(60)) {
        likelihood_passes_the_checker(v, s, a, &subject, &theta)?;
    }

    #[test]
    fn posterior_derivatives_match_finite_differences(
        (v, s, a, subject, theta) in case(30),
        prior_scale in 0.3..3.0f64,
        corr in -0.5..0.5f64,
    ) {
        let model = v.model(s, a);
        let k = model.n_params();
        let mut cov = Array2::from_diag(&Array1::from_elem(k, prior_scale));
        for i in 1..k {
            cov[[i, i - 1]] = corr * prior_scale;
            cov[[i - 1, i]] = corr * prior_scale;
        }
        let prior = MvGaussian::new(Array1::zeros(k), cov).unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let posterior = posterior(k, &lik, &prior);
        let report = check_term(&posterior, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);
        let report = check_term(&prior, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }

    #[test]
    fn weighted_objective_is_the_weighted_sum(
        (v, s, a, subject, theta) in case(20),
        w in -3.0..3.0f64,
    ) {
        let model = v.model(s, a);
        let k = model.n_params();
        let prior = MvGaussian::isotropic(k, 0.5, 2.0).unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let obj = weighted_posterior(k, w, &lik, 1.0, &prior);
        let mut g = Array1::zeros(k);
        let mut h = Array2::zeros((k, k));
        let value = obj.value_grad_hessian(theta.view(), g.view_mut(), h.view_mut()).unwrap();
        let mut gl = Array1::zeros(k);
        let mut hl = Array2::zeros((k, k));
        let vl = lik.value_grad_hessian(theta.view(), gl.view_mut(), hl.view_mut()).unwrap();
        let mut gp = Array1::zeros(k);
        let mut hp = Array2::zeros((k, k));
        let vp = prior.value_grad_hessian(theta.view(), gp.view_mut(), hp.view_mut()).unwrap();
        prop_assert!((value - (w * vl + vp)).abs() <= 1e-12 * value.abs().max(1.0));
        let ge = &g - &(w * &gl + &gp);
        let he = &h - &(w * &hl + &hp);
        prop_assert!(ge.iter().chain(he.iter()).all(|e| e.abs() < 1e-9));
        let report = check_term(&obj, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }
}

/// The default (finite-difference) Hessian of a term without an exact one is itself close to
/// the exact Hessian.
#[test]
fn default_hessian_is_accurate() {
    struct NoHessian<'a>(&'a dyn Term);
    impl Term for NoHessian<'_> {
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn add_value_and_grad(
            &self,
            theta: ndarray::ArrayView1<f64>,
            alpha: f64,
            grad: ndarray::ArrayViewMut1<f64>,
        ) -> rlgrad::Result<f64> {
            self.0.add_value_and_grad(theta, alpha, grad)
        }
    }
    let model = Variant {
        dual: true,
        learned_q0: true,
        perseveration: true,
    }
    .model(2, 3);
    let session = Session::new(
        "1",
        vec![0, 1, 1, 0, 1, 0],
        vec![2, 0, 1, 1, 2, 0],
        vec![1.0, -0.5, 0.25, 2.0, 0.0, 1.0],
    )
    .unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let wrapped = NoHessian(&lik);
    assert!(!wrapped.has_exact_hessian() && lik.has_exact_hessian());
    let theta = arr1(&[0.2, -0.4, 0.3, 1.1, 0.5]);
    let (mut g, mut h_fd, mut h) = (
        Array1::zeros(5),
        Array2::zeros((5, 5)),
        Array2::zeros((5, 5)),
    );
    wrapped
        .value_grad_hessian(theta.view(), g.view_mut(), h_fd.view_mut())
        .unwrap();
    lik.value_grad_hessian(theta.view(), g.view_mut(), h.view_mut())
        .unwrap();
    let err = (&h - &h_fd).iter().fold(0.0_f64, |m, e| m.max(e.abs()));
    assert!(err < 1e-7, "max abs error {err}");
}

/// Spec 2.3: with two learning rates the derivative at δ = 0 exactly is taken from the α⁺
/// branch. With a learned q0 equal to the first reward, δ = 0 on the first update; lowering
/// q0 makes δ > 0 (the α⁺ branch), raising it makes δ < 0 (α⁻). The analytic ∂/∂q0 must
/// match the one-sided difference from below, and not the one from above.
#[test]
fn dual_rate_derivative_at_zero_error_is_the_positive_branch() {
    let model = Model::new(
        RescorlaWagner::dual().with_learned_initial_value(),
        Softmax::new(),
        1,
        2,
    )
    .unwrap();
    // First trial: action 0, reward 0.5 = q0, so δ = 0; the entry is then chosen again.
    let session = Session::bandit("1", vec![0, 0, 1, 0], vec![0.5, 1.0, 0.0, 1.0]).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    // alpha_pos = σ(1) ≈ 0.73 and alpha_neg = σ(−1) ≈ 0.27 differ, so the branches differ.
    let theta = arr1(&[1.0, -1.0, 0.5, 0.8]);
    let mut g = Array1::zeros(4);
    lik.value_and_grad(theta.view(), g.view_mut()).unwrap();
    let h = 1e-7;
    let at = |q0: f64| {
        let mut t = theta.clone();
        t[2] = q0;
        lik.value(t.view()).unwrap()
    };
    let below = (at(0.5) - at(0.5 - h)) / h;
    let above = (at(0.5 + h) - at(0.5)) / h;
    assert!(
        (g[2] - below).abs() < 1e-5,
        "analytic {} vs from below {below}",
        g[2]
    );
    assert!(
        (g[2] - above).abs() > 1e-3,
        "the branches should differ: {} vs {above}",
        g[2]
    );
}
