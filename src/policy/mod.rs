//! Policies and sampling distributions that give their score ∇θ log p: what score-function
//! (REINFORCE) estimators need.
//!
//! Two traits, one for each way samples arise:
//!
//! - [`ScoreFunction`]: a distribution p(z; θ) over samples of any type (an action, a vector,
//!   a whole trajectory): draw z, and give log p(z; θ) and ∇θ log p(z; θ). The single-step
//!   estimator ([`Reinforce`](crate::estimator::Reinforce)) works on any of them.
//! - [`Policy`]: a stochastic policy π(a | s; θ) over discrete actions given a discrete state.
//!   [`Policy::at`] fixes the state and turns it into a [`ScoreFunction`] (samples are
//!   actions), so a bandit policy goes through the same estimator as a Gaussian; the
//!   sequential estimator ([`SequentialReinforce`](crate::estimator::SequentialReinforce))
//!   takes a policy's scores step by step.
//!
//! Implementations here: [`SoftmaxPolicy`] (over a table of logits, or over β·Q with θ = β)
//! and [`GaussianMean`] (a Gaussian with a learnable mean). [`softmax_sample`],
//! [`softmax_log_prob`] and [`softmax_score`] are the stable softmax kernels for clients whose
//! logits are built elsewhere, such as the DRA (dynamic resource allocation) memory policy
//! softmax(β(q̄ + ζ ⊙ σ)) with fresh noise ζ at each decision: draw the action, then add its
//! score through the chained logits (∂zⱼ/∂σⱼ = β ζⱼ) into a buffer for
//! [`Episodes::push_step`](crate::estimator::Episodes::push_step).
//!
//! ## Conventions
//!
//! - The score goes into a caller buffer with BLAS axpy semantics, like
//!   [`Term`](crate::Term): `add_log_prob_and_score(…, alpha, score)` returns log p and adds
//!   `alpha · ∇θ log p` into `score`; the `log_prob_and_score` forms overwrite.
//! - θ and buffers are plain slices: these methods run once per sample or per decision, like
//!   an [`Observation`](crate::observation::Observation). Estimators and terms take ndarray
//!   views at their own boundary.
//! - Every method checks what it reads (lengths, the state and action ranges, the finiteness
//!   of the θ entries it uses, the finiteness of what it returns) and returns a typed
//!   [`Error`], never a panic or a NaN. The checks cost O(1) or O(what the method
//!   reads anyway); [`ScoreFunction::check_theta`] checks all of θ once, at an estimator's
//!   boundary.
//! - Randomness comes from the caller's `&mut R: Rng`; nothing here allocates per sample.
//!
//! ## Score blocks
//!
//! A policy over a table of states often uses only a block of θ in a given state (the logits
//! of that state's row): [`Policy::score_block`] names that range, and
//! [`Policy::add_log_prob_and_score`] writes only the block. Episode buffers store blocks, so
//! a step costs O(actions), not O(dim θ).
//!
//! ```
//! use rand::SeedableRng;
//! use rlgrad::policy::{Policy, SoftmaxPolicy};
//! // Two states, three actions: θ holds a 2 × 3 table of logits, row by row.
//! let policy = SoftmaxPolicy::logits(2, 3)?;
//! let theta = [0.0, 0.0, 0.0, 1.0, 0.0, -1.0];
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let a = policy.sample(&theta, 1, &mut rng)?;
//! let block = policy.score_block(1)?;
//! assert_eq!(block, 3..6);
//! let mut score = [0.0; 6];
//! let log_p = policy.log_prob_and_score(&theta, 1, a, &mut score[block])?;
//! // ∂ log π(a|s)/∂θ[s,j] = 1[j = a] − π(j|s): the score sums to zero over the row.
//! assert!(score[3..].iter().sum::<f64>().abs() < 1e-15);
//! assert!(log_p < 0.0 && score[..3] == [0.0; 3]);
//! # Ok::<(), rlgrad::Error>(())
//! ```

mod at;
mod gaussian;
mod logits;
mod memory;
mod softmax;

pub use self::at::PolicyAt;
pub use self::gaussian::GaussianMean;
pub use self::logits::{softmax_log_prob, softmax_sample, softmax_score};
pub use self::memory::{MARGINAL_DRAWS, MemoryPolicy};
pub use self::softmax::SoftmaxPolicy;

use std::fmt::Debug;
use std::ops::Range;

use rand::Rng;

use crate::check;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;

