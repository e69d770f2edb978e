//! Dynamic resource allocation (DRA) for memory-limited agents (Patel, Acerbi & Pouget
//! 2020; seed 001, spec `dra.md`).
//!
//! Every state–action memory is N(q̄ₛₐ, σ²ₛₐ); the agent acts by soft Thompson sampling
//! ([`MemoryPolicy`](crate::policy::MemoryPolicy)) and allocates its precision σ by
//! stochastic gradient ascent on
//!
//! ```text
//! F(σ) = E[Σₜ γᵗ rₜ] − λ · D_KL(N(q̄, diag σ²) ‖ N(q̄, σ_base² I))
//! ```
//!
//! with the reward gradient estimated by REINFORCE over offline rollouts
//! ([`Episodes`](crate::estimator::Episodes) and
//! [`SequentialReinforce`](crate::estimator::SequentialReinforce): DRA is one client of the
//! crate's estimator) and the cost's gradient from [`KlCost`](crate::cost::KlCost).
//!
//! | item | what |
//! |---|---|
//! | [`DraConfig`], [`Psi`], [`Allocation`], [`BetaSchedule`], [`QInit`] | parameters, presets (Table B.1, the published runs) |
//! | [`DraTask`], [`FixedMemory`] | what a task supplies besides its dynamics |
//! | [`train`], [`train_with`], [`Progress`], [`Trainer`] | one seeded run, with a progress callback, or trial by trial |
//! | [`train_runs`], [`CurveSummary`], [`MeanSe`] | independent restarts in parallel, mean ± s.e. |
//! | [`TrainingLog`], [`EvalPoint`], [`Snapshot`] | what a run records (serde) |
//! | [`dprime`] | the discriminability analysis of the planning task |
//!
//! ```
//! use rlgrad::dra::{DraConfig, train};
//! use rlgrad::env::GridWorld;
//! let mut config = DraConfig::grid_world_published(3.0);
//! config.n_trials = 50;
//! config.eval_every = 25;
//! config.eval_episodes = 10;
//! let log = train(&GridWorld::paper(), &config, 7)?;
//! assert_eq!(log.curve.len(), 2); // after trials 0 and 25
//! assert_eq!(log.sigma.len(), 6 * 9 * 4);
//! # Ok::<(), rlgrad::Error>(())
//! ```

mod config;
pub mod dprime;
mod log;
mod runs;
mod task;
mod tasks;
mod train;

pub use self::config::{Allocation, BetaSchedule, DraConfig, Psi, QInit};
pub use self::log::{EvalPoint, Snapshot, TrainingLog};
pub use self::runs::{CurveSummary, MeanSe, train_runs};
pub use self::task::{DraTask, FixedMemory};
pub use self::train::{Progress, Trainer, train, train_with};
