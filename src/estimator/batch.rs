//! [`Batch`]: a reusable buffer of independent samples of a score function, with their values
//! and scores.

use std::collections::TryReserveError;

use ndarray::{ArrayView1, ArrayView2};
use rand::Rng;

use super::stamp::Stamp;
use crate::check;
use crate::error::{Error, Result};
use crate::policy::ScoreFunction;
use crate::slices::contiguous;

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
/// that a [`Baseline::RunningAverage`](super::Baseline::RunningAverage) folds each batch into
/// its history once however many estimates and surrogates are taken from it. A clone is a new
/// batch.
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
        check::len("theta", self.dist.dim(), theta.len())?;
        // A contiguous θ (the common case) is checked in place and copied into the old
        // buffer: no allocation.
        let t = contiguous(&theta);
        self.dist.check_theta(&t)?;
        self.theta.copy_from_slice(&t);
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

    /// [`Error::InvalidOption`] naming `n` unless len + n samples (a value, a log-probability
    /// and a score of `dim` entries each) fit within [`MAX_FLOATS`](check::MAX_FLOATS).
    fn check_room(&self, name: &str, n: usize) -> Result<()> {
        let total = self.len.saturating_add(n);
        let per_sample = self.dist.dim().saturating_add(2);
        check::floats(
            &[total, per_sample],
            name,
            n,
            format_args!(
                "a batch of {total} samples of dimension {} (values, log-probabilities and \
                 scores)",
                self.dist.dim()
            ),
        )
        .map(|_| ())
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
        Error::invalid_option(
            name,
            value,
            format!(
                "cannot store that many more samples of dimension {} (the batch holds {})",
                self.dist.dim(),
                self.len
            ),
        )
    }

    /// Checks the value, computes the score into a new row; leaves everything as it was on
    /// error.
    fn record(&mut self, z: &D::Sample, value: f64) -> Result<f64> {
        check::finite_input_with(value, || format!("value of sample {}", self.len))?;
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
