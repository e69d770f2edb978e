//! Trial-wise latent variables (`Model::latents`): they add up to the likelihood, follow an
//! independent Rescorla–Wagner loop, restart with each session, give probabilities of the
//! observation model, survive a CSV round trip, and refuse bad input with typed errors.

use ndarray::{Array1, arr1};
use proptest::prelude::*;
use rlgrad::learning::{Step, TableShape};
use rlgrad::params::ParamSpec;
use rlgrad::prelude::*;
use rlgrad::{Latents, Result};

use crate::common::models::{Variant, case};

/// The values an independent, hand-written Rescorla–Wagner loop gives before each trial
/// (n_trials × n_actions, row-major), with values restarting at q0 at each session; a missed
/// trial has its row and changes nothing.
fn hand_rw(v: Variant, psi: &NamedParams, shape: TableShape, subject: &Subject) -> Vec<f64> {
    let q0 = if v.learned_q0 {
        psi.get("q0").unwrap()
    } else {
        0.0
    };
    let mut rows = Vec::new();
    for session in subject.sessions() {
        let mut q = vec![q0; shape.n_states * shape.n_actions];
        for trial in session.trials() {
            let row = trial.state * shape.n_actions;
            rows.extend_from_slice(&q[row..row + shape.n_actions]);
            let Some(action) = trial.action else {
                continue;
            };
            let i = row + action;
            let delta = trial.reward - q[i];
            let alpha = match (v.dual, delta >= 0.0) {
                (false, _) => psi.get("alpha").unwrap(),
                (true, true) => psi.get("alpha_pos").unwrap(),
                (true, false) => psi.get("alpha_neg").unwrap(),
            };
            q[i] += alpha * delta;
        }
    }
    rows
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Σₜ ℓₜ is the likelihood's value, δ = r − Q[s,a], the values follow a hand-written RW
    /// loop, and the probabilities are the observation model's, summing to 1. The sessions
    /// have missed trials: their rows have values and NaN for the rest, and the previous
    /// action skips them.
    #[test]
    fn latents_agree_with_likelihood_rule_and_observation(
        (v, n_states, n_actions, subject, theta) in case(60),
    ) {
        let model = v.model(n_states, n_actions);
        let lat = model.latents(theta.view(), &subject).unwrap();
        let n = subject.n_trials();
        prop_assert_eq!(lat.len(), n);
        prop_assert_eq!(lat.n_actions(), n_actions);
        prop_assert_eq!(lat.values().dim(), (n, n_actions));
        prop_assert_eq!(lat.probabilities().dim(), (n, n_actions));

        // Every ℓₜ ≤ 0, so |ℓ| = Σ|ℓₜ| and a relative bound is an honest one.
        let ll = model.likelihood(&subject).unwrap().value(theta.view()).unwrap();
        let sum = lat.log_likelihood();
        prop_assert!((sum - ll).abs() <= 1e-12 * ll.abs() + 1e-300, "{sum} vs {ll}");

        let psi = model.natural(theta.view()).unwrap();
        let hand = hand_rw(v, &psi, model.shape(), &subject);
        for (x, y) in lat.values().iter().zip(&hand) {
            prop_assert!(close(*x, *y, 1e-12), "Q {x} vs hand-written RW {y}");
        }

        let psi_obs = &psi.values()[model.n_rule_params()..];
        let mut p = vec![0.0; n_actions];
        let mut i = 0;
        for (k, session) in subject.sessions().iter().enumerate() {
            let mut previous = None;
            for (t, trial) in session.trials().enumerate() {
                prop_assert_eq!(lat.sessions()[i], k);
                prop_assert_eq!(lat.trials()[i], t);
                prop_assert_eq!(lat.states()[i] as usize, trial.state);
                prop_assert_eq!(lat.rewards()[i], trial.reward);
                let q = lat.values().row(i).to_vec();
                let Some(action) = trial.action else {
                    prop_assert!(lat.is_missed(i));
                    prop_assert_eq!(lat.actions()[i], rlgrad::data::MISSED);
                    prop_assert!(lat.chosen_values()[i].is_nan());
                    prop_assert!(lat.prediction_errors()[i].is_nan());
                    prop_assert!(lat.log_likelihoods()[i].is_nan());
                    prop_assert!(lat.probabilities().row(i).iter().all(|p| p.is_nan()));
                    i += 1;
                    continue;
                };
                prop_assert!(!lat.is_missed(i));
                prop_assert_eq!(lat.actions()[i] as usize, action);
                prop_assert_eq!(lat.chosen_values()[i], q[action]);
                // The rule's δ is the delta rule's, for one rate and two.
                prop_assert_eq!(lat.prediction_errors()[i], trial.reward - q[action]);
                let context = rlgrad::observation::Context { state: trial.state, previous };
                model.observation().probabilities(psi_obs, &q, context, &mut p);
                let row = lat.probabilities().row(i).to_vec();
                prop_assert_eq!(&row, &p);
                let total: f64 = row.iter().sum();
                prop_assert!((total - 1.0).abs() <= 1e-12, "probabilities sum to {total}");
                prop_assert!(close(lat.log_likelihoods()[i], p[action].ln(), 1e-9));
                previous = Some(action);
                i += 1;
            }
        }
    }
}

