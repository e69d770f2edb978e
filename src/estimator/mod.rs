//! Score-function (REINFORCE) gradient estimators with baselines.
//!
//! For any f that does not depend on θ,
//!
//! ```text
//! ∇θ E_{z∼p(·;θ)}[f(z)] = E[f(z) ∇θ log p(z; θ)] = E[(f(z) − b) ∇θ log p(z; θ)]
//! ```
//!
//! for any baseline b that does not depend on z, because E\[∇θ log p\] = ∇θ ∫ p = 0. A
//! baseline changes the variance of the estimate, never its mean — provided it is independent
//! of the sample it multiplies. From N samples zₙ with values fₙ and scores
//! gₙ = ∇θ log p(zₙ; θ) the estimate is
//!
//! ```text
//! ĝ = (1/N) Σₙ (fₙ − bₙ) gₙ
//! ```
//!
//! | [`Baseline`] | bₙ | unbiased |
//! |---|---|---|
//! | `None` | 0 | yes |
//! | `Constant(b)` | b | yes |
//! | `LeaveOneOut` | (1/(N−1)) Σ_{m≠n} fₘ | yes: bₙ depends only on the other samples |
//! | `BatchMean` | (1/N) Σₘ fₘ | **no**: ĝ is exactly (N−1)/N times the leave-one-out estimate, so E\[ĝ\] = (N−1)/N · ∇ |
//! | `OptimalLeaveOneOut` | per component k: Σ_{m≠n} fₘ gₘₖ² / Σ_{m≠n} gₘₖ² | yes, leave-one-out |
//! | `RunningAverage { decay }` | exponentially weighted mean of the values of *earlier* batches (each folded in once) | yes: independent of the current batch |
//!
//! `OptimalLeaveOneOut` estimates, per component, the baseline bₖ = E\[f gₖ²\] / E\[gₖ²\] that
//! minimises E\[(f − bₖ)² gₖ²\], the variance of component k of a one-sample estimate.
//!
//! Two estimators implement the [`Estimator`] trait:
//!
//! - [`Reinforce`] on a [`Batch`] of independent samples of any
//!   [`ScoreFunction`](crate::policy::ScoreFunction) (a bandit policy, a Gaussian, …);
//! - [`SequentialReinforce`] on recorded [`Episodes`] of a policy: reward-to-go with a discount
//!   and a state-dependent baseline, the whole-episode return times the summed score (with any
//!   of the baselines above, across episodes), or per-step weights Ψ supplied by the caller.
//!
//! Both can also hand out the estimate as a surrogate [`Term`](crate::Term) ([`Surrogate`],
//! [`EpisodeSurrogate`]) whose exact gradient at the sampling point is the estimate, so it
//! composes in an [`Objective`](crate::Objective) and goes through
//! [`testing::check_term`](crate::testing::check_term). A surrogate recomputes log p from the
//! distribution or policy, so for episodes it needs scores recorded by that policy at θ₀
//! ([`Episodes::record`]); episodes with the caller's own scores ([`Episodes::push_step`], the
//! DRA path) give estimates only.
//!
//! ## Episodes
//!
//! For episodes τ = (s₀, a₀, r₀, s₁, …) of a policy π(a | s; θ), with scores
//! gₜ = ∇θ log π(aₜ | sₜ; θ) taken at decision time:
//!
//! ```text
//! whole episode:  ∇ E[R] = E[(R − b) Σₜ gₜ],                 R = Σₜ γᵗ rₜ
//! reward-to-go:   ∇ E[Σₜ γᵗ rₜ] = E[Σₜ γᵗ gₜ (Gₜ − b(sₜ))],   Gₜ = Σ_{k≥t} γ^{k−t} rₖ
//! supplied:       ĝ = (1/N) Σₙ Σₜ Ψₜ gₜ                       (the caller's Ψ)
//! ```
//!
//! The whole-episode form is the single-step estimator with the episode as the sample, so
//! every [`Baseline`] applies across episodes. The reward-to-go form drops the rewards that
//! came before each decision (they cannot depend on it), which lowers the variance, and takes
//! a state-dependent baseline b(s): unbiased because E\[gₜ | sₜ\] = 0 for any b that depends on
//! the state only (not on aₜ or what follows). With γ < 1 the factor γᵗ is what makes it the
//! gradient of the discounted return; dropping it (`discount_weight: false`, common practice)
//! gives a biased direction unless γ = 1.
//!
//! ## Surrogate terms
//!
//! [`Surrogate`] and [`EpisodeSurrogate`] are [`Term`](crate::Term)s whose exact gradient at
//! the sampling point θ₀ is the estimate:
//!
//! ```text
//! S(θ) = (1/N) Σₙ wₙ log p(zₙ; θ) − cᵀ(θ − θ₀)
//! ∇S(θ) = (1/N) Σₙ wₙ ∇ log p(zₙ; θ) − c          ∇S(θ₀) = ĝ
//! ∇²S(θ) = (1/N) Σₙ wₙ ∇² log p(zₙ; θ)
//! ```
//!
//! with the samples zₙ, the weights wₙ = fₙ − bₙ and c held fixed at their values from θ₀.
//! For a scalar baseline c = 0 and S is the familiar (1/N) Σ (fₙ − bₙ) log p(zₙ; θ). The
//! per-component baseline [`OptimalLeaveOneOut`](Baseline::OptimalLeaveOneOut) has no
//! such scalar form (a field (1/N) Σₙ (fₙ − bₙₖ) ∂ₖ log p(zₙ; θ) is not a gradient in general),
//! so its part beyond the leave-one-out mean enters linearised at θ₀, through c: exact at θ₀,
//! which is the only point where the estimate is defined.
//!
//! The value of S is not an estimate of anything; only its derivatives are. It is a log-term
//! in the crate's sign convention (an expected reward to maximise), so it enters an
//! [`Objective`](crate::Objective) with a positive weight next to a cost with a negative one.
//!
//! ## Example
//!
//! ```
//! use ndarray::{arr1, Array1};
//! use rand::SeedableRng;
//! use rlgrad::estimator::{Baseline, Batch, Estimator, Reinforce};
//! use rlgrad::policy::{Policy, SoftmaxPolicy};
//!
//! // A 3-armed bandit with rewards r = (1, 0, 0.5) and a softmax policy over logits θ.
//! let rewards = [1.0, 0.0, 0.5];
//! let policy = SoftmaxPolicy::logits(1, 3)?;
//! let theta = arr1(&[0.2, -0.1, 0.0]);
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let mut batch = Batch::new(policy.at(0), theta.view())?;
//! batch.draw(64, &mut rng, |&arm, _| rewards[arm])?;
//! let mut reinforce = Reinforce::new(Baseline::LeaveOneOut)?;
//! let mut grad = Array1::zeros(3);
//! let info = reinforce.estimate(&batch, grad.view_mut())?;
//! assert_eq!(info.n, 64);
//! // Exact gradient: ∂J/∂θₖ = πₖ (rₖ − J).
//! let mut pi = [0.0; 3];
//! policy.probabilities(theta.as_slice().unwrap(), 0, &mut pi)?;
//! let j: f64 = (0..3).map(|k| pi[k] * rewards[k]).sum();
//! assert!((0..3).all(|k| (grad[k] - pi[k] * (rewards[k] - j)).abs() < 0.15));
//! # Ok::<(), rlgrad::Error>(())
//! ```

