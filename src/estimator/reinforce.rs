//! The single-step estimator: [`Batch`] of independent samples, [`Reinforce`] over it.

use std::borrow::Cow;
use std::collections::TryReserveError;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};
use rand::Rng;

use super::{
    batch_weights, finish, Baseline, Estimate, Estimator, FoldOnce, RunningMean, Stamp, Theta,
    Workspace,
};
use crate::error::{check_len, Error, Result};
use crate::policy::ScoreFunction;

/// N independent samples zₙ ∼ p(·; θ₀) of a [`ScoreFunction`], with their values fₙ and
/// scores gₙ = ∇θ log p(zₙ; θ₀), computed when each sample is recorded.
///
/// The buffers are reused: [`Batch::reset`] clears them (and sets a new θ₀) without giving
/// back their memory, and [`Batch::draw`] even reuses the allocation of heap samples (such as
/// the `Vec<f64>` of a [`GaussianMean`](crate::policy::GaussianMean)). After the first batch
/// of a given size, recording allocates nothing.
///
/// A batch knows when its contents change (every [`Batch::clear`], [`Batch::reset`],
/// [`Batch::push`] and [`Batch::draw`] that records a sample starts a new *generation*), so
/// that a [`Baseline::RunningAverage`] folds each batch into its history once however many
/// estimates and surrogates are taken from it. A clone is a new batch.
///
/// ```
/// use ndarray::arr1;
/// use rand::SeedableRng;
/// use rlgrad::estimator::Batch;
/// use rlgrad::policy::GaussianMean;
/// let dist = GaussianMean::new(2, 1.0)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let mut batch = Batch::new(&dist, arr1(&[0.0, 1.0]).view())?;
/// // f(z) = z₀ + z₁; the closure also gets the generator, for noisy values.
/// batch.draw(10, &mut rng, |z, _| z[0] + z[1])?;
/// batch.push(vec![0.5, 0.5], 1.0)?; // a sample drawn elsewhere, with its value
/// assert_eq!(batch.len(), 11);
/// assert_eq!(batch.scores().dim(), (11, 2));
/// batch.reset(arr1(&[0.1, 1.1]).view())?; // next iteration: same memory, new θ₀
/// assert!(batch.is_empty());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug)]
pub struct Batch<D: ScoreFunction> {
    dist: D,
    theta: Vec<f64>,
    len: usize,
    stamp: Stamp,
    /// Slots 0..len hold the batch; later slots keep their allocations for reuse.
    samples: Vec<D::Sample>,
    values: Vec<f64>,
    log_probs: Vec<f64>,
    /// len × dim, row-major.
    scores: Vec<f64>,
}

impl<D: ScoreFunction> Batch<D> {
    /// An empty batch of samples from `dist` at θ₀ = `theta`.
    ///
    /// # Errors
    /// θ rejected by [`ScoreFunction::check_theta`] (wrong length, non-finite entry, …).
    pub fn new(dist: D, theta: ArrayView1<f64>) -> Result<Self> {
        let theta = theta.to_vec();
        dist.check_theta(&theta)?;
        Ok(Batch {
            dist,
            theta,
            len: 0,
            stamp: Stamp::fresh(),
            samples: Vec::new(),
            values: Vec::new(),
            log_probs: Vec::new(),
            scores: Vec::new(),
        })
    }

    /// Empties the batch and sets a new θ₀, keeping the memory.
    ///
    /// # Errors
    /// As [`Batch::new`]; the batch is then empty and keeps its old θ₀.
    pub fn reset(&mut self, theta: ArrayView1<f64>) -> Result<()> {
        self.clear();
        check_len("theta", self.dist.dim(), theta.len())?;
        match theta.as_slice() {
            // The common case copies into the old buffer: no allocation.
            Some(t) => {
                self.dist.check_theta(t)?;
                self.theta.copy_from_slice(t);
            }
            None => {
                let t = theta.to_vec();
                self.dist.check_theta(&t)?;
                self.theta = t;
            }
        }
        Ok(())
    }

