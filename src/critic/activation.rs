//! The hidden layer's activations φ₁ with their first and second derivatives.

use crate::numeric::{fast_tanh, logistic_pair, softplus_with_logistic};

/// The hidden layer's elementwise activation φ₁, with its first and second derivatives.
///
/// | activation | φ₁(x) | φ₁′(x) | φ₁″(x) |
/// |---|---|---|---|
/// | `Tanh` (default) | tanh x | 1 − tanh² x | −2 tanh x · φ₁′(x) |
/// | `Logistic` | σ(x) = 1/(1 + e^(−x)) | σ(x) σ(−x) | φ₁′(x) (σ(−x) − σ(x)) |
/// | `Softplus` | ln(1 + eˣ) | σ(x) | σ(x) σ(−x) |
/// | `Identity` | x | 1 | 0 |
///
/// All are total on finite input (no overflow, no NaN at any finite x). tanh, logistic and
/// softplus are the crate's f64 kernels [`numeric::fast_tanh`](crate::numeric::fast_tanh),
/// [`numeric::logistic_pair`](crate::numeric::logistic_pair) and
/// [`numeric::softplus_with_logistic`](crate::numeric::softplus_with_logistic), on the
/// inlined exponential [`exp_nonpositive`](crate::numeric::exp_nonpositive); they agree
/// with `f64::tanh`, [`numeric::logistic`](crate::numeric::logistic) and
/// [`numeric::softplus`](crate::numeric::softplus) within 3 ulp (tested); φ₁, φ₁′ and φ₁″
/// come from one exponential.
///
/// ```
/// use rlgrad::critic::Activation;
/// let a = Activation::Logistic;
/// assert_eq!(a.value(0.0), 0.5);
/// assert_eq!(a.derivative(0.0), 0.25);
/// assert_eq!(a.second_derivative(0.0), 0.0);
/// assert_eq!(Activation::Softplus.derivative(1e3), 1.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// φ₁(x) = tanh x.
    #[default]
    Tanh,
    /// φ₁(x) = 1/(1 + e^(−x)).
    Logistic,
    /// φ₁(x) = ln(1 + eˣ).
    Softplus,
    /// φ₁(x) = x.
    Identity,
}

impl Activation {
    /// φ₁(x).
    #[inline]
    pub fn value(self, x: f64) -> f64 {
        self.eval::<0>(x).0
    }

    /// φ₁′(x).
    #[inline]
    pub fn derivative(self, x: f64) -> f64 {
        self.eval::<1>(x).1
    }

    /// φ₁″(x).
    #[inline]
    pub fn second_derivative(self, x: f64) -> f64 {
        self.eval::<2>(x).2
    }

    /// (φ₁, φ₁′, φ₁″) at x, computing derivatives up to `ORDER` (the others are 0). The value
    /// is the same bits whatever the order.
    #[inline(always)]
    pub(crate) fn eval<const ORDER: usize>(self, x: f64) -> (f64, f64, f64) {
        match self {
            Activation::Tanh => {
                let t = fast_tanh(x);
                if ORDER == 0 {
                    return (t, 0.0, 0.0);
                }
                // (1 − t)(1 + t) keeps more digits than 1 − t² when |t| is near 1.
                let d = (1.0 - t) * (1.0 + t);
                (t, d, if ORDER >= 2 { -2.0 * t * d } else { 0.0 })
            }
            Activation::Logistic => {
                let (s, c) = logistic_pair(x);
                if ORDER == 0 {
                    return (s, 0.0, 0.0);
                }
                let d = s * c;
                (s, d, if ORDER >= 2 { d * (c - s) } else { 0.0 })
            }
            Activation::Softplus => {
                let (v, s, c) = softplus_with_logistic(x);
                if ORDER == 0 {
                    return (v, 0.0, 0.0);
                }
                (v, s, if ORDER >= 2 { s * c } else { 0.0 })
            }
            Activation::Identity => (x, 1.0, 0.0),
        }
    }
}
