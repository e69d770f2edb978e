//! The softmax kernel: the normaliser of softmax(z), log-probabilities, probabilities and
//! the sampling draw. Every softmax of the crate goes through it: the observation model's
//! likelihood, the softmax policies and their free-standing kernels, simulation, and
//! [`log_sum_exp`](super::log_sum_exp).
//!
//! ```text
//! m = maxⱼ zⱼ,   eⱼ = e^(zⱼ − m) ∈ [0, 1] (the maximum's exactly 1),   S = Σⱼ eⱼ ∈ [1, n]
//! πⱼ = eⱼ / S,   ln πₐ = (zₐ − m) − ln S
//! ```
//!
//! Shifting by the maximum means a logit of 10⁶ neither overflows nor loses the small
//! probabilities, and equal logits give exactly uniform probabilities. S is summed as
//! 1 + (the others), and the rounding error of that last addition is recovered exactly
//! (Fast2Sum), so that a log-probability near 0 (say −1e−20, where S rounds to 1) keeps its
//! full relative accuracy.
//!
//! The kernel is infallible and allocates nothing; its callers check their logits are finite
//! (or handle the limit, as [`softmax_probabilities`] does). Logits are given as a closure
//! `z(j)`, so a caller whose logits are β·Qⱼ plus a bonus computes them on the fly, without a
//! buffer.

use super::exp::exp_nonpositive;

/// The normaliser of softmax(z) over n finite logits: the maximum m, S = Σⱼ e^(zⱼ − m) ≥ 1,
/// and the rounding error of S.
///
/// ```
/// use rlgrad::numeric::SoftmaxNorm;
/// let z = [1.0, 0.0, -1.0];
/// let norm = SoftmaxNorm::new(3, |j| z[j]);
/// let direct = (1.0f64.exp() / z.iter().map(|v: &f64| v.exp()).sum::<f64>()).ln();
/// assert!((norm.log_prob(z[0]) - direct).abs() < 1e-15);
/// assert_eq!(norm.weight(z[0]), 1.0); // the maximum's weight is exactly 1
/// assert_eq!(SoftmaxNorm::new(2, |_| 1e6).log_prob(1e6), -2f64.ln()); // equal logits
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxNorm {
    /// m = maxⱼ zⱼ.
    pub max: f64,
    /// S = Σⱼ e^(zⱼ − m) ∈ \[1, n\], summed as 1 + the others.
    pub sum: f64,
    /// The rounding error of the last addition of S (the exact sum is S + `lost`).
    pub lost: f64,
}

impl SoftmaxNorm {
    /// The normaliser of the logits z(0), …, z(n − 1) (one pass for the maximum, one for the
    /// sum; z is evaluated twice per logit).
    #[inline(always)]
    pub fn new(n: usize, z: impl Fn(usize) -> f64) -> Self {
        let (max, top) = argmax(n, &z);
        Self::sum::<false>(n, &z, max, top, &mut [])
    }

    /// As [`SoftmaxNorm::new`] for the logits z(0), …, z(n − 1), n = `weights.len()`, also
    /// writing eⱼ = e^(zⱼ − m) into `weights` (the probabilities times S).
    #[inline(always)]
    pub fn with_weights(z: impl Fn(usize) -> f64, weights: &mut [f64]) -> Self {
        let n = weights.len();
        let (max, top) = argmax(n, &z);
        Self::sum::<true>(n, &z, max, top, weights)
    }

    /// S = 1 + Σ_{j ≠ top} eⱼ with its rounding error. (`weights` is empty unless `WRITE`,
    /// so the loop indexes it rather than iterating over it.)
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn sum<const WRITE: bool>(
        n: usize,
        z: &impl Fn(usize) -> f64,
        max: f64,
        top: usize,
        weights: &mut [f64],
    ) -> Self {
        // The maximum's term is exactly 1; sum the others apart, so that the rounding error
        // of 1 + rest can be recovered.
        let mut rest = 0.0;
        for j in 0..n {
            let e = if j == top {
                1.0
            } else {
                exp_nonpositive(z(j) - max)
            };
            if WRITE {
                weights[j] = e;
            }
            if j != top {
                rest += e;
            }
        }
        let sum = 1.0 + rest;
        let (big, small) = if rest > 1.0 { (rest, 1.0) } else { (1.0, rest) };
        SoftmaxNorm {
            max,
            sum,
            lost: small - (sum - big),
        }
    }

    /// e^(z − m), the unnormalised probability of logit z.
    #[inline(always)]
    pub fn weight(&self, z: f64) -> f64 {
        exp_nonpositive(z - self.max)
    }

