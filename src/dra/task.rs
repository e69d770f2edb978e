//! [`DraTask`]: what the DRA trainer needs of a task besides the [`Environment`]: its known
//! memories and its environment change.

use crate::env::Environment;
use crate::error::{Error, Result};

/// A memory whose mean is known and whose precision is not allocated: it keeps q̄ and σ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedMemory {
    /// Its index in the S × A table (s·A + a).
    pub index: usize,
    /// Its mean q̄.
    pub q_bar: f64,
    /// Its fixed standard deviation.
    pub sigma: f64,
}

/// A task the DRA trainer can run: an [`Environment`] that can be cloned (the offline
/// rollouts replay the trial's start through clones, made with `clone_from`, which the
/// crate's tasks do without allocating), with optional known memories and an optional
/// environment change.
///
/// The crate's [`GridWorld`](crate::env::GridWorld), [`MountainCar`](crate::env::MountainCar)
/// and [`PlanningTask`](crate::env::PlanningTask) implement it; a user's task implements
/// [`Environment`] and then `impl DraTask for MyTask {}` for the defaults.
pub trait DraTask: Environment + Clone + Send + Sync {
    /// Memories with known means and fixed σ (the planning task's last move). None by
    /// default.
    fn fixed_memories(&self) -> Vec<FixedMemory> {
        Vec::new()
    }

    /// Applies the task's environment change (the grid world's: a wall removed, the goal
    /// moved).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] by default: the task has none.
    fn change_environment(&mut self) -> Result<()> {
        Err(Error::invalid_option(
            "change_at",
            "Some(..)",
            "this task has no environment change",
        ))
    }
}