    /// Empties the batch (same θ₀), keeping the memory.
    pub fn clear(&mut self) {
        self.stamp.bump();
        self.len = 0;
        self.values.clear();
        self.log_probs.clear();
        self.scores.clear();
    }

    /// Records a sample drawn elsewhere (it must come from p(·; θ₀) for the estimate to be
    /// unbiased) with its value f(z); returns log p(z; θ₀).
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] for a non-finite value; whatever the distribution reports
    /// for the sample (outside the support, wrong shape); [`Error::InvalidOption`] if the
    /// memory for another sample cannot be had. The batch is unchanged on error.
    pub fn push(&mut self, sample: D::Sample, value: f64) -> Result<f64> {
        if self.len == self.samples.len() {
            self.samples
                .try_reserve(1)
                .map_err(|_| self.no_room("batch size", self.len + 1))?;
        }
        let lp = self.record(&sample, value)?;
        if self.len < self.samples.len() {
            self.samples[self.len] = sample;
        } else {
            self.samples.push(sample);
        }
        self.len += 1;
        Ok(lp)
    }

    /// Draws `n` samples from p(·; θ₀) and records each with its value `f(&z, rng)`.
    ///
    /// Memory for up to 4096 samples is reserved up front; a larger batch grows as it is
    /// drawn (and keeps its memory for the next one).
    ///
    /// # Errors
    /// As [`Batch::push`]; [`Error::InvalidOption`] naming `n` if a batch of that many more
    /// samples could not be stored (nothing is drawn then). The samples recorded before a
    /// failing one stay.
    pub fn draw<R, F>(&mut self, n: usize, rng: &mut R, mut f: F) -> Result<()>
    where
        R: Rng + ?Sized,
        F: FnMut(&D::Sample, &mut R) -> f64,
    {
        self.check_room("n", n)?;
        self.try_reserve(n.min(Self::UPFRONT))
            .map_err(|_| self.no_room("n", n))?;
        for _ in 0..n {
            if self.len == self.samples.len() {
                self.samples
                    .try_reserve(1)
                    .map_err(|_| self.no_room("batch size", self.len + 1))?;
                self.samples.push(D::Sample::default());
            }
            // Take the slot out to satisfy the borrow checker; it goes back either way.
            let mut z = std::mem::take(&mut self.samples[self.len]);
            let res = self
                .dist
                .sample_into(&self.theta, rng, &mut z)
                .and_then(|()| {
                    let v = f(&z, rng);
                    self.record(&z, v)
                });
            self.samples[self.len] = z;
            res?;
            self.len += 1;
        }
        Ok(())
    }

    /// Samples reserved up front by [`Batch::draw`].
    const UPFRONT: usize = 4096;

    /// Room for `additional` more samples without reallocating.
    ///
    /// ```
    /// use ndarray::arr1;
    /// use rlgrad::estimator::Batch;
    /// use rlgrad::policy::{Policy, SoftmaxPolicy};
    /// let policy = SoftmaxPolicy::logits(1, 2)?;
    /// let mut batch = Batch::new(policy.at(0), arr1(&[0.0, 0.0]).view())?;
    /// batch.reserve(1000)?;
    /// assert!(batch.reserve(usize::MAX).is_err()); // an error, not a panic
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming `additional` if that much memory cannot be had (more
    /// than the address space, or the allocator refuses); the batch is unchanged.
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        self.check_room("additional", additional)?;
        self.try_reserve(additional)
            .map_err(|_| self.no_room("additional", additional))
    }

    /// [`Error::InvalidOption`] naming `n` unless len + n samples (values, log-probabilities,
    /// scores and the samples themselves) fit in the address space.
    fn check_room(&self, name: &str, n: usize) -> Result<()> {
        let per_sample = (self.dist.dim() + 2)
            .checked_mul(std::mem::size_of::<f64>())
            .and_then(|b| b.checked_add(std::mem::size_of::<D::Sample>()));
        let fits = self
            .len
            .checked_add(n)
            .zip(per_sample)
            .and_then(|(total, per)| total.checked_mul(per))
            .is_some_and(|bytes| bytes <= isize::MAX as usize);
        if fits {
            Ok(())
        } else {
            Err(self.no_room(name, n))
        }
    }

    fn try_reserve(&mut self, n: usize) -> std::result::Result<(), TryReserveError> {
        let k = self.dist.dim();
        self.values.try_reserve(n)?;
        self.log_probs.try_reserve(n)?;
        self.scores.try_reserve(n.saturating_mul(k))?;
        let spare = self.samples.len() - self.len;
        self.samples.try_reserve(n.saturating_sub(spare))
    }

    fn no_room(&self, name: &str, value: usize) -> Error {
        Error::InvalidOption {
            name: name.to_string(),
            value: value.to_string(),
            reason: format!(
                "cannot store that many more samples of dimension {} (the batch holds {})",
                self.dist.dim(),
                self.len
            ),
        }
    }

    /// Checks the value, computes the score into a new row; leaves everything as it was on
    /// error.
    fn record(&mut self, z: &D::Sample, value: f64) -> Result<f64> {
        if !value.is_finite() {
            return Err(Error::NonFiniteInput {
                what: format!("value of sample {}", self.len),
                value,
            });
        }
        let k = self.dist.dim();
        if self.values.try_reserve(1).is_err()
            || self.log_probs.try_reserve(1).is_err()
            || self.scores.try_reserve(k).is_err()
        {
            return Err(self.no_room("batch size", self.len + 1));
        }
        let row = self.scores.len();
        self.scores.resize(row + k, 0.0);
        match self
            .dist
            .add_log_prob_and_score(&self.theta, z, 1.0, &mut self.scores[row..])
        {
            Ok(lp) => {
                self.values.push(value);
                self.log_probs.push(lp);
                self.stamp.bump();
                Ok(lp)
            }
            Err(e) => {
                self.scores.truncate(row);
                Err(e)
            }
        }
    }

    /// Number of samples N.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length of θ.
    pub fn dim(&self) -> usize {
        self.dist.dim()
    }

    /// The distribution.
    pub fn distribution(&self) -> &D {
        &self.dist
    }

    /// θ₀, where the samples were drawn and the scores computed.
    pub fn theta(&self) -> ArrayView1<'_, f64> {
        ArrayView1::from(&self.theta[..])
    }

    /// The samples zₙ.
    pub fn samples(&self) -> &[D::Sample] {
        &self.samples[..self.len]
    }

    /// The values fₙ.
    pub fn values(&self) -> ArrayView1<'_, f64> {
        ArrayView1::from(&self.values[..])
    }

    /// The log-probabilities log p(zₙ; θ₀).
    pub fn log_probs(&self) -> ArrayView1<'_, f64> {
        ArrayView1::from(&self.log_probs[..])
    }

    /// The scores gₙ as an N × dim array.
    pub fn scores(&self) -> ArrayView2<'_, f64> {
        ArrayView2::from_shape((self.len, self.dist.dim()), &self.scores)
            .expect("scores hold len × dim entries")
    }

    pub(crate) fn raw_scores(&self) -> &[f64] {
        &self.scores
    }

    pub(crate) fn raw_values(&self) -> &[f64] {
        &self.values
    }

    pub(crate) fn theta_slice(&self) -> &[f64] {
        &self.theta
    }

    pub(crate) fn stamp(&self) -> Stamp {
        self.stamp
    }
}

