//! The single-step estimator: [`Reinforce`] over a [`Batch`] of independent samples.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};

use super::baseline::{FoldOnce, RunningMean, Workspace, batch_weights};
use super::batch::Batch;
use super::stamp::Stamp;
use super::{Baseline, Estimate, Estimator, Theta, finish};
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::mean_of;
use crate::policy::ScoreFunction;
use crate::slices::contiguous;

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
        check::len("values", n, values.len())?;
        check::len("gradient buffer", k, grad.len())?;
        check::finite_inputs_with(values, |i| format!("value of sample {i}"))?;
        if let Some(((i, j), v)) = scores.indexed_iter().find(|(_, v)| !v.is_finite()) {
            let what = format!("score entry {j} of sample {i}");
            return Err(Error::non_finite_input(what, *v));
        }
        // Contiguous input is used in place; anything else is copied once.
        let (v, s) = (contiguous(&values), contiguous(&scores));
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
        check::len("gradient buffer", k, grad.len())?;
        let n = values.len();
        if n == 0 {
            return Err(Error::empty_data("batch of samples"));
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
        let mean_value = mean_of(values.iter().copied(), n);
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
            return Err(Error::empty_data("batch of samples"));
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
        let mean = mean_of(batch.raw_values().iter().copied(), n);
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
