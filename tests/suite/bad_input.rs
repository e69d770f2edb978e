//! Every row of the spec's bad-input list (`spec/likelihood.md` section 7) gives the typed
//! [`rlgrad::Error`] variant it should, and the message names the place at fault: line and
//! column for CSV; subject, session and trial for data against a model; parameter name and θ
//! index for θ; the buffer for wrong-shaped gradient and Hessian buffers; the failing matrix
//! property for the prior; lo and hi for a transform. Nothing here panics or returns a NaN.

use ndarray::{Array1, Array2, ArrayView1, arr1, arr2};
use rlgrad::data::{CsvOptions, Dataset, Session, Subject, read_csv_from};
use rlgrad::params::{ParamLayout, ParamSpec, Transform};
use rlgrad::prelude::*;
use rlgrad::{Error, Result};

use crate::common;

use common::models::{all_variants, posterior};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const HEAD: &str = "subject,session,trial,state,action,reward\n";

fn read(text: &str) -> rlgrad::Result<Dataset> {
    read_csv_from(text.as_bytes(), &CsvOptions::default()).map(|(d, _)| d)
}

fn read_limited(text: &str, n_actions: usize, n_states: usize) -> rlgrad::Result<Dataset> {
    let options = CsvOptions {
        n_actions: Some(n_actions),
        n_states: Some(n_states),
        ..CsvOptions::default()
    };
    read_csv_from(text.as_bytes(), &options).map(|(d, _)| d)
}

/// The error of a CSV read that must fail.
fn csv_err(result: rlgrad::Result<Dataset>) -> Error {
    match result {
        Ok(d) => panic!("expected an error, read {} subjects", d.len()),
        Err(e) => e,
    }
}

