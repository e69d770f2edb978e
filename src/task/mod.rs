//! Task models: models of structured tasks (the two-step task, Pavlovian go/no-go, the
//! restless bandit, …) whose trial recursions are written once over a [`Scalar`] and
//! differentiated exactly by forward-mode automatic differentiation ([`crate::ad`]).
//!
//! A [`Model`](crate::Model) is a learning rule over one table of values and a choice rule
//! over a row of it, with hand-written sensitivities; it is the fastest path for the models
//! it covers. A task model is one function from natural parameters ψ and a session to the
//! log-likelihood, generic over the scalar: `f64` for the value and simulation, [`Grad`] for
//! the gradient, [`Hess`] for the Hessian. Several value tables, maxima over next-stage values
//! or Kalman gains cost no hand-written derivatives, and shared pieces combine freely.
//!
//! [`TaskLikelihood`] makes a subject's log-likelihood a [`Term`] over θ (the transforms'
//! derivatives are seeded into the scalars, so the result is differentiated with respect to
//! θ directly); every task model is a [`FitModel`](crate::fit::FitModel), so MAP, EM, model
//! comparison and recovery take it as they take a `Model`.

mod choice_kernel;
mod go_nogo;
mod kalman;
pub mod pieces;
mod two_step;

pub use self::choice_kernel::RwChoiceKernel;
pub use self::kalman::{KalmanBandit, KalmanConstant, KalmanConstants};
pub use self::two_step::TwoStep;

pub use self::go_nogo::{GoNoGo, GoNoGoVariant, cue_accuracy};

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};
use rand::Rng;

use crate::ad::{Grad, Hess, Scalar};
use crate::check;
use crate::data::{Session, Subject};
use crate::error::{Error, Result};
use crate::params::ParamLayout;
use crate::term::Term;

/// The most parameters a task model may have (the derivative scalars are sized at compile
/// time, in steps up to this).
pub const MAX_PARAMS: usize = 12;

/// A model of a task, written once over a [`Scalar`] (see the module docs).
///
/// Implementations check everything about a subject in [`TaskModel::check_subject`] and their
/// parameters in [`TaskModel::check_params`], so that [`TaskModel::session_log_lik`] (the hot
/// loop) never fails and allocates nothing per trial (a model with tables of run-time size
/// allocates them once per session, sized and capped at construction).
pub trait TaskModel: Send + Sync {
    /// The named parameters θ and their transforms (at most [`MAX_PARAMS`]).
    fn layout(&self) -> &ParamLayout;

    /// Checks natural parameter values ψ (for example a rate in [0, 1]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the parameter.
    fn check_params(&self, psi: &[f64]) -> Result<()> {
        let _ = psi;
        Ok(())
    }

    /// Checks that the model can explain every session of `subject` (states, actions, the
    /// task's structure), naming the subject, session and trial at fault.
    ///
    /// # Errors
    /// [`Error::InvalidTrial`] (or another variant naming the fault).
    fn check_subject(&self, subject: &Subject) -> Result<()>;

    /// The log-likelihood of one checked session at natural parameters ψ (length
    /// [`TaskModel::layout`]`.len()`), with derivatives if `T` carries them.
    ///
    /// # Panics
    /// May panic for a session that [`TaskModel::check_subject`] would refuse (a contract
    /// with the caller).
    fn session_log_lik<T: Scalar>(&self, psi: &[T], session: &Session) -> T;

    /// An optional hand-written value and gradient with respect to ψ, for models whose
    /// gradient is a hot path worth writing out (the default, `None`, differentiates
    /// [`TaskModel::session_log_lik`] with [`Grad`]). When it returns `Some(ℓ)`, ℓ must be the
    /// same bits as `session_log_lik::<f64>`, and ∂ℓ/∂ψ has been *added* into `grad` (length
    /// K). It is held to the automatic gradient by the model's tests.
    fn session_value_and_grad(
        &self,
        psi: &[f64],
        session: &Session,
        grad: &mut [f64],
    ) -> Option<f64> {
        let _ = (psi, session, grad);
        None
    }

    /// Simulates one session of `n_trials` trials of the task at ψ.
    ///
    /// # Errors
    /// Invalid ψ or `n_trials`; an error of the task's environment.
    fn simulate_session<R: Rng + ?Sized>(
        &self,
        psi: &[f64],
        n_trials: usize,
        session_id: &str,
        rng: &mut R,
    ) -> Result<Session>;
}

/// Checks that a layout fits [`MAX_PARAMS`]; for task models' constructors.
///
/// # Errors
/// [`Error::InvalidLayout`] if it has more parameters.
pub(crate) fn check_layout(layout: &ParamLayout) -> Result<()> {
    if layout.len() > MAX_PARAMS {
        return Err(Error::InvalidLayout {
            reason: format!(
                "a task model has at most {MAX_PARAMS} parameters; this one has {}",
                layout.len()
            ),
        });
    }
    Ok(())
}

/// Checks natural parameter values ψ against a task model's layout: the right length and every
/// entry finite, naming the parameter at fault (what every task model's
/// [`TaskModel::check_params`] starts with; `simulate_session` takes ψ from the caller).
///
/// # Errors
/// [`Error::DimensionMismatch`] for a wrong length; [`Error::InvalidParameter`] naming a
/// non-finite entry.
pub(crate) fn check_natural(layout: &ParamLayout, psi: &[f64]) -> Result<()> {
    check::len("natural parameters", layout.len(), psi.len())?;
    if let Some((i, v)) = check::first_non_finite(psi) {
        let name = layout.specs()[i].name.as_str();
        return Err(Error::invalid_parameter(name, v, "is not finite"));
    }
    Ok(())
}

