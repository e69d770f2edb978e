//! Learning rules: how values Q ∈ ℝ^{S×A} change trial by trial, with their forward
//! sensitivities.
//!
//! A rule carries, next to Q, the first sensitivities D = ∂Q/∂ψ and the second E = ∂²Q/∂ψ²
//! with respect to its own natural parameters ψ, updated by the same recursion as Q
//! (forward-mode differentiation). The [`Likelihood`](crate::Likelihood) contracts them with
//! the observation model's derivatives. The work done is chosen at compile time by the
//! `ORDER` const parameter:
//!
//! | `ORDER` | updates | `d`, `e` buffers |
//! |---|---|---|
//! | [`order::VALUE`] = 0 | Q | empty, untouched |
//! | [`order::GRADIENT`] = 1 | Q, D | `d` has length S·A·K; `e` empty |
//! | [`order::HESSIAN`] = 2 | Q, D, E | `d` as above; `e` has length S·A·K·K |
//!
//! Layout (K = number of the rule's parameters, i = [`TableShape::index`]`(s, a)`):
//! `q[i]`, `d[i·K + k]` = ∂Q\[i\]/∂ψₖ, `e[(i·K + k)·K + l]` = ∂²Q\[i\]/∂ψₖ∂ψₗ.
//!
//! Methods take plain slices and return nothing: they run once per trial, inside the hot
//! loop, so they neither allocate nor fail. Parameters are validated once per evaluation by
//! [`LearningRule::check_params`].
//!
//! To add a rule, implement this trait and check it with [`crate::testing`], which compares
//! the likelihood's analytic gradient and Hessian with finite differences.

mod rescorla_wagner;

pub use self::rescorla_wagner::RescorlaWagner;

use crate::error::Result;
use crate::params::ParamSpec;

/// Compile-time derivative orders for [`LearningRule`] and
/// [`Observation`](crate::observation::Observation).
pub mod order {
    /// Values only.
    pub const VALUE: usize = 0;
    /// Values and first derivatives.
    pub const GRADIENT: usize = 1;
    /// Values, first and second derivatives.
    pub const HESSIAN: usize = 2;
}

/// Size of the value table and the flat index of an entry.
///
/// ```
/// let shape = rlgrad::learning::TableShape { n_states: 3, n_actions: 2 };
/// assert_eq!(shape.index(2, 1), 5);
/// assert_eq!(shape.len(), 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableShape {
    /// Number of states S.
    pub n_states: usize,
    /// Number of actions A.
    pub n_actions: usize,
}

impl TableShape {
    /// S · A.
    #[inline]
    pub fn len(&self) -> usize {
        self.n_states * self.n_actions
    }
    /// Whether the table is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Flat index s · A + a (row-major: a state's actions are contiguous).
    #[inline]
    pub fn index(&self, state: usize, action: usize) -> usize {
        state * self.n_actions + action
    }
}

/// What a rule sees of one trial.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// State sₜ.
    pub state: usize,
    /// Action aₜ.
    pub action: usize,
    /// Reward rₜ.
    pub reward: f64,
    /// Next state s′ₜ, if recorded and not terminal (for rules that bootstrap).
    pub next_state: Option<usize>,
}

/// What a model does on a missed trial (no response, [`MISSED`](crate::data::MISSED)), set
/// with [`Model::with_missed`](crate::Model::with_missed). In both cases the trial adds
/// nothing to the likelihood and leaves the previous action (for perseveration) unchanged.
///
/// ```
/// use rlgrad::learning::Missed;
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?.with_missed(Missed::Learn);
/// assert_eq!(model.missed(), Missed::Learn);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Missed {
    /// The trial changes no value (the default): as if it were not there, except that it is
    /// counted and reported.
    #[default]
    Skip,
    /// The rule learns what it can without an action from the trial's outcome:
    /// [`LearningRule::update_missed`]. For [`RescorlaWagner`], which learns only the chosen
    /// action's value, this changes nothing; a rule with action-independent values (a
    /// Pavlovian V(s)) or with change in time (decay, a Kalman filter's diffusion) overrides
    /// `update_missed`.
    Learn,
}

