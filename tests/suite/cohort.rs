//! The SIMD cohort kernel (`RwSoftmaxCohort`) against the scalar path (`TermCohort`, one
//! `Likelihood` per subject): random cohorts (ragged sessions, 1–3 states, 2–4 actions and
//! the 8-action limit, missed trials, n not a multiple of 8, n = 1) at random θ and random
//! transforms, every dispatch level this CPU has; each subject's gradient through the shared
//! derivative checker; bad input; a pinned value; `FitModel::cohort`'s choice.
//!
//! Tolerance: every value and gradient entry of the kernel equals the scalar path's to
//! 1e-13 relative with the crate's floor of 1 (as `testing::check_term` measures):
//! |fast − scalar| ≤ 1e-13 · max(|scalar|, 1) ([`REL`]). The kernel's arithmetic is the
//! scalar path's formula for formula; the differences are a few ulp per operation, from fused
//! multiply-adds, the table-free exponential and the order of the per-session sums. Values
//! (sums of terms of one sign) agree to a few ulp; a gradient entry is a sum of terms of
//! both signs, and where it nearly cancels (an entry of 2e-4 from terms of order 1) the two
//! paths' rounding errors, each ~1e-16 of the terms, are ~1e-12 of the entry: hence the
//! floor.

use ndarray::{Array1, ArrayView1, ArrayViewMut1};
use proptest::prelude::*;
use rlgrad::cohort::{Cohort, MAX_COHORT_ACTIONS, RwSoftmaxCohort, SimdLevel, TermCohort};
use rlgrad::data::MISSED;
use rlgrad::fit::FitModel;
use rlgrad::prelude::*;
use rlgrad::testing::{CheckOptions, check_term};

use crate::common::cohort::reversal_subject;
use crate::common::models::subject;
use crate::value_stability::pinned;

/// The largest relative difference accepted between the kernel and the scalar path.
const REL: f64 = 1e-13;

/// The relative difference of `got` from `want`, with the floor 1.
fn rel(got: f64, want: f64) -> f64 {
    if got == want {
        0.0
    } else {
        (got - want).abs() / want.abs().max(1.0)
    }
}

/// θ transforms the kernel must apply through the crate's own code.
fn transforms() -> impl Strategy<Value = (Transform, Transform)> {
    let alpha = prop_oneof![
        Just(Transform::unit()),
        Just(Transform::logistic(0.05, 0.95).unwrap()),
    ];
    let beta = prop_oneof![
        Just(Transform::Exp),
        Just(Transform::Softplus),
        Just(Transform::logistic(0.0, 20.0).unwrap()),
    ];
    (alpha, beta)
}

/// The plain RW + softmax model over `s` states and `a` actions with q₀ and the transforms.
fn model(
    s: usize,
    a: usize,
    q0: f64,
    (ta, tb): (Transform, Transform),
) -> Model<RescorlaWagner, Softmax> {
    Model::new(
        RescorlaWagner::new().with_initial_value(q0).unwrap(),
        Softmax::new(),
        s,
        a,
    )
    .unwrap()
    .with_transform("alpha", ta)
    .unwrap()
    .with_transform("beta", tb)
    .unwrap()
}

/// A random cohort: shape, q₀, transforms, subjects (1–3 sessions of up to 40 trials each,
/// with missed trials; n from 1 to 19) and θ for each (θ_α ∈ [−3, 3], θ_β ∈ [−1, 2.5]).
#[allow(clippy::type_complexity)]
fn cohort_case() -> impl Strategy<
    Value = (
        usize,
        usize,
        f64,
        (Transform, Transform),
        Vec<Subject>,
        Vec<f64>,
    ),
> {
    (
        1usize..=3,
        prop_oneof![4 => 2usize..=4, 1 => Just(MAX_COHORT_ACTIONS)],
        1usize..=19,
        -1.0..1.0f64,
        transforms(),
    )
        .prop_flat_map(|(s, a, n, q0, tr)| {
            (
                Just(s),
                Just(a),
                Just(q0),
                Just(tr),
                proptest::collection::vec(subject(s, a, 40, false), n),
                proptest::collection::vec((-3.0..3.0f64, -1.0..2.5f64), n)
                    .prop_map(|v| v.into_iter().flat_map(|(x, y)| [x, y]).collect()),
            )
        })
}

/// The scalar path's cohort: one likelihood term per subject.
fn scalar<'a>(
    model: &'a Model<RescorlaWagner, Softmax>,
    subjects: &'a [Subject],
) -> TermCohort<'a> {
    let terms = subjects
        .iter()
        .map(|s| Box::new(model.likelihood(s).unwrap()) as Box<dyn Term>)
        .collect();
    TermCohort::new(terms, 2).unwrap()
}

