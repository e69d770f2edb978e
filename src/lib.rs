//! # rlgrad
//!
//! Values and exact first and second derivatives of reinforcement-learning (RL) models, for
//! fitting them to people's and animals' choices and for training memory-limited agents.
//!
//! ## Quick start
//!
//! Simulate a subject on a two-armed bandit, then fit a Rescorla–Wagner + softmax model by
//! MAP under a Gaussian prior:
//!
//! ```
//! use rlgrad::prelude::*;
//!
//! let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
//! let truth = model.layout().theta_from_natural(&[("alpha", 0.3), ("beta", 5.0)])?;
//! let mut rng = ChaCha8Rng::seed_from_u64(42);
//! let mut env = Bandit::new(vec![0.8, 0.2])?.with_reversals(50)?;
//! let session = model.simulate(truth.view(), &mut env, 300, "1", &mut rng)?;
//! let data = Dataset::new(vec![Subject::new("s1", vec![session])?])?;
//!
//! let prior = MvGaussian::isotropic(model.n_params(), 0.0, 4.0)?;
//! let fits = rlgrad::fit::map(&model, &data, &prior, &MapOptions::default(), &mut rng)?;
//! let fit = fits[0].fit().expect("the subject was fitted");
//! assert!(fit.converged && !fit.hessian_repaired);
//! println!("{} (se {})", fit.params, fit.se);
//! # Ok::<(), rlgrad::Error>(())
//! ```
//!
//! `rlgrad = "0.1"` is the one line a project needs: the crates whose types and traits appear
//! in the API are re-exported in the versions rlgrad is built with ([`ndarray`], [`rand`],
//! [`rand_chacha`], [`argmin`]), and the prelude has `SeedableRng` and `ChaCha8Rng`.
//!
//! ## How the pieces fit
//!
//! ```text
//! Dataset ─► Subject ─► Session (states, actions, rewards as columns)
//! θ (unconstrained) ─► ParamLayout / Transform ─► ψ (natural: alpha, beta, …)
//! LearningRule: Q and forward sensitivities D = ∂Q/∂ψ, E = ∂²Q/∂ψ², trial by trial
//! Observation:  log p(a | Q[s,·]; ψ) and its derivatives w.r.t. Q and ψ
//! Likelihood<L, O> : Term      MvGaussian : Term      (your own) : Term
//!        └──────────── Objective = Σ wᵢ · termᵢ (itself a Term) ─────┘
//!                              │
//!                 fit::map (L-BFGS, multi-start, exact Hessian, standard errors)
//! ```
//!
//! ## The chain rule
//!
//! For a session, ℓ = Σₜ log p(aₜ | Q\[sₜ,·\]). The gradient with respect to a learning-rule
//! parameter is Σₜ Σⱼ ∂ℓₜ/∂Qⱼ · ∂Q\[sₜ,j\]/∂ψ, where the sensitivities are carried forward by
//! the rule's own recursion; for Rescorla–Wagner ∂Q′/∂α = (1 − α)·∂Q/∂α + (r − Q) — the
//! carried term is essential. Derivatives with respect to θ go through the transforms:
//! ∂/∂θₖ = g′ₖ ∂/∂ψₖ, and ∂²/∂θₖ∂θₗ = g′ₖ g′ₗ ∂²/∂ψₖ∂ψₗ + 1[k=l] g″ₖ ∂/∂ψₖ.
//!
//! ## Sign convention
//!
//! Every component returns a log-quantity in its natural direction: log-likelihood,
//! log-prior, log-probability; a cost enters an [`Objective`] with a negative weight. Exactly
//! one place negates: [`fit::Minimize`], the adapter that hands an objective to a minimiser.
//!
//! ## Errors and panics
//!
//! Bad input — malformed data, an action or state the model was not built for, a non-finite
//! reward, θ of the wrong length or with NaN/∞ entries, buffers of the wrong shape, a
//! covariance that is not symmetric positive definite, a non-finite sample value, reward or
//! critic input ([`Error::NonFiniteInput`]), an index out of range
//! ([`Error::IndexOutOfRange`]), invalid options or sizes too large to allocate — returns an
//! [`Error`] naming the subject, session, trial, line, column or value at fault. At extreme
//! (finite) θ, a transform that overflows is an [`Error::InvalidParameter`] naming the
//! parameter and θ entry, and a computation that overflows is an [`Error::NonFiniteResult`]
//! naming what and where: never a NaN. Input is validated once, at construction or
//! at the public boundary; the per-trial loops are then infallible and allocation-free.
//!
//! A panic means a bug in this crate (a violated internal invariant), with documented exceptions
//! where a caller breaks a low-level contract rather than passing data: the per-trial trait
//! methods ([`LearningRule::update`](learning::LearningRule::update), feature maps) may panic on
//! buffers of the wrong length, which the crate's own callers never pass.
//!
//! ## Models
//!
//! | component | parameters (default transform) |
//! |---|---|
//! | [`RescorlaWagner::new`](learning::RescorlaWagner::new) | `alpha` (logistic onto (0, 1)) |
//! | [`RescorlaWagner::dual`](learning::RescorlaWagner::dual) | `alpha_pos`, `alpha_neg` |
//! | `…with_learned_initial_value()` | adds `q0` (identity) |
//! | [`Softmax::new`](observation::Softmax::new) | `beta` (exp) |
//! | [`Softmax::with_perseveration`](observation::Softmax::with_perseveration) | `beta`, `kappa` (identity) |
//! | [`MvGaussian`](prior::MvGaussian) | prior on θ, full covariance |
//!
//! ## Features
//!
//! | feature | effect |
//! |---|---|
//! | (default) | pure-Rust dense linear algebra (nalgebra); no system libraries |
//! | `openblas-system` | linear algebra through ndarray-linalg and the system OpenBLAS |
//! | `lapack` | the ndarray-linalg path without a backend: does not build alone |
//!
//! ## Critics
//!
//! [`critic`]: a two-layer neural TD critic Q̂(z) = w₁ᵀ φ₁(W₂ᵀ φ₂(z)) with exact gradients of
//! Q̂ and of the TD error (full and semi-gradient), the squared TD error of a batch as a
//! [`Term`] (exact Hessian), the linearised TD error, and the normalised replay update with
//! its contraction matrix.
//!
//! ## Policy gradients
//!
//! [`policy`] has stochastic policies and sampling distributions that give their score
//! ∇θ log p ([`policy::SoftmaxPolicy`], [`policy::GaussianMean`], or your own
//! [`policy::Policy`] / [`policy::ScoreFunction`]); [`estimator`] turns samples or recorded
//! episodes into unbiased REINFORCE estimates of ∇θ E\[f\] or ∇θ E\[Σ rewards\] with a choice of
//! baselines, and into surrogate [`Term`]s whose exact gradient is the estimate.
//!
//! ## Memory-limited agents
//!
//! [`dra`]: dynamic resource allocation (Patel, Acerbi & Pouget 2020). Every memory is
//! N(q̄, σ²); the agent acts by soft Thompson sampling ([`policy::MemoryPolicy`], a
//! [`policy::Policy`] whose decisions carry their noise ζ, with the exact score
//! ∂ log π/∂σ), pays the KL resource cost [`cost::KlCost`] (a [`Term`], exact Hessian), and
//! moves σ by REINFORCE over offline rollouts through the crate's estimator. The tasks of the
//! paper are in [`env`](mod@env) ([`env::GridWorld`], [`env::MountainCar`], [`env::PlanningTask`]);
//! [`dra::train_runs`] runs seeded restarts in parallel, with the paper's presets.
//!
//! ```
//! use rlgrad::dra::{DraConfig, train};
//! use rlgrad::env::GridWorld;
//! let mut config = DraConfig::grid_world_published(3.0); // σ₀ = 3
//! config.n_trials = 40;
//! config.eval_every = 20;
//! let log = train(&GridWorld::paper(), &config, 1)?;
//! for p in &log.curve {
//!     println!("trial {}: return {:.1}, cost {:.2}", p.trial, p.return_mean, p.cost);
//! }
//! # Ok::<(), rlgrad::Error>(())
//! ```
//!
//! ## Trial-wise latents
//!
//! [`Model::latents`] gives, at a fitted θ̂, every trial's values before the update, prediction
//! error, choice probabilities and log-likelihood contribution as a [`Latents`] (columns, and
//! CSV through [`Latents::write_csv`]): the regressors of model-based fMRI and EEG analyses.
//!
//! ## Checking your own components
//!
//! [`testing::check_term`] compares any term's gradient and Hessian with central finite differences
//! and checks the [`Term`] contract; wrap your own [`LearningRule`](learning::LearningRule) or
//! [`Observation`](observation::Observation) in a [`Model`] and check its [`Likelihood`]. Validate
//! your component's arguments with [`check`], so that its errors read like the crate's; the
//! repository's `CONTRIBUTING.md` lists what makes a component complete, and `ARCHITECTURE.md`
//! where each concern lives.
//!
//! ## Acronyms
//!
//! DRA: dynamic resource allocation (Patel, Acerbi & Pouget 2020), memory-limited agents whose
//! memories N(q̄, σ²) get their precision by gradient ascent on reward minus a KL cost. KL:
//! Kullback–Leibler divergence. L-BFGS: the limited-memory quasi-Newton optimiser. MAP: maximum
//! a posteriori. MCSE: Monte Carlo standard error. MDP: Markov decision process. NUTS: the
//! No-U-Turn Sampler. PSIS-LOO: Pareto-smoothed importance sampling leave-one-out. R̂: the
//! potential scale reduction factor. ESS: effective sample size. LKJ: the
//! Lewandowski–Kurowicka–Joe distribution of correlation matrices. WAIC: widely applicable
//! information criterion. REINFORCE: the score-function policy-gradient
//! estimator. RL: reinforcement learning. RW: Rescorla–Wagner. SE: standard error. TD:
//! temporal difference. ulp: unit in the last place.

