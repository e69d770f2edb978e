//! Environments that agents act in: used to simulate choice data and to train agents.
//!
//! An [`Environment`] has discrete states and actions; [`Environment::reset`] starts an
//! episode and [`Environment::step`] returns the reward and the next state (`None` when the
//! episode ends), or an error for an action out of range. Randomness comes from the caller's
//! generator, so runs are reproducible.
//!
//! | environment | task |
//! |---|---|
//! | [`Bandit`] | a multi-armed Bernoulli bandit, optionally reversing |
//! | [`GridWorld`] | the DRA grid world (6 × 9, obstacles, an environment change) |
//! | [`MountainCar`] | the classic mountain car, discretised to 19 × 15 states |
//! | [`PlanningTask`] | the planning task of Huys et al. (2015): 6 nodes, M moves |
//! | [`TwoStepTask`] | the two-step task of Daw et al. (2011): common/rare transitions, drifting payoff probabilities |
//! | [`GoNoGoTask`] | the go/no-go task of Guitart-Masip et al. (2012): action × valence cues |
//! | [`RestlessBandit`] | the restless bandit of Daw et al. (2006): Gaussian payoffs, decaying random-walk means |
//!
//! The task environments are cheap to clone: a trainer that restores a rollout environment
//! from a snapshot with `clone_from` allocates nothing.

mod bandit;
mod go_nogo;
mod grid_world;
mod mountain_car;
mod planning;
mod restless_bandit;
mod two_step;

pub use self::bandit::Bandit;
pub use self::go_nogo::GoNoGoTask;
pub use self::grid_world::{Cell, GridWorld};
pub use self::mountain_car::MountainCar;
pub use self::planning::PlanningTask;
pub use self::restless_bandit::{RestlessBandit, RestlessOptions};
pub use self::two_step::{TwoStepOptions, TwoStepTask};

use rand::Rng;

use crate::error::Result;

/// What one step of an environment returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The reward.
    pub reward: f64,
    /// The next state, or `None` if the episode has ended.
    pub next_state: Option<usize>,
}

/// A task with discrete states and actions.
///
/// ```
/// use rand::Rng;
/// use rlgrad::check;
/// use rlgrad::env::{Environment, Outcome};
/// /// Two states; action 1 in state 0 pays 1 and ends the episode.
/// struct TwoStep;
/// impl Environment for TwoStep {
///     fn n_states(&self) -> usize { 2 }
///     fn n_actions(&self) -> usize { 2 }
///     fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> usize { 0 }
///     fn step<R: Rng + ?Sized>(
///         &mut self,
///         action: usize,
///         _rng: &mut R,
///     ) -> rlgrad::Result<Outcome> {
///         check::index("action", action, self.n_actions())?;
///         Ok(if action == 1 {
///             Outcome { reward: 1.0, next_state: None }
///         } else {
///             Outcome { reward: 0.0, next_state: Some(1) }
///         })
///     }
/// }
/// # use rand::SeedableRng;
/// # let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// assert_eq!(TwoStep.step(1, &mut rng)?.next_state, None);
/// assert!(matches!(TwoStep.step(2, &mut rng), Err(rlgrad::Error::IndexOutOfRange { .. })));
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub trait Environment {
    /// Number of states.
    fn n_states(&self) -> usize;
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Starts an episode and returns its first state.
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize;
    /// Takes an action in the current state.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`](crate::Error::IndexOutOfRange) for an action not below
    /// [`Environment::n_actions`] (implementors check it with
    /// [`check::index`](crate::check::index)`("action", action, self.n_actions())`, and never
    /// panic); the state is then unchanged.
    fn step<R: Rng + ?Sized>(&mut self, action: usize, rng: &mut R) -> Result<Outcome>;
}
