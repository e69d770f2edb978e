//! [`Real`]: the floating-point types the numeric kernels are generic over.
//!
//! The scalar kernels ([`crate::numeric`]) and the transforms ([`crate::params::Transform`])
//! are generic over `F: Real`, so they work for `f32`, `f64` and for dual numbers in
//! downstream automatic-differentiation checks. Everything that touches data, linear algebra
//! or an optimiser uses `f64`, which is the default everywhere.
//!
//! ```
//! use rlgrad::Real;
//! fn half<F: Real>(x: F) -> F { x * F::from(0.5).unwrap() }
//! assert_eq!(half(3.0_f32), 1.5);
//! assert_eq!(half(3.0_f64), 1.5);
//! ```

use num_traits::{Float, FloatConst};

/// A real floating-point scalar: `f32`, `f64`, or anything else with the same operations.
///
/// Blanket-implemented for every type that satisfies the bounds; there is nothing to
/// implement by hand.
pub trait Real:
    Float + FloatConst + Copy + Send + Sync + std::fmt::Debug + std::fmt::Display + 'static
{
}

impl<T> Real for T where
    T: Float + FloatConst + Copy + Send + Sync + std::fmt::Debug + std::fmt::Display + 'static
{
}
