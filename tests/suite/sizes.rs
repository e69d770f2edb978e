//! Sizes that data or arguments imply: every size-taking public constructor and call, with
//! sizes from 0 to `usize::MAX`, returns a value or a typed error, and never aborts (an
//! allocation refused by the system) or panics (a capacity overflow). Sizes are checked with
//! checked arithmetic against `check::MAX_FLOATS` before anything is allocated.
//!
//! The proptest draws each size from small values (so accepted sizes allocate little) and
//! from values beyond the cap; the boundary cases below pin the caps themselves.

use ndarray::{Array1, arr1};
use proptest::prelude::*;
use proptest::sample::select;
use rlgrad::check::{MAX_ACTIONS, MAX_FLOATS};
use rlgrad::critic::{Activation, ReplayBuffer, ShallowCritic};
use rlgrad::estimator::{
    Batch, Episodes, SequentialReinforce, StateBaseline, StepRecord, Weighting,
};
use rlgrad::fit::{MAX_HISTORY, MapOptions, MaximizeOptions, maximize};
use rlgrad::learning::order;
use rlgrad::observation::ObsBuffers;
use rlgrad::policy::{GaussianMean, Policy, SoftmaxPolicy};
use rlgrad::prelude::*;

/// Small sizes (accepted, cheap) and sizes beyond every cap.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        // (Not much larger: a prior of K dimensions is factorised in O(K³) at construction.)
        select(vec![0usize, 1, 2, 3, 7, 100]),
        select(vec![
            MAX_FLOATS + 1,
            1 << 32,
            1 << 40,
            u32::MAX as usize,
            u32::MAX as usize - 1,
            usize::MAX / 2,
            usize::MAX - 1,
            usize::MAX,
        ]),
    ]
}

