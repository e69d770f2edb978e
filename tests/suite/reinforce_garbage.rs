//! Garbage in, no panic and no NaN out, for the policy and estimator API: f64 values of every
//! class (NaN, ±∞, ±1e308, −0.0, subnormals) as θ entries, logits, values, rewards, Ψ, scores,
//! baselines, discounts and alphas; arbitrary lengths and strides; state and action indices in
//! and out of range (up to usize::MAX).
//!
//! Every call returns `Ok` with finite outputs or an `Err`; a call that fails leaves the
//! caller's buffers as they were. Surrogate terms additionally keep the `Term` rules: the
//! same value bits from every method, and more derivatives never succeed where fewer fail.

use ndarray::{Array1, Array2, ArrayView1};
use proptest::prelude::*;
use proptest::sample::select;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::estimator::{
    Baseline, Batch, Episodes, Estimator, Reinforce, SequentialReinforce, StateBaseline,
    StepRecord, Weighting,
};
use rlgrad::policy::{
    GaussianMean, Policy, ScoreFunction, SoftmaxPolicy, softmax_log_prob, softmax_sample,
    softmax_score,
};
use rlgrad::{Error, Term};

use crate::common;

use common::nasty::{nasty, nasty_vec};

/// A state, an action or a size: mostly small, sometimes huge.
fn index() -> BoxedStrategy<usize> {
    common::nasty::index(0..4, 4..8, vec![usize::MAX, usize::MAX - 1, 1 << 40])
}

/// Mostly ordinary numbers, sometimes garbage: so that the valid paths run often too.
fn mostly_fine() -> BoxedStrategy<f64> {
    prop_oneof![8 => -5.0..5.0f64, 1 => nasty()].boxed()
}

/// Mostly in [0, 1] (discounts, decays), sometimes garbage.
fn mostly_unit() -> BoxedStrategy<f64> {
    prop_oneof![6 => 0.0..=1.0f64, 1 => nasty()].boxed()
}

/// θ for a policy of dimension `k`: usually the right length and mostly ordinary.
fn theta_for(k: usize) -> BoxedStrategy<Vec<f64>> {
    prop_oneof![
        6 => proptest::collection::vec(mostly_fine(), k),
        1 => nasty_vec(0..8),
    ]
    .boxed()
}

/// A policy (or `None` when its constructor rejected the garbage) with a θ for it.
fn policy_and_theta() -> BoxedStrategy<(Option<SoftmaxPolicy>, Vec<f64>)> {
    policy()
        .prop_flat_map(|p| {
            let k = p.as_ref().map_or(3, |p| p.dim().min(16));
            (Just(p), theta_for(k))
        })
        .boxed()
}

/// A policy: logits over 1–3 states × 1–4 actions, or values over a garbage Q (which the
/// constructor may reject).
fn policy() -> BoxedStrategy<Option<SoftmaxPolicy>> {
    prop_oneof![
        (1usize..4, 1usize..5).prop_map(|(s, a)| SoftmaxPolicy::logits(s, a).ok()),
        (1usize..3, 1usize..4)
            .prop_flat_map(|(s, a)| (Just((s, a)), nasty_vec(s * a..s * a + 1)))
            .prop_map(|((s, a), q)| SoftmaxPolicy::values(
                Array2::from_shape_vec((s, a), q).unwrap().view()
            )
            .ok()),
        select(vec![(0, 3), (3, 0), (usize::MAX, 3), (1 << 40, 1 << 40)])
            .prop_map(|(s, a)| SoftmaxPolicy::logits(s, a).ok()),
    ]
    .boxed()
}

fn baseline() -> BoxedStrategy<Baseline> {
    prop_oneof![
        Just(Baseline::None),
        mostly_fine().prop_map(Baseline::Constant),
        Just(Baseline::LeaveOneOut),
        Just(Baseline::BatchMean),
        Just(Baseline::OptimalLeaveOneOut),
        mostly_unit().prop_map(|decay| Baseline::RunningAverage { decay }),
    ]
    .boxed()
}

