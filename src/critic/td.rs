//! TD errors of a [`ShallowCritic`], their gradient (the data vector d), and the squared TD
//! error of a batch as a [`Term`].

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use super::network::{
    check_finite_input, copy_view, finite_value, non_finite, slice_or_copy, square_zeros,
    FeatureMap, ShallowCritic,
};
use super::replay::ReplayBuffer;
use super::RawWithBias;
use crate::error::{check_len, Error, Result};
use crate::term::{check_hess_shape, Term};

/// One transition (z, r, z₊): the state–action pair z = (x, u), the reward r(z), and the
/// next pair z₊ = (x₊, u₊) with u₊ drawn from the policy being evaluated — or `None` when
/// the episode ended at this step.
///
/// A terminal transition has no successor value: its TD error is e = Q̂(z) − r (equivalently,
/// the discount is 0 for that transition), and its data vector is ∇Q̂(z).
///
/// ```
/// use ndarray::arr1;
/// use rlgrad::critic::Transition;
/// let (z, z_next) = (arr1(&[0.0, 1.0]), arr1(&[1.0, 1.0]));
/// let step = Transition::new(z.view(), -0.1, z_next.view());
/// let last = Transition::terminal(z_next.view(), 1.0);
/// assert!(step.next.is_some() && last.next.is_none());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Transition<'a> {
    /// z = (x, u).
    pub z: ArrayView1<'a, f64>,
    /// r(z).
    pub reward: f64,
    /// z₊ = (x₊, u₊), or `None` for a terminal transition.
    pub next: Option<ArrayView1<'a, f64>>,
}

impl<'a> Transition<'a> {
    /// A transition that continues to z₊.
    pub fn new(z: ArrayView1<'a, f64>, reward: f64, next: ArrayView1<'a, f64>) -> Self {
        Transition {
            z,
            reward,
            next: Some(next),
        }
    }

    /// A transition that ends the episode.
    pub fn terminal(z: ArrayView1<'a, f64>, reward: f64) -> Self {
        Transition {
            z,
            reward,
            next: None,
        }
    }
}

/// Which data vector a TD routine uses.
///
/// - `Full`: d = ∇ω e = ∇Q̂(z) − γ ∇Q̂(z₊), the exact gradient of the TD error (the
///   "residual gradient"; the one the seed's linearisation and contraction argument use).
/// - `Semi`: d = ∇Q̂(z), the semi-gradient, which treats the target r + γ Q̂(z₊) as a
///   constant. It is not the gradient of any function of ω, so it is offered as a data
///   vector and an update direction, never as a [`Term`] gradient.
///
/// For a terminal transition both are ∇Q̂(z).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TdGradient {
    /// d = ∇Q̂(z) − γ ∇Q̂(z₊).
    #[default]
    Full,
    /// d = ∇Q̂(z).
    Semi,
}

/// γ must be in [0, 1].
pub(crate) fn check_gamma(gamma: f64) -> Result<()> {
    if (0.0..=1.0).contains(&gamma) {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            name: "gamma".to_string(),
            value: gamma.to_string(),
            reason: "the discount must be in [0, 1]".to_string(),
        })
    }
}