mod baseline;
mod batch;
mod episodes;
mod reinforce;
mod sequential;
mod stamp;
mod surrogate;

pub use self::baseline::Baseline;
pub use self::batch::Batch;
pub use self::episodes::{Episodes, StepRecord};
pub use self::reinforce::Reinforce;
pub use self::sequential::{SequentialReinforce, StateBaseline, Weighting};
pub use self::surrogate::{EpisodeSurrogate, Surrogate};

use ndarray::ArrayViewMut1;

use crate::check;
use crate::error::{Error, Result};

/// Something that turns recorded samples `D` into an estimate ĝ of a gradient.
///
/// Like [`Term`](crate::Term), the core method has BLAS axpy semantics: it adds
/// `alpha · ĝ` into the caller's buffer, so an estimate can be accumulated next to other
/// gradient terms without a temporary. Estimators may keep state across calls (a running
/// baseline), hence `&mut self`.
pub trait Estimator<D: ?Sized> {
    /// Adds `alpha · ĝ` into `grad` and reports on the data.
    ///
    /// # Errors
    /// A buffer of the wrong length, no data, a non-finite `alpha`, or a non-finite
    /// estimate ([`Error::NonFiniteResult`]; `grad` is then unchanged).
    fn add_estimate(&mut self, data: &D, alpha: f64, grad: ArrayViewMut1<f64>) -> Result<Estimate>;

    /// Writes ĝ into `grad` (old contents ignored).
    ///
    /// # Errors
    /// As [`Estimator::add_estimate`].
    fn estimate(&mut self, data: &D, mut grad: ArrayViewMut1<f64>) -> Result<Estimate> {
        grad.fill(0.0);
        self.add_estimate(data, 1.0, grad)
    }
}

/// What an estimator call saw: sample or episode counts, the mean value and the mean baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Number of samples (a [`Batch`]) or of episodes ([`Episodes`]): the N of 1/N.
    pub n: usize,
    /// Number of steps (equal to `n` for a batch).
    pub steps: usize,
    /// The mean value: of the fₙ for a batch; for episodes, of their returns, discounted
    /// (Σₜ γᵗ rₜ) under [`Weighting::RewardToGo`] and [`Weighting::TotalReturn`], undiscounted
    /// (Σₜ rₜ) under [`Weighting::Supplied`], which has no γ.
    pub mean_value: f64,
    /// Mean of the baselines used (over samples and components, or over steps); 0 without a
    /// baseline or with supplied weights.
    pub mean_baseline: f64,
}

/// Finishes an estimate held in `ws.acc` (already divided by N, correction applied): checks
/// that it and `alpha · ĝ + grad` are finite, then adds. `theta` is the point the data were
/// recorded at, for the error, when the data know it.
pub(crate) fn finish(
    acc: &[f64],
    alpha: f64,
    mut grad: ArrayViewMut1<f64>,
    what: &str,
    theta: Theta<'_>,
) -> Result<()> {
    check::len("gradient buffer", acc.len(), grad.len())?;
    check::alpha(alpha)?;
    let bad = acc.iter().zip(grad.iter()).any(|(&a, &g)| {
        let x = alpha * a;
        !(a.is_finite() && x.is_finite() && (g + x).is_finite())
    });
    if bad {
        let (theta, whence) = match theta {
            Theta::Known(t) => (t.to_vec(), ""),
            Theta::NotKnown(why) => (Vec::new(), why),
        };
        return Err(Error::non_finite_result(
            format!("{what} (or the gradient buffer plus alpha times it){whence}"),
            theta,
        ));
    }
    for (g, &a) in grad.iter_mut().zip(acc) {
        *g += alpha * a;
    }
    Ok(())
}

/// The θ an error reports: the point the data were recorded at, or why it is not known (a
/// phrase appended to the error's subject, whose θ is then empty).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Theta<'a> {
    Known(&'a [f64]),
    NotKnown(&'static str),
}
