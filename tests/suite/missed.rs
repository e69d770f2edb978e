//! Missed trials (no response, `MISSED`): kept in the data, they add nothing to the
//! likelihood and by default change no value, so a session with them is the session without
//! them (value, gradient and Hessian); their derivatives hold with any share of them, learned
//! from or not; the latents keep their rows; fitting counts choices, not trials.

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rlgrad::data::{CsvOptions, MISSED, read_csv_from};
use rlgrad::fit::{Covariance, MapOptions, ibic, map_subject};
use rlgrad::learning::Missed;
use rlgrad::prelude::*;
use rlgrad::testing::{CheckOptions, check_term};

use crate::common::models::{Variant, session_with_missed, theta};

/// The same session without its missed trials.
fn without_missed(s: &Session) -> Session {
    let keep: Vec<usize> = (0..s.len()).filter(|&t| !s.is_missed(t)).collect();
    Session::new(
        s.id(),
        keep.iter().map(|&t| s.states()[t]).collect(),
        keep.iter().map(|&t| s.actions()[t]).collect(),
        keep.iter().map(|&t| s.rewards()[t]).collect(),
    )
    .unwrap()
}

/// (variant, states, actions, sessions, θ) with a share `rate` of missed trials.
fn case(
    rate: f64,
    perseveration: bool,
) -> impl Strategy<Value = (Variant, usize, usize, Vec<Session>, Array1<f64>)> {
    (any::<bool>(), any::<bool>(), 1usize..=3, 2usize..=4).prop_flat_map(
        move |(dual, learned_q0, s, a)| {
            let v = Variant {
                dual,
                learned_q0,
                perseveration,
            };
            (
                Just(v),
                Just(s),
                Just(a),
                proptest::collection::vec(session_with_missed(s, a, 60, dual, rate), 1..=3),
                theta(v),
            )
        },
    )
}

fn relative(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

fn evaluate(
    model: &Model<RescorlaWagner, Softmax>,
    subject: &Subject,
    theta: &Array1<f64>,
) -> (f64, Array1<f64>, Array2<f64>) {
    let k = theta.len();
    let (mut g, mut h) = (Array1::zeros(k), Array2::zeros((k, k)));
    let v = model
        .likelihood(subject)
        .unwrap()
        .value_grad_hessian(theta.view(), g.view_mut(), h.view_mut())
        .unwrap();
    (v, g, h)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Skipping is removal: with missed trials inserted anywhere (a third of the trials),
    /// RW + softmax with perseveration has the value, gradient and Hessian of the sessions
    /// with them removed, to 1e-12 relative. So the previous action of perseveration is the
    /// last one chosen, across any run of missed trials.
    #[test]
    fn skipping_missed_trials_is_removing_them(
        (v, s, a, sessions, theta) in case(0.35, true),
    ) {
        let model = v.model(s, a);
        let with = Subject::new("s", sessions.clone()).unwrap();
        let removed = Subject::new("s", sessions.iter().map(without_missed).collect()).unwrap();
        prop_assert_eq!(with.n_choices(), removed.n_trials());
        let (v1, g1, h1) = evaluate(&model, &with, &theta);
        let (v2, g2, h2) = evaluate(&model, &removed, &theta);
        prop_assert!(relative(v1, v2) <= 1e-12, "value {} vs {}", v1, v2);
        let scale = |x: &Array1<f64>| x.iter().fold(1e-300_f64, |m, e| m.max(e.abs()));
        let gs = scale(&g2);
        for (x, y) in g1.iter().zip(&g2) {
            prop_assert!((x - y).abs() <= 1e-12 * gs, "gradient {} vs {}", g1, g2);
        }
        let hs = h2.iter().fold(1e-300_f64, |m, e| m.max(e.abs()));
        for (x, y) in h1.iter().zip(&h2) {
            prop_assert!((x - y).abs() <= 1e-12 * hs, "hessian {} vs {}", h1, h2);
        }
    }

    /// The derivatives against finite differences with half the trials missed, skipped or
    /// learned from, every variant. (Rescorla–Wagner learns nothing from a missed trial, so
    /// `Learn` here exercises the likelihood's path for it; a rule that does learn, the
    /// forgetting rule, is checked under `Learn` in `custom_rule.rs`.)
    #[test]
    fn derivatives_hold_with_many_missed_trials(
        (v, s, a, sessions, theta) in any::<bool>().prop_flat_map(|p| case(0.5, p)),
        learn in any::<bool>(),
    ) {
        let missed = if learn { Missed::Learn } else { Missed::Skip };
        let model = v.model(s, a).with_missed(missed);
        let subject = Subject::new("s", sessions).unwrap();
        let lik = model.likelihood(&subject).unwrap();
        let report = check_term(&lik, theta.view(), &CheckOptions::default()).unwrap();
        prop_assert!(report.passed(), "{:?} {}x{}: {}", v, s, a, report);
    }
}

fn gappy_subject() -> Subject {
    let a = Session::new(
        "a",
        vec![0, 1, 0, 1, 0, 0],
        vec![1, MISSED, 0, 2, MISSED, 1],
        vec![1.0, 0.5, 0.0, 1.0, 0.0, 1.0],
    )
    .unwrap();
    // A session that starts with a missed trial, and one with no choice at all.
    let b = Session::new("b", vec![1, 1, 0], vec![MISSED, 2, 2], vec![0.0, 1.0, 0.0]).unwrap();
    let c = Session::new("c", vec![0, 0], vec![MISSED, MISSED], vec![1.0, 1.0]).unwrap();
    Subject::new("gappy", vec![a, b, c]).unwrap()
}

fn model() -> Model<RescorlaWagner, Softmax> {
    Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 2, 3).unwrap()
}