fn weighting() -> BoxedStrategy<Weighting> {
    let state_baseline = prop_oneof![
        Just(StateBaseline::None),
        proptest::collection::vec(mostly_fine(), 0..5).prop_map(StateBaseline::Fixed),
        (index(), mostly_unit()).prop_map(|(n_states, decay)| StateBaseline::RunningAverage {
            n_states: n_states.min(1 << 20),
            decay
        }),
    ];
    prop_oneof![
        (mostly_unit(), any::<bool>(), state_baseline).prop_map(
            |(gamma, discount_weight, baseline)| {
                Weighting::RewardToGo {
                    gamma,
                    discount_weight,
                    baseline,
                }
            }
        ),
        (mostly_unit(), baseline())
            .prop_map(|(gamma, baseline)| Weighting::TotalReturn { gamma, baseline }),
        Just(Weighting::Supplied),
    ]
    .boxed()
}

fn all_finite(x: &[f64]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// The Term rules on a surrogate at θ (see the module docs).
fn check_term(term: &dyn Term, theta: ArrayView1<f64>) -> Result<(), TestCaseError> {
    let k = term.dim();
    let value = term.value(theta);
    let mut g = Array1::from_elem(k, f64::NAN);
    let vg = term.value_and_grad(theta, g.view_mut());
    let mut g2 = Array1::from_elem(k, f64::NAN);
    let mut h2 = Array2::from_elem((k, k), f64::NAN);
    let vgh = term.value_grad_hessian(theta, g2.view_mut(), h2.view_mut());
    let mut g3 = Array1::from_elem(k, 1.0);
    let avg = term.add_value_and_grad(theta, 1.0, g3.view_mut());
    for v in [&value, &vg, &vgh, &avg].into_iter().flatten() {
        prop_assert!(v.is_finite());
    }
    if let Ok(v) = vg {
        prop_assert!(all_finite(g.as_slice().unwrap()), "gradient {g}");
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
    }
    match avg {
        Ok(_) => prop_assert!(all_finite(g3.as_slice().unwrap())),
        Err(_) => prop_assert!(g3.iter().all(|&x| x == 1.0), "buffer changed on error"),
    }
    if let Ok(v) = vgh {
        prop_assert!(vg.is_ok(), "hessian succeeded where the gradient failed");
        prop_assert!(h2.iter().all(|x| x.is_finite()), "hessian {h2}");
        prop_assert_eq!(v.to_bits(), value.as_ref().unwrap().to_bits());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn policy_methods_never_panic_or_return_nan(
        (policy, theta) in policy_and_theta(),
        state in index(),
        action in index(),
        alpha in nasty(),
        buf_len in 0usize..14,
        stride in 0usize..14,
        seed in any::<u64>(),
    ) {
        let Some(policy) = policy else { return Ok(()); };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = vec![f64::NAN; buf_len];
        if policy.probabilities(&theta, state, &mut p).is_ok() {
            prop_assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
            prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        if let Ok(a) = policy.sample(&theta, state, &mut rng) {
            prop_assert!(a < policy.n_actions());
        }
        if let Ok(lp) = policy.log_prob(&theta, state, action) {
            prop_assert!(lp.is_finite() && lp <= 0.0);
        }
        let mut score = vec![0.25; buf_len];
        match policy.add_log_prob_and_score(&theta, state, action, alpha, &mut score) {
            Ok(lp) => prop_assert!(lp.is_finite() && all_finite(&score)),
            Err(_) => prop_assert!(score.iter().all(|&x| x == 0.25), "buffer changed on error"),
        }
        let mut h = vec![0.5; buf_len * buf_len.max(1)];
        match policy.add_log_prob_hessian(&theta, state, action, alpha, &mut h, stride) {
            Ok(_) => prop_assert!(all_finite(&h)),
            Err(_) => prop_assert!(h.iter().all(|&x| x == 0.5), "buffer changed on error"),
        }
        if let Ok(block) = policy.score_block(state) {
            prop_assert!(block.end <= policy.dim());
        }
        // The policy as a score function over actions.
        let at = policy.at(state);
        let mut dense = vec![0.0; buf_len];
        if at.log_prob_and_score(&theta, &action, &mut dense).is_ok() {
            prop_assert!(all_finite(&dense));
        }
    }

    #[test]
    fn softmax_kernel_never_panics_or_returns_nan(
        logits in nasty_vec(0..6),
        action in index(),
        len in 0usize..7,
    ) {
        let mut p = vec![0.0; len];
        if let Ok(lp) = softmax_log_prob(&logits, action, &mut p) {
            prop_assert!(lp.is_finite() && lp <= 0.0);
            prop_assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn softmax_sample_and_score_never_panic_or_return_nan(
        logits in nasty_vec(0..6),
        probs in nasty_vec(0..6),
        dz in nasty_vec(0..6),
        action in index(),
        alpha in nasty(),
        len in 0usize..7,
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = vec![0.25; len];
        match softmax_sample(&logits, &mut rng, &mut p) {
            Ok((a, lp)) => {
                prop_assert!(a < logits.len() && lp.is_finite() && lp <= 0.0);
                prop_assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
                prop_assert!(p[a] > 0.0);
            }
            Err(_) => prop_assert!(p.iter().all(|&x| x == 0.25), "buffer changed on error"),
        }
        let mut out = vec![0.5; len];
        match softmax_score(&probs, action, &dz, alpha, &mut out) {
            Ok(()) => prop_assert!(all_finite(&out)),
            Err(_) => prop_assert!(out.iter().all(|&x| x == 0.5), "buffer changed on error"),
        }
        // With the probabilities of real logits.
        if let Ok((a, _)) = softmax_sample(&logits, &mut rng, &mut p) {
            let mut out = vec![0.5; len];
            let dz: Vec<f64> = dz.iter().cycle().take(len).copied().collect();
            match softmax_score(&p, a, &dz, alpha, &mut out) {
                Ok(()) => prop_assert!(all_finite(&out)),
                Err(_) => prop_assert!(out.iter().all(|&x| x == 0.5)),
            }
        }
    }

    #[test]
    fn gaussian_never_panics_or_returns_nan(
        dim in index(),
        sigma in nasty(),
        theta in nasty_vec(0..5),
        z in nasty_vec(0..5),
        alpha in nasty(),
        seed in any::<u64>(),
    ) {
        let Ok(dist) = GaussianMean::new(dim.min(1 << 20), sigma) else { return Ok(()); };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        if let Ok(s) = dist.sample(&theta, &mut rng) {
            prop_assert!(all_finite(&s));
        }
        if let Ok(lp) = dist.log_prob(&theta, &z) {
            prop_assert!(lp.is_finite());
        }
        let mut score = vec![0.0; z.len()];
        if dist.add_log_prob_and_score(&theta, &z, alpha, &mut score).is_ok() {
            prop_assert!(all_finite(&score));
        }
        let mut h = vec![0.0; z.len() * z.len()];
        if dist.add_log_prob_hessian(&theta, &z, alpha, &mut h).is_ok() {
            prop_assert!(all_finite(&h));
        }
    }

    #[test]
    fn batch_estimators_and_surrogates_never_panic_or_return_nan(
        (policy, theta) in policy_and_theta(),
        state in prop_oneof![3 => Just(0usize), 1 => index()],
        draws in 0usize..6,
        values in proptest::collection::vec(mostly_fine(), 1..6),
        pushed in proptest::collection::vec((index(), mostly_fine()), 0..4),
        baseline in baseline(),
        alpha in mostly_fine(),
        grad_len in prop_oneof![4 => Just(usize::MAX), 1 => 0usize..8],
        probe in proptest::collection::vec(mostly_fine(), 0..8),
        seed in any::<u64>(),
    ) {
        let Some(policy) = policy else { return Ok(()); };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let Ok(mut batch) = Batch::new(policy.at(state), ArrayView1::from(&theta[..])) else {
            return Ok(());
        };
        let mut i = 0;
        let _ = batch.draw(draws, &mut rng, |_, _| {
            i += 1;
            values[i % values.len()]
        });
        for (a, v) in pushed {
            let _ = batch.push(a, v);
        }
        prop_assert!(all_finite(batch.values().as_slice().unwrap()));
        prop_assert!(batch.scores().iter().all(|x| x.is_finite()));
        let Ok(mut est) = Reinforce::new(baseline) else { return Ok(()); };
        // usize::MAX stands for the right length.
        let grad_len = if grad_len == usize::MAX { batch.dim() } else { grad_len };
        let mut g = Array1::from_elem(grad_len, 0.5);
        match est.add_estimate(&batch, alpha, g.view_mut()) {
            Ok(info) => {
                prop_assert!(all_finite(g.as_slice().unwrap()));
                prop_assert!(info.mean_value.is_finite() || batch.is_empty());
            }
            Err(_) => prop_assert!(g.iter().all(|&x| x == 0.5), "buffer changed on error"),
        }
        // Raw arrays of any shape and content.
        let k = grad_len.min(3);
        let n = values.len();
        let scores = Array2::from_shape_fn((n, k), |(a, b)| values[(a + b) % n]);
        let _ = est.add_estimate_from(
            ArrayView1::from(&values[..]),
            scores.view(),
            alpha,
            g.view_mut(),
        );
        if let Ok(s) = est.surrogate(&batch) {
            let probe: Vec<f64> = probe.iter().cycle().take(batch.dim().min(probe.len() * 16)).copied().collect();
            check_term(&s, ArrayView1::from(&probe[..]))?;
            check_term(&s, batch.theta())?;
        }
    }

    #[test]
    fn episodes_and_sequential_estimators_never_panic_or_return_nan(
        (policy, theta) in policy_and_theta(),
        dim in prop_oneof![4 => Just(usize::MAX), 1 => 0usize..7],
        steps in proptest::collection::vec(
            (index(), index(), mostly_fine(), proptest::option::of(mostly_fine()), index(), proptest::collection::vec(mostly_fine(), 0..4), 0u8..5),
            0..10,
        ),
        finish in any::<bool>(),
        weighting in weighting(),
        alpha in mostly_fine(),
        probe in proptest::collection::vec(mostly_fine(), 0..8),
    ) {
        // usize::MAX stands for the policy's dimension.
        let dim = if dim == usize::MAX { policy.as_ref().map_or(3, |p| p.dim()) } else { dim };
        let mut episodes = Episodes::new(dim);
        for (state, action, reward, psi, block, score, how) in steps {
            let mut step = StepRecord::new(state, action, reward);
            step.psi = psi;
            match (how, &policy) {
                (0 | 1, Some(p)) => { let _ = episodes.record(p, &theta, step); }
                (2, _) => episodes.end_episode(),
                _ => { let _ = episodes.push_step(step, block, &score); }
            }
        }
        if finish {
            episodes.end_episode();
        }
        for t in 0..episodes.n_steps() {
            let (off, s) = episodes.score(t).unwrap();
            prop_assert!(off + s.len() <= dim && all_finite(s));
            prop_assert!(episodes.rewards()[t].is_finite());
        }
        let Ok(mut est) = SequentialReinforce::new(weighting) else { return Ok(()); };
        let mut g = Array1::from_elem(dim, 0.5);
        match est.add_estimate(&episodes, alpha, g.view_mut()) {
            Ok(info) => {
                prop_assert!(all_finite(g.as_slice().unwrap()));
                prop_assert!(info.mean_value.is_finite());
            }
            Err(_) => prop_assert!(g.iter().all(|&x| x == 0.5), "buffer changed on error"),
        }
        if let Some(p) = &policy
            && let Ok(s) = est.surrogate(&episodes, p, ArrayView1::from(&theta[..])) {
                let probe: Vec<f64> = probe.iter().cycle().take(dim.min(probe.len() * 16)).copied().collect();
                check_term(&s, ArrayView1::from(&probe[..]))?;
                check_term(&s, ArrayView1::from(&theta[..]))?;
            }
    }
}

/// The smallest inputs of each error kind, with the messages users see.
#[test]
fn errors_name_the_value_at_fault() {
    let policy = SoftmaxPolicy::logits(2, 3).unwrap();
    let e = policy.log_prob(&[0.0; 6], 2, 0).unwrap_err();
    assert_eq!(e.to_string(), "state = 2 is out of range: must be below 2");
    let e = policy
        .log_prob(&[0.0, 0.0, 0.0, 0.0, f64::NAN, 0.0], 1, 0)
        .unwrap_err();
    assert_eq!(e.to_string(), "theta[4] (logit[1, 1]) = NaN is not finite");
    let e = policy.log_prob(&[0.0; 6], 0, 3).unwrap_err();
    assert_eq!(e.to_string(), "action = 3 is out of range: must be below 3");
    let mut episodes = Episodes::new(6);
    let e = episodes
        .push_step(StepRecord::new(0, 0, f64::INFINITY), 0, &[0.0])
        .unwrap_err();
    assert_eq!(e.to_string(), "reward of step 0 = inf is not finite");
    let e = episodes
        .push_step(StepRecord::new(0, 0, 1.0), 4, &[0.0; 3])
        .unwrap_err();
    assert!(e.to_string().contains("score block of step 0"), "{e}");
    let e = Reinforce::new(Baseline::RunningAverage { decay: 1.5 }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid option `decay` = 1.5: must be in [0, 1]"
    );
    let mut batch = Batch::new(policy.at(0), ArrayView1::from(&[0.0; 6])).unwrap();
    let e = batch.push(0, f64::NAN).unwrap_err();
    assert_eq!(e.to_string(), "value of sample 0 = NaN is not finite");
    let mut est = Reinforce::new(Baseline::None).unwrap();
    let e = est
        .estimate(&batch, Array1::zeros(6).view_mut())
        .unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
}

/// Sizes that cannot be had are errors naming the value, not a capacity-overflow panic or an
/// allocation abort: `Batch::draw` and `Batch::reserve` with a huge count, and a running
/// state baseline over a huge table.
#[test]
fn huge_sizes_are_errors_naming_the_value() {
    let policy = SoftmaxPolicy::logits(1, 3).unwrap();
    let mut batch = Batch::new(policy.at(0), ArrayView1::from(&[0.0; 3])).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let names_value = |e: &Error, v: usize| matches!(e, Error::InvalidOption { value, .. } if *value == v.to_string());
    for n in [usize::MAX, usize::MAX / 2, 1 << 62, 1 << 59] {
        let e = batch.draw(n, &mut rng, |_, _| 1.0).unwrap_err();
        assert!(names_value(&e, n), "draw({n}): {e}");
        assert!(batch.is_empty());
        let e = batch.reserve(n).unwrap_err();
        assert!(names_value(&e, n), "reserve({n}): {e}");
    }
    // The batch still works.
    batch.reserve(8).unwrap();
    batch.draw(8, &mut rng, |&a, _| a as f64).unwrap();
    assert_eq!(batch.len(), 8);
    // 1 << 50 states pass the size check but cannot be allocated (16 PiB).
    for n_states in [1usize << 50, 1 << 57, usize::MAX] {
        let e = SequentialReinforce::new(Weighting::RewardToGo {
            gamma: 1.0,
            discount_weight: true,
            baseline: StateBaseline::RunningAverage {
                n_states,
                decay: 0.5,
            },
        })
        .unwrap_err();
        assert!(names_value(&e, n_states), "n_states = {n_states}: {e}");
    }
}

/// The overwriting score forms check the state, action and buffer length before they zero
/// the buffer: a bad call leaves the caller's buffer as it was.
#[test]
fn overwriting_score_forms_validate_before_zeroing() {
    let policy = SoftmaxPolicy::logits(2, 3).unwrap();
    let theta = [0.0; 6];
    for (state, action, len) in [
        (0, 0, 2),
        (0, 0, 4),
        (2, 0, 3),
        (0, 3, 3),
        (usize::MAX, 0, 3),
    ] {
        let mut buf = vec![7.0; len];
        assert!(
            policy
                .log_prob_and_score(&theta, state, action, &mut buf)
                .is_err()
        );
        assert!(
            buf.iter().all(|&x| x == 7.0),
            "state {state}, action {action}, length {len}: buffer zeroed before the error"
        );
    }
    let at = policy.at(1);
    let mut buf = vec![7.0; 5];
    assert!(at.log_prob_and_score(&theta, &0, &mut buf).is_err());
    assert!(buf.iter().all(|&x| x == 7.0));
}
