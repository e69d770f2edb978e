//! Surrogate terms (the formulas are in the [estimator module docs](super)).

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use super::batch::Batch;
use super::episodes::Episodes;
use crate::Term;
use crate::check;
use crate::error::{Error, Result};
use crate::fd;
use crate::policy::{Policy, ScoreFunction};
use crate::slices::contiguous;
use crate::term::hessian_of_gradient;

/// Subtracts the linear correction from the value and the gradient.
fn apply_correction(
    correction: Option<&[f64]>,
    theta: &[f64],
    theta0: &[f64],
    value: &mut f64,
    acc: &mut [f64],
) {
    if let Some(c) = correction {
        for ((a, &ck), (&t, &t0)) in acc.iter_mut().zip(c).zip(theta.iter().zip(theta0)) {
            *value -= ck * (t - t0);
            *a -= ck;
        }
    }
}

/// Checks the value and adds `alpha · acc` into `grad` (unchanged on error).
fn finish_term(
    value: f64,
    acc: &[f64],
    alpha: f64,
    grad: ArrayViewMut1<f64>,
    theta: &[f64],
    what: &str,
) -> Result<f64> {
    check::finite_result(value, theta, || format!("{what} value"))?;
    super::finish(
        acc,
        alpha,
        grad,
        &format!("{what} gradient"),
        super::Theta::Known(theta),
    )?;
    Ok(value)
}

/// Adds `alpha · h` (a dense k × k Hessian, checked by the caller) into `hess`.
fn add_hessian(h: &[f64], alpha: f64, mut hess: ArrayViewMut2<f64>) {
    let k = hess.nrows();
    for i in 0..k {
        for j in 0..k {
            hess[[i, j]] += alpha * h[i * k + j];
        }
    }
}

/// What differs between the two surrogates; the [`Term`] methods around it are shared
/// (`surrogate_term!` writes them).
trait SurrogateParts: Term {
    /// The subject of error messages.
    const NAME: &'static str;

    /// The length of θ.
    fn theta_len(&self) -> usize;

    /// S(θ) and ∇S(θ) into `acc` (zeroed, length K), θ checked.
    fn value_grad_into(&self, theta: &[f64], acc: &mut [f64]) -> Result<f64>;

    /// Whether [`SurrogateParts::add_exact_hessian`] is available.
    fn exact_hessian(&self) -> bool;

    /// Adds ∇²S(θ) into `h` (K × K, row-major), θ checked.
    fn add_exact_hessian(&self, theta: &[f64], h: &mut [f64]) -> Result<()>;
}

/// [`Term::add_value_and_grad`] of a surrogate.
fn add_value_and_grad<S: SurrogateParts>(
    s: &S,
    theta: ArrayView1<f64>,
    alpha: f64,
    grad: ArrayViewMut1<f64>,
) -> Result<f64> {
    check::term_args(s.dim(), theta, grad.len())?;
    check::alpha(alpha)?;
    let th = contiguous(&theta);
    let mut acc = vec![0.0; s.dim()];
    let value = s.value_grad_into(&th, &mut acc)?;
    finish_term(value, &acc, alpha, grad, &th, S::NAME)
}