/// Values and gradients of a cohort at `thetas`; the value-only call must give the same
/// value bits.
fn evaluate(c: &dyn Cohort, thetas: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = c.n_subjects();
    let mut v = vec![f64::NAN; n];
    let mut g = vec![f64::NAN; c.n_params() * n];
    c.values_and_grads(thetas, &mut v, &mut g).unwrap();
    let mut v2 = vec![f64::NAN; n];
    c.values(thetas, &mut v2).unwrap();
    for (a, b) in v.iter().zip(&v2) {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "values() differs from values_and_grads()"
        );
    }
    (v, g)
}

/// The largest relative difference between two evaluations, entry by entry.
fn worst(got: &(Vec<f64>, Vec<f64>), want: &(Vec<f64>, Vec<f64>)) -> f64 {
    got.0
        .iter()
        .zip(&want.0)
        .chain(got.1.iter().zip(&want.1))
        .map(|(&a, &b)| rel(a, b))
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every level this CPU runs equals the scalar path to [`REL`], and values() gives the
    /// value bits of values_and_grads().
    #[test]
    fn kernel_equals_the_scalar_path((s, a, q0, tr, subjects, thetas) in cohort_case()) {
        let model = model(s, a, q0, tr);
        let want = evaluate(&scalar(&model, &subjects), &thetas);
        for level in SimdLevel::ALL.into_iter().filter(|l| l.is_supported()) {
            let fast = RwSoftmaxCohort::new(&model, &subjects).unwrap().with_level(level).unwrap();
            prop_assert_eq!(fast.level(), level);
            let got = evaluate(&fast, &thetas);
            let w = worst(&got, &want);
            prop_assert!(w <= REL, "{level:?}: relative difference {w:e}\n{got:?}\n{want:?}");
        }
    }
}

/// One subject's row of a cohort as a [`Term`] over its θ (the others held fixed), for the
/// derivative checker.
struct Row<'c> {
    cohort: &'c dyn Cohort,
    thetas: Vec<f64>,
    i: usize,
}

impl Row<'_> {
    fn thetas_at(&self, theta: ArrayView1<f64>) -> Vec<f64> {
        let mut t = self.thetas.clone();
        t[2 * self.i..2 * self.i + 2].copy_from_slice(theta.as_slice().unwrap());
        t
    }
}

