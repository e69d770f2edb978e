//! [`DraTask`]: what the DRA trainer needs of a task besides the [`Environment`]: its known
//! memories and its environment change.

use crate::env::Environment;
use crate::error::{Error, Result};

/// A memory whose mean is known and whose precision is not allocated: it keeps q̄ and σ
/// (expected SARSA does not update it, the σ step does not move it), and it is left out of
/// the KL cost. (Spec §2 sums the cost over every memory of the table; for the planning task,
/// whose known last-move memories are the only fixed ones, §6 says they are not allocated, so
/// they are not priced: with λ = 1, σ_base = 100 and σ = 1, counting them would add a constant
/// ½(10⁻⁴ − 1 + ln 10⁴) ≈ 4.1 per memory to every reported cost and change no gradient.)
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
    /// moved). The grid world's change toggles: applying it twice restores the world, so a
    /// run that starts from [`GridWorld::paper_changed`](crate::env::GridWorld::paper_changed)
    /// with `change_at` set goes back to the original world.
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