/// [`Term::add_value_grad_hessian`] of a surrogate: the exact Hessian where the distribution
/// or policy gives ∇² log p, otherwise central differences of the gradient. Everything is
/// checked before the caller's buffers are touched.
fn add_value_grad_hessian<S: SurrogateParts>(
    s: &S,
    theta: ArrayView1<f64>,
    alpha: f64,
    mut grad: ArrayViewMut1<f64>,
    hess: ArrayViewMut2<f64>,
) -> Result<f64> {
    let k = s.dim();
    check::hessian_shape(k, &hess)?;
    check::term_args(k, theta, grad.len())?;
    check::alpha(alpha)?;
    let th = contiguous(&theta);
    let h = if s.exact_hessian() {
        let mut h = check::square_zeros(k, "the surrogate's hessian")?;
        s.add_exact_hessian(&th, &mut h)?;
        h
    } else {
        hessian_of_gradient(s, theta, &fd::FdOptions::default())?
            .iter()
            .copied()
            .collect()
    };
    let mut acc = vec![0.0; k];
    let value = s.value_grad_into(&th, &mut acc)?;
    // Checked before the caller's buffers are touched.
    if h.iter().any(|&x| !(alpha * x).is_finite()) {
        let what = format!("{} hessian", S::NAME);
        return Err(Error::non_finite_result(what, th.to_vec()));
    }
    let value = finish_term(value, &acc, alpha, grad.view_mut(), &th, S::NAME)?;
    add_hessian(&h, alpha, hess);
    Ok(value)
}

/// The [`Term`] of a surrogate type from its [`SurrogateParts`]: the same methods for both.
macro_rules! surrogate_term {
    (impl<$g:ident: $bound:path> for $ty:ty) => {
        impl<$g: $bound> Term for $ty {
            fn dim(&self) -> usize {
                self.theta_len()
            }

            fn add_value_and_grad(
                &self,
                theta: ArrayView1<f64>,
                alpha: f64,
                grad: ArrayViewMut1<f64>,
            ) -> Result<f64> {
                add_value_and_grad(self, theta, alpha, grad)
            }

            fn add_value_grad_hessian(
                &self,
                theta: ArrayView1<f64>,
                alpha: f64,
                grad: ArrayViewMut1<f64>,
                hess: ArrayViewMut2<f64>,
            ) -> Result<f64> {
                add_value_grad_hessian(self, theta, alpha, grad, hess)
            }

            fn has_exact_hessian(&self) -> bool {
                self.exact_hessian()
            }
        }
    };
}

/// The single-step estimate of a [`Batch`] as a [`Term`] (made by
/// [`Reinforce::surrogate`](super::Reinforce::surrogate); formulas in the
/// [module docs](super)). Its Hessian is exact when the distribution gives
/// ∇² log p (as [`SoftmaxPolicy`](crate::policy::SoftmaxPolicy) and
/// [`GaussianMean`](crate::policy::GaussianMean) do), otherwise finite differences.
///
/// ```
/// use ndarray::{arr1, Array1};
/// use rand::SeedableRng;
/// use rlgrad::estimator::{Baseline, Batch, Estimator, Reinforce};
/// use rlgrad::policy::{Policy, SoftmaxPolicy};
/// use rlgrad::testing::{check_term, CheckOptions};
/// use rlgrad::{prior::MvGaussian, Objective, Term};
///
/// let policy = SoftmaxPolicy::logits(1, 3)?;
/// let theta = arr1(&[0.1, 0.0, -0.2]);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
/// let mut batch = Batch::new(policy.at(0), theta.view())?;
/// batch.draw(16, &mut rng, |&a, _| [1.0, 0.0, 0.5][a])?;
/// let surrogate = Reinforce::new(Baseline::LeaveOneOut)?.surrogate(&batch)?;
///
/// // Its gradient at θ₀ is the estimate…
/// let mut g = Array1::zeros(3);
/// surrogate.value_and_grad(theta.view(), g.view_mut())?;
/// let mut estimate = Array1::zeros(3);
/// Reinforce::new(Baseline::LeaveOneOut)?.estimate(&batch, estimate.view_mut())?;
/// assert!((&g - &estimate).iter().all(|d| d.abs() < 1e-14));
/// // …it passes the derivative checker anywhere…
/// assert!(check_term(&surrogate, arr1(&[1.0, -0.5, 0.3]).view(), &CheckOptions::default())?.passed());
/// // …and composes: expected reward plus a log-prior.
/// let prior = MvGaussian::isotropic(3, 0.0, 4.0)?;
/// let objective = Objective::new(3).with("reward", 1.0, &surrogate)?.with("prior", 1.0, &prior)?;
/// objective.value_and_grad(theta.view(), g.view_mut())?;
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug)]
pub struct Surrogate<'b, D: ScoreFunction> {
    batch: &'b Batch<D>,
    weights: Vec<f64>,
    correction: Option<Vec<f64>>,
}

