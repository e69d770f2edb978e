//! TD errors of a [`ShallowCritic`] and their gradient, the data vector d, for one
//! [`Transition`].

use ndarray::{ArrayView1, ArrayViewMut1};

use super::features::FeatureMap;
use super::network::ShallowCritic;
use super::workspace::{CriticWorkspace, Layer};
use crate::check;
use crate::error::{Error, Result};
use crate::slices::slice_or_copy;

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
///   vector and an update direction, never as a [`Term`](crate::Term) gradient.
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
        ws: &mut CriticWorkspace,
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
        cur: &Layer,
        next: &Layer,
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
        ws: &mut CriticWorkspace,
    ) -> Result<f64> {
        self.check_transition_call(omega, &transition, gamma, ws)?;
        check::len("data vector buffer", self.dim(), d.len())?;
        let CriticWorkspace {
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
            return Err(Error::non_finite_result("td data vector", omega.to_vec()));
        }
        d.iter_mut().zip(gb.iter()).for_each(|(o, v)| *o = *v);
        Ok(e)
    }

    fn check_transition_call(
        &self,
        omega: ArrayView1<f64>,
        transition: &Transition<'_>,
        gamma: f64,
        ws: &CriticWorkspace,
    ) -> Result<()> {
        self.check_workspace(ws)?;
        check::discount(gamma)?;
        self.check_weights(omega)?;
        self.check_z(transition.z, "z")?;
        if let Some(next) = transition.next {
            self.check_z(next, "next z")?;
        }
        check::finite_input("reward", transition.reward)
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
        cur: &mut Layer,
        nxt: &mut Layer,
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