impl Term for Row<'_> {
    fn dim(&self) -> usize {
        2
    }

    fn value(&self, theta: ArrayView1<f64>) -> rlgrad::Result<f64> {
        rlgrad::check::theta(2, theta.as_slice().unwrap())?;
        let mut v = vec![0.0; self.cohort.n_subjects()];
        self.cohort.values(&self.thetas_at(theta), &mut v)?;
        Ok(v[self.i])
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> rlgrad::Result<f64> {
        rlgrad::check::term_args(2, theta, grad.len())?;
        rlgrad::check::alpha(alpha)?;
        let n = self.cohort.n_subjects();
        let (mut v, mut g) = (vec![0.0; n], vec![0.0; 2 * n]);
        self.cohort
            .values_and_grads(&self.thetas_at(theta), &mut v, &mut g)?;
        for k in 0..2 {
            grad[k] += alpha * g[2 * self.i + k];
        }
        Ok(v[self.i])
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The kernel's gradient passes the shared derivative checker for the first, a middle
    /// and the last subject of each cohort (lanes and 8-lane groups in different places).
    /// Each check evaluates the whole cohort at every finite-difference point, so checking
    /// every subject cost O(n²) cohort evaluations (a minute of CI); every subject's value
    /// and gradient equal the scalar path's (`kernel_equals_the_scalar_path`), which the
    /// checker covers on its own.
    #[test]
    fn sampled_subjects_gradients_pass_the_checker((s, a, q0, tr, subjects, thetas) in cohort_case()) {
        let model = model(s, a, q0, tr);
        let fast = RwSoftmaxCohort::new(&model, &subjects).unwrap();
        let n = subjects.len();
        let mut sampled = vec![0, n / 2, n - 1];
        sampled.dedup();
        for i in sampled {
            let row = Row { cohort: &fast, thetas: thetas.clone(), i };
            let theta = Array1::from(thetas[2 * i..2 * i + 2].to_vec());
            let report = check_term(&row, theta.view(), &CheckOptions::default()).unwrap();
            prop_assert!(report.passed(), "subject {i}: {report}");
        }
    }
}

/// A small fixed cohort: `n` subjects of one session on the reversal bandit.
fn fixed_cohort(model: &Model<RescorlaWagner, Softmax>, n: usize, trials: usize) -> Vec<Subject> {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    (0..n)
        .map(|i| {
            let theta = model
                .layout()
                .theta_from_natural(&[
                    ("alpha", 0.1 + 0.05 * i as f64),
                    ("beta", 1.0 + 0.5 * i as f64),
                ])
                .unwrap();
            reversal_subject(model, theta.view(), 25, trials, i, &mut rng)
        })
        .collect()
}

#[test]
fn bad_input_is_a_typed_error() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let subjects = fixed_cohort(&model, 3, 30);
    let cohort = RwSoftmaxCohort::new(&model, &subjects).unwrap();
    let thetas = vec![0.0; 6];
    let (mut v, mut g) = (vec![0.0; 3], vec![0.0; 6]);
    let mismatch = |e: Error| matches!(e, Error::DimensionMismatch { .. });
    assert!(mismatch(
        cohort
            .values_and_grads(&thetas[..5], &mut v, &mut g)
            .unwrap_err()
    ));
    assert!(mismatch(
        cohort
            .values_and_grads(&thetas, &mut v[..2], &mut g)
            .unwrap_err()
    ));
    assert!(mismatch(
        cohort
            .values_and_grads(&thetas, &mut v, &mut g[..5])
            .unwrap_err()
    ));
    assert!(mismatch(cohort.values(&[0.0; 7], &mut v).unwrap_err()));
    for bad in [f64::NAN, f64::INFINITY] {
        let mut t = thetas.clone();
        t[3] = bad;
        let e = cohort.values_and_grads(&t, &mut v, &mut g).unwrap_err();
        assert!(matches!(e, Error::NonFiniteTheta { .. }), "{e}");
        let e = cohort.values(&t, &mut v).unwrap_err();
        assert!(matches!(e, Error::NonFiniteTheta { .. }), "{e}");
    }
    // A transform that overflows: β = e^800.
    let mut t = thetas.clone();
    t[3] = 800.0;
    let e = cohort.values_and_grads(&t, &mut v, &mut g).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    // A result that overflows: β = e^709 makes every log-probability of a worse choice
    // about −1e308; their sum is −∞. The error names the subject, as the scalar path's.
    let mut t = thetas.clone();
    t[3] = 709.0;
    let fast = cohort.values_and_grads(&t, &mut v, &mut g).unwrap_err();
    let slow = scalar(&model, &subjects)
        .values_and_grads(&t, &mut v, &mut g)
        .unwrap_err();
    assert!(matches!(fast, Error::NonFiniteResult { .. }), "{fast}");
    assert_eq!(fast.to_string(), slow.to_string());
    assert!(fast.to_string().contains("`s1`"), "{fast}");
    // No subjects.
    let e = RwSoftmaxCohort::new(&model, &[]).err().unwrap();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    let e = FitModel::cohort(&model, &[]).err().unwrap();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    // An action outside the model's table.
    let wide = vec![
        Subject::new(
            "w",
            vec![Session::bandit("1", vec![0, 2], vec![1.0, 0.0]).unwrap()],
        )
        .unwrap(),
    ];
    let e = RwSoftmaxCohort::new(&model, &wide).err().unwrap();
    assert!(matches!(e, Error::InvalidTrial { .. }), "{e}");
    // Models outside the kernel's configuration are refused by the kernel (FitModel::cohort
    // falls back to TermCohort for them, tested below).
    for m in [
        Model::new(RescorlaWagner::dual(), Softmax::new(), 1, 2).unwrap(),
        Model::new(
            RescorlaWagner::new().with_learned_initial_value(),
            Softmax::new(),
            1,
            2,
        )
        .unwrap(),
        Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 1, 2).unwrap(),
        Model::new(
            RescorlaWagner::new(),
            Softmax::new(),
            1,
            MAX_COHORT_ACTIONS + 1,
        )
        .unwrap(),
        Model::new(RescorlaWagner::new(), Softmax::new(), 1, 1).unwrap(),
    ] {
        assert!(!RwSoftmaxCohort::supports(&m));
        let e = RwSoftmaxCohort::new(&m, &subjects).err().unwrap();
        assert!(matches!(e, Error::InvalidOption { .. }), "{e}");
    }
    // A level this CPU lacks.
    for level in SimdLevel::ALL.into_iter().filter(|l| !l.is_supported()) {
        let e = RwSoftmaxCohort::new(&model, &subjects)
            .unwrap()
            .with_level(level)
            .err()
            .unwrap();
        assert!(matches!(e, Error::InvalidOption { .. }), "{e}");
    }
}

