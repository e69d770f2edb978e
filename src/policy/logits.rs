//! The stable softmax kernels for clients whose logits are built elsewhere:
//! [`softmax_log_prob`], [`softmax_sample`] and [`softmax_score`], with the checks a
//! public boundary needs. The DRA (dynamic resource allocation) memory policy
//! softmax(β(q̄ + ζ ⊙ σ)), whose logits depend on the noise ζ drawn at each decision, takes
//! its decisions and scores through them.
//!
//! ```text
//! π = softmax(z),   ∂ log π(a)/∂θⱼ = (∂zⱼ/∂θⱼ) (1[j = a] − πⱼ)   (each zⱼ depends on its own θⱼ)
//! ```

use rand::Rng;

use crate::check;
use crate::error::{Error, Result};
use crate::numeric::{SoftmaxNorm, softmax_probabilities};

/// The softmax of `logits` written into `probs`, and log π(`action`): the stable kernel
/// behind [`SoftmaxPolicy`](super::SoftmaxPolicy), for clients that build their logits themselves.
///
/// For example the DRA memory policy π(·|s, ζ) = softmax(β(q̄ₛ + ζ ⊙ σₛ)) with θ = σ and fresh
/// noise ζ at every decision: its score at decision time, ∂ log π(a|s)/∂σₛⱼ =
/// β ζⱼ (1\[j = a\] − πⱼ) (zero outside row s), comes from [`softmax_score`] and goes straight
/// into an [`Episodes`](crate::estimator::Episodes) buffer. ([`softmax_sample`] draws the
/// action and gives its log-probability in one call.) Nothing below allocates per decision:
///
/// ```
/// use rlgrad::estimator::{Episodes, StepRecord};
/// use rlgrad::policy::{softmax_log_prob, softmax_score};
/// let (beta, q_bar, sigma) = (10.0, [0.5, 0.2, 0.0], [1.0, 2.0, 0.5]);
/// let mut episodes = Episodes::new(3 * 4); // σ over 4 states × 3 actions
/// // Per-decision buffers, allocated once.
/// let (mut logits, mut dz, mut pi, mut score) = ([0.0; 3], [0.0; 3], [0.0; 3], [0.0; 3]);
/// for (state, zeta, action) in [(2, [0.3, -1.1, 0.4], 0), (1, [-0.2, 0.5, 0.9], 2)] {
///     for j in 0..3 {
///         logits[j] = beta * (q_bar[j] + zeta[j] * sigma[j]);
///         dz[j] = beta * zeta[j]; // ∂zⱼ/∂σⱼ
///     }
///     let log_pi = softmax_log_prob(&logits, action, &mut pi)?;
///     assert!(log_pi < 0.0);
///     score.fill(0.0);
///     softmax_score(&pi, action, &dz, 1.0, &mut score)?;
///     episodes.push_step(StepRecord::new(state, action, -1.0), 3 * state, &score)?;
/// }
/// episodes.end_episode();
/// assert_eq!(episodes.n_steps(), 2);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] if `probs` is not as long as `logits` or `logits` is empty;
/// [`Error::IndexOutOfRange`] for an action ≥ the number of logits;
/// [`Error::NonFiniteInput`] for a NaN or infinite logit; [`Error::NonFiniteResult`] if
/// log π(action) is not finite (logits more than ~1.8e308 apart). `probs` is unchanged on
/// error.
pub fn softmax_log_prob(logits: &[f64], action: usize, probs: &mut [f64]) -> Result<f64> {
    check_logits(logits, probs)?;
    check::index("action", action, logits.len())?;
    let norm = SoftmaxNorm::new(logits.len(), |j| logits[j]);
    let log_p = finite_kernel_log_prob(&norm, logits, action)?;
    softmax_probabilities(|j| logits[j], probs);
    Ok(log_p)
}

/// Draws an action from softmax(`logits`), writes the probabilities into `probs`, and returns
/// the action with its log-probability: the sampling half of a decision of a policy whose
/// logits are built elsewhere (see [`softmax_log_prob`] for the DRA example).
///
/// It draws exactly as [`SoftmaxPolicy::sample`](super::Policy::sample) does over the same
/// logits (one uniform number, inverse CDF), and allocates nothing.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::policy::{softmax_sample, softmax_score};
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
/// let (logits, dz) = ([1.0, 0.0, -1.0], [2.0, 2.0, 2.0]);
/// let (mut pi, mut score) = ([0.0; 3], [0.0; 3]);
/// let (action, log_pi) = softmax_sample(&logits, &mut rng, &mut pi)?;
/// assert!((log_pi - pi[action].ln()).abs() < 1e-15);
/// softmax_score(&pi, action, &dz, 1.0, &mut score)?;
/// assert!(score.iter().sum::<f64>().abs() < 1e-15); // 2 (1[j = a] − πⱼ) sums to 0
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// As [`softmax_log_prob`] (without the action); `probs` is unchanged on error.
pub fn softmax_sample<R: Rng + ?Sized>(
    logits: &[f64],
    rng: &mut R,
    probs: &mut [f64],
) -> Result<(usize, f64)> {
    check_logits(logits, probs)?;
    let n = logits.len();
    let z = |j: usize| logits[j];
    let norm = SoftmaxNorm::new(n, z);
    let action = norm.sample(n, z, rng.random());
    let log_p = finite_kernel_log_prob(&norm, logits, action)?;
    softmax_probabilities(z, probs);
    Ok((action, log_p))
}