    /// ln π for logit z: (z − m) − ln(S + lost).
    #[inline]
    pub fn log_prob(&self, z: f64) -> f64 {
        (z - self.max) - (self.sum.ln() + self.lost / self.sum)
    }

    /// ln π for logit z split as (shift, norm) with ln π = shift − ln(norm), norm = S ≥ 1:
    /// for a caller that multiplies normalisers and takes one logarithm for many of them (the
    /// likelihood takes one every few hundred trials instead of one per trial). The rounding
    /// error of S goes into the shift undivided (ln(S + lost) ≈ ln S + lost, where the exact
    /// term is lost/S), which saves a division per trial and costs at most an ulp or so when
    /// S > 1, where lost is itself below an ulp of S; [`SoftmaxNorm::log_prob`] divides.
    #[inline(always)]
    pub fn log_prob_parts(&self, z: f64) -> (f64, f64) {
        (z - self.max - self.lost, self.sum)
    }

    /// Draws a logit index with probabilities π from one uniform number u ∈ \[0, 1)
    /// (inverse CDF over the weights, target u·S; see [`draw`]).
    #[inline]
    pub fn sample(&self, n: usize, z: impl Fn(usize) -> f64, u: f64) -> usize {
        draw(n, |j| self.weight(z(j)), u * self.sum)
    }
}

/// The maximum of z(0), …, z(n − 1) and the first index that attains it.
#[inline(always)]
fn argmax(n: usize, z: &impl Fn(usize) -> f64) -> (f64, usize) {
    let mut max = f64::NEG_INFINITY;
    let mut top = 0;
    for j in 0..n {
        let zj = z(j);
        if zj > max {
            max = zj;
            top = j;
        }
    }
    (max, top)
}

/// Inverse-CDF draw over non-negative weights w(0), …, w(n − 1) whose sum is (up to
/// rounding) `target / u` for the caller's uniform u: the first j whose cumulative weight
/// exceeds `target`, or the last index with a positive weight if rounding leaves `target`
/// above the total. The one sampling draw of the crate (simulation, the softmax policies).
///
/// ```
/// use rlgrad::numeric::draw;
/// let p = [0.2, 0.0, 0.5, 0.3];
/// assert_eq!(draw(4, |j| p[j], 0.1), 0);
/// assert_eq!(draw(4, |j| p[j], 0.2), 2); // not the zero-weight index 1
/// assert_eq!(draw(4, |j| p[j], 1.5), 3);
/// ```
#[inline]
pub fn draw(n: usize, weight: impl Fn(usize) -> f64, target: f64) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for j in 0..n {
        let w = weight(j);
        if w > 0.0 {
            last = j;
        }
        acc += w;
        if target < acc {
            return j;
        }
    }
    last
}

/// softmax(z) written into `out` (n = `out.len()` logits z(0), …, z(n − 1)).
///
/// Logits may be infinite (β·Q beyond the double range): then the limit is taken, and the
/// probability is shared equally by the logits at the maximum (+∞, or all at −∞). Logits must
/// not be NaN (the callers check): the result is then unspecified.
///
/// ```
/// use rlgrad::numeric::softmax_probabilities;
/// let mut p = [0.0; 3];
/// softmax_probabilities(|j| [1.0, 1.0, 1.0][j], &mut p);
/// assert_eq!(p, [1.0 / 3.0; 3]);
/// softmax_probabilities(|j| [f64::INFINITY, 0.0, f64::INFINITY][j], &mut p);
/// assert_eq!(p, [0.5, 0.0, 0.5]);
/// ```
pub fn softmax_probabilities(z: impl Fn(usize) -> f64, out: &mut [f64]) {
    let n = out.len();
    let (max, top) = argmax(n, &z);
    let sum = if max.is_finite() {
        SoftmaxNorm::sum::<true>(n, &z, max, top, out).sum
    } else {
        // The limit: the logits at the maximum share it.
        for (j, o) in out.iter_mut().enumerate() {
            *o = if z(j) == max { 1.0 } else { 0.0 };
        }
        out.iter().sum()
    };
    let inv = 1.0 / sum;
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// ln Σᵢ e^(xᵢ) through the softmax normaliser: m + ln(S + lost). It neither overflows nor
/// underflows; −∞ for an empty slice (the log of an empty sum) or all entries −∞; +∞ if an
/// entry is +∞; NaN if an entry is NaN.
#[inline]
pub(crate) fn log_sum_exp(x: &[f64]) -> f64 {
    if x.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let z = |j: usize| x[j];
    let (max, top) = argmax(x.len(), &z);
    if !max.is_finite() {
        return max;
    }
    let norm = SoftmaxNorm::sum::<false>(x.len(), &z, max, top, &mut []);
    max + (norm.sum.ln() + norm.lost / norm.sum)
}