/// The error a refused size must be: a typed option or data error, never anything else.
fn refused(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidOption { .. } | Error::EmptyData { .. } | Error::DimensionMismatch { .. }
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every size-taking constructor: a value, or a typed error.
    #[test]
    fn constructors_refuse_sizes_they_cannot_hold(a in size(), b in size(), c in size()) {
        let outcomes: Vec<(&str, Option<Error>)> = vec![
            ("Model::new", Model::new(RescorlaWagner::new(), Softmax::new(), a, b).err()),
            ("SoftmaxPolicy::logits", SoftmaxPolicy::logits(a, b).err()),
            ("GaussianMean::new", GaussianMean::new(a, 1.0).err()),
            ("MvGaussian::isotropic", MvGaussian::isotropic(a, 0.0, 1.0).err()),
            ("ObsBuffers::for_order", ObsBuffers::for_order(a, b, order::HESSIAN).err()),
            ("ReplayBuffer::new", ReplayBuffer::new(a, b).err()),
            ("ShallowCritic::new", ShallowCritic::new(a, b, Activation::Tanh).err()),
            (
                "SequentialReinforce::new",
                SequentialReinforce::new(Weighting::RewardToGo {
                    gamma: 0.9,
                    discount_weight: true,
                    baseline: StateBaseline::RunningAverage { n_states: a, decay: 0.5 },
                })
                .err(),
            ),
        ];
        for (what, err) in outcomes {
            if let Some(e) = err {
                prop_assert!(refused(&e), "{what}({a}, {b}): {e:?}");
            }
        }
        // A batch asked to hold more samples.
        let policy = SoftmaxPolicy::logits(1, 3).unwrap();
        let mut batch = Batch::new(policy.at(0), arr1(&[0.0, 0.0, 0.0]).view()).unwrap();
        if let Err(e) = batch.reserve(c) {
            prop_assert!(refused(&e), "Batch::reserve({c}): {e:?}");
        }
        // A score block anywhere in θ of any length.
        let mut episodes = Episodes::new(b);
        if let Err(e) = episodes.push_step(StepRecord::new(0, 0, 1.0), a, &[0.5, -0.5]) {
            prop_assert!(matches!(e, Error::IndexOutOfRange { .. }), "{e:?}");
        }
    }

    /// Calls whose arguments size what they allocate: a simulated session's length and the
    /// optimiser's history.
    #[test]
    fn calls_refuse_sizes_they_cannot_hold(n in size()) {
        let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
        let mut env = Bandit::new(vec![0.5, 0.5]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        match model.simulate(arr1(&[0.0, 0.0]).view(), &mut env, n, "s", &mut rng) {
            Ok(s) => prop_assert_eq!(s.len(), n),
            Err(e) => prop_assert!(refused(&e), "simulate({n}): {e:?}"),
        }
        let prior = MvGaussian::isotropic(2, 0.0, 1.0).unwrap();
        let options = MaximizeOptions { history: n, ..MaximizeOptions::default() };
        match maximize(&prior, arr1(&[1.0, 1.0]).view(), &options) {
            Ok(m) => prop_assert!(m.converged),
            Err(e) => prop_assert!(refused(&e), "history {n}: {e:?}"),
        }
    }
}

/// The caps themselves, at their boundaries (nothing here allocates a large buffer: the
/// accepted cases at the cap construct only what is free).
#[test]
fn caps_at_their_boundaries() {
    // A model: at most MAX_ACTIONS actions; S·A·K_rule² within MAX_FLOATS.
    let rw = || RescorlaWagner::new();
    assert!(Model::new(rw(), Softmax::new(), 1, MAX_ACTIONS).is_ok());
    assert!(Model::new(rw(), Softmax::new(), 1, MAX_ACTIONS + 1).is_err());
    assert!(Model::new(rw(), Softmax::new(), 100_000, 2).is_ok());
    assert!(Model::new(rw(), Softmax::new(), 2_000_000_000, 2).is_err());
    let dual = || RescorlaWagner::dual().with_learned_initial_value();
    assert!(Model::new(dual(), Softmax::new(), MAX_FLOATS / 9, 1).is_ok());
    assert!(Model::new(dual(), Softmax::new(), MAX_FLOATS / 9 + 1, 1).is_err());
    // An action of u32::MAX − 1 in a subject's data is refused against the model, naming the
    // trial, before anything is sized by it.
    let session = Session::bandit("1", vec![0, u32::MAX - 1], vec![1.0, 0.0]).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let model = Model::new(rw(), Softmax::new(), 1, 2).unwrap();
    let err = model.likelihood(&subject).err().unwrap();
    assert!(
        matches!(
            err,
            Error::InvalidTrial {
                trial: 1,
                field: "action",
                ..
            }
        ),
        "{err:?}"
    );
    // A prior: K × K within MAX_FLOATS (the million-dimensional one aborted before).
    assert!(MvGaussian::isotropic(1_000_000, 0.0, 1.0).is_err());
    assert!(MvGaussian::isotropic(usize::MAX, 0.0, 1.0).is_err());
    assert!(MvGaussian::diagonal(Array1::zeros(20_000), Array1::ones(20_000)).is_err());
    // The optimiser's history.
    let prior = MvGaussian::isotropic(2, 0.0, 1.0).unwrap();
    for (history, ok) in [
        (MAX_HISTORY, true),
        (MAX_HISTORY + 1, false),
        (usize::MAX, false),
    ] {
        let options = MaximizeOptions {
            history,
            ..MaximizeOptions::default()
        };
        assert_eq!(
            maximize(&prior, arr1(&[1.0, 0.0]).view(), &options).is_ok(),
            ok,
            "history {history}"
        );
        let map = MapOptions {
            optimizer: options,
            ..MapOptions::default()
        };
        let data = Dataset::new(vec![subject_of(4)]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(
            rlgrad::fit::map(&model, &data, &prior, &map, &mut rng).is_ok(),
            ok,
            "history {history} in fit::map"
        );
    }
    // The observation model's buffers: the A × A block is the one that would be too large.
    assert!(ObsBuffers::for_order(1 << 20, 1, order::GRADIENT).is_ok());
    assert!(ObsBuffers::for_order(1 << 20, 1, order::HESSIAN).is_err());
}

/// A value-only pass allocates no derivative buffers: a model with the most actions evaluates
/// its likelihood without the 2 GiB A × A block that its Hessian would need.
#[test]
fn value_passes_do_not_size_by_the_hessian() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, MAX_ACTIONS).unwrap();
    // Rewards 0 from values 0: the values stay equal, so every choice has probability 1/A.
    let session = Session::bandit("1", vec![0, 5, 16_383], vec![0.0; 3]).unwrap();
    let subject = Subject::new("s", vec![session]).unwrap();
    let lik = model.likelihood(&subject).unwrap();
    let v = lik.value(arr1(&[0.0, 0.0]).view()).unwrap();
    assert!((v + 3.0 * (MAX_ACTIONS as f64).ln()).abs() < 1e-9, "{v}");
    let mut g = Array1::zeros(2);
    lik.value_and_grad(arr1(&[0.0, 0.0]).view(), g.view_mut())
        .unwrap();
    assert!(g.iter().all(|x| x.is_finite()));
}

fn subject_of(n: usize) -> Subject {
    let actions = (0..n as u32).map(|t| t % 2).collect();
    let rewards = (0..n).map(|t| (t % 3 == 0) as u8 as f64).collect();
    Subject::new("s", vec![Session::bandit("1", actions, rewards).unwrap()]).unwrap()
}