impl<D: ScoreFunction + Clone> Clone for Batch<D> {
    /// A copy with the same samples that counts as a new batch (see the type docs).
    fn clone(&self) -> Self {
        Batch {
            dist: self.dist.clone(),
            theta: self.theta.clone(),
            len: self.len,
            stamp: Stamp::fresh(),
            samples: self.samples.clone(),
            values: self.values.clone(),
            log_probs: self.log_probs.clone(),
            scores: self.scores.clone(),
        }
    }
}

/// The single-step REINFORCE estimator ĝ = (1/N) Σₙ (fₙ − bₙ) gₙ with a [`Baseline`]
/// (see the [module docs](super) for the formulas).
///
/// It works on a [`Batch`] (through [`Estimator`]) or on plain arrays of values and scores
/// ([`Reinforce::add_estimate_from`]), and can turn a batch into a [`Surrogate`](super::Surrogate)
/// term. A [`Baseline::RunningAverage`] is updated after the estimate with the batch's values,
/// once per batch: further estimates or surrogates of the same unchanged [`Batch`] use the
/// same baseline as the first (from earlier batches only) and do not fold it in again, so
/// `surrogate` and `estimate` of one batch agree. (The check remembers only the batch folded
/// in last. Every [`Reinforce::add_estimate_from`] call counts as a new batch.) The workspace
/// is kept between calls: after the first call of a given
/// size, an estimate allocates nothing; it costs O(N·K) (the optimal baseline makes two more
/// passes and keeps 2·N·K numbers).
///
/// ```
/// use ndarray::{arr1, arr2, Array1};
/// use rlgrad::estimator::{Baseline, Reinforce};
/// // Two samples with values 3 and 1 and scores (1, 0) and (0, 1).
/// let values = arr1(&[3.0, 1.0]);
/// let scores = arr2(&[[1.0, 0.0], [0.0, 1.0]]);
/// let mut grad = Array1::zeros(2);
/// let mut loo = Reinforce::new(Baseline::LeaveOneOut)?;
/// loo.add_estimate_from(values.view(), scores.view(), 1.0, grad.view_mut())?;
/// // ((3 − 1)·(1, 0) + (1 − 3)·(0, 1)) / 2
/// assert_eq!(grad, arr1(&[1.0, -1.0]));
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Reinforce {
    baseline: Baseline,
    running: FoldOnce<RunningMean>,
    ws: Workspace,
}

