//! [`TdLoss`]: half the squared TD errors of a batch, as a [`Term`] with an exact Hessian.

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use super::features::{FeatureMap, RawWithBias};
use super::network::ShallowCritic;
use super::replay::ReplayBuffer;
use super::workspace::CriticWorkspace;
use crate::check;
use crate::error::{Error, Result};
use crate::slices::copy_into;
use crate::term::Term;

/// Half the sum of squared TD errors over a batch of transitions, as a [`Term`] over ω:
///
/// ```text
/// L(ω)   = ½ Σⱼ eⱼ(ω)²
/// ∇L     = Σⱼ eⱼ dⱼ,                 dⱼ = ∇Q̂(zⱼ) − γⱼ ∇Q̂(z₊ⱼ)
/// ∇²L    = Σⱼ dⱼ dⱼᵀ + Σⱼ eⱼ (∇²Q̂(zⱼ) − γⱼ ∇²Q̂(z₊ⱼ))
/// ```
///
/// with γⱼ = γ, or 0 for a terminal transition. The Hessian is exact (it uses φ₁″), and
/// [`crate::testing::check_term`] proves it in the tests.
///
/// **Sign.** L is a cost. Per the crate's sign convention it enters an
/// [`Objective`](crate::Objective) with a negative weight (`.with("td", -1.0, &loss)`), and
/// the minimiser adapter [`fit::Minimize`](crate::fit::Minimize) flips the sign once more.
///
/// The batch is a [`ReplayBuffer`] (a buffer with capacity = batch size is a plain batch).
/// The semi-gradient, which is not the gradient of L, is [`TdLoss::semi_gradient`].
///
/// **Allocation.** [`Term`] methods take `&self` (a term may be evaluated from several threads), so
/// `TdLoss` holds no workspace: each evaluation allocates one [`CriticWorkspace`],
/// O(p·n) floats (three ω-sized vectors and the layer buffers), and the Hessian its dim × dim
/// matrix (at most [`MAX_FLOATS`](crate::check::MAX_FLOATS) entries, else
/// [`Error::InvalidOption`](crate::Error::InvalidOption)); nothing is allocated per transition. For
/// allocation-free training use [`NormalizedUpdate`](super::NormalizedUpdate) or
/// [`ReplayBuffer::td_errors`] with a workspace made once.
///
/// ```
/// use ndarray::{arr1, Array1};
/// use rlgrad::critic::{Activation, ReplayBuffer, ShallowCritic, TdLoss, Transition};
/// use rlgrad::prior::MvGaussian;
/// use rlgrad::{Objective, Term};
/// let critic = ShallowCritic::new(1, 3, Activation::Tanh)?;
/// let mut batch = ReplayBuffer::new(2, 1)?;
/// let (a, b) = (arr1(&[0.0]), arr1(&[1.0]));
/// batch.push(Transition::new(a.view(), 0.5, b.view()))?;
/// batch.push(Transition::terminal(b.view(), 1.0))?;
/// let loss = TdLoss::new(&critic, &batch, 0.9)?;
/// // Maximise −L + log N(ω; 0, I): a weight-decayed TD fit.
/// let prior = MvGaussian::isotropic(critic.dim(), 0.0, 1.0)?;
/// let objective = Objective::new(critic.dim())
///     .with("td", -1.0, &loss)?
///     .with("prior", 1.0, &prior)?;
/// let omega = Array1::from_elem(critic.dim(), 0.1);
/// let mut grad = Array1::zeros(critic.dim());
/// let value = objective.value_and_grad(omega.view(), grad.view_mut())?;
/// assert!((value - (prior.value(omega.view())? - loss.value(omega.view())?)).abs() < 1e-12);
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct TdLoss<'a, M = RawWithBias> {
    critic: &'a ShallowCritic<M>,
    batch: &'a ReplayBuffer,
    gamma: f64,
}

// By hand: a derive would ask M: Clone, but only references are copied.
impl<M> Clone for TdLoss<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for TdLoss<'_, M> {}

impl<M: std::fmt::Debug> std::fmt::Debug for TdLoss<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TdLoss")
            .field("critic", self.critic)
            .field("transitions", &self.batch.len())
            .field("gamma", &self.gamma)
            .finish_non_exhaustive()
    }
}

impl<'a, M: FeatureMap> TdLoss<'a, M> {
    /// The loss of `critic` over the transitions in `batch`, with discount γ.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if the batch's z length is not
    /// the critic's; [`Error::InvalidOption`](crate::Error::InvalidOption) for γ outside \[0, 1\].
    pub fn new(critic: &'a ShallowCritic<M>, batch: &'a ReplayBuffer, gamma: f64) -> Result<Self> {
        check::discount(gamma)?;
        check::len(
            "transition length of the batch",
            critic.input_dim(),
            batch.input_dim(),
        )?;
        Ok(TdLoss {
            critic,
            batch,
            gamma,
        })
    }