/// `FitModel::cohort` gives the kernel for the plain model (the same bits as
/// `RwSoftmaxCohort`) and one term per subject for the others (the same bits as
/// `TermCohort`).
#[test]
fn fit_model_picks_the_kernel_where_it_applies() {
    let plain = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let subjects = fixed_cohort(&plain, 11, 60);
    let thetas: Vec<f64> = (0..22).map(|i| 0.1 * i as f64 - 1.0).collect();
    let via_trait = evaluate(&*FitModel::cohort(&plain, &subjects).unwrap(), &thetas);
    let kernel = evaluate(&RwSoftmaxCohort::new(&plain, &subjects).unwrap(), &thetas);
    assert_eq!(via_trait, kernel);
    let slow = evaluate(&scalar(&plain, &subjects), &thetas);
    assert!(worst(&kernel, &slow) <= REL);
    assert_ne!(
        kernel, slow,
        "the kernel is not the scalar path (bits differ somewhere)"
    );

    let dual = Model::new(RescorlaWagner::dual(), Softmax::new(), 1, 2).unwrap();
    let thetas3: Vec<f64> = (0..33).map(|i| 0.07 * i as f64 - 1.0).collect();
    let via_trait = evaluate(&*FitModel::cohort(&dual, &subjects).unwrap(), &thetas3);
    let terms = subjects
        .iter()
        .map(|s| Box::new(dual.likelihood(s).unwrap()) as Box<dyn Term>)
        .collect();
    let direct = evaluate(&TermCohort::new(terms, 3).unwrap(), &thetas3);
    assert_eq!(via_trait, direct);
}

/// Missed trials anywhere (first trial of a session included) are skipped, as by the scalar
/// path, and a subject whose sessions are all but one trial missed still counts.
#[test]
fn missed_trials_and_session_starts() {
    let model = Model::new(
        RescorlaWagner::new().with_initial_value(0.3).unwrap(),
        Softmax::new(),
        2,
        3,
    )
    .unwrap();
    let s1 = Session::new(
        "a",
        vec![0, 1, 1, 0],
        vec![MISSED, 2, MISSED, 1],
        vec![1.0, 0.5, -1.0, 2.0],
    )
    .unwrap();
    let s2 = Session::new("b", vec![1, 1, 0], vec![0, 0, MISSED], vec![1.0, 0.0, 1.0]).unwrap();
    let s3 = Session::new("c", vec![0], vec![2], vec![1.0]).unwrap();
    let subjects = vec![
        Subject::new("x", vec![s1, s2.clone()]).unwrap(),
        Subject::new("y", vec![s3, s2]).unwrap(),
    ];
    let thetas = [0.3, 0.7, -1.2, 1.9];
    let want = evaluate(&scalar(&model, &subjects), &thetas);
    for level in SimdLevel::ALL.into_iter().filter(|l| l.is_supported()) {
        let fast = RwSoftmaxCohort::new(&model, &subjects)
            .unwrap()
            .with_level(level)
            .unwrap();
        let got = evaluate(&fast, &thetas);
        assert!(worst(&got, &want) <= REL, "{level:?}: {got:?} vs {want:?}");
    }
}

/// Value stability: a seeded cohort's values and gradients pinned to the bit, for the
/// baseline copy (no fused multiply-add) and, where the CPU has it, the AVX2 copy (the
/// AVX-512 copy does the same fused operations in wider registers, so the same bits).
#[test]
fn cohort_values_are_pinned() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let subjects = fixed_cohort(&model, 9, 120);
    let thetas: Vec<f64> = (0..18).map(|i| 0.13 * i as f64 - 1.1).collect();
    let pick = |level| {
        let c = RwSoftmaxCohort::new(&model, &subjects)
            .unwrap()
            .with_level(level)
            .unwrap();
        let (v, g) = evaluate(&c, &thetas);
        [v[0], v[8], g[0], g[1], g[16], g[17]]
    };
    pinned(
        "cohort baseline",
        &pick(SimdLevel::Baseline),
        &[
            -80.77758808598134,
            -45.76405489863472,
            0.2564861761166177,
            1.875096843747574,
            -1.8879196745334,
            4.316045647686137,
        ],
        1e-12,
    );
    for level in [SimdLevel::Avx2, SimdLevel::Avx512] {
        if level.is_supported() {
            pinned(
                "cohort fma",
                &pick(level),
                &[
                    -80.77758808598134,
                    -45.76405489863472,
                    0.2564861761166182,
                    1.8750968437475741,
                    -1.887919674533399,
                    4.316045647686136,
                ],
                1e-12,
            );
        }
    }
}
