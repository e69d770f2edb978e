//! Pieces that task models share, written over a [`Scalar`]: the lapse mixture and the choice
//! kernel. (Stickiness and per-state inverse temperatures are one line each where a model
//! builds its logits: `β[group(s)]·Q + κ·1[a = previous]`.)

use crate::ad::Scalar;

/// The lapse ε-mixture: (1 − ε)·p + ε/n, the probability of an option that has probability p
/// under the model, when with probability ε the choice is uniform over `n` options.
///
/// ```
/// use rlgrad::task::pieces::lapse;
/// assert!((lapse(0.9, 0.2, 2) - (0.8 * 0.9 + 0.1)).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn lapse<T: Scalar>(p: T, epsilon: T, n: usize) -> T {
    p - (p - 1.0 / n as f64) * epsilon
}

/// The log-probability of option `a` under the lapse mixture of a two-option logistic model:
/// ln((1 − ε)·σ(±x) + ε/2), with σ(x) the probability of the first option (a = 0) and x its
/// logit difference.
///
/// ```
/// use rlgrad::task::pieces::ln_lapse_logistic;
/// let p0 = 1.0 / (1.0 + (-1.0f64).exp());
/// assert!((ln_lapse_logistic(1.0, 0.1, 0) - (0.9 * p0 + 0.05).ln()).abs() < 1e-15);
/// assert!((ln_lapse_logistic(1.0, 0.1, 1) - (0.9 * (1.0 - p0) + 0.05).ln()).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn ln_lapse_logistic<T: Scalar>(x: T, epsilon: T, a: usize) -> T {
    let z = if a == 0 { x } else { -x };
    lapse(z.logistic(), epsilon, 2).ln()
}

/// A choice kernel (Wilson & Collins 2019, eLife 8:e49547, box 2, model 4): a habit strength
/// per option, CK ← CK + α_c·(𝟙(j = a) − CK) after each choice, added to the logits with a
/// weight β_c. Starts at 0.
///
/// ```
/// use rlgrad::task::pieces::choice_kernel_update;
/// let mut ck = [0.0, 0.0];
/// choice_kernel_update(&mut ck, 1, 0.5);
/// assert_eq!(ck, [0.0, 0.5]);
/// choice_kernel_update(&mut ck, 1, 0.5);
/// assert_eq!(ck, [0.0, 0.75]);
/// ```
///
/// # Panics
/// If `a` is not an index of `ck` (a contract of the caller).
#[inline(always)]
pub fn choice_kernel_update<T: Scalar>(ck: &mut [T], a: usize, alpha: T) {
    for (j, c) in ck.iter_mut().enumerate() {
        let target = if j == a { 1.0 } else { 0.0 };
        *c += (-*c + target) * alpha;
    }
}