impl<M: FeatureMap> ShallowCritic<M> {
    /// The TD error e(z, z₊) = Q̂(z) − r − γ Q̂(z₊) (for a terminal transition, Q̂(z) − r).
    ///
    /// ```
    /// use ndarray::{arr1, Array1};
    /// use rlgrad::critic::{Activation, ShallowCritic, Transition};
    /// // Identity activation, one unit: Q̂(z) = w₁ · (W₂ᵀ (z, 1)).
    /// let critic = ShallowCritic::new(1, 1, Activation::Identity)?;
    /// let omega = arr1(&[2.0, 0.5, 1.0]); // w₁ = 2, W₂ = (0.5, 1)ᵀ: Q̂(z) = z + 2
    /// let (z, zn) = (arr1(&[1.0]), arr1(&[3.0]));
    /// let mut ws = critic.workspace();
    /// let e = critic.td_error(omega.view(), Transition::new(z.view(), 1.0, zn.view()), 0.9, &mut ws)?;
    /// assert!((e - (3.0 - 1.0 - 0.9 * 5.0)).abs() < 1e-15);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`ShallowCritic::value`], for z and z₊; [`Error::NonFiniteInput`] for a
    /// non-finite reward; [`Error::InvalidOption`] for γ outside \[0, 1\].
    pub fn td_error(
        &self,
        omega: ArrayView1<f64>,
        transition: Transition<'_>,
        gamma: f64,
        ws: &mut super::CriticWorkspace,
    ) -> Result<f64> {
        self.check_transition_call(omega, &transition, gamma, ws)?;
        let w = slice_or_copy(&omega, &mut ws.omega);
        let z = slice_or_copy(&transition.z, &mut ws.z);
        let next = transition
            .next
            .as_ref()
            .map(|v| slice_or_copy(v, &mut ws.z_next));
        let (e, _) = self.td_forward::<0>(
            w,
            z,
            transition.reward,
            next,
            gamma,
            &mut ws.cur,
            &mut ws.next,
        );
        if e.is_finite() {
            Ok(e)
        } else {
            Err(self.td_error_error(&ws.cur, &ws.next, next.is_some(), omega))
        }
    }

    /// The error for a non-finite TD error: a non-finite feature at z or z₊ if there is one.
    #[cold]
    fn td_error_error(
        &self,
        cur: &super::network::Layer,
        next: &super::network::Layer,
        continues: bool,
        omega: ArrayView1<f64>,
    ) -> Error {
        if continues {
            self.evaluation_error("td error", &[(cur, "z"), (next, "next z")], omega)
        } else {
            self.evaluation_error("td error", &[(cur, "z")], omega)
        }
    }

