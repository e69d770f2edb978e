//! Baselines of the score-function estimators: the [`Baseline`] options, the running means
//! that fold each recorded buffer in once, and the kernel that turns values and scores into
//! per-sample weights (with the per-component correction of the optimal baseline).

use super::stamp::Stamp;
use crate::check;
use crate::error::Result;
use crate::numeric::mean_of;

/// The baseline of the single-sample estimator (see the [module docs](super) for the formulas
/// and why each is or is not unbiased).
///
/// ```
/// use rlgrad::estimator::Baseline;
/// assert!(Baseline::LeaveOneOut.is_unbiased());
/// assert!(!Baseline::BatchMean.is_unbiased());
/// assert_eq!(Baseline::RunningAverage { decay: 0.9 }.name(), "running average");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// [`Batch`](super::Batch) uses the same b as the first (batches know when they change; see
    /// [`Reinforce`](super::Reinforce)). So b never depends on the batch it multiplies, and the
    /// estimate stays unbiased whatever the history (E\[(f − b) g | b\] = E\[f g\] − b E\[g\]
    /// = ∇). `decay = 0` uses the previous batch's mean; `decay = 1` the mean of everything
    /// seen so far.
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
            Baseline::Constant(b) => check::finite_option("constant baseline", b),
            Baseline::RunningAverage { decay } => check::unit_interval("decay", decay),
            _ => Ok(()),
        }
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
        if self.weight > 0.0 { self.mean } else { 0.0 }
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