/// Adds the score of a softmax decision through chained logits into `out`:
///
/// ```text
/// out[j] += alpha · dzⱼ · (1[j = a] − πⱼ)
/// ```
///
/// the gradient of log π(a) = log softmax(z(θ))_a with respect to θ when each logit depends
/// on its own parameter, zⱼ = zⱼ(θⱼ) with ∂zⱼ/∂θⱼ = `dz[j]`. For the DRA memory policy
/// zⱼ = β(q̄ⱼ + ζⱼ σⱼ) and θ = σ, so dzⱼ = β ζⱼ; for plain logits dzⱼ = 1. `probs` is the
/// distribution from [`softmax_log_prob`] or [`softmax_sample`]; 1 − π_a is taken as
/// Σ_{j≠a} πⱼ, which keeps its relative accuracy as π_a → 1. BLAS axpy semantics: zero
/// `out` first to write the score. Allocates nothing.
///
/// ```
/// use rlgrad::policy::{softmax_log_prob, softmax_score};
/// let (logits, dz) = ([0.5, -0.5], [3.0, -1.0]);
/// let mut pi = [0.0; 2];
/// softmax_log_prob(&logits, 1, &mut pi)?;
/// let mut score = [0.0; 2];
/// softmax_score(&pi, 1, &dz, 1.0, &mut score)?;
/// assert!((score[0] - 3.0 * -pi[0]).abs() < 1e-15);
/// assert!((score[1] - -1.0 * (1.0 - pi[1])).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] if `probs` is empty or `dz` or `out` is not as long as it;
/// [`Error::IndexOutOfRange`] for an action ≥ its length; [`Error::NonFiniteInput`] for a
/// non-finite probability, `dz` entry or `alpha`; [`Error::InvalidOption`] for a probability
/// outside \[0, 1\]; [`Error::NonFiniteResult`] if an entry of the product overflows. `out`
/// is unchanged on error.
pub fn softmax_score(
    probs: &[f64],
    action: usize,
    dz: &[f64],
    alpha: f64,
    out: &mut [f64],
) -> Result<()> {
    let n = probs.len();
    if n == 0 {
        return Err(Error::dimension_mismatch("probabilities", 1, 0));
    }
    check::len("dz", n, dz.len())?;
    check::len("score buffer", n, out.len())?;
    check::index("action", action, n)?;
    check::alpha(alpha)?;
    if let Some(j) = probs.iter().position(|p| !(0.0..=1.0).contains(p)) {
        let (what, p) = (format!("probability {j}"), probs[j]);
        return Err(if p.is_finite() {
            Error::invalid_option(what, p, "must be in [0, 1]")
        } else {
            Error::non_finite_input(what, p)
        });
    }
    check::finite_inputs("dz", dz)?;
    // 1[j = a] − πⱼ, with 1 − π_a = Σ_{j≠a} πⱼ.
    let rest: f64 = (0..n).filter(|&j| j != action).map(|j| probs[j]).sum();
    let entry = |j: usize| {
        let d = if j == action { rest } else { -probs[j] };
        alpha * (dz[j] * d)
    };
    if let Some(j) = (0..n).find(|&j| !entry(j).is_finite()) {
        return Err(Error::non_finite_result(
            format!("softmax score entry {j} (alpha * dz[{j}] * (1[j = a] - p[{j}]))"),
            dz.to_vec(),
        ));
    }
    add_chained_score(probs, action, |j| dz[j], alpha, out);
    Ok(())
}

/// The unchecked kernel of [`softmax_score`]: `out[j] += alpha · (dz(j) · (1[j = a] − πⱼ))`,
/// with 1 − π_a summed from the other probabilities. For callers that checked their inputs
/// once (the memory policy's hot path).
#[inline]
pub(crate) fn add_chained_score(
    probs: &[f64],
    action: usize,
    dz: impl Fn(usize) -> f64,
    alpha: f64,
    out: &mut [f64],
) {
    let rest: f64 = (0..probs.len())
        .filter(|&j| j != action)
        .map(|j| probs[j])
        .sum();
    for (j, o) in out.iter_mut().enumerate() {
        let d = if j == action { rest } else { -probs[j] };
        *o += alpha * (dz(j) * d);
    }
}

/// Non-empty finite logits and a probabilities buffer of their length.
fn check_logits(logits: &[f64], probs: &[f64]) -> Result<()> {
    let n = logits.len();
    if n == 0 {
        return Err(Error::dimension_mismatch("logits", 1, 0));
    }
    check::len("probabilities buffer", n, probs.len())?;
    match check::first_non_finite(logits) {
        None => Ok(()),
        Some((j, v)) => Err(Error::non_finite_input(format!("logit {j}"), v)),
    }
}

fn finite_kernel_log_prob(norm: &SoftmaxNorm, logits: &[f64], action: usize) -> Result<f64> {
    check::finite_result(norm.log_prob(logits[action]), logits, || {
        format!("log-probability of action {action}")
    })
}
