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

mod reinforce;
mod sequential;
mod surrogate;

pub use self::reinforce::{Batch, Reinforce};
pub use self::sequential::{Episodes, SequentialReinforce, StateBaseline, StepRecord, Weighting};
pub use self::surrogate::{EpisodeSurrogate, Surrogate};

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::ArrayViewMut1;

use crate::error::{check_len, Error, Result};

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

/// The baseline of the single-sample estimator (see the [module docs](self) for the formulas
/// and why each is or is not unbiased).
///
/// ```
/// use rlgrad::estimator::Baseline;
/// assert!(Baseline::LeaveOneOut.is_unbiased());
/// assert!(!Baseline::BatchMean.is_unbiased());
/// assert_eq!(Baseline::RunningAverage { decay: 0.9 }.name(), "running average");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Baseline {
    /// bₙ = 0: plain REINFORCE.
    None,
    /// bₙ = b, a fixed number.
    Constant(f64),
    /// bₙ = the mean of the other N − 1 values (0 when N = 1, where there is no other).
    LeaveOneOut,
    /// bₙ = the mean of all N values, fₙ included. **Biased**: the estimate is exactly
    /// (N − 1)/N times the [`Baseline::LeaveOneOut`] estimate of the same batch, so its
    /// expectation is (N − 1)/N times the gradient. Offered because it is common; prefer
    /// `LeaveOneOut`, which costs the same.
    BatchMean,
    /// Per component k, bₙₖ = Σ_{m≠n} fₘ gₘₖ² / Σ_{m≠n} gₘₖ², the leave-one-out estimate of
    /// the variance-minimising E\[f gₖ²\] / E\[gₖ²\]. Where the other samples' scores are all
    /// zero in component k it falls back to the leave-one-out mean; with N = 1 it is 0.
    ///
    /// The ratio is itself noisy (weighted by gₖ², heavy-tailed for a Gaussian), so it pays
    /// off only with enough samples: in the crate's tests it has *more* variance than
    /// [`Baseline::LeaveOneOut`] at N = 4 (bandit and Gaussian) and at N = 32 (Gaussian),
    /// less on the bandit at N = 32 and 256, and approaches its N → ∞ optimum slowly. It
    /// also costs about five times as much per sample.
    OptimalLeaveOneOut,
    /// b = Σ_c λ^{age(c)} Σ f / Σ_c λ^{age(c)} N_c over the earlier batches c of this
    /// estimator (λ = `decay` ∈ \[0, 1\]; age 0 is the previous batch): an exponentially
    /// weighted mean of earlier values, 0 before the first batch. A batch is folded in *after*
    /// its estimate, and only once: a second estimate or surrogate of the same unchanged
    /// [`Batch`] uses the same b as the first (batches know when they change; see
    /// [`Reinforce`]). So b never depends on the batch it multiplies, and the estimate stays
    /// unbiased whatever the history (E\[(f − b) g | b\] = E\[f g\] − b E\[g\] = ∇). `decay = 0`
    /// uses the previous batch's mean; `decay = 1` the mean of everything seen so far.
    RunningAverage {
        /// λ ∈ \[0, 1\]: the weight of a batch shrinks by λ with every later call.
        decay: f64,
    },
}

impl Baseline {
    /// Whether the estimate is unbiased with this baseline (all but `BatchMean`).
    pub fn is_unbiased(&self) -> bool {
        !matches!(self, Baseline::BatchMean)
    }