impl Reinforce {
    /// An estimator with the given baseline.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a non-finite constant or a decay outside \[0, 1\].
    pub fn new(baseline: Baseline) -> Result<Self> {
        baseline.check()?;
        Ok(Reinforce {
            baseline,
            running: FoldOnce::default(),
            ws: Workspace::default(),
        })
    }

    /// The baseline.
    pub fn baseline(&self) -> Baseline {
        self.baseline
    }

    /// The current running average, the last batch included (`None` for other baselines, or
    /// before the first call).
    pub fn running_baseline(&self) -> Option<f64> {
        let running = &self.running.current;
        match self.baseline {
            Baseline::RunningAverage { .. } if running.is_set() => Some(running.value()),
            _ => None,
        }
    }

    /// Forgets the running average's history.
    pub fn reset(&mut self) {
        self.running.reset(|r| *r = RunningMean::default());
    }

    /// Adds `alpha · ĝ` into `grad` from plain arrays: `values` (length N) and `scores`
    /// (N × K, row n the score of sample n).
    ///
    /// # Errors
    /// [`Error::EmptyData`] for N = 0; [`Error::DimensionMismatch`] for inconsistent shapes;
    /// [`Error::NonFiniteInput`] naming a non-finite value or score entry;
    /// [`Error::NonFiniteResult`] if the estimate overflows (`grad` is then unchanged).
    pub fn add_estimate_from(
        &mut self,
        values: ArrayView1<f64>,
        scores: ArrayView2<f64>,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
    ) -> Result<Estimate> {
        let (n, k) = scores.dim();
        check_len("values", n, values.len())?;
        check_len("gradient buffer", k, grad.len())?;
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteInput {
                what: format!("value of sample {i}"),
                value: *v,
            });
        }
        if let Some(((i, j), v)) = scores.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFiniteInput {
                what: format!("score entry {j} of sample {i}"),
                value: *v,
            });
        }
        // Contiguous input is used in place; anything else is copied once.
        let v = match values.as_slice() {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Owned(values.to_vec()),
        };
        let s = match scores.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(scores.iter().copied().collect()),
        };
        self.estimate_slices(&v, &s, k, alpha, grad, None)
    }

    /// The kernel: validated slices in, `alpha · ĝ` added, running average updated. `batch`
    /// gives θ₀ and the stamp of a [`Batch`] (`None` for plain arrays).
    fn estimate_slices(
        &mut self,
        values: &[f64],
        scores: &[f64],
        k: usize,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
        batch: Option<(&[f64], Stamp)>,
    ) -> Result<Estimate> {
        let (theta, stamp) = match batch {
            Some((theta, stamp)) => (Theta::Known(theta), Some(stamp)),
            None => (
                Theta::NotKnown(" (theta is not known for plain arrays)"),
                None,
            ),
        };
        check_len("gradient buffer", k, grad.len())?;
        let n = values.len();
        if n == 0 {
            return Err(Error::EmptyData {
                what: "batch of samples".to_string(),
            });
        }
        let (has_c, mean_baseline) = batch_weights(
            &self.baseline,
            self.running.for_call(stamp),
            values,
            scores,
            k,
            &mut self.ws,
        );
        let ws = &mut self.ws;
        ws.acc.clear();
        ws.acc.resize(k, 0.0);
        for (row, &w) in scores.chunks_exact(k.max(1)).zip(&ws.w) {
            for (a, &g) in ws.acc.iter_mut().zip(row) {
                *a += w * g;
            }
        }
        let inv = 1.0 / n as f64;
        for a in ws.acc.iter_mut() {
            *a *= inv;
        }
        if has_c {
            for (a, &c) in ws.acc.iter_mut().zip(&ws.c) {
                *a -= c;
            }
        }
        finish(&ws.acc, alpha, grad, "reinforce estimate", theta)?;
        let mean_value = super::mean_of(values.iter().copied(), n);
        self.update_running(stamp, mean_value, n);
        Ok(Estimate {
            n,
            steps: n,
            mean_value,
            mean_baseline,
        })
    }

    /// Folds a batch with these values into the running average, once per batch.
    fn update_running(&mut self, stamp: Option<Stamp>, mean: f64, n: usize) {
        if let Baseline::RunningAverage { decay } = self.baseline {
            self.running
                .fold(stamp, |r| r.update(decay, mean, n as f64));
        }
    }

    /// The estimate of a batch as a [`Surrogate`](super::Surrogate) term (for the running
    /// average it counts like an estimate: the batch is folded in once).
    ///
    /// # Errors
    /// [`Error::EmptyData`] for an empty batch.
    pub fn surrogate<'b, D: ScoreFunction>(
        &mut self,
        batch: &'b Batch<D>,
    ) -> Result<super::Surrogate<'b, D>> {
        let n = batch.len();
        if n == 0 {
            return Err(Error::EmptyData {
                what: "batch of samples".to_string(),
            });
        }
        let k = batch.dim();
        let stamp = Some(batch.stamp());
        let (has_c, _) = batch_weights(
            &self.baseline,
            self.running.for_call(stamp),
            batch.raw_values(),
            batch.raw_scores(),
            k,
            &mut self.ws,
        );
        let correction = has_c.then(|| self.ws.c.clone());
        let weights = self.ws.w.clone();
        let mean = super::mean_of(batch.raw_values().iter().copied(), n);
        self.update_running(stamp, mean, n);
        Ok(super::Surrogate::new(batch, weights, correction))
    }
}

impl<D: ScoreFunction> Estimator<Batch<D>> for Reinforce {
    fn add_estimate(
        &mut self,
        data: &Batch<D>,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
    ) -> Result<Estimate> {
        let k = data.dim();
        self.estimate_slices(
            data.raw_values(),
            data.raw_scores(),
            k,
            alpha,
            grad,
            Some((data.theta_slice(), data.stamp())),
        )
    }
}