fn rw_model() -> Model<RescorlaWagner, Softmax> {
    Model::new(RescorlaWagner::new(), Softmax::with_perseveration(), 2, 3).unwrap()
}

fn theta(model: &Model<RescorlaWagner, Softmax>) -> Array1<f64> {
    model
        .layout()
        .theta_from_natural(&[("alpha", 0.3), ("beta", 2.5), ("kappa", 0.7)])
        .unwrap()
}

fn session(id: &str) -> Session {
    Session::new(
        id,
        vec![0, 1, 0, 0, 1, 1],
        vec![2, 0, 2, 1, 0, 2],
        vec![1.0, -0.5, 0.25, 0.0, 1.5, 0.125],
    )
    .unwrap()
}

/// Two copies of one session give the same latents: values and the previous action restart.
#[test]
fn sessions_restart_values_and_previous_action() {
    let model = rw_model();
    let subject = Subject::new("s", vec![session("a"), session("b")]).unwrap();
    let lat = model.latents(theta(&model).view(), &subject).unwrap();
    let n = lat.len() / 2;
    assert_eq!(lat.session_ids(), ["a", "b"]);
    assert_eq!(lat.sessions(), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    assert_eq!(lat.trials(), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    let (q, p) = (lat.values(), lat.probabilities());
    for t in 0..n {
        assert_eq!(q.row(t), q.row(n + t));
        assert_eq!(p.row(t), p.row(n + t));
        assert_eq!(lat.prediction_errors()[t], lat.prediction_errors()[n + t]);
        assert_eq!(lat.log_likelihoods()[t], lat.log_likelihoods()[n + t]);
    }
    // The first trial of each session: initial values and no perseveration bonus.
    assert_eq!(q.row(n).to_vec(), [0.0; 3]);
    assert_eq!(p.row(n).to_vec(), [1.0 / 3.0; 3]);
    // Within the session, values moved and the previous action counts.
    assert_ne!(p.row(1).to_vec(), [1.0 / 3.0; 3]);
}

/// Numbers parsed back from the CSV are the same bits; the header names every column.
#[test]
fn csv_round_trips() {
    let model = rw_model();
    let subject = Subject::new("sub,1", vec![session("a"), session("b")]).unwrap();
    let lat = model.latents(theta(&model).view(), &subject).unwrap();
    let mut bytes = Vec::new();
    lat.write_csv(&mut bytes).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "subject", "session", "trial", "state", "action", "reward", "q_0", "q_1", "q_2",
            "q_chosen", "delta", "p_0", "p_1", "p_2", "log_lik"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), lat.len());
    let f = |r: &csv::StringRecord, j: usize| r[j].parse::<f64>().unwrap();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(&r[0], "sub,1"); // quoted on the way out
        assert_eq!(&r[1], lat.session_ids()[lat.sessions()[i]]);
        assert_eq!(r[2].parse::<usize>().unwrap(), lat.trials()[i]);
        assert_eq!(r[3].parse::<u32>().unwrap(), lat.states()[i]);
        assert_eq!(r[4].parse::<u32>().unwrap(), lat.actions()[i]);
        assert_eq!(f(r, 5), lat.rewards()[i]);
        for j in 0..3 {
            assert_eq!(f(r, 6 + j), lat.values()[[i, j]]);
            assert_eq!(f(r, 11 + j), lat.probabilities()[[i, j]]);
        }
        assert_eq!(f(r, 9), lat.chosen_values()[i]);
        assert_eq!(f(r, 10), lat.prediction_errors()[i]);
        assert_eq!(f(r, 14), lat.log_likelihoods()[i]);
    }
}

