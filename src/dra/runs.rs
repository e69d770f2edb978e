//! Independent restarts of a DRA run in parallel (rayon), and their summary: mean and
//! standard error across runs at every evaluation.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::DraConfig;
use super::log::TrainingLog;
use super::task::DraTask;
use super::train::{Progress, train_with};
use crate::error::{Error, Result};
use crate::numeric::mean_and_se;

/// Trains one run per seed, in parallel on rayon's pool, calling `progress(run, …)` after
/// every trial of every run (from several threads at once). The logs come back in the order
/// of `seeds`, and each is the same as [`train`](super::train) with its seed alone.
///
/// ```
/// use rlgrad::dra::{DraConfig, train_runs, CurveSummary};
/// use rlgrad::env::GridWorld;
/// let mut config = DraConfig::grid_world_published(3.0);
/// config.n_trials = 30;
/// config.eval_every = 10;
/// config.eval_episodes = 5;
/// let logs = train_runs(&GridWorld::paper(), &config, &[1, 2, 3], |_, _| {})?;
/// let summary = CurveSummary::of(&logs)?;
/// assert_eq!(summary.trial, [0, 10, 20]);
/// assert_eq!(summary.n_runs, 3);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptyData`] for no seeds; the first run's error otherwise (see
/// [`train_with`]).
pub fn train_runs<T: DraTask>(
    task: &T,
    config: &DraConfig,
    seeds: &[u64],
    progress: impl Fn(usize, &Progress) + Sync,
) -> Result<Vec<TrainingLog>> {
    if seeds.is_empty() {
        return Err(Error::empty_data("seeds (no runs to train)"));
    }
    config.check()?;
    seeds
        .par_iter()
        .enumerate()
        .map(|(k, &seed)| train_with(task, config, seed, |p| progress(k, p)))
        .collect()
}

/// The mean and standard error of one quantity across runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanSe {
    /// The mean across runs.
    pub mean: f64,
    /// Its standard error (sample standard deviation / √runs; 0 for one run).
    pub se: f64,
}

impl MeanSe {
    /// The mean and standard error of `values`.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no values.
    pub fn of(values: &[f64]) -> Result<MeanSe> {
        if values.is_empty() {
            return Err(Error::empty_data("values for a mean"));
        }
        let (mean, se) = mean_and_se(values);
        Ok(MeanSe { mean, se })
    }
}

/// The learning curves of several runs of one configuration: at every evaluation, the mean
/// and standard error across runs of the return, the cost and the objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveSummary {
    /// Number of runs.
    pub n_runs: usize,
    /// The evaluated trials.
    pub trial: Vec<usize>,
    /// The mean return.
    pub return_mean: Vec<MeanSe>,
    /// The cost λ·D_KL.
    pub cost: Vec<MeanSe>,
    /// The objective.
    pub objective: Vec<MeanSe>,
}

impl CurveSummary {
    /// The summary of runs of one configuration.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for no runs; [`Error::InvalidOption`] for runs evaluated at
    /// different trials.
    pub fn of(logs: &[TrainingLog]) -> Result<CurveSummary> {
        let first = logs
            .first()
            .ok_or_else(|| Error::empty_data("training logs"))?;
        let trial: Vec<usize> = first.curve.iter().map(|p| p.trial).collect();
        for (k, log) in logs.iter().enumerate() {
            if log.curve.len() != trial.len()
                || log.curve.iter().zip(&trial).any(|(p, t)| p.trial != *t)
            {
                return Err(Error::invalid_option(
                    format!("training log {k}"),
                    format!("seed {}", log.seed),
                    "was evaluated at other trials than the first log",
                ));
            }
        }
        let column = |f: fn(&super::EvalPoint) -> f64| -> Result<Vec<MeanSe>> {
            (0..trial.len())
                .map(|i| MeanSe::of(&logs.iter().map(|l| f(&l.curve[i])).collect::<Vec<_>>()))
                .collect::<Result<_>>()
        };
        Ok(CurveSummary {
            n_runs: logs.len(),
            return_mean: column(|p| p.return_mean)?,
            cost: column(|p| p.cost)?,
            objective: column(|p| p.objective)?,
            trial,
        })
    }
}