impl<'b, D: ScoreFunction> Surrogate<'b, D> {
    pub(crate) fn new(
        batch: &'b Batch<D>,
        weights: Vec<f64>,
        correction: Option<Vec<f64>>,
    ) -> Self {
        Surrogate {
            batch,
            weights,
            correction,
        }
    }

    /// The weights wₙ = fₙ − bₙ (bₙ the scalar part of the baseline).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The linear correction c (only with the per-component baseline).
    pub fn correction(&self) -> Option<&[f64]> {
        self.correction.as_deref()
    }

    /// θ₀, where the samples were drawn.
    pub fn theta0(&self) -> ArrayView1<'_, f64> {
        self.batch.theta()
    }
}

impl<D: ScoreFunction> SurrogateParts for Surrogate<'_, D> {
    const NAME: &'static str = "reinforce surrogate";

    fn theta_len(&self) -> usize {
        self.batch.dim()
    }

    fn value_grad_into(&self, theta: &[f64], acc: &mut [f64]) -> Result<f64> {
        let dist = self.batch.distribution();
        dist.check_theta(theta)?;
        let inv = 1.0 / self.weights.len() as f64;
        let mut value = 0.0;
        for (z, &w) in self.batch.samples().iter().zip(&self.weights) {
            let c = w * inv;
            value += c * dist.add_log_prob_and_score(theta, z, c, acc)?;
        }
        apply_correction(
            self.correction.as_deref(),
            theta,
            self.batch.theta_slice(),
            &mut value,
            acc,
        );
        Ok(value)
    }

    fn exact_hessian(&self) -> bool {
        self.batch.distribution().has_log_prob_hessian()
    }

    fn add_exact_hessian(&self, theta: &[f64], h: &mut [f64]) -> Result<()> {
        let dist = self.batch.distribution();
        dist.check_theta(theta)?;
        let inv = 1.0 / self.weights.len() as f64;
        for (z, &w) in self.batch.samples().iter().zip(&self.weights) {
            dist.add_log_prob_hessian(theta, z, w * inv, h)?;
        }
        Ok(())
    }
}

surrogate_term!(impl<D: ScoreFunction> for Surrogate<'_, D>);

/// The sequential estimate of [`Episodes`] recorded with a [`Policy`] as a [`Term`] (made by
/// [`SequentialReinforce::surrogate`](super::SequentialReinforce::surrogate)):
///
/// ```text
/// S(θ) = (1/N) Σₙ Σₜ wₜ log π(aₜ | sₜ; θ) − cᵀ(θ − θ₀),   ∇S(θ₀) = ĝ
/// ```
///
/// with the weights wₜ of the [`Weighting`](super::Weighting) held fixed. Its gradient at θ₀ equals
/// the estimate because the buffer's scores were recorded by this policy at θ₀
/// ([`Episodes::record`]):
/// [`SequentialReinforce::surrogate`](super::SequentialReinforce::surrogate) checks that, and
/// refuses steps recorded with [`Episodes::push_step`]. The Hessian is exact when the policy gives
/// ∇² log π.
///
/// ```
/// use ndarray::arr1;
/// use rand::SeedableRng;
/// use rlgrad::estimator::{Baseline, Episodes, SequentialReinforce, StepRecord, Weighting};
/// use rlgrad::policy::{Policy, SoftmaxPolicy};
/// use rlgrad::testing::{check_term, CheckOptions};
/// let policy = SoftmaxPolicy::logits(2, 2)?;
/// let theta = arr1(&[0.3, -0.3, 0.0, 0.5]);
/// let th = theta.as_slice().unwrap();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
/// let mut episodes = Episodes::new(4);
/// for _ in 0..5 {
///     let a0 = policy.sample(th, 0, &mut rng)?;
///     episodes.record(&policy, th, StepRecord::new(0, a0, 0.0))?;
///     let a1 = policy.sample(th, 1, &mut rng)?;
///     episodes.record(&policy, th, StepRecord::new(1, a1, (a0 + a1) as f64))?;
///     episodes.end_episode();
/// }
/// let mut est = SequentialReinforce::new(Weighting::TotalReturn { gamma: 1.0, baseline: Baseline::LeaveOneOut })?;
/// let surrogate = est.surrogate(&episodes, &policy, theta.view())?;
/// assert!(check_term(&surrogate, theta.view(), &CheckOptions::default())?.passed());
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Debug)]
pub struct EpisodeSurrogate<'e, 'p, P: Policy> {
    episodes: &'e Episodes,
    policy: &'p P,
    weights: Vec<f64>,
    correction: Option<Vec<f64>>,
    theta0: Vec<f64>,
}

