//! The two-layer TD critic: every derivative against central finite differences (proptest
//! over shapes, activations, feature maps, weights and transitions), the linearisation
//! remainder shrinking quadratically, the replay update against its formula and its
//! contraction matrix, policy evaluation on a chain MDP with exactly solved values, and the
//! step-size bound η < 8/M.
//!
//! Long runs: `cargo test --release --test suite -- --ignored critic::`.

use ndarray::{Array1, Array2, ArrayView1, arr1, s};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rlgrad::critic::{
    Activation, FeatureMap, FnFeatures, Linearization, NormalizedUpdate, ReplayBuffer,
    ShallowCritic, TdGradient, TdLoss, Trainable, Transition,
};
use rlgrad::prior::MvGaussian;
use rlgrad::testing::fd::{self, FdOptions};
use rlgrad::testing::{CheckOptions, check_term};
use rlgrad::{Error, Objective, Term};

use crate::common;

use common::chain::Chain;
use common::critic::{ACTIVATIONS, OwnedTransition, activation, buffer_of, transition};
use common::linalg::eigenvalues;
use common::ulp::{UlpMeter, ulp_sweep};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Largest |a − n| / max(1, |a|, |n|): the checker's error measure (floor 1).
fn max_rel_error(a: ArrayView1<f64>, n: ArrayView1<f64>) -> f64 {
    a.iter()
        .zip(n)
        .map(|(a, n)| (a - n).abs() / 1f64.max(a.abs()).max(n.abs()))
        .fold(0.0, f64::max)
}

/// A nonlinear user feature map on z ∈ ℝ²: (1, z₀, z₁, z₀z₁, sin z₀).
fn product_features() -> FnFeatures<impl Fn(&[f64], &mut [f64]) + Send + Sync + Clone> {
    FnFeatures::new(2, 5, |z: &[f64], out: &mut [f64]| {
        out.copy_from_slice(&[1.0, z[0], z[1], z[0] * z[1], z[0].sin()]);
    })
}

/// (critic with raw features, weights, transitions) over random shapes.
fn raw_case(
    max_batch: usize,
) -> impl Strategy<Value = (ShallowCritic, Array1<f64>, Vec<OwnedTransition>)> {
    (1usize..=3, 1usize..=4, activation()).prop_flat_map(move |(d, p, act)| {
        let critic = ShallowCritic::new(d, p, act).unwrap();
        let dim = critic.dim();
        (
            Just(critic),
            proptest::collection::vec(-1.5..1.5f64, dim).prop_map(Array1::from),
            proptest::collection::vec(transition(d), 1..=max_batch),
        )
    })
}

/// Q̂ at z as a function of ω, for the finite-difference oracle.
fn q_of<'c, M: FeatureMap>(
    critic: &'c ShallowCritic<M>,
    z: ArrayView1<'_, f64>,
) -> impl FnMut(ArrayView1<f64>) -> rlgrad::Result<Array1<f64>> + 'c + use<'c, M> {
    let z = z.to_owned();
    let mut ws = critic.workspace();
    move |w| Ok(arr1(&[critic.value(w, z.view(), &mut ws)?]))
}