/// A writer that refuses everything.
struct Broken;

impl std::io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk full"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let model = rw_model();
    let subject = Subject::new("s", vec![session("a")]).unwrap();
    let err = model
        .latents(arr1(&[0.0, 1.0]).view(), &subject)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DimensionMismatch {
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = model
        .latents(arr1(&[0.0, f64::NAN, 0.0]).view(), &subject)
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteTheta { index: 1, ref name, .. } if name == "beta"),
        "{err:?}"
    );
    // An action beyond the model's table, named by subject, session and trial.
    let narrow = Model::new(RescorlaWagner::new(), Softmax::new(), 2, 2).unwrap();
    let err = narrow
        .latents(arr1(&[0.0, 1.0]).view(), &subject)
        .unwrap_err();
    match err {
        Error::InvalidTrial {
            subject,
            session,
            trial,
            field,
            ..
        } => assert_eq!(
            (&*subject, &*session, trial, field),
            ("s", "a", 0, "action")
        ),
        other => panic!("{other:?}"),
    }
    let lat = model.latents(theta(&model).view(), &subject).unwrap();
    let err = lat.write_csv(Broken).unwrap_err();
    assert!(matches!(err, Error::Write { .. }), "{err:?}");
}

/// A rule that overrides the prediction error: the latents report the override, and the
/// rest (values, likelihood) is the rule's own.
struct HalfError(RescorlaWagner);

impl LearningRule for HalfError {
    fn params(&self) -> Vec<ParamSpec> {
        self.0.params()
    }
    fn check_params(&self, psi: &[f64]) -> Result<()> {
        self.0.check_params(psi)
    }
    fn reset<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        self.0.reset::<ORDER>(psi, shape, q, d, e);
    }
    fn update<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        step: Step,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        self.0.update::<ORDER>(psi, shape, step, q, d, e);
    }
    fn prediction_error(&self, psi: &[f64], shape: TableShape, step: Step, q: &[f64]) -> f64 {
        0.5 * self.0.prediction_error(psi, shape, step, q)
    }
}

#[test]
fn a_rule_can_override_the_prediction_error() {
    let subject = Subject::new("s", vec![session("a")]).unwrap();
    let plain = rw_model();
    let half = Model::new(
        HalfError(RescorlaWagner::new()),
        Softmax::with_perseveration(),
        2,
        3,
    )
    .unwrap();
    let th = theta(&plain);
    let (a, b): (Latents, Latents) = (
        plain.latents(th.view(), &subject).unwrap(),
        half.latents(th.view(), &subject).unwrap(),
    );
    assert_eq!(a.values(), b.values());
    assert_eq!(a.log_likelihoods(), b.log_likelihoods());
    for (x, y) in a.prediction_errors().iter().zip(b.prediction_errors()) {
        assert_eq!(0.5 * x, *y);
    }
}
