//! Hierarchical Bayesian fitting: full posteriors for every subject and for the group, by
//! NUTS on the exact gradient of a non-centred hierarchical model.
//!
//! - [`HyperPrior`] and [`Correlation`]: the group-level priors.
//! - [`Hierarchical`]: the joint log density over the cohort, a [`Term`](crate::Term).
//! - [`sample`]: NUTS (nuts-rs) with several seeded chains in parallel, into a
//!   [`Posterior`].

mod hierarchical;
mod hyperprior;
mod lkj;
mod posterior;
mod predictive;
mod sample;

pub use self::hierarchical::{Hierarchical, Unpacked};
pub use self::hyperprior::{Correlation, HyperPrior};
pub use self::posterior::{DrawStats, Posterior};
pub use self::predictive::{PredictiveDraw, posterior_predictive};
pub use self::sample::{MAX_CHAINS, SampleOptions, sample, sample_with_progress};