/// A distribution p(z; θ) with a score: draw samples, give log p(z; θ) and ∇θ log p(z; θ).
///
/// The score-function identity ∇θ E_{z∼p(·;θ)}\[f(z)\] = E\[f(z) ∇θ log p(z; θ)\] holds for any
/// f that does not depend on θ; [`Reinforce`](crate::estimator::Reinforce) estimates it from
/// samples.
///
/// Implementors: every method must return an error (never panic, never return a NaN) for a θ
/// of the wrong length, a non-finite θ entry it reads, a sample outside the support or of the
/// wrong shape, or a buffer of the wrong length. Only `sample_into` may reuse `out`'s
/// allocation; nothing should allocate per call.
///
/// ```
/// use rand::SeedableRng;
/// use rlgrad::policy::{GaussianMean, ScoreFunction};
/// // z ~ N(μ, 0.5² I) with θ = μ ∈ ℝ².
/// let dist = GaussianMean::new(2, 0.5)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
/// let theta = [1.0, -1.0];
/// let z = dist.sample(&theta, &mut rng)?;
/// let mut score = [0.0; 2];
/// let log_p = dist.log_prob_and_score(&theta, &z, &mut score)?;
/// // ∇μ log p = (z − μ) / σ².
/// assert!((score[0] - (z[0] - 1.0) / 0.25).abs() < 1e-12);
/// assert_eq!(log_p, dist.log_prob(&theta, &z)?);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub trait ScoreFunction: Send + Sync {
    /// The type of a sample (`usize` for an action, `Vec<f64>` for a vector, …).
    type Sample: Clone + Debug + Default + Send + Sync;

    /// The length of θ.
    fn dim(&self) -> usize;

    /// Checks all of θ once: its length and the finiteness of every entry (the default), and
    /// whatever else the distribution requires.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFiniteTheta`] naming the entry.
    fn check_theta(&self, theta: &[f64]) -> Result<()> {
        check::theta(self.dim(), theta)
    }

    /// Draws a sample into `out`, reusing its allocation if it has one.
    ///
    /// # Errors
    /// A θ the distribution cannot sample from (see the trait docs).
    fn sample_into<R: Rng + ?Sized>(
        &self,
        theta: &[f64],
        rng: &mut R,
        out: &mut Self::Sample,
    ) -> Result<()>;

    /// Draws a sample.
    ///
    /// # Errors
    /// As [`ScoreFunction::sample_into`].
    fn sample<R: Rng + ?Sized>(&self, theta: &[f64], rng: &mut R) -> Result<Self::Sample> {
        let mut z = Self::Sample::default();
        self.sample_into(theta, rng, &mut z)?;
        Ok(z)
    }

    /// log p(z; θ).
    ///
    /// # Errors
    /// See the trait docs; [`Error::NonFiniteResult`] if log p is not finite.
    fn log_prob(&self, theta: &[f64], z: &Self::Sample) -> Result<f64>;

    /// Returns log p(z; θ) and adds `alpha · ∇θ log p(z; θ)` into `score` (length
    /// [`ScoreFunction::dim`]).
    ///
    /// # Errors
    /// See the trait docs; [`Error::NonFiniteResult`] if log p or the score is not finite
    /// (then `score` is unchanged).
    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        z: &Self::Sample,
        alpha: f64,
        score: &mut [f64],
    ) -> Result<f64>;

    /// Returns log p(z; θ) and writes ∇θ log p(z; θ) into `score` (old contents ignored).
    ///
    /// # Errors
    /// As [`ScoreFunction::add_log_prob_and_score`]. The buffer's length is checked before it
    /// is zeroed (such an error leaves it as it was); an error found later (θ, the sample)
    /// leaves it zeroed.
    fn log_prob_and_score(
        &self,
        theta: &[f64],
        z: &Self::Sample,
        score: &mut [f64],
    ) -> Result<f64> {
        check::len("score buffer", self.dim(), score.len())?;
        score.fill(0.0);
        self.add_log_prob_and_score(theta, z, 1.0, score)
    }

    /// Whether [`ScoreFunction::add_log_prob_hessian`] gives the Hessian of log p.
    fn has_log_prob_hessian(&self) -> bool {
        false
    }

    /// Adds `alpha · ∇²θ log p(z; θ)` into `hess` (dim × dim, row-major) and returns `true`,
    /// or returns `false` and leaves `hess` alone if the distribution does not provide it
    /// (the default).
    ///
    /// # Errors
    /// As [`ScoreFunction::add_log_prob_and_score`].
    fn add_log_prob_hessian(
        &self,
        theta: &[f64],
        z: &Self::Sample,
        alpha: f64,
        hess: &mut [f64],
    ) -> Result<bool> {
        let _ = (theta, z, alpha, hess);
        Ok(false)
    }
}

