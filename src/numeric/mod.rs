//! Numerically stable kernels shared by the components: the logistic family, the inlined
//! exponential and what is built on it, and the one softmax kernel.
//!
//! | kernel | what |
//! |---|---|
//! | [`logistic`], [`softplus`] | generic over [`Real`] |
//! | [`exp_nonpositive`], [`fast_tanh`], [`logistic_pair`], [`softplus_with_logistic`], [`log_logistic_parts`] | f64, on one inlined exponential |
//! | [`SoftmaxNorm`], [`softmax_probabilities`], [`draw`], [`log_sum_exp`] | the softmax: normaliser, log-probabilities, probabilities, the sampling draw |
//! | [`Lanes`], [`exp_nonpositive_lanes`] | f64 lanes for SIMD kernels (the cohort kernel): arithmetic, masks, a table-free exponential |
//! | [`normal_expectation`] | E\[f(z)\] under N(0, 1) by composite Gauss–Legendre, refined where f is sharp |
//!
//! All functions are total on finite input: no overflow for arguments of any finite size,
//! no NaN when arguments are equal.
//!
//! ```
//! use rlgrad::numeric::{log_sum_exp, logistic, softplus};
//! assert_eq!(softplus(-1000.0_f64), 0.0);
//! assert_eq!(softplus(1000.0_f64), 1000.0);
//! assert!((logistic(0.0_f64) - 0.5).abs() < 1e-15);
//! assert!((log_sum_exp(&[1e3, 1e3]) - (1e3 + 2f64.ln())).abs() < 1e-12);
//! ```

mod exp;
mod lanes;
mod quadrature;
mod softmax;
mod sums;

pub use self::exp::{
    exp_nonpositive, fast_tanh, log_logistic_parts, logistic_pair, softplus_with_logistic,
};
pub use self::lanes::{Lanes, exp_nonpositive_lanes};
pub use self::quadrature::normal_expectation;
pub use self::softmax::{SoftmaxNorm, draw, softmax_probabilities};
pub(crate) use self::sums::{dot, mean_and_se, mean_of, norm2};

use crate::Real;

/// The logistic function σ(x) = 1 / (1 + e^(−x)), computed without overflow.
#[inline]
pub fn logistic<F: Real>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

/// softplus(x) = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^(−|x|)).
#[inline]
pub fn softplus<F: Real>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// ln Σᵢ exp(xᵢ), shifted by the maximum so that it neither overflows nor underflows
/// (through the softmax normaliser, [`SoftmaxNorm`]).
///
/// Returns −∞ for an empty slice (the log of an empty sum) or when every entry is −∞, +∞ if
/// an entry is +∞, and NaN if an entry is NaN.
///
/// ```
/// use rlgrad::numeric::log_sum_exp;
/// assert!((log_sum_exp(&[0.0, 0.0, 0.0]) - 3f64.ln()).abs() < 1e-15);
/// assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
/// assert_eq!(log_sum_exp(&[f64::INFINITY, f64::NEG_INFINITY]), f64::INFINITY);
/// assert!(log_sum_exp(&[1e308, 1e308]).is_finite());
/// ```
#[inline]
pub fn log_sum_exp(x: &[f64]) -> f64 {
    softmax::log_sum_exp(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_is_symmetric_and_bounded() {
        for &x in &[-800.0, -30.0, -1.0, 0.0, 1.0, 30.0, 800.0] {
            let a: f64 = logistic(x);
            let b: f64 = logistic(-x);
            assert!((a + b - 1.0).abs() < 1e-15, "x = {x}");
            assert!((0.0..=1.0).contains(&a));
        }
    }

    #[test]
    fn softplus_matches_definition_where_safe() {
        for &x in &[-20.0_f64, -1.0, 0.0, 0.5, 3.0, 20.0] {
            let direct = (1.0 + x.exp()).ln();
            assert!(
                (softplus(x) - direct).abs() <= 1e-14 * direct.max(1.0),
                "x = {x}"
            );
        }
        assert!(softplus(-745.0_f64) >= 0.0);
        assert_eq!(softplus(1e300_f64), 1e300);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[0.0, 0.0, 0.0]) - 3f64.ln()).abs() < 1e-15);
        assert!((log_sum_exp(&[-1e3, 0.0]) - 0.0).abs() < 1e-15);
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert!(log_sum_exp(&[1e308, 1e308]).is_finite());
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY; 2]), f64::NEG_INFINITY);
        assert!(log_sum_exp(&[0.0, f64::NAN]).is_nan());
    }
}