    /// A short lowercase name for tables ("none", "constant", "leave-one-out", "batch mean",
    /// "optimal leave-one-out", "running average").
    pub fn name(&self) -> &'static str {
        match self {
            Baseline::None => "none",
            Baseline::Constant(_) => "constant",
            Baseline::LeaveOneOut => "leave-one-out",
            Baseline::BatchMean => "batch mean",
            Baseline::OptimalLeaveOneOut => "optimal leave-one-out",
            Baseline::RunningAverage { .. } => "running average",
        }
    }

    /// Checks the numbers a baseline carries.
    pub(crate) fn check(&self) -> Result<()> {
        match *self {
            Baseline::Constant(b) if !b.is_finite() => Err(Error::InvalidOption {
                name: "constant baseline".to_string(),
                value: b.to_string(),
                reason: "must be finite".to_string(),
            }),
            Baseline::RunningAverage { decay } if !(0.0..=1.0).contains(&decay) => {
                Err(Error::InvalidOption {
                    name: "decay".to_string(),
                    value: decay.to_string(),
                    reason: "must be in [0, 1]".to_string(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Identifies what a recording buffer ([`Batch`], [`Episodes`]) holds: a process-unique id
/// for the buffer (a clone gets a new one) and a generation bumped by every change of its
/// contents. Two equal stamps mean the same, unchanged data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    id: u64,
    generation: u64,
}

impl Stamp {
    /// A stamp for a new buffer.
    pub(crate) fn fresh() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Stamp {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: 0,
        }
    }

    /// The contents changed.
    #[inline]
    pub(crate) fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}

/// An exponentially weighted mean of the values of earlier calls (see
/// [`Baseline::RunningAverage`]), kept as a mean and a total weight so that it cannot
/// overflow for finite values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct RunningMean {
    mean: f64,
    weight: f64,
}

impl RunningMean {
    /// The current mean, 0 before any data.
    pub(crate) fn value(&self) -> f64 {
        if self.weight > 0.0 {
            self.mean
        } else {
            0.0
        }
    }

    /// Whether any data has been seen.
    pub(crate) fn is_set(&self) -> bool {
        self.weight > 0.0
    }

    /// Decays the history's weight by λ, then adds `count` values with mean `mean`: the new
    /// mean is the convex combination (λw·m + count·mean) / (λw + count). Nothing changes for
    /// `count` = 0 (the history does not age without new data), or if the result would not
    /// be finite.
    pub(crate) fn update(&mut self, decay: f64, mean: f64, count: f64) {
        if count.is_nan() || count <= 0.0 {
            return;
        }
        let old = decay * self.weight;
        let w = old + count;
        let m = if old > 0.0 {
            self.mean * (old / w) + mean * (count / w)
        } else {
            mean
        };
        if m.is_finite() && w.is_finite() {
            self.mean = m;
            self.weight = w;
        }
    }
}

/// Running state that folds each recorded buffer into itself once: the state before the
/// last fold is kept, so a second call on the same unchanged buffer (same [`Stamp`]) sees
/// what the first saw.
#[derive(Clone, Debug, Default)]
pub(crate) struct FoldOnce<T> {
    /// Includes the last folded buffer.
    pub current: T,
    /// As before the last folded buffer.
    pub before: T,
    /// The last folded buffer (`None` for data without a stamp, such as plain arrays).
    pub last: Option<Stamp>,
}

impl<T: Clone> FoldOnce<T> {
    /// Whether data with this stamp was the last folded in.
    pub(crate) fn is_repeat(&self, stamp: Option<Stamp>) -> bool {
        stamp.is_some() && stamp == self.last
    }

    /// The state a call on data with this stamp must use: the one without that data.
    pub(crate) fn for_call(&self, stamp: Option<Stamp>) -> &T {
        if self.is_repeat(stamp) {
            &self.before
        } else {
            &self.current
        }
    }

    /// Folds new data in with `f` (nothing for a repeat).
    pub(crate) fn fold(&mut self, stamp: Option<Stamp>, f: impl FnOnce(&mut T)) {
        if !self.is_repeat(stamp) {
            self.before.clone_from(&self.current);
            f(&mut self.current);
            self.last = stamp;
        }
    }

    /// Forgets everything, keeping the shape of `T` through `clear`.
    pub(crate) fn reset(&mut self, clear: impl Fn(&mut T)) {
        clear(&mut self.current);
        clear(&mut self.before);
        self.last = None;
    }
}

/// (1/n) Σ xᵢ, summed as Σ xᵢ/n: finite for finite inputs however large (a plain sum of two
/// values near the largest double overflows).
pub(crate) fn mean_of(xs: impl IntoIterator<Item = f64>, n: usize) -> f64 {
    let inv = 1.0 / n as f64;
    xs.into_iter().map(|x| x * inv).sum()
}

/// Reusable buffers of the batch-baseline kernel.
#[derive(Clone, Debug, Default)]
pub(crate) struct Workspace {
    /// Per-sample scalar weights wₙ = fₙ − b̄ₙ.
    pub w: Vec<f64>,
    /// Correction c (length K) for per-component baselines.
    pub c: Vec<f64>,
    /// The dense accumulator of the estimate (length K).
    pub acc: Vec<f64>,
    /// Suffix sums of the optimal baseline (2·N·K) and prefix sums (3·K).
    pub suffix: Vec<f64>,
    pub prefix: Vec<f64>,
}

/// The estimate as scalar weights and a correction: ĝ = (1/N) Σₙ wₙ gₙ − c.
///
/// Scalar baselines give wₙ = fₙ − bₙ and c = 0. The per-component optimal baseline bₙₖ is
/// split into the leave-one-out mean b̄ₙ (in wₙ) and a correction
/// cₖ = (1/N) Σₙ (bₙₖ − b̄ₙ) gₙₖ, which keeps the subtraction f − b where it is small.
/// Returns (whether c is used, the mean baseline).
pub(crate) fn batch_weights(
    baseline: &Baseline,
    running: &RunningMean,
    values: &[f64],
    scores: &[f64],
    k: usize,
    ws: &mut Workspace,
) -> (bool, f64) {
    let n = values.len();
    let nf = n as f64;
    ws.w.clear();
    ws.c.clear();
    ws.c.resize(k, 0.0);
    // Σ f/N, not Σ f / N: finite for any finite values (two near 1e308 would overflow).
    let mean = mean_of(values.iter().copied(), n);
    // Centred values keep f − b accurate when the values are large and close.
    let loo = |f: f64| nf / (nf - 1.0) * (f - mean);
    match *baseline {
        Baseline::None => {
            ws.w.extend_from_slice(values);
            (false, 0.0)
        }
        Baseline::Constant(b) => {
            ws.w.extend(values.iter().map(|&f| f - b));
            (false, b)
        }
        Baseline::RunningAverage { .. } => {
            let b = running.value();
            ws.w.extend(values.iter().map(|&f| f - b));
            (false, b)
        }
        Baseline::BatchMean => {
            ws.w.extend(values.iter().map(|&f| f - mean));
            (false, mean)
        }
        Baseline::LeaveOneOut | Baseline::OptimalLeaveOneOut if n < 2 => {
            ws.w.extend_from_slice(values);
            (false, 0.0)
        }
        Baseline::LeaveOneOut => {
            ws.w.extend(values.iter().map(|&f| loo(f)));
            // The mean of the leave-one-out means is the mean.
            (false, mean)
        }
        Baseline::OptimalLeaveOneOut => {
            ws.w.extend(values.iter().map(|&f| loo(f)));
            let b_mean = optimal_correction(values, mean, scores, k, ws);
            (true, b_mean)
        }
    }
}

/// Fills `ws.c` with cₖ = (1/N) Σₙ (bₙₖ − b̄ₙ) gₙₖ for the leave-one-out optimal baseline and
/// returns the mean baseline (1/(NK)) Σₙₖ bₙₖ (summed in scaled terms, so it stays finite).
///
/// With centred values f′ = f − f̄ (an exact identity: the ratio is f̄ plus the ratio of the
/// centred values), bₙₖ − b̄ₙ = (fₙ − f̄)/(N − 1) + Σ_{m≠n} f′ₘ gₘₖ² / Σ_{m≠n} gₘₖ². The
/// leave-one-out sums come from suffix sums (kept in the workspace) plus a running prefix,
/// not from the total minus the own term, so no cancellation: the denominator is a sum of
/// non-negative terms, and is zero only when every other score is zero in component k.
fn optimal_correction(
    values: &[f64],
    mean: f64,
    scores: &[f64],
    k: usize,
    ws: &mut Workspace,
) -> f64 {
    let n = values.len();
    let nf = n as f64;
    // Structure of arrays, so that the loops over components vectorise:
    // suffix[m·K + j] = Σ_{m' > m} f′ g² and suffix[N·K + m·K + j] = Σ_{m' > m} g².
    let nk = n * k;
    ws.suffix.clear();
    ws.suffix.resize(2 * nk, 0.0);
    {
        let (snum, sden) = ws.suffix.split_at_mut(nk);
        for m in (0..n - 1).rev() {
            let f_next = values[m + 1] - mean;
            let g_next = &scores[(m + 1) * k..(m + 2) * k];
            let (num_cur, num_next) = snum[m * k..(m + 2) * k].split_at_mut(k);
            let (den_cur, den_next) = sden[m * k..(m + 2) * k].split_at_mut(k);
            for j in 0..k {
                let g2 = g_next[j] * g_next[j];
                num_cur[j] = num_next[j] + f_next * g2;
                den_cur[j] = den_next[j] + g2;
            }
        }
    }
    // prefix = (Σ_{m' < m} f′ g², Σ_{m' < m} g², Σ_{m' < m} bₘ′ⱼ/N), K entries each: sums of
    // the baselines per component keep the loop free of a serial reduction.
    ws.prefix.clear();
    ws.prefix.resize(3 * k, 0.0);
    let (pnum, rest) = ws.prefix.split_at_mut(k);
    let (pden, pb) = rest.split_at_mut(k);
    let (snum, sden) = ws.suffix.split_at(nk);
    let c = &mut ws.c[..k];
    let inv_others = 1.0 / (nf - 1.0);
    let inv_n = 1.0 / nf;
    for m in 0..n {
        let fc = values[m] - mean;
        let g = &scores[m * k..(m + 1) * k];
        let (sn, sd) = (&snum[m * k..(m + 1) * k], &sden[m * k..(m + 1) * k]);
        let shift = fc * inv_others;
        let loo_mean = mean - shift;
        for j in 0..k {
            let num = pnum[j] + sn[j];
            let den = pden[j] + sd[j];
            // b − b̄ = shift + ratio (the ratio of centred values); without other scores in
            // this component, b = b̄.
            let diff = if den > 0.0 { shift + num / den } else { 0.0 };
            c[j] += diff * g[j];
            pb[j] += (loo_mean + diff) * inv_n;
            let g2 = g[j] * g[j];
            pnum[j] += fc * g2;
            pden[j] += g2;
        }
    }
    let b_mean = mean_of(pb.iter().copied(), k.max(1));
    for c in &mut ws.c {
        *c /= nf;
    }
    b_mean
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
    check_len("gradient buffer", acc.len(), grad.len())?;
    if !alpha.is_finite() {
        return Err(Error::NonFiniteInput {
            what: "alpha".to_string(),
            value: alpha,
        });
    }
    let bad = acc.iter().zip(grad.iter()).any(|(&a, &g)| {
        let x = alpha * a;
        !(a.is_finite() && x.is_finite() && (g + x).is_finite())
    });
    if bad {
        let (theta, whence) = match theta {
            Theta::Known(t) => (t.to_vec(), ""),
            Theta::NotKnown(why) => (Vec::new(), why),
        };
        return Err(Error::NonFiniteResult {
            what: format!("{what} (or the gradient buffer plus alpha times it){whence}"),
            theta,
        });
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
