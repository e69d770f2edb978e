//! The cohort kernel alone (src/cohort/kernel.rs with the lanes it uses), compiled by
//! `.ci/check-simd` at full optimisation so that the disassembly of its copies can be checked
//! for packed instructions: the crate in release takes minutes to build, this file seconds.
//! The kernel's copies are whole functions (everything inside them is inlined), so their code
//! here is the code the crate links.

#![allow(dead_code, unused_imports)]

#[path = "../src/numeric/lanes.rs"]
mod lanes;

/// What the kernel imports as `crate::numeric`.
mod numeric {
    pub use super::lanes::{Lanes, exp_nonpositive_lanes};
}

#[path = "../src/cohort/kernel.rs"]
pub mod kernel;
