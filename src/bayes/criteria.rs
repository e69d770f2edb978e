//! PSIS-LOO and WAIC of a [`Posterior`], with subjects as the observations.
//!
//! Each subject's pointwise log-likelihood is ℓᵢ(θᵢ) summed over its trials, at each draw
//! of its own θᵢ (hBayesDM's `log_lik`, summed per subject). Leaving a subject out, LOO
//! estimates how well the model predicts the choices of a new subject of the same group.
//! With a whole subject as the unit left out, its θᵢ moves far when its data go, so high
//! Pareto k̂ are common (most subjects in the `hierarchical` example): read k̂, and prefer
//! comparing models by other means where most are high.

use rayon::prelude::*;

use super::diagnostics::ess_mean;
use super::loo::{Loo, Waic, loo, waic};
use super::posterior::Posterior;
use crate::error::Result;

impl Posterior {
    /// The relative efficiency r_eff for PSIS as ArviZ's `az.loo` computes it: the mean,
    /// over the draws' quantities (the group quantities and every subject's natural
    /// parameters), of the mean's ESS divided by the number of draws.
    ///
    /// # Errors
    /// Fewer draws than the ESS needs (4 per chain).
    pub fn relative_efficiency(&self) -> Result<f64> {
        let total = self.group_names().len() + self.n_subjects() * self.layout().len();
        let draws = (self.n_chains() * self.n_draws()) as f64;
        let sum = (0..total)
            .into_par_iter()
            .map(|q| Ok(ess_mean(&self.column_draws(q)?)? / draws))
            .collect::<Result<Vec<f64>>>()?
            .iter()
            .sum::<f64>();
        Ok(sum / total as f64)
    }

    /// PSIS-LOO over subjects, with r_eff from
    /// [`relative_efficiency`](Posterior::relative_efficiency). Read its Pareto k̂: a
    /// subject above the threshold has a LOO estimate that cannot be trusted.
    ///
    /// # Errors
    /// As [`loo`](super::loo()).
    pub fn loo(&self) -> Result<Loo> {
        loo(self.log_lik_matrix().view(), self.relative_efficiency()?)
    }

    /// WAIC over subjects.
    ///
    /// # Errors
    /// As [`waic`](super::waic()).
    pub fn waic(&self) -> Result<Waic> {
        waic(self.log_lik_matrix().view())
    }
}
