//! Shared test helpers, one concern per file:
//!
//! - [`models`]: the model variants, proptest strategies for random sessions, subjects and θ
//!   over them, and the posterior objective;
//! - [`nasty`]: garbage numbers and indices for the no-panic suites;
//! - [`linalg`]: independent oracles (dense linear algebra straight from nalgebra, not
//!   through the crate's own seam);
//! - [`ulp`]: ulp distances of the f64 kernels against reference functions;
//! - [`stats`]: sample means, variances, standard errors, correlation;
//! - [`critic`]: activations, owned transitions and replay buffers for the critic;
//! - [`chain`]: the chain MDP with exactly solved values;
//! - [`cohort`]: subjects simulated on a reversal bandit;
//! - [`reinforce`]: REINFORCE fixtures (every baseline);
//! - [`policy_terms`]: a policy's log-probability (marginal, or of a decision given its
//!   noise) as a `Term` over θ, for the derivative checker.
//!
//! `stats`, `chain`, `cohort` and `reinforce` are also compiled into examples and benches
//! with `#[path = "../tests/common/<file>.rs"]`, so they import nothing from the others and
//! carry their own `#![allow(dead_code)]`.
//!
//! Every test binary uses only part of this, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod chain;
pub mod cohort;
pub mod critic;
pub mod linalg;
pub mod models;
pub mod nasty;
pub mod policy_terms;
pub mod reinforce;
pub mod stats;
pub mod ulp;