/// The latents keep a missed trial's row with its values, and write the rest as empty
/// fields; the file reads back as the same data (the action empty, a missed trial).
#[test]
fn latents_keep_missed_rows() {
    let model = model();
    let subject = gappy_subject();
    let theta = model
        .layout()
        .theta_from_natural(&[("alpha", 0.4), ("beta", 2.0), ("kappa", 0.5)])
        .unwrap();
    let lat = model.latents(theta.view(), &subject).unwrap();
    assert_eq!(lat.len(), 11);
    let missed: Vec<usize> = (0..lat.len()).filter(|&i| lat.is_missed(i)).collect();
    assert_eq!(missed, [1, 4, 6, 9, 10]);
    // The values of a missed row are those the next choice in its state is made on.
    assert_eq!(lat.values().row(4), lat.values().row(5));
    let ll = model
        .likelihood(&subject)
        .unwrap()
        .value(theta.view())
        .unwrap();
    assert!((lat.log_likelihood() - ll).abs() <= 1e-12 * ll.abs());

    let mut bytes = Vec::new();
    lat.write_csv(&mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let line = text.lines().nth(2).unwrap(); // trial 1 of session a
    assert_eq!(line, "gappy,a,1,1,,0.5,0,0,0,,,,,,");
    let (back, report) = read_csv_from(text.as_bytes(), &CsvOptions::default()).unwrap();
    assert_eq!((report.rows, report.missed), (11, 5));
    assert_eq!(back.subjects()[0], subject);
}

/// BIC counts choices; so does the iBIC; a fit reports both counts.
#[test]
fn criteria_count_choices_not_trials() {
    let model = model();
    let subject = gappy_subject();
    assert_eq!(
        (subject.n_trials(), subject.n_choices(), subject.n_missed()),
        (11, 6, 5)
    );
    let prior = MvGaussian::isotropic(3, 0.0, 4.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let fit = map_subject(&model, &subject, &prior, &MapOptions::default(), &mut rng).unwrap();
    let fit = fit.fit().unwrap();
    assert_eq!((fit.n_trials, fit.n_choices), (11, 6));
    let bic = -2.0 * fit.log_likelihood + 3.0 * 6f64.ln();
    assert!(
        (fit.bic - bic).abs() <= 1e-12 * bic.abs(),
        "{} vs {bic}",
        fit.bic
    );

    let data = Dataset::new(vec![subject]).unwrap();
    let ib = ibic(&model, &data, &prior, Covariance::Diagonal, 50, &mut rng).unwrap();
    assert_eq!(ib.n_choices, 6);
}

/// A simulated agent always responds, whatever the model does with missed trials.
#[test]
fn simulated_sessions_have_no_missed_trials() {
    let model = Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 1, 3)
        .unwrap()
        .with_missed(Missed::Learn);
    let theta = Array1::from(vec![0.0, 1.0, 0.3]);
    let mut env = Bandit::new(vec![0.2, 0.5, 0.8]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let s = model
        .simulate(theta.view(), &mut env, 300, "sim", &mut rng)
        .unwrap();
    assert_eq!((s.n_missed(), s.n_choices()), (0, 300));
}