impl<T: ScoreFunction + ?Sized> ScoreFunction for &T {
    type Sample = T::Sample;
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn check_theta(&self, theta: &[f64]) -> Result<()> {
        (**self).check_theta(theta)
    }
    fn sample_into<R: Rng + ?Sized>(
        &self,
        theta: &[f64],
        rng: &mut R,
        out: &mut Self::Sample,
    ) -> Result<()> {
        (**self).sample_into(theta, rng, out)
    }
    fn log_prob(&self, theta: &[f64], z: &Self::Sample) -> Result<f64> {
        (**self).log_prob(theta, z)
    }
    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        z: &Self::Sample,
        alpha: f64,
        score: &mut [f64],
    ) -> Result<f64> {
        (**self).add_log_prob_and_score(theta, z, alpha, score)
    }
    fn has_log_prob_hessian(&self) -> bool {
        (**self).has_log_prob_hessian()
    }
    fn add_log_prob_hessian(
        &self,
        theta: &[f64],
        z: &Self::Sample,
        alpha: f64,
        hess: &mut [f64],
    ) -> Result<bool> {
        (**self).add_log_prob_hessian(theta, z, alpha, hess)
    }
}

/// A stochastic policy π(a | s; θ) over `n_actions` discrete actions in `n_states` discrete
/// states, with θ ∈ ℝ^dim.
///
/// In state s, π(· | s) reads only the entries [`Policy::score_block`]`(s)` of θ (all of θ by
/// default), and the score methods write only that block: the caller passes
/// `&mut score[block]` for a dense score of length dim, or a buffer of the block's length.
///
/// Implementors follow the rules of [`ScoreFunction`]: typed errors for every bad input,
/// no panic, no NaN, no allocation per call.
///
/// ```
/// use ndarray::arr2;
/// use rlgrad::policy::{Policy, SoftmaxPolicy};
/// // π(a|s) = softmax(β Q[s,·]) with θ = (β).
/// let policy = SoftmaxPolicy::values(arr2(&[[1.0, 0.0]]).view())?;
/// let mut p = [0.0; 2];
/// policy.probabilities(&[2.0], 0, &mut p)?;
/// assert!((p[0] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
/// let mut score = [0.0];
/// policy.log_prob_and_score(&[2.0], 0, 0, &mut score)?;
/// // ∂ log π(a|s)/∂β = Q[s,a] − Σⱼ π(j|s) Q[s,j] = 1 − p₀.
/// assert!((score[0] - (1.0 - p[0])).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub trait Policy: Send + Sync {
    /// What a decision draws besides its action, when the score needs it: `()` for a policy
    /// whose π(a | s; θ) is explicit ([`SoftmaxPolicy`]); the noise ζ ∈ ℝᴬ of the
    /// [`MemoryPolicy`], whose decision is the pair (a, ζ). See [`Policy::decide`].
    type Noise: Clone + Debug + Default + Send + Sync;

    /// The length of θ.
    fn dim(&self) -> usize;

    /// Number of states.
    fn n_states(&self) -> usize;

    /// Number of actions.
    fn n_actions(&self) -> usize;

    /// Checks all of θ once: its length and the finiteness of every entry (the default).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFiniteTheta`] naming the entry.
    fn check_theta(&self, theta: &[f64]) -> Result<()> {
        check::theta(self.dim(), theta)
    }

    /// The range of θ that π(· | s) depends on; the score is zero outside it. The default is
    /// all of θ.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for a state ≥ [`Policy::n_states`].
    fn score_block(&self, state: usize) -> Result<Range<usize>> {
        check::index("state", state, self.n_states())?;
        Ok(0..self.dim())
    }

    /// Writes π(· | s; θ) into `out` (length [`Policy::n_actions`]).
    ///
    /// # Errors
    /// A bad θ, state or buffer length (see the trait docs).
    fn probabilities(&self, theta: &[f64], state: usize, out: &mut [f64]) -> Result<()>;

    /// Draws an action from π(· | s; θ).
    ///
    /// # Errors
    /// A bad θ or state.
    fn sample<R: Rng + ?Sized>(&self, theta: &[f64], state: usize, rng: &mut R) -> Result<usize>;

    /// log π(a | s; θ).
    ///
    /// # Errors
    /// A bad θ, state or action; [`Error::NonFiniteResult`] if it is not finite.
    fn log_prob(&self, theta: &[f64], state: usize, action: usize) -> Result<f64>;

    /// Returns log π(a | s; θ) and adds `alpha · ∇θ log π(a | s; θ)`, restricted to
    /// [`Policy::score_block`]`(s)`, into `score_block` (of the block's length).
    ///
    /// # Errors
    /// A bad θ, state, action or buffer length; [`Error::NonFiniteResult`] if log π or the
    /// score is not finite (then the buffer is unchanged).
    fn add_log_prob_and_score(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        alpha: f64,
        score_block: &mut [f64],
    ) -> Result<f64>;

    /// Returns log π(a | s; θ) and writes the score block into `score_block` (old contents
    /// ignored).
    ///
    /// # Errors
    /// As [`Policy::add_log_prob_and_score`]. The state, the action and the buffer's length
    /// are checked before the buffer is zeroed, so such an error leaves it as it was; an
    /// error found later (a non-finite θ entry, a log-probability that is not finite) leaves
    /// it zeroed.
    fn log_prob_and_score(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        score_block: &mut [f64],
    ) -> Result<f64> {
        let block = self.score_block(state)?;
        check::len("score block", block.len(), score_block.len())?;
        check::index("action", action, self.n_actions())?;
        score_block.fill(0.0);
        self.add_log_prob_and_score(theta, state, action, 1.0, score_block)
    }

    /// Whether [`Policy::add_log_prob_hessian`] gives the Hessian of log π.
    fn has_log_prob_hessian(&self) -> bool {
        false
    }

    /// Adds `alpha · ∇²θ log π(a | s; θ)` restricted to the score block (B × B for a block of
    /// length B) into `hess`, entry (i, j) at `hess[i * stride + j]`, and returns `true`; or
    /// returns `false` and leaves `hess` alone if the policy does not provide it (the
    /// default).
    ///
    /// With a dense dim × dim row-major Hessian `h` and block `b`, pass
    /// `&mut h[b.start * dim + b.start..]` and `stride = dim`.
    ///
    /// # Errors
    /// As [`Policy::add_log_prob_and_score`], and a buffer too short for the block.
    fn add_log_prob_hessian(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        alpha: f64,
        hess: &mut [f64],
        stride: usize,
    ) -> Result<bool> {
        let _ = (theta, state, action, alpha, hess, stride);
        Ok(false)
    }

    /// Draws one decision: noise ξ from a fixed distribution p(ξ) that does not depend on θ,
    /// then a ~ π(· | s, ξ; θ); writes ξ into `noise` (reusing its allocation) and returns a.
    ///
    /// The pair (a, ξ) has density p(ξ) · π(a | s, ξ; θ), so its score in θ is
    /// ∇θ log π(a | s, ξ; θ) ([`Policy::add_decision_score`]): an unbiased score-function
    /// estimator may use it in place of the score of the marginal π(a | s; θ) =
    /// E_ξ\[π(a | s, ξ; θ)\], which is often unavailable in closed form. The default, for a
    /// policy without noise, is [`Policy::sample`] (and leaves `noise` alone).
    ///
    /// # Errors
    /// A bad θ or state.
    fn decide<R: Rng + ?Sized>(
        &self,
        theta: &[f64],
        state: usize,
        rng: &mut R,
        noise: &mut Self::Noise,
    ) -> Result<usize> {
        let _ = noise;
        self.sample(theta, state, rng)
    }

    /// Returns log π(a | s, ξ; θ) and adds `alpha · ∇θ log π(a | s, ξ; θ)` (the score of the
    /// decision (a, ξ) drawn by [`Policy::decide`]), restricted to [`Policy::score_block`]`(s)`,
    /// into `score_block`. The default, for a policy without noise, is
    /// [`Policy::add_log_prob_and_score`].
    ///
    /// # Errors
    /// As [`Policy::add_log_prob_and_score`], and noise of the wrong shape.
    fn add_decision_score(
        &self,
        theta: &[f64],
        state: usize,
        action: usize,
        noise: &Self::Noise,
        alpha: f64,
        score_block: &mut [f64],
    ) -> Result<f64> {
        let _ = noise;
        self.add_log_prob_and_score(theta, state, action, alpha, score_block)
    }

    /// The policy in a fixed state, as a [`ScoreFunction`] whose samples are actions (for a
    /// bandit: `policy.at(0)`).
    fn at(&self, state: usize) -> PolicyAt<'_, Self>
    where
        Self: Sized,
    {
        PolicyAt {
            policy: self,
            state,
        }
    }
}