#![deny(missing_docs)]
#![warn(clippy::all)]

pub mod ad;
pub mod bayes;
pub mod check;
pub mod cohort;
pub mod cost;
pub mod critic;
pub mod data;
pub mod dra;
pub mod env;
mod error;
pub mod estimator;
mod fd;
pub mod fit;
mod latents;
pub mod learning;
mod likelihood;
mod linalg;
pub mod menu;
mod model;
pub mod numeric;
mod objective;
pub mod observation;
pub mod params;
#[cfg(feature = "plots")]
pub mod plots;
pub mod policy;
pub mod prior;
mod real;
mod slices;
pub mod task;
mod term;
pub mod testing;

// The crates whose types and traits appear in rlgrad's API, so that `rlgrad = "0.1"` is the
// one line a project needs: `rlgrad::ndarray::arr1`, `rlgrad::rand::SeedableRng`,
// `rlgrad::rand_chacha::ChaCha8Rng`, `rlgrad::argmin::core::CostFunction` (which
// `fit::Minimize` implements) are the very versions rlgrad is built with.
pub use argmin;
pub use ndarray;
pub use rand;
pub use rand_chacha;

// One public path per item: the items of private modules are re-exported here; those of
// public modules live there (the prelude excepted, which collects what most programs need).
pub use crate::error::{Error, Result};
pub use crate::latents::Latents;
pub use crate::likelihood::Likelihood;
pub use crate::model::Model;
pub use crate::objective::Objective;
pub use crate::real::Real;
pub use crate::term::Term;

