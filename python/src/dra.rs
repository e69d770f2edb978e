//! Memory-limited agents (dynamic resource allocation, Patel, Acerbi & Pouget 2020): seeded
//! training runs of the paper's tasks with its presets, in parallel with the GIL released.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rlgrad::dra::{DraConfig, TrainingLog, train_runs};
use rlgrad::env::{GridWorld, MountainCar, PlanningTask};

use crate::arrays::to_numpy1;
use crate::pool;

/// The most runs one call trains (their logs are kept in memory together).
const MAX_RUNS: usize = 10_000;

/// Trains `runs` seeded agents (seeds `seed`, `seed + 1`, ...) on `task` ("gridworld",
/// "mountain_car" or "planning") with the paper's preset, overridden by the arguments
/// given. Returns {"curves": columns (run, seed, trial, return_mean, return_se, cost,
/// objective), "runs": [per run: seed, sigma, q_bar, steps, truncated]}.
#[pyfunction]
#[pyo3(signature = (task, *, sigma0 = None, runs = 5, seed = 1, n_trials = None, eval_every = None, eval_episodes = None, cost_weight = None, moves = 3, threads = None))]
#[allow(clippy::too_many_arguments)]
pub fn _dra_train<'py>(
    py: Python<'py>,
    task: &str,
    sigma0: Option<f64>,
    runs: usize,
    seed: u64,
    n_trials: Option<usize>,
    eval_every: Option<usize>,
    eval_episodes: Option<usize>,
    cost_weight: Option<f64>,
    moves: usize,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let key = task.to_ascii_lowercase().replace(['-', ' '], "_");
    let mut config = match key.as_str() {
        "gridworld" | "grid_world" => DraConfig::grid_world_published(sigma0.unwrap_or(3.0)),
        "mountain_car" | "mountaincar" => DraConfig::mountain_car_published(),
        "planning" => DraConfig::planning(),
        _ => {
            return Err(PyValueError::new_err(format!(
                "task {task:?}: the tasks are \"gridworld\", \"mountain_car\" and \"planning\""
            )));
        }
    };
    if let Some(s) = sigma0 {
        config.sigma0 = s;
    }
    if let Some(n) = n_trials {
        config.n_trials = n;
    }
    if let Some(n) = eval_every {
        config.eval_every = n;
    }
    if let Some(n) = eval_episodes {
        config.eval_episodes = n;
    }
    if let Some(l) = cost_weight {
        config.lambda = l;
    }
    if runs > MAX_RUNS {
        return Err(PyValueError::new_err(format!(
            "runs = {runs}: at most {MAX_RUNS} (each run keeps its learning curve and memories)"
        )));
    }
    let seeds: Vec<u64> = (0..runs as u64)
        .map(|i| seed.checked_add(i))
        .collect::<Option<_>>()
        .ok_or_else(|| PyValueError::new_err(format!("seed {seed} + runs {runs} overflows u64")))?;
    let logs: Vec<TrainingLog> = match key.as_str() {
        "mountain_car" | "mountaincar" => {
            let env = MountainCar::new();
            pool::run(py, threads, || train_runs(&env, &config, &seeds, |_, _| {}))?
        }
        "planning" => {
            let env = crate::error::OrPy::py(PlanningTask::new(moves))?;
            pool::run(py, threads, || train_runs(&env, &config, &seeds, |_, _| {}))?
        }
        _ => {
            let env = GridWorld::paper();
            pool::run(py, threads, || train_runs(&env, &config, &seeds, |_, _| {}))?
        }
    };
    let (mut run, mut seed_col, mut trial, mut ret, mut ret_se, mut cost, mut objective) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let per_run = PyList::empty(py);
    for (k, log) in logs.iter().enumerate() {
        for p in &log.curve {
            run.push(k);
            seed_col.push(log.seed);
            trial.push(p.trial);
            ret.push(p.return_mean);
            ret_se.push(p.return_se);
            cost.push(p.cost);
            objective.push(p.objective);
        }
        let r = PyDict::new(py);
        r.set_item("seed", log.seed)?;
        r.set_item("sigma", to_numpy1(py, log.sigma.clone().into()))?;
        r.set_item("q_bar", to_numpy1(py, log.q_bar.clone().into()))?;
        r.set_item("n_states", log.n_states)?;
        r.set_item("n_actions", log.n_actions)?;
        r.set_item("steps", log.steps)?;
        r.set_item("truncated", log.truncated)?;
        per_run.append(r)?;
    }
    let c = PyDict::new(py);
    c.set_item("run", run)?;
    c.set_item("seed", seed_col)?;
    c.set_item("trial", trial)?;
    c.set_item("return_mean", ret)?;
    c.set_item("return_se", ret_se)?;
    c.set_item("cost", cost)?;
    c.set_item("objective", objective)?;
    let d = PyDict::new(py);
    d.set_item("curves", c)?;
    d.set_item("runs", per_run)?;
    Ok(d)
}