/// The log-likelihood of one subject's choices under a [`TaskModel`], as a [`Term`] over θ
/// with exact gradient and Hessian.
pub struct TaskLikelihood<'a, M> {
    model: &'a M,
    subject: &'a Subject,
}

impl<'a, M: TaskModel> TaskLikelihood<'a, M> {
    /// The likelihood of `subject` under `model`.
    ///
    /// # Errors
    /// As [`TaskModel::check_subject`].
    pub fn new(model: &'a M, subject: &'a Subject) -> Result<Self> {
        model.check_subject(subject)?;
        Ok(TaskLikelihood { model, subject })
    }

    /// ψ, g′ and g″ at θ (length 3K), checked by the layout and the model.
    fn natural(&self, theta: ArrayView1<f64>) -> Result<Vec<f64>> {
        let vals = self.model.layout().natural_with_derivatives(theta)?;
        self.model.check_params(&vals[..theta.len()])?;
        Ok(vals)
    }

    /// Σ over sessions at scalars seeded from θ: ψₖ = gₖ(θₖ) with the derivatives of the
    /// transform, so the result is differentiated with respect to θ.
    fn run<T: Scalar>(&self, nat: &[f64], theta: ArrayView1<f64>) -> T {
        let k = theta.len();
        let psi: Vec<T> = (0..k)
            .map(|i| T::variable(theta[i], i).chain(nat[i], nat[k + i], nat[2 * k + i]))
            .collect();
        let mut total = T::constant(0.0);
        for session in self.subject.sessions() {
            total += self.model.session_log_lik(&psi, session);
        }
        total
    }

    fn grad<const N: usize>(&self, nat: &[f64], theta: ArrayView1<f64>) -> (f64, Vec<f64>) {
        let r: Grad<N> = self.run(nat, theta);
        (r.v, r.g[..theta.len()].to_vec())
    }

    /// The model's hand-written value and gradient, if it has one, chained to θ.
    fn hand_grad(&self, nat: &[f64], k: usize) -> Option<(f64, Vec<f64>)> {
        let mut g = vec![0.0; k];
        let mut total = 0.0;
        for session in self.subject.sessions() {
            total += self
                .model
                .session_value_and_grad(&nat[..k], session, &mut g)?;
        }
        for (gi, d1) in g.iter_mut().zip(&nat[k..2 * k]) {
            *gi *= d1;
        }
        Some((total, g))
    }

    fn hess<const N: usize>(
        &self,
        nat: &[f64],
        theta: ArrayView1<f64>,
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let k = theta.len();
        let r: Box<Hess<N>> = Box::new(self.run(nat, theta));
        // Both halves are computed; their mean is symmetric to the bit.
        let h = (0..k * k)
            .map(|i| 0.5 * (r.h[i / k][i % k] + r.h[i % k][i / k]))
            .collect();
        (r.v, r.g[..k].to_vec(), h)
    }
}

/// Calls `$f::<N>` with N the smallest size in {2, 4, 6, 8, 12} that holds `$k` parameters.
macro_rules! by_size {
    ($k:expr, $s:ident . $f:ident ($($arg:expr),*)) => {
        match $k {
            0..=2 => $s.$f::<2>($($arg),*),
            3..=4 => $s.$f::<4>($($arg),*),
            5..=6 => $s.$f::<6>($($arg),*),
            7..=8 => $s.$f::<8>($($arg),*),
            _ => $s.$f::<12>($($arg),*),
        }
    };
}

impl<M: TaskModel> Term for TaskLikelihood<'_, M> {
    fn dim(&self) -> usize {
        self.model.layout().len()
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        let nat = self.natural(theta)?;
        let ll: f64 = self.run(&nat, theta);
        check::finite_log_likelihood(self.subject.id(), ll, &[], &[], theta)?;
        Ok(ll)
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        let nat = self.natural(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", self.dim(), grad.len())?;
        let k = self.dim();
        let (ll, g) = match self.hand_grad(&nat, k) {
            Some(r) => r,
            None => by_size!(k, self.grad(&nat, theta)),
        };
        check::finite_log_likelihood(self.subject.id(), ll, &g, &[], theta)?;
        for (gi, v) in grad.iter_mut().zip(&g) {
            *gi += alpha * v;
        }
        Ok(ll)
    }

    fn add_value_grad_hessian(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
        mut hess: ArrayViewMut2<f64>,
    ) -> Result<f64> {
        let nat = self.natural(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", self.dim(), grad.len())?;
        check::hessian_shape(self.dim(), &hess)?;
        let k = self.dim();
        let (ll, mut g, h) = by_size!(k, self.hess(&nat, theta));
        // A hand-written gradient, where the model has one, is the gradient of every method
        // (the same bits from value_and_grad and value_grad_hessian).
        if let Some((_, hand)) = self.hand_grad(&nat, k) {
            g = hand;
        }
        check::finite_log_likelihood(self.subject.id(), ll, &g, &h, theta)?;
        for (gi, v) in grad.iter_mut().zip(&g) {
            *gi += alpha * v;
        }
        for ((r, c), hv) in hess.indexed_iter_mut() {
            *hv += alpha * h[r * k + c];
        }
        Ok(ll)
    }

    fn has_exact_hessian(&self) -> bool {
        true
    }
}
