//! Hierarchical Bayesian fitting: full posteriors for every subject and for the group, by
//! NUTS on the exact gradient of a non-centred hierarchical model, with the chains'
//! convergence diagnostics and model comparison by PSIS-LOO and WAIC.
//!
//! | item | what |
//! |---|---|
//! | [`HyperPrior`], [`Correlation`] | the group-level priors: μ normal, τ half-normal, Ω LKJ or diagonal (`hyperprior.rs`) |
//! | [`Hierarchical`] | the joint log density over the cohort, non-centred, a [`Term`](crate::Term) with an exact gradient; any [`FitModel`](crate::fit::FitModel) through its cohort (`hierarchical.rs`; the LKJ Cholesky factor in `lkj.rs`) |
//! | [`sample`], [`SampleOptions`] | NUTS (nuts-rs, diagonal mass matrix adapted in warm-up) with seeded chains in parallel (`sample.rs`) |
//! | [`Posterior`], [`DrawStats`] | the draws (group, θᵢ, natural parameters, ℓᵢ), the sampler's statistics, the draws as CSV (`posterior.rs`) |
//! | [`Summary`], [`QuantitySummary`] | mean, sd, quantiles, R̂ and ESS of every quantity, the warnings (`summary.rs`) |
//! | [`Posterior::loo`], [`Posterior::waic`] | PSIS-LOO and WAIC with subjects as observations (`criteria.rs`) |
//! | [`posterior_predictive`] | choices simulated at posterior draws (`predictive.rs`) |
//! | [`diagnostics()`], [`rhat`], [`ess_bulk`], [`ess_tail`], [`ess_mean`], [`mcse_mean`] | rank-normalised split-R̂, bulk and tail ESS, the MCSE of the mean, of one quantity's chains (`diagnostics.rs`, autocovariances in `autocov.rs`) |
//! | [`Diagnostics`], [`Flags`], [`flag_rhat`], [`flag_ess`] | the bundle for one quantity and the thresholds R̂ > 1.01, ESS < 100 × chains |
//! | [`loo()`], [`psis`], [`waic()`] | PSIS-LOO with Pareto k̂, the smoothing itself, WAIC, from a draws × observations log-likelihood matrix (`loo.rs`) |
//!
//! The diagnostics and LOO follow ArviZ step by step; `tests/fixtures/bayes/` holds ArviZ's
//! values with their provenance, and the tests hold these functions to them.

mod autocov;
mod criteria;
mod diagnostics;
mod hierarchical;
mod hyperprior;
mod lkj;
mod loo;
mod posterior;
mod predictive;
mod sample;
mod summary;

pub use self::diagnostics::{
    Diagnostics, ESS_PER_CHAIN_THRESHOLD, Flags, MIN_CHAINS_RHAT, MIN_DRAWS, RHAT_THRESHOLD,
    diagnostics, ess_bulk, ess_mean, ess_tail, flag_ess, flag_rhat, mcse_mean, rhat,
};
pub use self::hierarchical::{Hierarchical, Unpacked};
pub use self::hyperprior::{Correlation, HyperPrior};
pub use self::loo::{
    Loo, PARETO_K_BAD, PARETO_K_VERY_BAD, ParetoKCounts, Psis, WAIC_VARIANCE_THRESHOLD, Waic, loo,
    pareto_k_threshold, psis, waic,
};
pub use self::posterior::{DrawStats, Posterior};
pub use self::predictive::{PredictiveDraw, posterior_predictive};
pub use self::sample::{MAX_CHAINS, SampleOptions, sample, sample_with_progress};
pub use self::summary::{QuantitySummary, Summary};