/// A learning rule with forward sensitivities (see the module docs for the layout).
///
/// The repository's `tests/suite/custom_rule.rs` implements a complete rule outside the crate
/// (Rescorla–Wagner with forgetting) and proves its derivatives with [`crate::testing`]; it
/// is the template for a new rule. Using a rule directly:
///
/// ```
/// use rlgrad::learning::{order, Step, TableShape};
/// use rlgrad::learning::{LearningRule, RescorlaWagner};
/// let rw = RescorlaWagner::new();
/// let shape = TableShape { n_states: 1, n_actions: 2 };
/// let (mut q, mut d) = (vec![0.0; 2], vec![0.0; 2]);
/// rw.reset::<{ order::GRADIENT }>(&[0.5], shape, &mut q, &mut d, &mut []);
/// let step = Step { state: 0, action: 1, reward: 1.0, next_state: None };
/// rw.update::<{ order::GRADIENT }>(&[0.5], shape, step, &mut q, &mut d, &mut []);
/// assert_eq!(q, [0.0, 0.5]); // Q ← Q + α(r − Q)
/// assert_eq!(d, [0.0, 1.0]); // ∂Q/∂α = (1 − α)·0 + (r − Q)
/// ```
pub trait LearningRule: Send + Sync {
    /// Whether [`LearningRule::update`] reads [`Step::next_state`]. When `false` (the
    /// default) the likelihood does not load the next-state column and passes `None`.
    const USES_NEXT_STATE: bool = false;

    /// The rule's natural parameters, in the order it reads them from ψ, with their default
    /// transforms.
    fn params(&self) -> Vec<ParamSpec>;

    /// Checks natural parameter values (for example a learning rate in [0, 1]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming the parameter.
    fn check_params(&self, psi: &[f64]) -> Result<()> {
        let _ = psi;
        Ok(())
    }

    /// Sets Q (and D, E up to `ORDER`) to their values at the start of a session.
    fn reset<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    );

    /// The prediction error δ of one trial, from the values `q` (the whole table, S·A)
    /// before the trial's update, with the same `step` [`LearningRule::update`] receives.
    ///
    /// It is what [`Model::latents`](crate::Model::latents) reports per trial, not part of the
    /// likelihood. The default is the delta rule's error r − Q\[s,a\], which is the error of
    /// [`RescorlaWagner`] with one or two rates (the dual rule picks its rate by the sign of
    /// this δ). A rule whose error differs overrides it: one that bootstraps, for example,
    /// returns r + γ·V(s′) − Q\[s,a\] from [`Step::next_state`] (which is `None` unless
    /// [`LearningRule::USES_NEXT_STATE`]).
    ///
    /// ```
    /// use rlgrad::learning::{LearningRule, RescorlaWagner, Step, TableShape};
    /// let shape = TableShape { n_states: 1, n_actions: 2 };
    /// let step = Step { state: 0, action: 1, reward: 1.0, next_state: None };
    /// let delta = RescorlaWagner::new().prediction_error(&[0.5], shape, step, &[0.0, 0.25]);
    /// assert_eq!(delta, 0.75); // r − Q[0, 1]
    /// ```
    ///
    /// # Panics
    /// May panic if `q` is shorter than `shape` or the step is outside it (a contract with
    /// the caller, as for [`LearningRule::update`]).
    #[inline]
    fn prediction_error(&self, psi: &[f64], shape: TableShape, step: Step, q: &[f64]) -> f64 {
        let _ = psi;
        step.reward - q[shape.index(step.state, step.action)]
    }

    /// Updates Q (and D, E up to `ORDER`) after a missed trial (no response) in `state` with
    /// outcome `reward`, when the model learns from missed trials ([`Missed::Learn`]): the part
    /// of the rule that needs no action (values of states rather than actions, decay or
    /// diffusion in time). Derivatives as in [`LearningRule::update`].
    ///
    /// The default changes nothing: the right update for a rule that learns only the chosen
    /// action's value, such as [`RescorlaWagner`]. The repository's
    /// `tests/suite/custom_rule.rs` overrides it (forgetting that acts on every trial).
    ///
    /// # Panics
    /// As [`LearningRule::update`].
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn update_missed<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        state: usize,
        reward: f64,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    ) {
        let _ = (psi, shape, state, reward, q, d, e);
    }

    /// Updates Q (and D, E up to `ORDER`) after one trial. D and E must be updated from the
    /// values before the trial, including the carried terms.
    ///
    /// # Panics
    /// May panic if the buffers do not have the lengths in the module docs or the step's
    /// state or action is outside `shape` (the likelihood guarantees both; this is a
    /// contract with the caller, not input validation).
    fn update<const ORDER: usize>(
        &self,
        psi: &[f64],
        shape: TableShape,
        step: Step,
        q: &mut [f64],
        d: &mut [f64],
        e: &mut [f64],
    );
}
