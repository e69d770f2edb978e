//! Environments that agents act in: used to simulate choice data and to train agents.
//!
//! An [`Environment`] has discrete states and actions; [`Environment::reset`] starts an
//! episode and [`Environment::step`] returns the reward and the next state (`None` when the
//! episode ends). Randomness comes from the caller's generator, so runs are reproducible.

mod bandit;

pub use self::bandit::Bandit;

use rand::Rng;

/// What one step of an environment returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The reward.
    pub reward: f64,
    /// The next state, or `None` if the episode has ended.
    pub next_state: Option<usize>,
}

/// A task with discrete states and actions.
pub trait Environment {
    /// Number of states.
    fn n_states(&self) -> usize;
    /// Number of actions.
    fn n_actions(&self) -> usize;
    /// Starts an episode and returns its first state.
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize;
    /// Takes an action (which must be below [`Environment::n_actions`]) in the current state.
    fn step<R: Rng + ?Sized>(&mut self, action: usize, rng: &mut R) -> Outcome;
}