    /// The discount γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Returns L(ω) and writes the semi-gradient Σⱼ eⱼ ∇Q̂(zⱼ) into `out` (old contents
    /// ignored). This is the expected direction of semi-gradient TD(0), not ∇L.
    ///
    /// # Errors
    /// As [`Term::value_and_grad`].
    pub fn semi_gradient(&self, omega: ArrayView1<f64>, out: ArrayViewMut1<f64>) -> Result<f64> {
        self.pass(omega, 1.0, out, true, true)
    }

    /// L and (when `ORDER` ≥ 1) Σ eⱼ dⱼ into ws.grad, or the semi-gradient, at the weights
    /// in ws.omega.
    fn accumulate<const ORDER: usize>(&self, ws: &mut CriticWorkspace, semi: bool) -> f64 {
        let c = self.critic;
        let CriticWorkspace {
            omega: w,
            cur,
            next,
            grad,
            ..
        } = ws;
        let w1 = &w[..c.hidden()];
        if ORDER >= 1 {
            grad.fill(0.0);
        }
        let mut loss = 0.0;
        for j in 0..self.batch.len() {
            let (z, r, zn) = self.batch.raw(j);
            let (e, g) = c.td_forward::<ORDER>(w, z, r, zn, self.gamma, cur, next);
            loss += 0.5 * e * e;
            if ORDER >= 1 {
                let at_next = (!semi && zn.is_some()).then_some((&*next, g));
                c.write_data_vector::<false>(w1, cur, at_next, e, grad, true);
            }
        }
        loss
    }

    /// The shared body of the gradient forms: into `out` (+= alpha·g, or = g when
    /// `overwrite`).
    fn pass(
        &self,
        omega: ArrayView1<f64>,
        alpha: f64,
        mut out: ArrayViewMut1<f64>,
        overwrite: bool,
        semi: bool,
    ) -> Result<f64> {
        let c = self.critic;
        c.check_weights(omega)?;
        check::len("gradient buffer", c.dim(), out.len())?;
        let mut ws = c.workspace();
        copy_into(&mut ws.omega, &omega);
        let loss = self.accumulate::<1>(&mut ws, semi);
        let loss = check::finite_result(loss, omega, || "td loss".to_string())?;
        if ws.grad.iter().any(|v| !v.is_finite()) {
            return Err(Error::non_finite_result("td loss gradient", omega.to_vec()));
        }
        for (o, g) in out.iter_mut().zip(&ws.grad) {
            if overwrite {
                *o = *g;
            } else {
                *o += alpha * g;
            }
        }
        Ok(loss)
    }
}

impl<M: FeatureMap> Term for TdLoss<'_, M> {
    fn dim(&self) -> usize {
        self.critic.dim()
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        check::alpha(alpha)?;
        self.pass(theta, alpha, grad, false, false)
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        let c = self.critic;
        c.check_weights(theta)?;
        let mut ws = c.workspace();
        copy_into(&mut ws.omega, &theta);
        let loss = self.accumulate::<0>(&mut ws, false);
        check::finite_result(loss, theta, || "td loss".to_string())
    }

    fn add_value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        let c = self.critic;
        let (dim, p) = (c.dim(), c.hidden());
        c.check_weights(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", dim, grad.len())?;
        check::hessian_shape(dim, &hess)?;
        let mut ws = c.workspace();
        copy_into(&mut ws.omega, &theta);
        let mut h = check::square_zeros(dim, "td loss hessian")?;
        let CriticWorkspace {
            omega: w,
            cur,
            next,
            grad: d,
            step: g,
            ..
        } = &mut ws;
        let w1 = &w[..p];
        g.fill(0.0);
        let mut loss = 0.0;
        for j in 0..self.batch.len() {
            let (z, r, zn) = self.batch.raw(j);
            let (e, gj) = c.td_forward::<2>(w, z, r, zn, self.gamma, cur, next);
            loss += 0.5 * e * e;
            // The gradient in the same operations as `accumulate`, so that every method
            // returns the same bits.
            let at_next = zn.is_some().then_some((&*next, gj));
            c.write_data_vector::<false>(w1, cur, at_next, e, g, true);
            c.write_data_vector::<true>(w1, cur, at_next, 1.0, d, true);
            c.add_hessian(w1, cur, e, &mut h);
            if zn.is_some() {
                c.add_hessian(w1, next, -gj * e, &mut h);
            }
            for (a, da) in d.iter().enumerate() {
                // d dᵀ, row a.
                let row = &mut h[a * dim..(a + 1) * dim];
                for (o, db) in row.iter_mut().zip(d.iter()) {
                    *o += da * db;
                }
            }
        }
        let loss = check::finite_result(loss, theta, || "td loss".to_string())?;
        if g.iter().chain(&h).any(|v| !v.is_finite()) {
            return Err(Error::non_finite_result(
                "td loss gradient or hessian",
                theta.to_vec(),
            ));
        }
        for (o, v) in grad.iter_mut().zip(g.iter()) {
            *o += alpha * v;
        }
        for (o, v) in hess.iter_mut().zip(&h) {
            *o += alpha * v;
        }
        Ok(loss)
    }

    fn has_exact_hessian(&self) -> bool {
        true
    }
}
