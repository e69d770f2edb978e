//! The first-order model of a TD error around a weight vector ω*, and its remainder.

use ndarray::{Array1, ArrayView1};

use super::features::FeatureMap;
use super::network::ShallowCritic;
use super::td::{TdGradient, Transition};
use super::workspace::CriticWorkspace;
use crate::check;
use crate::error::Result;

/// The TD error of one transition linearised around ω*:
///
/// ```text
/// e(ω) = e(ω*) + d(ω*)ᵀ (ω − ω*) + R(ω),      R(ω) = O(‖ω − ω*‖²)
/// ```
///
/// with the "pivot" e(ω*) and the data vector d(ω*) = ∇ω e(ω*) (full gradient). The
/// critic is linear in w₁, so along directions v that change only w₁ (W₂ fixed) the
/// remainder is zero; in general it is quadratic, R(ω* + t v) = ½ t² vᵀ∇²e(ω*) v + O(t³),
/// and the tests bound the O(t³) term from the activation's derivatives.
///
/// ```
/// use ndarray::{arr1, Array1};
/// use rlgrad::critic::{Activation, Linearization, ShallowCritic, Transition};
/// let critic = ShallowCritic::new(1, 3, Activation::Tanh)?;
/// let star = Array1::from_elem(critic.dim(), 0.3);
/// let (z, zn) = (arr1(&[0.5]), arr1(&[1.0]));
/// let mut ws = critic.workspace();
/// let lin = Linearization::new(&critic, star.view(), Transition::new(z.view(), 1.0, zn.view()), 0.9, &mut ws)?;
/// let v = Array1::from_elem(critic.dim(), 1.0);
/// let r1 = lin.remainder((&star + &(1e-2 * &v)).view(), &mut ws)?;
/// let r2 = lin.remainder((&star + &(5e-3 * &v)).view(), &mut ws)?;
/// assert!((r1 / r2 - 4.0).abs() < 0.1); // halving the step quarters the remainder
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Linearization<'c, M> {
    critic: &'c ShallowCritic<M>,
    gamma: f64,
    omega_star: Array1<f64>,
    pivot: f64,
    d: Array1<f64>,
    z: Array1<f64>,
    reward: f64,
    next: Option<Array1<f64>>,
}

impl<'c, M: FeatureMap> Linearization<'c, M> {
    /// Linearises the TD error of `transition` (discount γ) around ω*.
    ///
    /// # Errors
    /// As [`ShallowCritic::data_vector`].
    pub fn new(
        critic: &'c ShallowCritic<M>,
        omega_star: ArrayView1<f64>,
        transition: Transition<'_>,
        gamma: f64,
        ws: &mut CriticWorkspace,
    ) -> Result<Self> {
        let mut d = Array1::zeros(critic.dim());
        let pivot = critic.data_vector(
            omega_star,
            transition,
            gamma,
            TdGradient::Full,
            d.view_mut(),
            ws,
        )?;
        Ok(Linearization {
            critic,
            gamma,
            omega_star: omega_star.to_owned(),
            pivot,
            d,
            z: transition.z.to_owned(),
            reward: transition.reward,
            next: transition.next.map(|v| v.to_owned()),
        })
    }

    /// ω*.
    pub fn omega_star(&self) -> ArrayView1<'_, f64> {
        self.omega_star.view()
    }

    /// The pivot e(ω*).
    pub fn pivot(&self) -> f64 {
        self.pivot
    }

    /// d(ω*) = ∇ω e at ω*.
    pub fn data_vector(&self) -> ArrayView1<'_, f64> {
        self.d.view()
    }

    /// The first-order model e(ω*) + d(ω*)ᵀ(ω − ω*).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) or
    /// [`Error::NonFiniteTheta`](crate::Error::NonFiniteTheta) for a bad ω;
    /// [`Error::NonFiniteResult`](crate::Error::NonFiniteResult) on overflow.
    pub fn model(&self, omega: ArrayView1<f64>) -> Result<f64> {
        self.critic.check_weights(omega)?;
        check::len("linearisation weights", self.d.len(), omega.len())?;
        let mut m = 0.0;
        for ((w, s), d) in omega.iter().zip(&self.omega_star).zip(&self.d) {
            m += d * (w - s);
        }
        check::finite_result(self.pivot + m, omega, || "linearised td error".to_string())
    }

    /// The remainder R(ω) = e(ω) − (e(ω*) + d(ω*)ᵀ(ω − ω*)).
    ///
    /// # Errors
    /// As [`Linearization::model`] and [`ShallowCritic::td_error`].
    pub fn remainder(&self, omega: ArrayView1<f64>, ws: &mut CriticWorkspace) -> Result<f64> {
        let model = self.model(omega)?;
        let transition = Transition {
            z: self.z.view(),
            reward: self.reward,
            next: self.next.as_ref().map(|v| v.view()),
        };
        let e = self.critic.td_error(omega, transition, self.gamma, ws)?;
        check::finite_result(e - model, omega, || "linearisation remainder".to_string())
    }
}