/// Checks ∇Q̂ and both data vectors of `tr` against central differences at ω.
fn check_q_and_d<M: FeatureMap>(
    critic: &ShallowCritic<M>,
    omega: &Array1<f64>,
    tr: &OwnedTransition,
    gamma: f64,
) -> Result<(), TestCaseError> {
    let fd_opts = FdOptions::default();
    let mut ws = critic.workspace();
    let dim = critic.dim();

    let mut g = Array1::zeros(dim);
    let q = critic
        .value_and_grad(omega.view(), tr.z.view(), g.view_mut(), &mut ws)
        .unwrap();
    prop_assert_eq!(
        q.to_bits(),
        critic
            .value(omega.view(), tr.z.view(), &mut ws)
            .unwrap()
            .to_bits()
    );
    let jq = fd::jacobian(omega.view(), &fd_opts, q_of(critic, tr.z.view())).unwrap();
    let err = max_rel_error(g.view(), jq.row(0));
    prop_assert!(err < 1e-7, "grad Q: error {err:e}\n{g}\n{}", jq.row(0));

    // Full data vector = ∇e.
    let mut d = Array1::zeros(dim);
    let e = critic
        .data_vector(
            omega.view(),
            tr.view(),
            gamma,
            TdGradient::Full,
            d.view_mut(),
            &mut ws,
        )
        .unwrap();
    prop_assert_eq!(
        e.to_bits(),
        critic
            .td_error(omega.view(), tr.view(), gamma, &mut ws)
            .unwrap()
            .to_bits()
    );
    let mut ws2 = critic.workspace();
    let je = fd::jacobian(omega.view(), &fd_opts, |w| {
        Ok(arr1(&[critic.td_error(w, tr.view(), gamma, &mut ws2)?]))
    })
    .unwrap();
    let err = max_rel_error(d.view(), je.row(0));
    prop_assert!(err < 1e-7, "d: error {err:e}\n{d}\n{}", je.row(0));

    // Semi-gradient data vector = ∇Q̂(z).
    let mut ds = Array1::zeros(dim);
    let es = critic
        .data_vector(
            omega.view(),
            tr.view(),
            gamma,
            TdGradient::Semi,
            ds.view_mut(),
            &mut ws,
        )
        .unwrap();
    prop_assert_eq!(es.to_bits(), e.to_bits());
    prop_assert_eq!(&ds, &g);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Derivatives
// ---------------------------------------------------------------------------------------

#[test]
fn activation_derivatives_match_finite_differences() {
    // Richardson-extrapolated central differences of φ₁ and φ₁′ on a grid, |x| ≤ 30.
    for act in ACTIVATIONS {
        for k in -300..=300 {
            let x = k as f64 / 10.0;
            let h = 1e-3;
            let cd = |f: &dyn Fn(f64) -> f64| {
                let d1 = (f(x + h) - f(x - h)) / (2.0 * h);
                let d2 = (f(x + h / 2.0) - f(x - h / 2.0)) / h;
                (4.0 * d2 - d1) / 3.0
            };
            let d = cd(&|t| act.value(t));
            let dd = cd(&|t| act.derivative(t));
            assert!((act.derivative(x) - d).abs() < 1e-9, "{act:?}' at {x}");
            assert!(
                (act.second_derivative(x) - dd).abs() < 1e-9,
                "{act:?}'' at {x}"
            );
        }
        // Total at any finite input.
        for x in [-1e308, -800.0, -40.0, 0.0, 40.0, 800.0, 1e308] {
            let v = [act.value(x), act.derivative(x), act.second_derivative(x)];
            let finite = act == Activation::Identity || v.iter().all(|v| v.is_finite());
            assert!(finite, "{act:?} at {x}: {v:?}");
        }
    }
}

/// The activations use an inlined exponential; they agree with the standard library's
/// tanh and the crate's `numeric::logistic` / `numeric::softplus` to a few ulp everywhere.
#[test]
fn activations_agree_with_reference_functions() {
    let mut worst = [
        UlpMeter::default(),
        UlpMeter::default(),
        UlpMeter::default(),
    ];
    for x in ulp_sweep() {
        let pairs = [
            (Activation::Tanh.value(x), x.tanh()),
            (Activation::Logistic.value(x), rlgrad::numeric::logistic(x)),
            (Activation::Softplus.value(x), rlgrad::numeric::softplus(x)),
        ];
        for (w, (a, b)) in worst.iter_mut().zip(pairs) {
            w.see(a, b, x);
        }
    }
    let worst = worst.map(|w| w.worst);
    println!(
        "largest differences in ulp: tanh {}, logistic {}, softplus {}",
        worst[0], worst[1], worst[2]
    );
    assert!(worst[0] <= 3, "tanh: {} ulp", worst[0]);
    assert!(worst[1] <= 3, "logistic: {} ulp", worst[1]);
    assert!(worst[2] <= 3, "softplus: {} ulp", worst[2]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// ∇Q̂ and the data vectors d (full and semi) against finite differences, raw features.
    #[test]
    fn q_gradient_and_data_vectors_match_finite_differences(
        (critic, omega, trs) in raw_case(1),
        gamma in prop_oneof![Just(0.0), Just(1.0), 0.0..1.0f64],
    ) {
        check_q_and_d(&critic, &omega, &trs[0], gamma)?;
    }

    /// The same through a user-supplied nonlinear feature map.
    #[test]
    fn q_gradient_with_user_features_matches_finite_differences(
        p in 1usize..=4,
        act in activation(),
        w in proptest::collection::vec(-1.5..1.5f64, 24),
        tr in transition(2),
        gamma in 0.0..1.0f64,
    ) {
        let critic = ShallowCritic::with_features(product_features(), p, act).unwrap();
        let omega = Array1::from(w[..critic.dim()].to_vec());
        check_q_and_d(&critic, &omega, &tr, gamma)?;
    }

    /// ½Σe² as a Term: gradient, exact Hessian and the Term contract through the checker;
    /// the semi-gradient is Σ eⱼ ∇Q̂(zⱼ); and the term composes in an Objective with a
    /// negative weight.
    #[test]
    fn td_loss_passes_the_derivative_checker(
        (critic, omega, trs) in raw_case(5),
        gamma in prop_oneof![Just(1.0), 0.0..1.0f64],
        prior_scale in 0.5..4.0f64,
    ) {
        let d = critic.input_dim();
        let batch = buffer_of(&trs, d);
        let loss = TdLoss::new(&critic, &batch, gamma).unwrap();
        prop_assert!(loss.has_exact_hessian());
        let report = check_term(&loss, omega.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);

        let dim = critic.dim();
        let mut ws = critic.workspace();
        let mut want = Array1::zeros(dim);
        let mut ds = Array1::zeros(dim);
        for t in &trs {
            let e = critic
                .data_vector(omega.view(), t.view(), gamma, TdGradient::Semi, ds.view_mut(), &mut ws)
                .unwrap();
            want.scaled_add(e, &ds);
        }
        let mut semi = Array1::from_elem(dim, f64::NAN);
        let v = loss.semi_gradient(omega.view(), semi.view_mut()).unwrap();
        prop_assert_eq!(v.to_bits(), loss.value(omega.view()).unwrap().to_bits());
        prop_assert!(max_rel_error(semi.view(), want.view()) < 1e-12);

        let prior = MvGaussian::isotropic(dim, 0.0, prior_scale).unwrap();
        let objective = Objective::new(dim)
            .with("td", -1.0, loss).unwrap()
            .with("prior", 1.0, &prior).unwrap();
        prop_assert!(objective.has_exact_hessian());
        let report = check_term(&objective, omega.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }

    /// The same with the user feature map (Hessian blocks through a non-trivial φ₂).
    #[test]
    fn td_loss_with_user_features_passes_the_derivative_checker(
        p in 1usize..=3,
        act in activation(),
        w in proptest::collection::vec(-1.5..1.5f64, 18),
        trs in proptest::collection::vec(transition(2), 1..=4),
        gamma in 0.0..1.0f64,
    ) {
        let critic = ShallowCritic::with_features(product_features(), p, act).unwrap();
        let omega = Array1::from(w[..critic.dim()].to_vec());
        let batch = buffer_of(&trs, 2);
        let loss = TdLoss::new(&critic, &batch, gamma).unwrap();
        let report = check_term(&loss, omega.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }

    /// R(t) = e(ω* + t v) − (e(ω*) + t d(ω*)ᵀv) = ½ t² vᵀ∇²e v + (t³/6) e‴(ξ) for some
    /// ξ ∈ (0, t) (Taylor with Lagrange's remainder), so over seven halvings of t the ratio
    /// R/t² stays within t · sup|e‴| / 6 of the exact curvature ½ vᵀ∇²e v: a tolerance that
    /// shrinks with t, from the bound `third_derivative_bound` (no free constant). A critic
    /// with the identity activation is bilinear, so R is exactly ½ t² vᵀ∇²e v.
    #[test]
    fn linearisation_remainder_shrinks_quadratically(
        (critic, omega, trs) in raw_case(1),
        v in proptest::collection::vec(-1.0..1.0f64, 20),
        gamma in 0.0..1.0f64,
    ) {
        let dim = critic.dim();
        let v = Array1::from(v[..dim].to_vec());
        let tr = &trs[0];
        let mut ws = critic.workspace();
        let lin = Linearization::new(&critic, omega.view(), tr.view(), gamma, &mut ws).unwrap();
        prop_assert_eq!(
            lin.pivot().to_bits(),
            critic.td_error(omega.view(), tr.view(), gamma, &mut ws).unwrap().to_bits()
        );
        prop_assert_eq!(lin.model(omega.view()).unwrap(), lin.pivot());
        let half = 0.5 * exact_curvature(&critic, &omega, &v, tr, gamma);
        let t_max = 0.2;
        let bound = third_derivative_bound(&critic, &omega, &v, tr.z.view(), t_max)
            + tr.next.as_ref().map_or(0.0, |zn| {
                gamma * third_derivative_bound(&critic, &omega, &v, zn.view(), t_max)
            });
        // Rounding: R is a difference of numbers of size |e|, divided by t² ≥ 1e-5.
        let scale = 1.0 + half.abs() + lin.pivot().abs();
        let rounding = 1e-8 * scale;
        let mut ratios = Vec::new();
        for k in 0..7 {
            let t = t_max / f64::powi(2.0, k);
            let r = lin.remainder((&omega + &(t * &v)).view(), &mut ws).unwrap();
            let q = r / (t * t);
            ratios.push(q);
            prop_assert!(
                (q - half).abs() <= t * bound / 6.0 + rounding,
                "k = {k}: {ratios:?} vs {half}, sup of the third derivative <= {bound}"
            );
        }
        if critic.activation() == Activation::Identity {
            prop_assert_eq!(bound, 0.0);
            prop_assert!((ratios[0] - ratios[6]).abs() <= 1e-6 * scale, "{ratios:?}");
        }
    }
}

/// vᵀ∇²e v for the TD error e of `tr` at ω, exactly: the Hessians of ½e² for rewards r and
/// r + 1 are d dᵀ + e ∇²e and d dᵀ + (e − 1) ∇²e, so their difference is ∇²e. (The
/// `TdLoss` Hessian itself is checked against finite differences above.)
fn exact_curvature(
    critic: &ShallowCritic,
    omega: &Array1<f64>,
    v: &Array1<f64>,
    tr: &OwnedTransition,
    gamma: f64,
) -> f64 {
    let dim = critic.dim();
    let hessian = |reward: f64| {
        let shifted = OwnedTransition {
            reward,
            ..tr.clone()
        };
        let batch = buffer_of(&[shifted], critic.input_dim());
        let loss = TdLoss::new(critic, &batch, gamma).unwrap();
        let mut g = Array1::zeros(dim);
        let mut h = Array2::zeros((dim, dim));
        loss.value_grad_hessian(omega.view(), g.view_mut(), h.view_mut())
            .unwrap();
        h
    };
    let d2e = hessian(tr.reward) - hessian(tr.reward + 1.0);
    v.dot(&d2e.dot(v))
}

/// An upper bound on |d³/ds³ Q̂(z; ω + s v)| for 0 ≤ s ≤ t_max, raw features φ₂ = (z, 1).
/// Along the line Q̂ = Σⱼ (w₁ⱼ + s v₁ⱼ) φ₁(hⱼ + s uⱼ) with uⱼ = Σᵢ (v's W₂)ᵢⱼ φ₂ᵢ, so
/// d³Q̂/ds³ = Σⱼ 3 v₁ⱼ uⱼ² φ₁″ + (w₁ⱼ + s v₁ⱼ) uⱼ³ φ₁‴, and |φ₁″| ≤ K₂, |φ₁‴| ≤ K₃ with
/// (K₂, K₃) = (4/(3√3), 2) for tanh, (1/(6√3), 1/8) for the logistic, (¼, 1/(6√3)) for
/// softplus (φ₁″ = σ′, φ₁‴ = σ″) and (0, 0) for the identity.
fn third_derivative_bound(
    critic: &ShallowCritic,
    omega: &Array1<f64>,
    v: &Array1<f64>,
    z: ArrayView1<f64>,
    t_max: f64,
) -> f64 {
    let root3 = 3f64.sqrt();
    let (k2, k3) = match critic.activation() {
        Activation::Tanh => (4.0 / (3.0 * root3), 2.0),
        Activation::Logistic => (1.0 / (6.0 * root3), 0.125),
        Activation::Softplus => (0.25, 1.0 / (6.0 * root3)),
        Activation::Identity => (0.0, 0.0),
    };
    let phi: Vec<f64> = z.iter().copied().chain([1.0]).collect();
    (0..critic.hidden())
        .map(|j| {
            let u: f64 = (0..critic.n_features())
                .map(|i| v[critic.w2_index(i, j)] * phi[i])
                .sum();
            let w1 = omega[j].abs() + t_max * v[j].abs();
            3.0 * v[j].abs() * u * u * k2 + w1 * u.abs().powi(3) * k3
        })
        .sum()
}

#[test]
fn linear_critic_has_no_linearisation_remainder() {
    // Only w₁ varies (W₂ fixed): e is affine in ω along such directions.
    let critic = ShallowCritic::new(2, 3, Activation::Tanh).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let omega = critic.random_weights(&mut rng);
    let (z, zn) = (arr1(&[0.3, -0.2]), arr1(&[1.0, 0.5]));
    let tr = Transition::new(z.view(), 0.7, zn.view());
    let mut ws = critic.workspace();
    let lin = Linearization::new(&critic, omega.view(), tr, 0.95, &mut ws).unwrap();
    for t in [1.0, 0.1, 0.01] {
        let mut w = omega.clone();
        w.slice_mut(s![..3]).mapv_inplace(|x| x + t);
        let r = lin.remainder(w.view(), &mut ws).unwrap();
        assert!(r.abs() < 1e-14, "t = {t}: remainder {r:e}");
    }
}

#[test]
fn non_contiguous_views_give_the_same_bits() {
    let critic = ShallowCritic::new(2, 3, Activation::Softplus).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let omega = critic.random_weights(&mut rng);
    let dim = critic.dim();
    // Every other entry of a longer array.
    let mut wide = Array1::zeros(2 * dim);
    wide.slice_mut(s![..;2]).assign(&omega);
    let strided = wide.slice(s![..;2]);
    let zwide = arr1(&[0.4, 9.0, -0.3, 9.0]);
    let z = zwide.slice(s![..;2]);
    let mut ws = critic.workspace();
    let mut g1 = Array1::zeros(dim);
    let q1 = critic
        .value_and_grad(
            omega.view(),
            arr1(&[0.4, -0.3]).view(),
            g1.view_mut(),
            &mut ws,
        )
        .unwrap();
    let mut gwide = Array1::<f64>::zeros(2 * dim);
    let q2 = critic
        .value_and_grad(strided, z, gwide.slice_mut(s![..;2]), &mut ws)
        .unwrap();
    assert_eq!(q1.to_bits(), q2.to_bits());
    assert_eq!(gwide.slice(s![..;2]), g1);
    assert!(gwide.slice(s![1..;2]).iter().all(|v| *v == 0.0));
}

// ---------------------------------------------------------------------------------------
// Replay buffer and the normalised update
// ---------------------------------------------------------------------------------------

#[test]
fn ring_buffer_drops_the_oldest_and_rejects_bad_transitions() {
    let mut b = ReplayBuffer::new(3, 2).unwrap();
    assert!(b.is_empty() && b.step_size_bound() == 8.0 / 3.0);
    for k in 0..5 {
        let z = arr1(&[k as f64, 0.0]);
        let zn = arr1(&[k as f64 + 1.0, 0.0]);
        let t = if k % 2 == 0 {
            Transition::new(z.view(), k as f64, zn.view())
        } else {
            Transition::terminal(z.view(), k as f64)
        };
        b.push(t).unwrap();
    }
    assert!(b.is_full());
    assert_eq!(b.total_pushed(), 5);
    let ages: Vec<(f64, f64, bool)> = b
        .iter()
        .map(|t| (t.z[0], t.reward, t.next.is_some()))
        .collect();
    assert_eq!(
        ages,
        [(2.0, 2.0, true), (3.0, 3.0, false), (4.0, 4.0, true)]
    );
    assert_eq!(b.get(2).unwrap().next.unwrap()[0], 5.0);
    assert!(b.get(3).is_none());

    let before = b.clone();
    let nan = arr1(&[0.0, f64::NAN]);
    let ok = arr1(&[0.0, 0.0]);
    let short = arr1(&[0.0]);
    let err = b
        .push(Transition::new(ok.view(), 0.0, nan.view()))
        .unwrap_err();
    assert!(matches!(err, Error::NonFiniteInput { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "next z[1] of pushed transition 5 = NaN is not finite"
    );
    let err = b
        .push(Transition::terminal(ok.view(), f64::INFINITY))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "reward of pushed transition 5 = inf is not finite"
    );
    assert!(matches!(
        b.push(Transition::terminal(short.view(), 0.0)),
        Err(Error::DimensionMismatch { .. })
    ));
    assert_eq!(b, before);
    assert!(matches!(
        ReplayBuffer::new(0, 2),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        ReplayBuffer::new(usize::MAX, 2),
        Err(Error::InvalidOption { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// One update equals ω − η Σⱼ dⱼeⱼ/(dⱼᵀdⱼ + 1)² computed from `data_vector`, for every
    /// combination of data vector and trained block; it returns ½Σe² at the old ω.
    #[test]
    fn update_matches_its_formula(
        (critic, omega, trs) in raw_case(6),
        gamma in 0.0..1.0f64,
        eta in 0.01..2.0f64,
        semi in any::<bool>(),
        output_only in any::<bool>(),
    ) {
        let (dim, p) = (critic.dim(), critic.hidden());
        let buffer = buffer_of(&trs, critic.input_dim());
        let kind = if semi { TdGradient::Semi } else { TdGradient::Full };
        let trainable = if output_only { Trainable::OutputLayer } else { Trainable::All };
        let update = NormalizedUpdate::new(eta, gamma)
            .unwrap()
            .with_gradient(kind)
            .with_trainable(trainable);
        let mut ws = critic.workspace();
        let mut want = omega.clone();
        let mut d = Array1::zeros(dim);
        let mut loss = 0.0;
        for t in buffer.iter() {
            let e = critic.data_vector(omega.view(), t, gamma, kind, d.view_mut(), &mut ws).unwrap();
            loss += 0.5 * e * e;
            if output_only {
                d.slice_mut(s![p..]).fill(0.0);
            }
            let dd = d.dot(&d) + 1.0;
            want.scaled_add(-eta * e / (dd * dd), &d);
        }
        let mut w = omega.clone();
        let got = update.apply(&critic, &buffer, w.view_mut(), &mut ws).unwrap();
        prop_assert!((got - loss).abs() <= 1e-12 * loss.max(1.0));
        prop_assert!(max_rel_error(w.view(), want.view()) < 1e-12, "{w}\n{want}");
        if output_only {
            prop_assert_eq!(w.slice(s![p..]), omega.slice(s![p..]));
        }
        let loss_term = TdLoss::new(&critic, &buffer, gamma).unwrap();
        prop_assert_eq!(got.to_bits(), loss_term.value(omega.view()).unwrap().to_bits());
    }

    /// For a linear critic (output layer only) and exciting regressors, every
    /// 0 < η < 8/M gives a spectral radius below 1; the eigenvalues of
    /// A = (I − C)/η lie in [0, M/4]; and C is exactly the update's linear map on ω − ω*
    /// when the values are realisable.
    #[test]
    fn linear_critic_contracts_below_the_step_size_bound(
        d_in in 1usize..=3,
        extra in 0usize..6,
        frac in 0.01..0.99f64,
        seed in any::<u64>(),
        gamma in 0.0..0.99f64,
        act in activation(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let p = d_in + 1;
        let critic = ShallowCritic::new(d_in, p, act).unwrap();
        let omega0 = critic.random_weights(&mut rng);
        let m = p + extra;
        let star = critic.random_weights(&mut rng);
        let mut ws = critic.workspace();
        // Realisable rewards: r = Q̂*(z) − γ Q̂*(z₊) with Q̂* the critic at ω* whose hidden
        // layer is ω0's (only w₁ is trained).
        let mut star_full = omega0.clone();
        star_full.slice_mut(s![..p]).assign(&star.slice(s![..p]));
        let mut buffer = ReplayBuffer::new(m, d_in).unwrap();
        for _ in 0..m {
            let z = Array1::from_shape_fn(d_in, |_| rng.random_range(-2.0..2.0));
            let zn = Array1::from_shape_fn(d_in, |_| rng.random_range(-2.0..2.0));
            let q = critic.value(star_full.view(), z.view(), &mut ws).unwrap();
            let qn = critic.value(star_full.view(), zn.view(), &mut ws).unwrap();
            buffer.push(Transition::new(z.view(), q - gamma * qn, zn.view())).unwrap();
        }
        let eta = frac * buffer.step_size_bound();
        let update = NormalizedUpdate::new(eta, gamma).unwrap().with_trainable(Trainable::OutputLayer);
        let c = update.contraction_matrix(&critic, &buffer, omega0.view(), &mut ws).unwrap();
        prop_assert_eq!(c.dim(), (p, p));
        let a = (Array2::eye(p) - &c) / eta;
        let lam = eigenvalues(&a);
        prop_assert!(lam[0] >= -1e-12 && lam[p - 1] <= m as f64 / 4.0 + 1e-12, "{lam}");
        let rho = update.spectral_radius(&critic, &buffer, omega0.view(), &mut ws).unwrap();
        if lam[0] > 1e-9 {
            prop_assert!(rho < 1.0, "rho = {rho}, eta = {eta}, lambda = {lam}");
        } else {
            prop_assert!(rho <= 1.0 + 1e-12);
        }
        // ω₊ − ω* = C (ω − ω*), exactly up to rounding.
        let mut w = omega0.clone();
        update.apply(&critic, &buffer, w.view_mut(), &mut ws).unwrap();
        let err_before = &omega0.slice(s![..p]) - &star.slice(s![..p]);
        let err_after = &w.slice(s![..p]) - &star.slice(s![..p]);
        let predicted = c.dot(&err_before);
        prop_assert!(
            max_rel_error(err_after.view(), predicted.view()) < 1e-10,
            "{err_after} vs {predicted}"
        );
    }
}

/// The step-size bound separates convergence from divergence: a linear critic
/// Q̂(z) = w₁ᵀ(z, 1) (identity activation, W₂ = I, output layer trained) on M = 16 terminal
/// transitions with z ∈ [−0.3, 0.3], so the data vectors dⱼ = (zⱼ, 1) are nearly parallel
/// with ‖dⱼ‖ ≈ 1 and λ_max(A) ≈ M/4. Realisable rewards r = w*ᵀ(z, 1).
fn eta_bound_run(factor: f64, updates: usize) -> (f64, Vec<f64>) {
    let critic = ShallowCritic::new(1, 2, Activation::Identity).unwrap();
    let identity = Array2::<f64>::eye(2);
    let star_w1 = arr1(&[0.5, -0.3]);
    let m = 16;
    let mut buffer = ReplayBuffer::new(m, 1).unwrap();
    for j in 0..m {
        buffer.push(nearly_parallel(j, m, &star_w1).view()).unwrap();
    }
    let eta = factor * buffer.step_size_bound();
    let update = NormalizedUpdate::new(eta, 0.9)
        .unwrap()
        .with_trainable(Trainable::OutputLayer);
    let mut omega = critic
        .weights_from(arr1(&[0.0, 0.0]).view(), identity.view())
        .unwrap();
    let mut ws = critic.workspace();
    let rho = update
        .spectral_radius(&critic, &buffer, omega.view(), &mut ws)
        .unwrap();
    let mut errors = Vec::with_capacity(updates + 1);
    let err = |w: &Array1<f64>| {
        let e = &w.slice(s![..2]) - &star_w1;
        e.dot(&e).sqrt()
    };
    errors.push(err(&omega));
    for _ in 0..updates {
        update
            .apply(&critic, &buffer, omega.view_mut(), &mut ws)
            .unwrap();
        errors.push(err(&omega));
    }
    (rho, errors)
}

/// Terminal transition j of the `eta_bound_run` data: z ∈ [−0.3, 0.3], r = w*ᵀ(z, 1).
fn nearly_parallel(j: usize, m: usize, star_w1: &Array1<f64>) -> OwnedTransition {
    let z = -0.3 + 0.6 * j as f64 / (m - 1) as f64;
    OwnedTransition {
        z: arr1(&[z]),
        reward: star_w1[0] * z + star_w1[1],
        next: None,
    }
}

/// The bound is 8 / capacity, valid at every fill level: an η taken while the buffer is
/// partly filled still contracts once it is full. (With 8 / len, η taken from 2 stored
/// transitions of 16 was 8 times too large, and the filled buffer diverged.)
#[test]
fn step_size_bound_holds_at_every_fill_level() {
    let critic = ShallowCritic::new(1, 2, Activation::Identity).unwrap();
    let star_w1 = arr1(&[0.5, -0.3]);
    let omega = critic
        .weights_from(arr1(&[0.0, 0.0]).view(), Array2::<f64>::eye(2).view())
        .unwrap();
    let m = 16;
    let mut buffer = ReplayBuffer::new(m, 1).unwrap();
    assert_eq!(buffer.step_size_bound(), 0.5);
    buffer.push(nearly_parallel(0, m, &star_w1).view()).unwrap();
    buffer
        .push(nearly_parallel(m - 1, m, &star_w1).view())
        .unwrap();
    assert_eq!(buffer.step_size_bound(), 0.5);
    let update = NormalizedUpdate::new(0.9 * buffer.step_size_bound(), 0.9)
        .unwrap()
        .with_trainable(Trainable::OutputLayer);
    let mut ws = critic.workspace();
    for j in 1..m - 1 {
        buffer.push(nearly_parallel(j, m, &star_w1).view()).unwrap();
        let rho = update
            .spectral_radius(&critic, &buffer, omega.view(), &mut ws)
            .unwrap();
        assert!(rho < 1.0, "{} stored: rho = {rho}", buffer.len());
    }
    assert!(buffer.is_full());
}

#[test]
fn step_size_bound_separates_convergence_from_divergence() {
    let (rho_below, below) = eta_bound_run(0.9, 400);
    let (rho_above, above) = eta_bound_run(1.1, 100);
    // Below 8/M: ρ < 1, the error decreases at every step (C is symmetric, so
    // ‖C x‖ ≤ ρ ‖x‖) and by orders of magnitude overall.
    assert!(rho_below < 1.0, "rho below the bound = {rho_below}");
    assert!(below.windows(2).all(|w| w[1] <= w[0]), "{below:?}");
    assert!(
        below[400] < 1e-6 * below[0],
        "{} -> {}",
        below[0],
        below[400]
    );
    // Above it: ρ > 1 and the error grows at the rate ρ.
    assert!(rho_above > 1.1, "rho above the bound = {rho_above}");
    assert!(
        above[100] > 1e4 * above[0],
        "{} -> {}",
        above[0],
        above[100]
    );
    let rate = above[100] / above[99];
    assert!(
        (rate - rho_above).abs() < 1e-6,
        "rate {rate} vs rho {rho_above}"
    );
    println!(
        "eta = 0.9 * 8/M: rho = {rho_below:.4}, error {:.3e} -> {:.3e} in 400 updates; \
         eta = 1.1 * 8/M: rho = {rho_above:.4}, error {:.3e} -> {:.3e} in 100 updates",
        below[0], below[400], above[0], above[100]
    );
}

// ---------------------------------------------------------------------------------------
// Policy evaluation on a chain MDP with exactly known values
// ---------------------------------------------------------------------------------------

// `Chain` (tests/common/chain.rs) is shared with `examples/td_critic.rs`, which runs it with
// N = 6; the tests here use N = 5.

#[test]
fn chain_values_solve_the_bellman_equation() {
    let chain = Chain { n: 5, gamma: 0.9 };
    let q = chain.exact_q();
    // Closed forms: the goal step, and the 0 ↔ 1 cycle that never ends.
    assert!((q[chain.index(4, 1)] - 1.0).abs() < 1e-14);
    assert!((q[chain.index(3, 1)] - (-0.1 + 0.9)).abs() < 1e-14);
    assert!((q[chain.index(0, 1)] - (-0.1 / (1.0 - 0.9))).abs() < 1e-12);
}

/// Tabular (linear) critic: one-hot features, identity activation, W₂ = I, only w₁ trained,
/// so Q̂(z) = w₁\[z\] is realisable. Full and semi-gradient updates at η = 0.9 · 8/M drive
/// the TD error to zero and recover Q^π to 1e-8; returns the updates each needed.
fn tabular_run(gamma: f64, max_updates: usize) -> Vec<usize> {
    let chain = Chain { n: 5, gamma };
    let q = chain.exact_q();
    let buffer = chain.buffer();
    let k = 2 * chain.n;
    let critic = ShallowCritic::with_features(chain.one_hot(), k, Activation::Identity).unwrap();
    let eye = Array2::<f64>::eye(k);
    let mut needed = Vec::new();
    for kind in [TdGradient::Full, TdGradient::Semi] {
        let update = NormalizedUpdate::new(0.9 * buffer.step_size_bound(), chain.gamma)
            .unwrap()
            .with_gradient(kind)
            .with_trainable(Trainable::OutputLayer);
        let mut omega = critic
            .weights_from(Array1::zeros(k).view(), eye.view())
            .unwrap();
        let mut ws = critic.workspace();
        if kind == TdGradient::Full {
            let rho = update
                .spectral_radius(&critic, &buffer, omega.view(), &mut ws)
                .unwrap();
            assert!(rho < 1.0, "rho = {rho}");
            println!("tabular, gamma = {gamma}: spectral radius {rho:.6}");
        }
        let first = update
            .apply(&critic, &buffer, omega.view_mut(), &mut ws)
            .unwrap();
        let mut last = first;
        let mut n_updates = 1;
        while n_updates < max_updates && chain.max_value_error(&critic, &omega, &q) > 1e-8 {
            last = update
                .apply(&critic, &buffer, omega.view_mut(), &mut ws)
                .unwrap();
            n_updates += 1;
        }
        let err = chain.max_value_error(&critic, &omega, &q);
        assert!(
            err <= 1e-8,
            "{kind:?}: value error {err:e} after {n_updates} updates"
        );
        assert!(last < 1e-12 * first, "{kind:?}: ½Σe² {first:e} -> {last:e}");
        println!(
            "tabular {kind:?}, gamma = {gamma}: ½Σe² {first:.3e} -> {last:.3e}, max |Q̂ − Q| = \
             {err:.1e} after {n_updates} updates"
        );
        needed.push(n_updates);
    }
    needed
}

#[test]
fn linear_critic_recovers_chain_values() {
    let needed = tabular_run(0.8, 10_000);
    // The semi-gradient is much faster here; the residual gradient squares the
    // conditioning of I − γP.
    assert!(needed[1] < needed[0], "{needed:?}");
}

#[test]
#[ignore = "long: cargo test --release --test suite -- --ignored critic::"]
fn linear_critic_recovers_chain_values_at_gamma_0_9() {
    tabular_run(0.9, 100_000);
}

/// A neural critic that can represent Q^π: one-hot features into p tanh units, every
/// weight trained with the full-gradient normalised update at η = 0.9 · 8/M from a seeded
/// random start; returns (½Σe² first, last, max |Q̂ − Q^π|).
fn neural_run(gamma: f64, p: usize, updates: usize) -> (f64, f64, f64) {
    let chain = Chain { n: 5, gamma };
    let q = chain.exact_q();
    let buffer = chain.buffer();
    let critic = ShallowCritic::with_features(chain.one_hot(), p, Activation::Tanh).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut omega = critic.random_weights(&mut rng);
    let update = NormalizedUpdate::new(0.9 * buffer.step_size_bound(), chain.gamma).unwrap();
    let mut ws = critic.workspace();
    let first = update
        .apply(&critic, &buffer, omega.view_mut(), &mut ws)
        .unwrap();
    let mut last = first;
    for _ in 1..updates {
        last = update
            .apply(&critic, &buffer, omega.view_mut(), &mut ws)
            .unwrap();
    }
    let err = chain.max_value_error(&critic, &omega, &q);
    println!(
        "neural (one-hot -> {p} tanh), gamma = {gamma}: ½Σe² {first:.3e} -> {last:.3e}, \
         max |Q̂ − Q| = {err:.2e} after {updates} updates"
    );
    (first, last, err)
}

/// γ = 0.8, 8 units, 10 000 updates: the TD error falls by over ten orders of magnitude and
/// the values are recovered to 1e-6 (seed 2024).
#[test]
fn neural_critic_recovers_chain_values() {
    let (first, last, err) = neural_run(0.8, 8, 10_000);
    assert!(last < 1e-10 * first, "½Σe² {first:e} -> {last:e}");
    assert!(err < 1e-6, "value error {err:e}");
}

#[test]
#[ignore = "long: cargo test --release --test suite -- --ignored critic::"]
fn neural_critic_recovers_chain_values_at_gamma_0_9() {
    for p in [4, 8, 16] {
        let (first, last, err) = neural_run(0.9, p, 100_000);
        assert!(last < 1e-15 * first, "p = {p}: ½Σe² {first:e} -> {last:e}");
        assert!(err < 1e-6, "p = {p}: value error {err:e}");
    }
}

/// A reward of 1e200 gives a finite TD error e ≈ −1e200 whose ½e² overflows. The update's
/// step is finite, so the update is taken (as its formula says) and the loss it reports is
/// +∞; `td_errors` reports every finite eⱼ and the same +∞. `TdLoss`, a `Term`, must return
/// a finite value or an error: an error.
#[test]
fn update_with_an_overflowing_loss_still_steps() {
    let critic = ShallowCritic::new(1, 2, Activation::Tanh).unwrap();
    let mut buffer = ReplayBuffer::new(2, 1).unwrap();
    let (a, b) = (arr1(&[0.5]), arr1(&[-0.5]));
    buffer
        .push(Transition::new(a.view(), 1e200, b.view()))
        .unwrap();
    buffer.push(Transition::terminal(b.view(), 1.0)).unwrap();
    let omega = critic.random_weights(&mut ChaCha8Rng::seed_from_u64(4));
    let (eta, gamma) = (0.1, 0.9);
    let mut ws = critic.workspace();
    let mut want = omega.clone();
    let mut d = Array1::zeros(critic.dim());
    for t in buffer.iter() {
        let e = critic
            .data_vector(
                omega.view(),
                t,
                gamma,
                TdGradient::Full,
                d.view_mut(),
                &mut ws,
            )
            .unwrap();
        let dd = d.dot(&d) + 1.0;
        want.scaled_add(-eta * e / (dd * dd), &d);
    }
    assert!(want.iter().all(|w| w.is_finite()));
    let mut w = omega.clone();
    let update = NormalizedUpdate::new(eta, gamma).unwrap();
    let loss = update
        .apply(&critic, &buffer, w.view_mut(), &mut ws)
        .unwrap();
    assert_eq!(loss, f64::INFINITY);
    assert!(max_rel_error(w.view(), want.view()) < 1e-12, "{w}\n{want}");

    let mut errors = Array1::zeros(2);
    let half_sum = buffer
        .td_errors(&critic, omega.view(), gamma, errors.view_mut(), &mut ws)
        .unwrap();
    assert_eq!(half_sum, f64::INFINITY);
    assert!(errors.iter().all(|e| e.is_finite()) && errors[0] < -9e199);

    let loss = TdLoss::new(&critic, &buffer, gamma).unwrap();
    let err = loss.value(omega.view()).unwrap_err();
    assert!(matches!(err, Error::NonFiniteResult { .. }), "{err}");
}

/// The central-difference Jacobian of one update, ω ↦ `apply`(ω), over the trained block
/// (the first `len` weights; the others stay at ω's).
fn update_jacobian<M: FeatureMap>(
    critic: &ShallowCritic<M>,
    buffer: &ReplayBuffer,
    update: &NormalizedUpdate,
    omega: &Array1<f64>,
    len: usize,
) -> Array2<f64> {
    let mut ws = critic.workspace();
    let block = omega.slice(s![..len]).to_owned();
    fd::jacobian(block.view(), &FdOptions::default(), |x| {
        let mut w = omega.clone();
        w.slice_mut(s![..len]).assign(&x);
        update.apply(critic, buffer, w.view_mut(), &mut ws)?;
        Ok(w.slice(s![..len]).to_owned())
    })
    .unwrap()
}

fn max_abs_difference(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// `z`s and `z₊`s drawn on [−2, 2]ᵈ, one in four terminal, with rewards from `reward(z, z₊)`.
fn random_buffer(
    rng: &mut ChaCha8Rng,
    m: usize,
    d: usize,
    mut reward: impl FnMut(&Array1<f64>, Option<&Array1<f64>>) -> f64,
) -> ReplayBuffer {
    let mut buffer = ReplayBuffer::new(m, d).unwrap();
    for _ in 0..m {
        let z = Array1::from_shape_fn(d, |_| rng.random_range(-2.0..2.0));
        let zn = Array1::from_shape_fn(d, |_| rng.random_range(-2.0..2.0));
        let terminal = rng.random_range(0..4) == 0;
        let r = reward(&z, (!terminal).then_some(&zn));
        let t = if terminal {
            Transition::terminal(z.view(), r)
        } else {
            Transition::new(z.view(), r, zn.view())
        };
        buffer.push(t).unwrap();
    }
    buffer
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// C is the Jacobian of the update map where the update is linear in the trained
    /// weights (output layer only, at any ω and any rewards), and for every weight at a ω
    /// where every eⱼ = 0 (rewards r = Q̂(z) − γ Q̂(z₊) at that ω): there the terms
    /// eⱼ ∂(dⱼ/(dⱼᵀdⱼ + 1)²)/∂ω that C leaves out vanish.
    #[test]
    fn contraction_matrix_is_the_update_jacobian_where_exact(
        d_in in 1usize..=2,
        p in 1usize..=3,
        act in activation(),
        seed in any::<u64>(),
        gamma in 0.0..1.0f64,
        eta in 0.01..0.5f64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let critic = ShallowCritic::new(d_in, p, act).unwrap();
        let omega = critic.random_weights(&mut rng);
        let update = NormalizedUpdate::new(eta, gamma).unwrap();
        let mut ws = critic.workspace();

        // Output layer only, rewards anywhere.
        let mut rewards = ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
        let buffer = random_buffer(&mut rng, 5, d_in, |_, _| rewards.random_range(-2.0..2.0));
        let linear = update.with_trainable(Trainable::OutputLayer);
        let c = linear.contraction_matrix(&critic, &buffer, omega.view(), &mut ws).unwrap();
        let j = update_jacobian(&critic, &buffer, &linear, &omega, p);
        let diff = max_abs_difference(&c, &j);
        prop_assert!(diff < 1e-8, "output layer: max |J - C| = {diff:e}\n{c}\n{j}");

        // Every weight, at a ω where every TD error is zero.
        let mut ws2 = critic.workspace();
        let zero_error = random_buffer(&mut rng, 5, d_in, |z, zn| {
            let q = critic.value(omega.view(), z.view(), &mut ws2).unwrap();
            let qn = zn.map_or(0.0, |zn| critic.value(omega.view(), zn.view(), &mut ws2).unwrap());
            q - gamma * qn
        });
        let mut e = Array1::zeros(5);
        zero_error.td_errors(&critic, omega.view(), gamma, e.view_mut(), &mut ws).unwrap();
        prop_assert!(e.iter().all(|e| e.abs() < 1e-13), "{e}");
        let c = update.contraction_matrix(&critic, &zero_error, omega.view(), &mut ws).unwrap();
        let j = update_jacobian(&critic, &zero_error, &update, &omega, critic.dim());
        let diff = max_abs_difference(&c, &j);
        prop_assert!(diff < 1e-8, "all weights, e = 0: max |J - C| = {diff:e}");
    }
}

/// With every weight of a nonlinear critic trained and non-zero TD errors, C is only the
/// Gauss–Newton part of the update's Jacobian: on this 6-weight tanh critic they differ by
/// far more than the finite-difference error.
#[test]
fn contraction_matrix_is_only_gauss_newton_for_a_nonlinear_critic() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let critic = ShallowCritic::new(1, 2, Activation::Tanh).unwrap();
    let omega = critic.random_weights(&mut rng);
    let buffer = random_buffer(&mut rng, 6, 1, |_, _| 1.0);
    let update = NormalizedUpdate::new(0.5, 0.9).unwrap();
    let mut ws = critic.workspace();
    let c = update
        .contraction_matrix(&critic, &buffer, omega.view(), &mut ws)
        .unwrap();
    let j = update_jacobian(&critic, &buffer, &update, &omega, critic.dim());
    let diff = max_abs_difference(&c, &j);
    println!("6-weight tanh critic, every weight trained: max |J - C| = {diff:.3}");
    assert!(diff > 1e-2, "max |J - C| = {diff:e}");
}

/// Buffers are equal when they hold the same transitions in the same order (and have the
/// same capacity and z length): where the transitions sit in the ring, what stale slots
/// hold and how many were pushed do not matter.
#[test]
fn replay_buffers_compare_by_their_stored_transitions() {
    let t = |k: usize| OwnedTransition {
        z: arr1(&[k as f64]),
        reward: -(k as f64),
        next: k.is_multiple_of(2).then(|| arr1(&[k as f64 + 0.5])),
    };
    let fill = |capacity: usize, ks: &[usize]| {
        let mut b = ReplayBuffer::new(capacity, 1).unwrap();
        for &k in ks {
            b.push(t(k).view()).unwrap();
        }
        b
    };
    let wrapped = fill(2, &[0, 1, 2]); // holds 1, 2 in slots 1, 0
    let straight = fill(2, &[1, 2]); // holds 1, 2 in slots 0, 1
    assert_eq!(wrapped, straight);
    let mut refilled = fill(2, &[5, 6]);
    refilled.clear(); // slots still hold 5 and 6
    refilled.push(t(1).view()).unwrap();
    refilled.push(t(2).view()).unwrap();
    assert_eq!(refilled, straight);
    let mut partial = fill(2, &[7, 8]);
    partial.clear();
    partial.push(t(1).view()).unwrap(); // slot 1 still holds 8
    assert_eq!(partial, fill(2, &[1]));

    assert_ne!(fill(2, &[2, 1]), straight); // order
    assert_ne!(fill(3, &[1, 2]), straight); // capacity
    assert_ne!(fill(2, &[1]), straight); // length
    assert_ne!(fill(2, &[1, 4]), straight); // content
}

/// `TdLoss` is `Copy` and `Debug` (short: the batch by its length), also over a feature map
/// whose closure is not `Clone`.
#[test]
fn td_loss_is_copy_and_debug() {
    struct NotClone(f64);
    let scale = NotClone(2.0);
    let map = FnFeatures::new(1, 2, move |z: &[f64], out: &mut [f64]| {
        out.copy_from_slice(&[1.0, scale.0 * z[0]]);
    });
    let critic = ShallowCritic::with_features(map, 2, Activation::Tanh).unwrap();
    let batch = buffer_of(
        &[OwnedTransition {
            z: arr1(&[0.5]),
            reward: 1.0,
            next: None,
        }],
        1,
    );
    let loss = TdLoss::new(&critic, &batch, 0.9).unwrap();
    let copy = loss;
    let omega = Array1::from_elem(critic.dim(), 0.3);
    assert_eq!(
        loss.value(omega.view()).unwrap(),
        copy.value(omega.view()).unwrap()
    );
    let text = format!("{loss:?}");
    assert!(
        text.starts_with("TdLoss { critic: ShallowCritic") && text.contains("transitions: 1"),
        "{text}"
    );
}