/// The names most programs need: `use rlgrad::prelude::*;`.
pub mod prelude {
    pub use crate::data::{CsvOptions, Dataset, Session, Subject, read_csv};
    pub use crate::env::{Bandit, Environment, GridWorld, MountainCar, PlanningTask};
    pub use crate::estimator::{
        Baseline, Batch, Episodes, Estimator, Reinforce, SequentialReinforce, StepRecord, Weighting,
    };
    pub use crate::fit::{MapFit, MapOptions, SubjectFit};
    pub use crate::params::{NamedParams, ParamLayout, ParamSpec, Transform};
    pub use crate::policy::{MemoryPolicy, Policy, ScoreFunction, SoftmaxPolicy};
    pub use crate::prior::{MvGaussian, Prior};
    // A seeded generator, so that a program needs no `rand` of its own (whose version would
    // have to match rlgrad's).
    pub use rand::SeedableRng;
    pub use rand_chacha::ChaCha8Rng;
    // `Result` stays out: it would shadow `std::result::Result` in `fn main() -> Result<…>`.
    pub use crate::learning::{LearningRule, RescorlaWagner};
    pub use crate::observation::{Lapse, Observation, Softmax};
    pub use crate::{Error, Likelihood, Model, Objective, Term};
}

/// The README's code blocks, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
