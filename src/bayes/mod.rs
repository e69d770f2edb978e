//! Bayesian inference from posterior draws: convergence diagnostics of the chains, and model
//! comparison by PSIS-LOO and WAIC.
//!
//! | item | what |
//! |---|---|
//! | [`diagnostics`], [`rhat`], [`ess_bulk`], [`ess_tail`], [`ess_mean`], [`mcse_mean`] | rank-normalised split-R̂, bulk and tail ESS, the MCSE of the mean, of one quantity's chains (`diagnostics.rs`) |
//! | [`Diagnostics`], [`Flags`], [`flag_rhat`], [`flag_ess`] | the bundle for one quantity and the thresholds R̂ > 1.01, ESS < 100 × chains |
//! | [`loo`], [`psis`], [`waic`] | PSIS-LOO with Pareto k̂, the smoothing itself, WAIC, from a draws × observations log-likelihood matrix (`loo.rs`) |
//!
//! Both follow ArviZ step by step; `tests/fixtures/bayes/` holds ArviZ's values with their
//! provenance, and the tests hold these functions to them.

mod autocov;
mod diagnostics;
mod loo;

pub use self::diagnostics::{
    Diagnostics, ESS_PER_CHAIN_THRESHOLD, Flags, MIN_CHAINS_RHAT, MIN_DRAWS, RHAT_THRESHOLD,
    diagnostics, ess_bulk, ess_mean, ess_tail, flag_ess, flag_rhat, mcse_mean, rhat,
};
pub use self::loo::{
    Loo, PARETO_K_BAD, PARETO_K_VERY_BAD, ParetoKCounts, Psis, WAIC_VARIANCE_THRESHOLD, Waic, loo,
    pareto_k_threshold, psis, waic,
};
