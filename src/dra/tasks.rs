//! The crate's tasks as [`DraTask`]s: the grid world (with its environment change), mountain
//! car, and the planning task (its last move's memories known and fixed at σ = 1).

use super::task::{DraTask, FixedMemory};
use crate::env::{Environment, GridWorld, MountainCar, PlanningTask};
use crate::error::{Error, Result};

impl DraTask for GridWorld {
    fn change_environment(&mut self) -> Result<()> {
        if self.apply_change() {
            Ok(())
        } else {
            Err(Error::invalid_option(
                "change_at",
                "Some(..)",
                "this grid world has no environment change (see GridWorld::with_change)",
            ))
        }
    }
}

impl DraTask for MountainCar {}

/// The standard deviation of the planning task's known last-move memories.
pub(super) const KNOWN_SIGMA: f64 = 1.0;

impl DraTask for PlanningTask {
    fn fixed_memories(&self) -> Vec<FixedMemory> {
        let a_n = self.n_actions();
        self.last_level_states()
            .flat_map(|s| {
                let node = s % 6;
                (0..a_n).map(move |a| (s, node, a))
            })
            .filter_map(|(s, node, a)| {
                self.reward(node, a).ok().map(|r| FixedMemory {
                    index: s * a_n + a,
                    q_bar: r,
                    sigma: KNOWN_SIGMA,
                })
            })
            .collect()
    }
}