    /// The TD error e (returned) and its data vector d written into `d` (old contents
    /// ignored): d = ∇Q̂(z) − γ∇Q̂(z₊) for [`TdGradient::Full`], ∇Q̂(z) for
    /// [`TdGradient::Semi`] and for terminal transitions.
    ///
    /// ```
    /// use ndarray::{arr1, Array1};
    /// use rlgrad::critic::{Activation, ShallowCritic, TdGradient, Transition};
    /// let critic = ShallowCritic::new(1, 1, Activation::Identity)?;
    /// let omega = arr1(&[2.0, 0.5, 1.0]);
    /// let (z, zn) = (arr1(&[1.0]), arr1(&[3.0]));
    /// let tr = Transition::new(z.view(), 1.0, zn.view());
    /// let mut ws = critic.workspace();
    /// let mut d = Array1::zeros(3);
    /// critic.data_vector(omega.view(), tr, 0.5, TdGradient::Full, d.view_mut(), &mut ws)?;
    /// // ∂e/∂w₁ = h(z) − γ h(z₊) = 1.5 − 0.5 · 2.5
    /// assert!((d[0] - 0.25).abs() < 1e-15);
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`ShallowCritic::td_error`], plus a buffer `d` of the wrong length and a
    /// non-finite d. On `Err`, `d` is left as it was.
    pub fn data_vector(
        &self,
        omega: ArrayView1<f64>,
        transition: Transition<'_>,
        gamma: f64,
        kind: TdGradient,
        mut d: ArrayViewMut1<f64>,
        ws: &mut super::CriticWorkspace,
    ) -> Result<f64> {
        self.check_transition_call(omega, &transition, gamma, ws)?;
        check_len("data vector buffer", self.dim(), d.len())?;
        let super::CriticWorkspace {
            omega: ob,
            z: zb,
            z_next: znb,
            cur,
            next: nl,
            grad: gb,
            ..
        } = ws;
        let w = slice_or_copy(&omega, ob);
        let z = slice_or_copy(&transition.z, zb);
        let next = transition.next.as_ref().map(|v| slice_or_copy(v, znb));
        let (e, g) = self.td_forward::<1>(w, z, transition.reward, next, gamma, cur, nl);
        if !e.is_finite() {
            return Err(self.td_error_error(cur, nl, next.is_some(), omega));
        }
        let at_next = (kind == TdGradient::Full && next.is_some()).then_some((&*nl, g));
        self.write_data_vector::<true>(&w[..self.hidden()], cur, at_next, 1.0, gb, true);
        // Checked before the copy: on `Err`, `d` is left as it was.
        if gb.iter().any(|v| !v.is_finite()) {
            return Err(non_finite("td data vector", omega));
        }
        d.iter_mut().zip(gb.iter()).for_each(|(o, v)| *o = *v);
        Ok(e)
    }

    fn check_transition_call(
        &self,
        omega: ArrayView1<f64>,
        transition: &Transition<'_>,
        gamma: f64,
        ws: &super::CriticWorkspace,
    ) -> Result<()> {
        self.check_workspace(ws)?;
        check_gamma(gamma)?;
        self.check_weights(omega)?;
        self.check_z(transition.z, "z")?;
        if let Some(next) = transition.next {
            self.check_z(next, "next z")?;
        }
        check_finite_input(ndarray::aview1(&[transition.reward]), "reward")
    }

    /// (e, γ_eff) for one transition, with forward passes of order `ORDER` at z (in `cur`)
    /// and, unless terminal, at z₊ (in `nxt`). γ_eff is 0 for a terminal transition.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn td_forward<const ORDER: usize>(
        &self,
        w: &[f64],
        z: &[f64],
        reward: f64,
        next: Option<&[f64]>,
        gamma: f64,
        cur: &mut super::network::Layer,
        nxt: &mut super::network::Layer,
    ) -> (f64, f64) {
        let q = self.forward::<ORDER>(w, z, cur);
        match next {
            Some(zn) => {
                let qn = self.forward::<ORDER>(w, zn, nxt);
                (q - reward - gamma * qn, gamma)
            }
            None => (q - reward, 0.0),
        }
    }
}

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
/// **Allocation.** [`Term`] methods take `&self` (a term may be evaluated from several
/// threads), so `TdLoss` holds no workspace: each evaluation allocates one
/// [`CriticWorkspace`](super::CriticWorkspace), O(p·n) floats (three ω-sized vectors and the
/// layer buffers), and the Hessian its dim × dim matrix (at most
/// [`MAX_FLOATS`](super::MAX_FLOATS) entries, else [`Error::InvalidOption`]); nothing is
/// allocated per transition. For allocation-free training use [`NormalizedUpdate`](super::NormalizedUpdate)
/// or [`ReplayBuffer::td_errors`] with a workspace made once.
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
    /// [`Error::DimensionMismatch`] if the batch's z length is not the critic's;
    /// [`Error::InvalidOption`] for γ outside \[0, 1\].
    pub fn new(critic: &'a ShallowCritic<M>, batch: &'a ReplayBuffer, gamma: f64) -> Result<Self> {
        check_gamma(gamma)?;
        check_len(
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
    fn accumulate<const ORDER: usize>(&self, ws: &mut super::CriticWorkspace, semi: bool) -> f64 {
        let c = self.critic;
        let super::CriticWorkspace {
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
        check_len("gradient buffer", c.dim(), out.len())?;
        let mut ws = c.workspace();
        copy_view(&mut ws.omega, &omega);
        let loss = self.accumulate::<1>(&mut ws, semi);
        let loss = finite_value(loss, "td loss", omega)?;
        if ws.grad.iter().any(|v| !v.is_finite()) {
            return Err(non_finite("td loss gradient", omega));
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
        self.pass(theta, alpha, grad, false, false)
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        let c = self.critic;
        c.check_weights(theta)?;
        let mut ws = c.workspace();
        copy_view(&mut ws.omega, &theta);
        let loss = self.accumulate::<0>(&mut ws, false);
        finite_value(loss, "td loss", theta)
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
        check_len("gradient buffer", dim, grad.len())?;
        check_hess_shape(dim, &hess)?;
        let mut ws = c.workspace();
        copy_view(&mut ws.omega, &theta);
        let mut h = square_zeros(dim, "td loss hessian")?;
        let super::CriticWorkspace {
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
        let loss = finite_value(loss, "td loss", theta)?;
        if g.iter().chain(&h).any(|v| !v.is_finite()) {
            return Err(non_finite("td loss gradient or hessian", theta));
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