impl<'e, 'p, P: Policy> EpisodeSurrogate<'e, 'p, P> {
    pub(crate) fn new(
        episodes: &'e Episodes,
        policy: &'p P,
        weights: Vec<f64>,
        correction: Option<Vec<f64>>,
        theta0: Vec<f64>,
    ) -> Self {
        EpisodeSurrogate {
            episodes,
            policy,
            weights,
            correction,
            theta0,
        }
    }

    /// The per-step weights wₜ.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The linear correction c (only with the per-component baseline across episodes).
    pub fn correction(&self) -> Option<&[f64]> {
        self.correction.as_deref()
    }

    /// θ₀.
    pub fn theta0(&self) -> ArrayView1<'_, f64> {
        ArrayView1::from(&self.theta0[..])
    }

    fn inv_n(&self) -> f64 {
        1.0 / self.episodes.n_episodes() as f64
    }
}

impl<P: Policy> SurrogateParts for EpisodeSurrogate<'_, '_, P> {
    const NAME: &'static str = "episode surrogate";

    fn theta_len(&self) -> usize {
        self.episodes.dim()
    }

    fn value_grad_into(&self, theta: &[f64], acc: &mut [f64]) -> Result<f64> {
        self.policy.check_theta(theta)?;
        let inv = self.inv_n();
        let k = acc.len();
        let mut value = 0.0;
        let ep = self.episodes;
        for (t, &w) in self.weights.iter().enumerate() {
            let (s, a) = (ep.states()[t], ep.actions()[t]);
            let block = self.policy.score_block(s)?;
            check::block(&block, k)?;
            let c = w * inv;
            value += c * self
                .policy
                .add_log_prob_and_score(theta, s, a, c, &mut acc[block])?;
        }
        apply_correction(
            self.correction.as_deref(),
            theta,
            &self.theta0,
            &mut value,
            acc,
        );
        Ok(value)
    }

    fn exact_hessian(&self) -> bool {
        self.policy.has_log_prob_hessian()
    }

    fn add_exact_hessian(&self, theta: &[f64], h: &mut [f64]) -> Result<()> {
        self.policy.check_theta(theta)?;
        let k = self.episodes.dim();
        let inv = self.inv_n();
        let ep = self.episodes;
        for (t, &w) in self.weights.iter().enumerate() {
            let (s, a) = (ep.states()[t], ep.actions()[t]);
            let block = self.policy.score_block(s)?;
            check::block(&block, k)?;
            if block.is_empty() {
                continue;
            }
            let start = block.start * k + block.start;
            self.policy
                .add_log_prob_hessian(theta, s, a, w * inv, &mut h[start..], k)?;
        }
        Ok(())
    }
}

surrogate_term!(impl<P: Policy> for EpisodeSurrogate<'_, '_, P>);
