//! The integration tests, one module per concern, in one test binary (one link instead of
//! one per file; `tests/alloc.rs` stays apart, because its counting allocator is global).

#[path = "../common/mod.rs"]
mod common;

mod ad;
mod bad_input;
mod bayes_diagnostics;
mod choice_kernel;
mod cohort;
mod critic;
mod critic_garbage;
mod csv_files;
mod custom_rule;
mod derivatives;
mod dra;
mod environments;
mod fit;
mod garbage;
mod go_nogo;
mod hierarchical;
mod kalman;
mod lapse;
mod latents;
mod memory;
mod missed;
mod numeric;
mod oracles;
mod per_state;
mod population;
mod python_fixture;
mod reinforce;
mod reinforce_garbage;
mod sizes;
mod task_environments;
mod two_step;
mod value_stability;
