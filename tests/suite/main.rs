//! The integration tests, one module per concern, in one test binary (one link instead of
//! one per file; `tests/alloc.rs` stays apart, because its counting allocator is global).

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod critic;
mod critic_garbage;
mod csv_files;
mod custom_rule;
mod derivatives;
mod dra;
mod environments;
mod fit;
mod garbage;
mod latents;
mod memory;
mod numeric;
mod oracles;
mod population;
mod reinforce;
mod reinforce_garbage;
mod sizes;
mod task_environments;
mod value_stability;