/// Asserts a `CsvField` error at `line`, `column`, with `value`, whose message names both.
fn assert_field(err: &Error, line: u64, column: &str, value: &str, reason_part: &str) {
    match err {
        Error::CsvField {
            line: l,
            column: c,
            value: v,
            reason,
        } => {
            assert_eq!((*l, c.as_str(), v.as_str()), (line, column, value), "{err}");
            assert!(reason.contains(reason_part), "reason `{reason}`: {err}");
        }
        other => panic!("expected CsvField, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("csv line {line}, column `{column}`")),
        "message does not name line and column: {msg}"
    );
    assert!(msg.contains(&format!("`{value}`")), "{msg}");
}

/// Dual rates and perseveration over 2 states × 3 actions: K = 4, θ = (α⁺, α⁻, β, κ).
fn fixture_model() -> Model<RescorlaWagner, Softmax> {
    Model::new(RescorlaWagner::dual(), Softmax::with_perseveration(), 2, 3).unwrap()
}

/// A subject with two sessions over 2 states × 3 actions.
fn fixture_subject() -> Subject {
    let a = Session::new(
        "a",
        vec![0, 1, 1, 0],
        vec![0, 2, 1, 1],
        vec![1.0, 0.0, 0.5, -1.0],
    )
    .unwrap();
    let b = Session::new("b", vec![1, 0, 1], vec![2, 2, 0], vec![0.0, 1.0, 1.0]).unwrap();
    Subject::new("s1", vec![a, b]).unwrap()
}

/// Calls `f` with a likelihood, a prior and a posterior objective over the same θ (K = 4),
/// and a valid θ for them.
fn for_each_term(mut f: impl FnMut(&str, &dyn Term, ArrayView1<f64>)) {
    let model = fixture_model();
    let subject = fixture_subject();
    let lik = model.likelihood(&subject).unwrap();
    let k = model.n_params();
    let prior = MvGaussian::isotropic(k, 0.0, 2.0).unwrap();
    let posterior = posterior(k, &lik, &prior);
    let theta = arr1(&[0.2, -0.3, 0.5, 0.1]);
    f("likelihood", &lik, theta.view());
    f("prior", &prior, theta.view());
    f("objective", &posterior, theta.view());
}

/// The five public evaluation methods of a term, each with correctly shaped buffers.
fn every_method(term: &dyn Term, theta: ArrayView1<f64>) -> Vec<(&'static str, Result<f64>)> {
    let k = term.dim();
    let mut g = Array1::zeros(k);
    let mut h = Array2::zeros((k, k));
    vec![
        ("value", term.value(theta)),
        ("value_and_grad", term.value_and_grad(theta, g.view_mut())),
        (
            "add_value_and_grad",
            term.add_value_and_grad(theta, 1.0, g.view_mut()),
        ),
        (
            "value_grad_hessian",
            term.value_grad_hessian(theta, g.view_mut(), h.view_mut()),
        ),
        (
            "add_value_grad_hessian",
            term.add_value_grad_hessian(theta, 1.0, g.view_mut(), h.view_mut()),
        ),
    ]
}

fn assert_dimension(err: &Error, what_part: &str, expected: usize, found: usize) {
    match err {
        Error::DimensionMismatch {
            what,
            expected: e,
            found: f,
        } => {
            assert!(what.contains(what_part), "`{what}` should name {what_part}");
            assert_eq!((*e, *f), (expected, found), "{err}");
        }
        other => panic!("expected DimensionMismatch for {what_part}, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(what_part)
            && msg.contains(&format!("expected {expected}"))
            && msg.contains(&format!("found {found}")),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

#[test]
fn csv_missing_header() {
    for text in [
        "s1,1,0,1\ns1,2,1,0\n",
        "s1,1,1,0,1,1\n",
        "s1,1,1,0,1,0.5\ns1,1,2,0,0,1\n",
    ] {
        let err = csv_err(read(text));
        assert!(matches!(err, Error::CsvHeader { .. }), "{text:?}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("line 1") && msg.contains("header"), "{msg}");
    }
}

#[test]
fn csv_missing_column() {
    let columns = ["subject", "session", "trial", "state", "action", "reward"];
    for missing in ["subject", "trial", "action", "reward"] {
        let header: Vec<&str> = columns.iter().copied().filter(|c| *c != missing).collect();
        let row: Vec<&str> = header.iter().map(|_| "1").collect();
        let text = format!("{}\n{}\n", header.join(","), row.join(","));
        let err = csv_err(read(&text));
        match &err {
            Error::CsvHeader { line, reason } => assert!(
                *line == 1 && reason.contains(&format!("missing required column `{missing}`")),
                "line {line}: {reason}"
            ),
            other => panic!("missing `{missing}`: expected CsvHeader, got {other:?}"),
        }
        assert!(err.to_string().contains("line 1"), "{err}");
    }
    // The optional columns may be absent.
    assert!(read("subject,trial,action,reward\ns,1,0,1\n").is_ok());
}

#[test]
fn csv_non_numeric_field() {
    let cases = [
        // (row 3 text, column, value, reason)
        ("a,1,2,0,x,1", "action", "x", "not a non-negative integer"),
        (
            "a,1,2,0,1.5,1",
            "action",
            "1.5",
            "not a non-negative integer",
        ),
        (
            "a,1,2,zero,1,1",
            "state",
            "zero",
            "not a non-negative integer",
        ),
        ("a,1,2,0,1,abc", "reward", "abc", "not a number"),
        ("a,1,two,0,1,1", "trial", "two", "not an integer"),
        // An empty action is a missed trial (see `missed.rs`), an empty state an error.
        ("a,1,2,,1,1", "state", "", "empty"),
        (
            "a,1,2,0,N/A,1",
            "action",
            "N/A",
            "not a non-negative integer",
        ),
    ];
    for (row, column, value, reason) in cases {
        let text = format!("{HEAD}a,1,1,0,0,1\n{row}\n");
        let err = csv_err(read(&text));
        assert_field(&err, 3, column, value, reason);
    }
}

#[test]
fn csv_negative_action_or_state() {
    let err = csv_err(read(&format!("{HEAD}a,1,1,0,0,1\na,1,2,0,-1,0\n")));
    assert_field(&err, 3, "action", "-1", "negative");
    let err = csv_err(read(&format!("{HEAD}a,1,1,-2,0,1\n")));
    assert_field(&err, 2, "state", "-2", "negative");
    let err = csv_err(read(
        "subject,trial,state,action,reward,next_state\na,1,0,0,1,1\na,2,1,0,1,-3\n",
    ));
    assert_field(&err, 3, "next_state", "-3", "negative");
}

#[test]
fn csv_out_of_range_action_or_state() {
    let text = format!("{HEAD}a,1,1,0,0,1\na,1,2,1,1,0\nb,1,1,0,2,1\n");
    let err = csv_err(read_limited(&text, 2, 2));
    assert_field(&err, 4, "action", "2", "n_actions = 2");
    let text = format!("{HEAD}a,1,1,0,0,1\na,1,2,3,1,0\n");
    let err = csv_err(read_limited(&text, 2, 3));
    assert_field(&err, 3, "state", "3", "n_states = 3");
    let text = "subject,trial,state,action,reward,next_state\na,1,0,0,1,1\na,2,1,0,1,2\n";
    let err = csv_err(read_limited(text, 2, 2));
    assert_field(&err, 3, "next_state", "2", "n_states = 2");
    // Within range: fine.
    assert!(read_limited(&format!("{HEAD}a,1,1,1,1,1\n"), 2, 2).is_ok());
    // Indices too large for any table are rejected even without limits.
    let err = csv_err(read(&format!("{HEAD}a,1,1,0,99999999999,1\n")));
    assert_field(&err, 2, "action", "99999999999", "too large");
}

#[test]
fn csv_nan_or_infinite_reward() {
    for (value, reason) in [
        // NaN is a missing value: only a trial without a response may lack its reward.
        ("NaN", "is missing, but the trial has an action"),
        ("nan", "is missing, but the trial has an action"),
        ("NA", "is missing, but the trial has an action"),
        ("", "is missing, but the trial has an action"),
        ("inf", "not finite"),
        ("-inf", "not finite"),
        ("infinity", "not finite"),
        ("1e999", "not finite"),
    ] {
        let text = format!("{HEAD}a,1,1,0,0,1\na,1,2,0,1,{value}\n");
        let err = csv_err(read(&text));
        assert_field(&err, 3, "reward", value, reason);
    }
}

#[test]
fn csv_trial_numbers_going_backwards() {
    // Interleaved subjects: the backwards trial is on line 5, its predecessor on line 3.
    let text = format!("{HEAD}a,1,1,0,0,1\nb,1,1,0,0,1\na,1,5,0,1,0\nb,1,2,0,1,0\na,1,4,0,0,1\n");
    let err = csv_err(read(&text));
    assert_field(&err, 6, "trial", "4", "goes backwards");
    let msg = err.to_string();
    assert!(
        msg.contains("line 4") && msg.contains("session `1`") && msg.contains("subject `a`"),
        "{msg}"
    );
    // A repeated trial number is also rejected; another session may restart at 1.
    let err = csv_err(read(&format!("{HEAD}a,1,3,0,0,1\na,1,3,0,1,0\n")));
    assert_field(&err, 3, "trial", "3", "repeats");
    assert!(read(&format!("{HEAD}a,1,3,0,0,1\na,2,1,0,1,0\n")).is_ok());
}

#[test]
fn csv_empty_file() {
    for text in ["", "\n", "\n\n"] {
        let err = csv_err(read(text));
        assert!(matches!(err, Error::EmptyData { .. }), "{text:?}: {err:?}");
        assert!(err.to_string().contains("empty"), "{err}");
    }
}

#[test]
fn csv_header_only() {
    for text in [
        HEAD,
        "subject,trial,action,reward",
        "subject,trial,action,reward\n\n",
    ] {
        let err = csv_err(read(text));
        match &err {
            Error::EmptyData { what } => {
                assert!(what.contains("header but no data rows"), "{what}")
            }
            other => panic!("{text:?}: expected EmptyData, got {other:?}"),
        }
    }
}

#[test]
fn csv_row_with_wrong_number_of_fields_or_bad_utf8() {
    let err = csv_err(read(&format!("{HEAD}a,1,1,0,0,1\na,1,2,0,1\n")));
    assert!(matches!(err, Error::CsvRow { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("csv line 3"), "{err}");
    let mut bytes = format!("{HEAD}a,1,1,0,0,1\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe,1,2,0,1,1\n");
    let err = csv_err(read_csv_from(&bytes[..], &CsvOptions::default()).map(|(d, _)| d));
    assert!(matches!(err, Error::CsvRow { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn csv_empty_subject_id() {
    let err = csv_err(read(&format!("{HEAD}a,1,1,0,0,1\n,1,2,0,1,0\n")));
    assert_field(&err, 3, "subject", "", "empty");
}

// ---------------------------------------------------------------------------------------
// Data built through the API
// ---------------------------------------------------------------------------------------

#[test]
fn subject_with_no_trials_or_sessions() {
    let empty = Session::bandit("day2", vec![], vec![]).unwrap();
    let full = Session::bandit("day1", vec![0], vec![1.0]).unwrap();
    let err = Subject::new("s7", vec![full, empty]).unwrap_err();
    match &err {
        Error::EmptyData { what } => assert!(
            what.contains("session `day2`") && what.contains("subject `s7`"),
            "{what}"
        ),
        other => panic!("expected EmptyData, got {other:?}"),
    }
    let err = Subject::new("s8", vec![]).unwrap_err();
    assert!(
        matches!(&err, Error::EmptyData { what } if what.contains("subject `s8`")),
        "{err:?}"
    );
    let err = Dataset::new(vec![]).unwrap_err();
    assert!(matches!(err, Error::EmptyData { .. }), "{err:?}");
}

#[test]
fn session_columns_of_different_lengths() {
    let err = Session::new("x", vec![0, 0], vec![0, 1, 1], vec![0.0; 3]).unwrap_err();
    assert_dimension(&err, "states of session `x`", 3, 2);
    let err = Session::new("x", vec![0; 3], vec![0, 1, 1], vec![0.0; 4]).unwrap_err();
    assert_dimension(&err, "rewards of session `x`", 3, 4);
    let err = Session::bandit("y", vec![0, 1], vec![1.0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("session `y`"), "{err}");
    let err = Session::bandit("z", vec![0, 1], vec![1.0, 0.0])
        .unwrap()
        .with_next_states(vec![0])
        .unwrap_err();
    assert_dimension(&err, "next states of session `z`", 2, 1);
}

#[test]
fn non_finite_reward_through_the_api() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let ok = Session::bandit("a", vec![0, 1], vec![0.0, 1.0]).unwrap();
        let s = Session::bandit("b", vec![0, 1, 0], vec![0.0, 1.0, bad]).unwrap();
        let err = Subject::new("s3", vec![ok, s]).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InvalidTrial { subject, session, trial: 2, field: "reward", .. }
                    if subject == "s3" && session == "b"
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("subject `s3`, session `b`, trial 2: reward"),
            "{err}"
        );
    }
}

#[test]
fn duplicate_subject_ids() {
    let s = Subject::new(
        "dup",
        vec![Session::bandit("1", vec![0], vec![0.0]).unwrap()],
    )
    .unwrap();
    let err = Dataset::new(vec![s.clone(), s]).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateSubject { subject } if subject == "dup"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "subject `dup` appears twice in the dataset"
    );
}

// ---------------------------------------------------------------------------------------
// Dataset vs model
// ---------------------------------------------------------------------------------------

/// `Model::likelihood` on data that does not fit the table; returns the error.
fn likelihood_err(model: &Model<RescorlaWagner, Softmax>, subject: &Subject) -> Error {
    match model.likelihood(subject) {
        Ok(_) => panic!("expected the likelihood to be refused"),
        Err(e) => e,
    }
}

#[test]
fn dataset_action_beyond_the_model() {
    let a = Session::new("a", vec![0; 3], vec![0, 1, 1], vec![1.0, 0.0, 1.0]).unwrap();
    let b = Session::new("b", vec![0; 5], vec![1, 0, 1, 2, 0], vec![0.0; 5]).unwrap();
    let subject = Subject::new("s42", vec![a, b]).unwrap();
    for v in all_variants() {
        let model = v.model(1, 2);
        let err = likelihood_err(&model, &subject);
        match &err {
            Error::InvalidTrial {
                subject,
                session,
                trial,
                field,
                value,
                ..
            } => {
                assert_eq!(
                    (
                        subject.as_str(),
                        session.as_str(),
                        *trial,
                        *field,
                        value.as_str()
                    ),
                    ("s42", "b", 3, "action", "2")
                );
            }
            other => panic!("expected InvalidTrial, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("subject `s42`, session `b`, trial 3: action = 2")
                && msg.contains("n_actions = 2"),
            "{msg}"
        );
        // The same data fit a model with three actions.
        assert!(v.model(1, 3).likelihood(&subject).is_ok());
    }
}

#[test]
fn dataset_state_beyond_the_model() {
    let a = Session::new("a", vec![0, 1, 2, 1], vec![0, 1, 1, 0], vec![1.0; 4]).unwrap();
    let subject = Subject::new("s5", vec![a]).unwrap();
    for v in all_variants() {
        let err = likelihood_err(&v.model(2, 2), &subject);
        assert!(
            matches!(&err, Error::InvalidTrial { subject, session, trial: 2, field: "state", .. }
                if subject == "s5" && session == "a"),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("subject `s5`, session `a`, trial 2: state = 2")
                && msg.contains("n_states = 2"),
            "{msg}"
        );
    }
    let with_next = Session::new("n", vec![0, 1], vec![0, 1], vec![1.0; 2])
        .unwrap()
        .with_next_states(vec![1, 4])
        .unwrap();
    let subject = Subject::new("s6", vec![with_next]).unwrap();
    let err = likelihood_err(&all_variants()[0].model(2, 2), &subject);
    assert!(
        matches!(
            &err,
            Error::InvalidTrial {
                trial: 1,
                field: "next_state",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("subject `s6`, session `n`, trial 1"),
        "{err}"
    );
}

#[test]
fn model_with_an_empty_table() {
    for (s, a, name) in [(0, 2, "n_states"), (1, 0, "n_actions")] {
        let err = Model::new(RescorlaWagner::new(), Softmax::new(), s, a).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { name: n, .. } if n == name),
            "{err:?}"
        );
    }
}

/// Sizes are checked against the one cap (`check::MAX_FLOATS`) before anything is allocated:
/// the cap follows what the likelihood really allocates (the values and their second-order
/// sensitivities over the rule's parameters, and the observation's A × A buffer).
#[test]
fn model_sizes_follow_the_shared_cap() {
    use rlgrad::check::MAX_FLOATS;
    // 3·10⁶ states × 4 actions × 3² rule sensitivities = 1.08·10⁸ ≤ 2²⁸: a model.
    let rich = || RescorlaWagner::dual().with_learned_initial_value();
    assert!(Model::new(rich(), Softmax::with_perseveration(), 3_000_000, 4).is_ok());
    // Twice as many states is over the cap, and said so before anything is allocated.
    let err = Model::new(rich(), Softmax::with_perseveration(), 8_000_000, 4).unwrap_err();
    assert!(matches!(err, Error::InvalidOption { .. }), "{err:?}");
    assert!(
        err.to_string().contains("second-order sensitivities"),
        "{err}"
    );
    // The observation's A × A buffer: 16 384 actions is the most.
    let side = (MAX_FLOATS as f64).sqrt() as usize;
    assert!(Model::new(RescorlaWagner::new(), Softmax::new(), 1, side).is_ok());
    let err = Model::new(RescorlaWagner::new(), Softmax::new(), 1, side + 1).unwrap_err();
    assert!(err.to_string().contains("at most 16384 actions"), "{err}");
}

/// A session too long to store is an error naming `n_trials`, not a capacity-overflow panic.
#[test]
fn simulate_refuses_a_session_too_long_to_store() {
    use rand::SeedableRng;
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let mut env = Bandit::new(vec![0.5, 0.5]).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for n in [usize::MAX, rlgrad::check::MAX_FLOATS + 1] {
        let err = model
            .simulate(arr1(&[0.0, 0.0]).view(), &mut env, n, "long", &mut rng)
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { name, .. } if name == "n_trials"),
            "{err:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// θ and buffers
// ---------------------------------------------------------------------------------------

#[test]
fn theta_of_the_wrong_length() {
    for_each_term(|name, term, theta| {
        let k = term.dim();
        assert_eq!(k, theta.len());
        for len in [0, k - 1, k + 1, 2 * k] {
            let wrong = Array1::from_elem(len, 0.1);
            for (method, result) in every_method(term, wrong.view()) {
                let err = result.expect_err(&format!("{name}.{method} with |theta| = {len}"));
                assert_dimension(&err, "theta", k, len);
            }
        }
    });
}

#[test]
fn theta_with_nan_or_infinite_entries() {
    for_each_term(|name, term, theta| {
        for index in 0..theta.len() {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut t = theta.to_owned();
                t[index] = bad;
                for (method, result) in every_method(term, t.view()) {
                    let err = result.expect_err(&format!("{name}.{method}, theta[{index}]={bad}"));
                    match &err {
                        Error::NonFiniteTheta {
                            index: i, value, ..
                        } => {
                            assert_eq!(*i, index, "{name}.{method}: {err}");
                            assert!(
                                value.is_nan() == bad.is_nan() && (bad.is_nan() || *value == bad)
                            );
                        }
                        other => panic!("{name}.{method}: expected NonFiniteTheta, got {other:?}"),
                    }
                    assert!(
                        err.to_string().contains(&format!("theta[{index}]")),
                        "{name}.{method}: {err}"
                    );
                }
            }
        }
    });
}

/// The value-only path of a likelihood (and of an objective, which asks its terms for
/// values) names the parameter as well as the index.
#[test]
fn likelihood_value_names_the_parameter() {
    let model = fixture_model();
    let subject = fixture_subject();
    let lik = model.likelihood(&subject).unwrap();
    let posterior = Objective::new(4).with("likelihood", 1.0, &lik).unwrap();
    for (index, expected) in ["alpha_pos", "alpha_neg", "beta", "kappa"]
        .iter()
        .enumerate()
    {
        let mut t = arr1(&[0.2, -0.3, 0.5, 0.1]);
        t[index] = f64::INFINITY;
        for err in [
            lik.value(t.view()).unwrap_err(),
            posterior.value(t.view()).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::NonFiniteTheta { index: i, name, .. }
                    if *i == index && name == expected),
                "{err:?}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("theta[{index}] ({expected}) = inf")),
                "{err}"
            );
        }
    }
}

/// The likelihood knows its parameter names, and every method names a bad entry by them.
#[test]
fn likelihood_nonfinite_theta_names_the_parameter_in_every_method() {
    let model = fixture_model();
    let subject = fixture_subject();
    let lik = model.likelihood(&subject).unwrap();
    let names: Vec<String> = model.layout().names().map(str::to_string).collect();
    for (index, expected) in names.iter().enumerate() {
        let mut t = arr1(&[0.2, -0.3, 0.5, 0.1]);
        t[index] = f64::NAN;
        for (method, result) in every_method(&lik, t.view()) {
            match result {
                Err(Error::NonFiniteTheta { name, .. }) => {
                    assert_eq!(&name, expected, "{method} at theta[{index}]")
                }
                other => panic!("{method}: expected NonFiniteTheta, got {other:?}"),
            }
        }
    }
}

#[test]
fn gradient_buffer_of_the_wrong_shape() {
    for_each_term(|name, term, theta| {
        let k = term.dim();
        for len in [0, k - 1, k + 1] {
            let mut g = Array1::zeros(len);
            let mut h = Array2::zeros((k, k));
            let results = [
                ("value_and_grad", term.value_and_grad(theta, g.view_mut())),
                (
                    "add_value_and_grad",
                    term.add_value_and_grad(theta, 1.0, g.view_mut()),
                ),
                (
                    "value_grad_hessian",
                    term.value_grad_hessian(theta, g.view_mut(), h.view_mut()),
                ),
                (
                    "add_value_grad_hessian",
                    term.add_value_grad_hessian(theta, 1.0, g.view_mut(), h.view_mut()),
                ),
            ];
            for (method, result) in results {
                let err = result.expect_err(&format!("{name}.{method}, |grad| = {len}"));
                assert_dimension(&err, "gradient buffer", k, len);
            }
        }
    });
}

#[test]
fn hessian_buffer_of_the_wrong_shape() {
    for_each_term(|name, term, theta| {
        let k = term.dim();
        for ((rows, cols), side, found) in [
            ((k + 1, k), "hessian buffer rows", k + 1),
            ((k - 1, k), "hessian buffer rows", k - 1),
            ((k, k + 1), "hessian buffer columns", k + 1),
            ((k, 0), "hessian buffer columns", 0),
            ((0, 0), "hessian buffer rows", 0),
        ] {
            let mut g = Array1::zeros(k);
            let mut h = Array2::zeros((rows, cols));
            let results = [
                (
                    "value_grad_hessian",
                    term.value_grad_hessian(theta, g.view_mut(), h.view_mut()),
                ),
                (
                    "add_value_grad_hessian",
                    term.add_value_grad_hessian(theta, 1.0, g.view_mut(), h.view_mut()),
                ),
            ];
            for (method, result) in results {
                let err = result.expect_err(&format!("{name}.{method}, hess {rows}x{cols}"));
                assert_dimension(&err, side, k, found);
            }
        }
    });
}

/// An objective with no terms is a valid term (value 0), but θ is still checked.
#[test]
fn empty_objective_still_checks_theta() {
    let objective = Objective::new(2);
    let err = objective
        .value(arr1(&[0.0, 0.0, 0.0]).view())
        .expect_err("wrong length");
    assert_dimension(&err, "theta", 2, 3);
    let err = objective
        .value(arr1(&[0.0, f64::NAN]).view())
        .expect_err("NaN entry");
    assert!(
        matches!(err, Error::NonFiniteTheta { index: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn objective_term_of_the_wrong_dimension_or_weight() {
    let prior = MvGaussian::isotropic(3, 0.0, 1.0).unwrap();
    let err = Objective::new(2).with("p", 1.0, &prior).err().unwrap();
    assert_dimension(&err, "term `p`", 2, 3);
    for w in [f64::NAN, f64::INFINITY] {
        let prior = MvGaussian::isotropic(2, 0.0, 1.0).unwrap();
        let err = Objective::new(2).with("p", w, &prior).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidOption { name, .. } if name.contains("term `p`")),
            "{err:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// θ that overflows a transform
// ---------------------------------------------------------------------------------------

#[test]
fn theta_overflowing_a_transform_is_an_error_not_nan() {
    // log-beta = 800: e^800 overflows.
    for_each_term(|name, term, theta| {
        if name == "prior" {
            return; // the prior has no transforms: θ = 800 is an ordinary (finite) input
        }
        let mut t = theta.to_owned();
        t[2] = 800.0;
        for (method, result) in every_method(term, t.view()) {
            let err = result.expect_err(&format!("{name}.{method} at log-beta = 800"));
            match &err {
                Error::InvalidParameter { name: p, .. } => assert_eq!(p, "beta", "{err}"),
                other => panic!("{name}.{method}: expected InvalidParameter, got {other:?}"),
            }
            let msg = err.to_string();
            assert!(
                msg.contains("`beta`") && msg.contains("theta[2] = 800"),
                "{name}.{method}: {msg}"
            );
        }
    });
    // For every variant, through every method.
    let subject = fixture_subject();
    for v in all_variants() {
        let model = v.model(2, 3);
        let lik = model.likelihood(&subject).unwrap();
        let beta = model.layout().index_of("beta").unwrap();
        let mut t = Array1::zeros(model.n_params());
        for big in [710.0, 800.0, 1e300, f64::MAX] {
            t[beta] = big;
            for (method, result) in every_method(&lik, t.view()) {
                assert!(
                    matches!(&result, Err(Error::InvalidParameter { name, .. }) if name == "beta"),
                    "{v:?} {method} at log-beta = {big}: {result:?}"
                );
            }
        }
    }
}

/// β finite but so large that β·Q overflows: an error naming the subject, never a NaN.
#[test]
fn overflow_inside_the_likelihood_is_an_error_not_nan() {
    let session =
        Session::bandit("1", vec![0, 2, 1, 2, 0], vec![10.0, 10.0, -10.0, 5.0, 1.0]).unwrap();
    let subject = Subject::new("big", vec![session]).unwrap();
    for v in all_variants() {
        for (transform, theta_beta) in [
            (Transform::Exp, 709.0),
            (Transform::Softplus, 1e308),
            (Transform::Identity, 1e308),
        ] {
            let model = v.model(1, 3).with_transform("beta", transform).unwrap();
            let lik = model.likelihood(&subject).unwrap();
            let mut t = Array1::from_elem(model.n_params(), 3.0);
            t[model.layout().index_of("beta").unwrap()] = theta_beta;
            for (method, result) in every_method(&lik, t.view()) {
                let err = result.expect_err(&format!("{v:?} {method} {transform:?}"));
                assert!(
                    matches!(&err, Error::NonFiniteResult { what, theta }
                        if what.contains("subject `big`") && theta == &t.to_vec()),
                    "{v:?} {method}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn natural_parameters_of_an_overflowing_theta_are_an_error() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let result = model.natural(arr1(&[0.0, 800.0]).view());
    match result {
        Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "beta"),
        other => panic!("expected InvalidParameter naming beta, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Prior
// ---------------------------------------------------------------------------------------

fn prior_err(mean: Array1<f64>, cov: Array2<f64>) -> Error {
    MvGaussian::new(mean, cov).expect_err("an invalid prior")
}

/// Asserts an `InvalidMatrix` error whose `what` names `what_part` and whose reason contains
/// every one of `reason_parts`.
fn assert_invalid_matrix(err: &Error, what_part: &str, reason_parts: &[&str]) {
    match err {
        Error::InvalidMatrix { what, reason } => {
            assert!(what.contains(what_part), "{what}");
            assert!(reason_parts.iter().all(|p| reason.contains(p)), "{reason}");
        }
        other => panic!("expected InvalidMatrix, got {other:?}"),
    }
}

#[test]
fn prior_mean_and_covariance_of_different_sizes() {
    let err = prior_err(arr1(&[0.0, 0.0]), Array2::eye(3));
    assert_dimension(&err, "prior covariance", 2, 3);
    let err = prior_err(arr1(&[0.0, 0.0, 0.0]), Array2::eye(2));
    assert_dimension(&err, "prior covariance", 3, 2);
    let err = prior_err(arr1(&[]), Array2::eye(0));
    assert!(matches!(err, Error::EmptyData { .. }), "{err:?}");
}

#[test]
fn prior_covariance_not_square() {
    let err = prior_err(arr1(&[0.0, 0.0]), Array2::zeros((2, 3)));
    assert_invalid_matrix(&err, "prior covariance", &["2 x 3", "not square"]);
}

#[test]
fn prior_covariance_not_symmetric() {
    let cov = arr2(&[[2.0, 0.5, 0.0], [0.0, 2.0, 0.1], [0.0, 0.1, 2.0]]);
    let err = prior_err(arr1(&[0.0, 0.0, 0.0]), cov);
    assert_invalid_matrix(&err, "prior covariance", &["not symmetric", "(1, 0)"]);
}

#[test]
fn prior_covariance_not_positive_definite() {
    for (cov, eig) in [
        (arr2(&[[1.0, 2.0], [2.0, 1.0]]), "-1"),
        (arr2(&[[-1.0, 0.0], [0.0, 1.0]]), "-1"),
        (arr2(&[[1.0, 1.0], [1.0, 1.0]]), ""), // singular
        (arr2(&[[0.0, 0.0], [0.0, 0.0]]), ""),
    ] {
        let err = prior_err(arr1(&[0.0, 0.0]), cov.clone());
        match &err {
            Error::NotPositiveDefinite { what, reason } => {
                assert!(what.contains("prior covariance"), "{what}");
                assert!(reason.contains(eig), "{cov}: {reason}");
            }
            other => panic!("{cov}: expected NotPositiveDefinite, got {other:?}"),
        }
        assert!(err.to_string().contains("not positive definite"), "{err}");
    }
    for variance in [0.0, -1.0] {
        let err = MvGaussian::isotropic(2, 0.0, variance).unwrap_err();
        assert!(
            matches!(err, Error::NotPositiveDefinite { .. }),
            "{variance}: {err:?}"
        );
    }
}

#[test]
fn prior_not_finite() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut cov = Array2::eye(2);
        cov[[0, 1]] = bad;
        cov[[1, 0]] = bad;
        let err = prior_err(arr1(&[0.0, 0.0]), cov);
        assert_invalid_matrix(&err, "prior covariance", &["(0, 1)", "not finite"]);
        let err = prior_err(arr1(&[0.0, bad]), Array2::eye(2));
        assert_invalid_matrix(&err, "prior mean", &["entry 1", "not finite"]);
    }
}

// ---------------------------------------------------------------------------------------
// Transforms
// ---------------------------------------------------------------------------------------

fn assert_transform_err(err: &Error, name: &str, parts: &[&str]) {
    match err {
        Error::InvalidTransform { name: n, reason } => {
            assert_eq!(n, name, "{err}");
            for p in parts {
                assert!(reason.contains(p), "`{reason}` should contain `{p}`");
            }
        }
        other => panic!("expected InvalidTransform, got {other:?}"),
    }
}

#[test]
fn logistic_transform_with_lo_not_below_hi() {
    for (lo, hi) in [(1.0, 1.0), (2.0, 1.0), (0.0, -0.0), (5.5, -3.25)] {
        let err = Transform::logistic(lo, hi).unwrap_err();
        assert_transform_err(
            &err,
            "transform",
            &["lo < hi", &format!("lo = {lo}"), &format!("hi = {hi}")],
        );
        let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
        let err = model
            .with_transform("beta", Transform::Logistic { lo, hi })
            .err()
            .unwrap();
        assert_transform_err(
            &err,
            "beta",
            &[&format!("lo = {lo}"), &format!("hi = {hi}")],
        );
        let err = ParamLayout::new(vec![ParamSpec::new(
            "alpha",
            Transform::Logistic { lo, hi },
        )])
        .unwrap_err();
        assert_transform_err(&err, "alpha", &[&format!("lo = {lo}")]);
    }
}

#[test]
fn logistic_transform_with_non_finite_bounds() {
    for (lo, hi) in [
        (f64::NAN, 1.0),
        (0.0, f64::NAN),
        (0.0, f64::INFINITY),
        (f64::NEG_INFINITY, 0.0),
        (f64::NEG_INFINITY, f64::INFINITY),
    ] {
        let err = Transform::logistic(lo, hi).unwrap_err();
        let bounds = format!("({lo}, {hi})");
        assert_transform_err(&err, "transform", &["must be finite", &bounds]);
        let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
        let err = model
            .with_transform("alpha", Transform::Logistic { lo, hi })
            .err()
            .unwrap();
        assert_transform_err(&err, "alpha", &["must be finite", &bounds]);
    }
}

/// Finite bounds whose width hi − lo overflows: the transform maps every θ to ±∞ or NaN.
#[test]
fn logistic_transform_whose_width_overflows() {
    let err = Transform::logistic(-1e308, 1e308).expect_err("width overflows");
    assert_transform_err(&err, "transform", &["-1e308", "1e308"]);
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let err = model
        .with_transform(
            "beta",
            Transform::Logistic {
                lo: -f64::MAX,
                hi: f64::MAX,
            },
        )
        .expect_err("width overflows");
    assert!(matches!(err, Error::InvalidTransform { .. }), "{err:?}");
}

#[test]
fn transform_for_an_unknown_parameter_or_outside_its_range() {
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let err = model
        .clone()
        .with_transform("gamma", Transform::Identity)
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::InvalidLayout { reason } if reason.contains("gamma")),
        "{err:?}"
    );
    let t = Transform::logistic(0.0, 20.0).unwrap();
    for psi in [0.0, 20.0, 25.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = t.inverse("beta", psi).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter { name, reason, .. }
                if name == "beta" && reason.contains("(0, 20)")),
            "{psi}: {err:?}"
        );
    }
    let err = model
        .layout()
        .theta_from_natural(&[("alpha", 1.5), ("beta", 1.0)])
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { name, .. } if name == "alpha"),
        "{err:?}"
    );
}

/// Logistic learning rates saturate at extreme θ, which is fine (finite, in range).
#[test]
fn saturated_learning_rates_are_not_errors() {
    let subject = fixture_subject();
    for v in all_variants() {
        let model = v.model(2, 3);
        let lik = model.likelihood(&subject).unwrap();
        let k = model.n_params();
        for big in [-800.0, 800.0, -1e300, 1e300] {
            let mut t = Array1::from_elem(k, 0.5);
            for name in ["alpha", "alpha_pos", "alpha_neg"] {
                if let Some(i) = model.layout().index_of(name) {
                    t[i] = big;
                }
            }
            for (method, result) in every_method(&lik, t.view()) {
                let v = result.unwrap_or_else(|e| panic!("{v:?} {method} at {big}: {e}"));
                assert!(v.is_finite());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Simulation in a user's environment, and terms without parameters
// ---------------------------------------------------------------------------------------

/// An environment that misbehaves at a chosen trial.
struct Faulty {
    at: usize,
    t: usize,
    bad_state: bool,
}

impl Environment for Faulty {
    fn n_states(&self) -> usize {
        1
    }
    fn n_actions(&self) -> usize {
        2
    }
    fn reset<R: rand::Rng + ?Sized>(&mut self, _: &mut R) -> usize {
        0
    }
    fn step<R: rand::Rng + ?Sized>(
        &mut self,
        action: usize,
        _: &mut R,
    ) -> rlgrad::Result<rlgrad::env::Outcome> {
        rlgrad::check::index("action", action, 2)?;
        self.t += 1;
        let at = self.t == self.at;
        Ok(rlgrad::env::Outcome {
            reward: if at && !self.bad_state { f64::NAN } else { 1.0 },
            next_state: Some(if at && self.bad_state { 5 } else { 0 }),
        })
    }
}

#[test]
fn simulate_rejects_what_a_faulty_environment_returns() {
    use rand::SeedableRng;
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2).unwrap();
    let theta = arr1(&[0.0, 1.0]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for bad_state in [true, false] {
        let mut env = Faulty {
            at: 3,
            t: 0,
            bad_state,
        };
        let err = model
            .simulate(theta.view(), &mut env, 10, "sim", &mut rng)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("trial 2") && msg.contains("`sim`"), "{msg}");
        // Each fault has its own variant: a state out of range, a non-finite input.
        if bad_state {
            assert!(
                matches!(
                    err,
                    Error::IndexOutOfRange {
                        index: 5,
                        limit: 1,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                msg.contains("next state from the environment") && msg.contains("= 5"),
                "{msg}"
            );
        } else {
            assert!(matches!(err, Error::NonFiniteInput { .. }), "{err:?}");
            assert!(
                msg.contains("reward from the environment") && msg.contains("= NaN is not finite"),
                "{msg}"
            );
        }
    }
}

/// An action outside the arms is an error naming it, not a panic, and the bandit is unchanged.
#[test]
fn bandit_step_refuses_an_action_out_of_range() {
    use rand::SeedableRng;
    let mut env = Bandit::new(vec![1.0, 0.0])
        .unwrap()
        .with_reversals(1)
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for action in [2, usize::MAX] {
        let err = env.step(action, &mut rng).unwrap_err();
        assert!(
            matches!(err, Error::IndexOutOfRange { index, limit: 2, .. } if index == action),
            "{err:?}"
        );
        assert!(err.to_string().contains("action"), "{err}");
    }
    // No trial was counted: the first valid step still sees the unreversed probabilities.
    assert_eq!(env.probabilities(), [1.0, 0.0]);
    assert_eq!(env.step(0, &mut rng).unwrap().reward, 1.0);
}

#[test]
fn terms_without_parameters_check_without_panicking() {
    let empty = Objective::new(0);
    let report =
        rlgrad::testing::check_term(&empty, arr1(&[]).view(), &Default::default()).unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(empty.value(arr1(&[]).view()).unwrap(), 0.0);
}

// ---------------------------------------------------------------------------------------
// The axpy contract and the finite-difference helpers
// ---------------------------------------------------------------------------------------

/// A NaN or infinite alpha would write NaN or ±∞ into the caller's gradient: every `add_`
/// method refuses it, naming `alpha`, and leaves the buffers as they were. (The critic's loss
/// and the surrogates are held to the same by `testing::check_term`, which now checks it.)
#[test]
fn axpy_methods_refuse_a_non_finite_alpha() {
    for_each_term(|name, term, theta| {
        let k = term.dim();
        for alpha in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut g = Array1::from_elem(k, 7.0);
            let mut h = Array2::from_elem((k, k), 7.0);
            for (method, result) in [
                (
                    "add_value_and_grad",
                    term.add_value_and_grad(theta, alpha, g.view_mut()),
                ),
                (
                    "add_value_grad_hessian",
                    term.add_value_grad_hessian(theta, alpha, g.view_mut(), h.view_mut()),
                ),
            ] {
                let err = result.unwrap_err();
                assert!(
                    matches!(&err, Error::NonFiniteInput { what, .. } if what == "alpha"),
                    "{name}.{method}({alpha}): {err:?}"
                );
            }
            assert!(
                g.iter().chain(h.iter()).all(|&x| x == 7.0),
                "{name}: buffer touched"
            );
        }
    });
}

#[test]
fn finite_differences_return_errors_not_panics_or_nans() {
    use rlgrad::testing::fd::{FdOptions, jacobian};
    let opts = FdOptions::default();
    // A function whose output length changes between evaluations.
    let mut calls = 0;
    let err = jacobian(arr1(&[0.5, 1.0]).view(), &opts, |t| {
        calls += 1;
        Ok(Array1::from_elem(1 + calls % 2, t[0]))
    })
    .unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { .. }), "{err:?}");
    // A NaN θ.
    let err = jacobian(arr1(&[f64::NAN]).view(), &opts, |t| Ok(t.to_owned())).unwrap_err();
    assert!(matches!(err, Error::NonFiniteTheta { .. }), "{err:?}");
    // A function that returns NaN, or overflows, at the perturbed points.
    let err = jacobian(arr1(&[1.0]).view(), &opts, |t| {
        Ok(arr1(&[t[0].ln() * f64::NAN]))
    })
    .unwrap_err();
    assert!(matches!(err, Error::NonFiniteResult { .. }), "{err:?}");
    let err = jacobian(arr1(&[1e307]).view(), &opts, |t| Ok(arr1(&[t[0] * 1e10]))).unwrap_err();
    assert!(matches!(err, Error::NonFiniteResult { .. }), "{err:?}");
    // θ so large that a step overflows it.
    let err = jacobian(arr1(&[f64::MAX]).view(), &opts, |t| Ok(t.to_owned())).unwrap_err();
    assert!(matches!(err, Error::NonFiniteTheta { .. }), "{err:?}");
}
