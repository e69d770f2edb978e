//! Fitting: maximise a [`Term`](crate::Term) with L-BFGS, and MAP estimation per subject.
//!
//! - [`Minimize`] adapts any term to argmin's `CostFunction`, `Gradient` and `Hessian`
//!   traits. It is the one place in the crate where the sign flips (argmin minimises,
//!   terms are log-quantities to maximise).
//! - [`maximize`] runs argmin's L-BFGS with a More–Thuente line search from one start.
//! - [`map`] fits every subject of a dataset (in parallel with rayon) under a prior, from
//!   several seeded starts, and reports per subject the named estimates, the exact Hessian,
//!   standard errors and how the optimiser stopped. A subject whose fit fails is reported,
//!   never dropped.
//! - [`em`] estimates a cohort's group prior by empirical-Bayes EM; [`compare`] scores
//!   models; [`parameter_recovery`] and [`model_recovery`] check what can be recovered.

mod compare;
mod em;
mod identification;
mod map;
mod minimize;
mod model;
mod recovery;

pub use self::compare::{
    CompareOptions, Comparison, Criterion, Ibic, ModelScore, SubjectScores, compare, ibic,
    laplace_log_evidence,
};
pub use self::em::{
    Covariance, EStep, EStepTask, EmFit, EmIteration, EmOptions, EmRun, TaskId, e_step, em,
    em_with_progress,
};
pub use self::identification::Identification;
pub use self::map::{
    FitFailure, MapFit, MapOptions, SubjectFit, map, map_subject, map_with_progress,
};
pub use self::minimize::{MAX_HISTORY, MaximizeOptions, Maximum, Minimize, maximize};
pub use self::model::{FitModel, check_explains};
pub use self::recovery::{
    Candidate, ModelRecovery, ModelRecoveryOptions, ParameterRecovery, RecoveredSubject,
    RecoveryCohort, RecoveryFit, RecoveryStats, Scale, Simulate, Simulator, TaskSimulator, Truth,
    model_recovery, parameter_recovery, recovery_stats,
};
