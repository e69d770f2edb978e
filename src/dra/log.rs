//! What a DRA run records: [`TrainingLog`] with its evaluation curve ([`EvalPoint`]) and
//! σ/q̄ [`Snapshot`]s, serialisable with serde.

use serde::{Deserialize, Serialize};

use super::config::DraConfig;

/// One evaluation with learning off (spec §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// The 0-based trial after whose updates it was taken.
    pub trial: usize,
    /// The mean undiscounted return over the evaluation episodes.
    pub return_mean: f64,
    /// Its standard error.
    pub return_se: f64,
    /// λ · D_KL at that moment.
    pub cost: f64,
    /// `return_mean − cost`.
    pub objective: f64,
}

/// σ and q̄ after a trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The 0-based trial after whose updates they were taken.
    pub trial: usize,
    /// σ (S × A, row-major).
    pub sigma: Vec<f64>,
    /// q̄ (S × A, row-major).
    pub q_bar: Vec<f64>,
}

/// The record of one DRA run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingLog {
    /// The run's seed.
    pub seed: u64,
    /// States of the task.
    pub n_states: usize,
    /// Actions of the task.
    pub n_actions: usize,
    /// The configuration it ran with.
    pub config: DraConfig,
    /// The evaluations, in trial order.
    pub curve: Vec<EvalPoint>,
    /// The snapshots asked for by [`DraConfig::snapshots`].
    pub snapshots: Vec<Snapshot>,
    /// σ at the end.
    pub sigma: Vec<f64>,
    /// q̄ at the end.
    pub q_bar: Vec<f64>,
    /// Which memories were fixed (not allocated).
    pub fixed: Vec<bool>,
    /// Episodes cut at [`DraConfig::max_steps`] (training, rollouts and evaluation).
    pub truncated: u64,
    /// Environment steps taken in training (online and offline).
    pub steps: u64,
}

impl TrainingLog {
    /// The last evaluation.
    pub fn last(&self) -> Option<&EvalPoint> {
        self.curve.last()
    }

    /// The plateau of the objective: its mean over the last `tail` evaluations (all of them
    /// if fewer).
    pub fn plateau(&self, tail: usize) -> Option<f64> {
        let n = self.curve.len().min(tail.max(1));
        if n == 0 {
            return None;
        }
        let last = &self.curve[self.curve.len() - n..];
        Some(last.iter().map(|p| p.objective).sum::<f64>() / n as f64)
    }

    /// The first trial whose evaluated objective comes within `tolerance` of the plateau
    /// ([`TrainingLog::plateau`] over the last `tail` evaluations).
    pub fn first_within(&self, tolerance: f64, tail: usize) -> Option<usize> {
        let plateau = self.plateau(tail)?;
        self.curve
            .iter()
            .find(|p| (p.objective - plateau).abs() <= tolerance)
            .map(|p| p.trial)
    }
}
