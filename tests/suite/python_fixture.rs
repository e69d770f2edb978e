//! The fixture the Python package's tests compare with bit for bit
//! (`tests/fixtures/python/expected.json`): log-likelihoods, gradients and Hessians of every
//! Rescorla-Wagner model of the menu (and the choice-kernel model) on a ragged file with
//! sessions, two states and missed trials, and the MAP estimates of `rw` under its default
//! prior. This test recomputes them and fails if the committed file differs, so that the
//! file cannot go stale; `RLGRAD_WRITE_PYTHON_FIXTURE=1` rewrites it (after a change that is
//! meant to move these numbers, said in its commit).

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::Term;
use rlgrad::data::{CsvOptions, read_csv};
use rlgrad::fit::{MapOptions, map};
use rlgrad::menu::{ModelName, Table};
use serde_json::{Value, json};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python");

/// The models, their table and the θ they are evaluated at (one θ per model, the first K of
/// these numbers).
const MODELS: [(&str, usize, usize); 6] = [
    ("rw", 2, 2),
    ("rw_dual", 2, 2),
    ("rw_persev", 2, 2),
    ("rw_dual_persev", 2, 2),
    ("rw_per_state", 2, 2),
    ("rw_kernel", 2, 2),
];
const THETA: [f64; 6] = [0.3, 0.7, -0.2, 0.4, 1.1, -0.6];

fn matrix(m: &Array2<f64>) -> Value {
    json!(m.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>())
}

fn expected() -> Value {
    let (data, _) = read_csv(format!("{DIR}/choices.csv"), &CsvOptions::default()).unwrap();
    let mut models = Vec::new();
    for (name, n_states, n_actions) in MODELS {
        let menu = ModelName::from_name(name)
            .unwrap()
            .build(&Table {
                n_states,
                n_actions,
                bandit: None,
            })
            .unwrap();
        let model = menu.model();
        let k = model.n_params();
        let theta = Array1::from(THETA[..k].to_vec());
        let mut subjects = Vec::new();
        for s in data.subjects() {
            let term = model.likelihood(s).unwrap();
            let mut grad = Array1::zeros(k);
            let mut hess = Array2::zeros((k, k));
            let ll = term
                .value_grad_hessian(theta.view(), grad.view_mut(), hess.view_mut())
                .unwrap();
            subjects.push(json!({
                "subject": s.id(), "loglik": ll, "grad": grad.to_vec(), "hess": matrix(&hess),
            }));
        }
        models.push(json!({
            "model": name, "n_states": n_states, "n_actions": n_actions,
            "theta": theta.to_vec(), "subjects": subjects,
        }));
    }
    // MAP of rw under its default prior, seed 0, the default options (3 starts).
    let menu = ModelName::Rw
        .build(&Table {
            n_states: 2,
            n_actions: 2,
            bandit: None,
        })
        .unwrap();
    let prior = ModelName::Rw.default_prior(&menu.names()).unwrap();
    let fits = map(
        menu.model(),
        &data,
        &prior,
        &MapOptions::default(),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap();
    let map_fits: Vec<Value> = fits
        .iter()
        .map(|f| {
            let f = f.fit().unwrap();
            json!({"subject": f.subject, "theta": f.theta.to_vec(), "log_posterior": f.log_posterior})
        })
        .collect();
    json!({"models": models, "map_rw": {"n_states": 2, "n_actions": 2, "seed": 0, "fits": map_fits}})
}

#[test]
fn the_python_fixture_is_what_the_crate_computes() {
    let path = format!("{DIR}/expected.json");
    let now = expected();
    if std::env::var_os("RLGRAD_WRITE_PYTHON_FIXTURE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        committed, now,
        "tests/fixtures/python/expected.json differs from what the crate computes: if the \
         change is meant, rewrite it with RLGRAD_WRITE_PYTHON_FIXTURE=1 and say why"
    );
}
