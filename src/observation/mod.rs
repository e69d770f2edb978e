//! Observation models: the probability of the chosen action given the current values.
//!
//! An observation model gives ℓ = log p(a | Q\[s,·\]; ψ) and, up to the compile-time `ORDER`
//! (see [`crate::learning::order`]), its derivatives with respect to the values of the current
//! state and to its own parameters, written into an [`ObsDerivs`]:
//!
//! | field | size | entry |
//! |---|---|---|
//! | `dq` | A | ∂ℓ/∂Q\[s,j\] |
//! | `dpsi` | K | ∂ℓ/∂ψₘ |
//! | `hqq` | A·A | ∂²ℓ/∂Q\[s,i\]∂Q\[s,j\] at `i·A + j` |
//! | `hqp` | A·K | ∂²ℓ/∂Q\[s,j\]∂ψₘ at `j·K + m` |
//! | `hpp` | K·K | ∂²ℓ/∂ψₘ∂ψₙ at `m·K + n` |
//!
//! The log-probability comes back split as ℓ = shift − ln(norm) (a [`LogProb`]), with
//! norm ≥ 1 the normaliser of the choice probabilities. The [`Likelihood`](crate::Likelihood)
//! multiplies the normalisers and takes one logarithm every few hundred trials instead of one
//! per trial, which is most of the cost of a trial otherwise. An implementation that has no
//! such split returns `LogProb { shift: ℓ, norm: 1.0 }`.
//!
//! The method runs once per trial, so it neither allocates nor fails; what it returns must be
//! bit-for-bit the same at every `ORDER`.

mod lapse;
mod softmax;

pub use self::lapse::Lapse;
pub use self::softmax::Softmax;

use crate::check;
use crate::error::Result;
use crate::learning::order;
use crate::params::ParamSpec;

/// A log-probability as ℓ = shift − ln(norm), norm ≥ 1 (see the module docs).
///
/// ```
/// use rlgrad::observation::LogProb;
/// let lp = LogProb { shift: 0.0, norm: 2.0 };
/// assert_eq!(lp.value(), -std::f64::consts::LN_2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogProb {
    /// The part of ℓ that needs no logarithm.
    pub shift: f64,
    /// The normaliser, ≥ 1.
    pub norm: f64,
}

impl LogProb {
    /// ℓ = shift − ln(norm).
    #[inline]
    pub fn value(&self) -> f64 {
        self.shift - self.norm.ln()
    }
}

/// The chosen action and the context an observation model may use (what
/// [`Observation::log_prob`] reads).
///
/// ```
/// use rlgrad::observation::{Choice, Context};
/// let choice = Choice { action: 1, state: 2, previous: Some(0) };
/// assert_eq!(choice.context(), Context { state: 2, previous: Some(0) });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The chosen action aₜ.
    pub action: usize,
    /// The trial's state sₜ (0 in a bandit): a model may use it to pick per-state parameters
    /// (a β for each stage of a two-step task, say).
    pub state: usize,
    /// The action chosen on the last trial of the same session that had a response (`None`
    /// before the session's first choice). A missed trial (no response, see
    /// [`MISSED`](crate::data::MISSED)) leaves it unchanged: perseveration repeats the last
    /// action actually chosen.
    pub previous: Option<usize>,
}

impl Choice {
    /// The context without the action.
    #[inline]
    pub fn context(&self) -> Context {
        Context {
            state: self.state,
            previous: self.previous,
        }
    }
}

/// What an observation model may condition on besides the values, before the choice is made
/// (what [`Observation::probabilities`] reads): the fields of [`Choice`] other than the action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The trial's state sₜ (see [`Choice::state`]).
    pub state: usize,
    /// The last action chosen in the session (see [`Choice::previous`]).
    pub previous: Option<usize>,
}

/// Output buffers for an observation model's derivatives (see the module docs), borrowed
/// from wherever the caller keeps them: the likelihood's hot loop lends arrays on its own
/// stack, of lengths the compiler can see, so their bounds checks and round trips through
/// memory mostly vanish. [`ObsBuffers`] owns a set.
#[derive(Debug, PartialEq)]
pub struct ObsDerivs<'a> {
    /// ∂ℓ/∂Q\[s,j\], length A.
    pub dq: &'a mut [f64],
    /// ∂ℓ/∂ψₘ, length K.
    pub dpsi: &'a mut [f64],
    /// ∂²ℓ/∂Q∂Q, A·A row-major.
    pub hqq: &'a mut [f64],
    /// ∂²ℓ/∂Q∂ψ, A·K row-major.
    pub hqp: &'a mut [f64],
    /// ∂²ℓ/∂ψ∂ψ, K·K row-major.
    pub hpp: &'a mut [f64],
    /// Scratch space of length A for the model's own use (for example probabilities).
    pub work: &'a mut [f64],
}

/// Owned, zeroed buffers for an [`ObsDerivs`].
///
/// ```
/// use rlgrad::observation::{Choice, ObsBuffers, Softmax};
/// use rlgrad::{learning::order, observation::Observation};
/// let mut buffers = ObsBuffers::new(3, 1)?;
/// let choice = Choice { action: 2, state: 0, previous: None };
/// let lp = Softmax::new().log_prob::<{ order::GRADIENT }>(
///     &[1.0], &[0.0, 0.0, 0.0], choice, &mut buffers.derivs());
/// assert!((lp.value() + 3f64.ln()).abs() < 1e-15);
/// assert!((buffers.dq[2] - 2.0 / 3.0).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ObsBuffers {
    /// ∂ℓ/∂Q\[s,j\], length A.
    pub dq: Vec<f64>,
    /// ∂ℓ/∂ψₘ, length K.
    pub dpsi: Vec<f64>,
    /// ∂²ℓ/∂Q∂Q, A·A row-major.
    pub hqq: Vec<f64>,
    /// ∂²ℓ/∂Q∂ψ, A·K row-major.
    pub hqp: Vec<f64>,
    /// ∂²ℓ/∂ψ∂ψ, K·K row-major.
    pub hpp: Vec<f64>,
    /// Scratch, length A.
    pub work: Vec<f64>,
}

impl ObsBuffers {
    /// Zeroed buffers for `n_actions` actions and `n_params` parameters, every order.
    ///
    /// # Errors
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) if a buffer would exceed
    /// [`MAX_FLOATS`](crate::check::MAX_FLOATS) numbers (more than
    /// [`MAX_ACTIONS`](crate::check::MAX_ACTIONS) actions, say) or cannot be allocated.
    pub fn new(n_actions: usize, n_params: usize) -> Result<Self> {
        Self::for_order(n_actions, n_params, order::HESSIAN)
    }

    /// Zeroed buffers for the derivatives up to `order` ([`order`]); the fields of higher
    /// orders are empty. `work` has `n_actions` entries at every order.
    ///
    /// ```
    /// use rlgrad::{learning::order, observation::ObsBuffers};
    /// let b = ObsBuffers::for_order(3, 1, order::GRADIENT)?;
    /// assert_eq!((b.dq.len(), b.hqq.len(), b.work.len()), (3, 0, 3));
    /// assert!(ObsBuffers::new(1 << 20, 1).is_err()); // 2⁴⁰ second derivatives
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`ObsBuffers::new`].
    pub fn for_order(n_actions: usize, n_params: usize, order: usize) -> Result<Self> {
        let sized = |a: usize, b: usize, used: bool, what: &str| -> Result<Vec<f64>> {
            if !used {
                return Ok(Vec::new());
            }
            let len = check::floats(&[a, b], "n_actions", n_actions, what)?;
            check::filled(len, 0.0, what)
        };
        let first = order >= order::GRADIENT;
        let second = order >= order::HESSIAN;
        Ok(ObsBuffers {
            dq: sized(n_actions, 1, first, "dq")?,
            dpsi: sized(n_params, 1, first, "dpsi")?,
            hqq: sized(n_actions, n_actions, second, "hqq (n_actions x n_actions)")?,
            hqp: sized(n_actions, n_params, second, "hqp")?,
            hpp: sized(n_params, n_params, second, "hpp")?,
            work: sized(n_actions, 1, true, "work")?,
        })
    }

    /// The buffers as an [`ObsDerivs`].
    pub fn derivs(&mut self) -> ObsDerivs<'_> {
        ObsDerivs {
            dq: &mut self.dq,
            dpsi: &mut self.dpsi,
            hqq: &mut self.hqq,
            hqp: &mut self.hqp,
            hpp: &mut self.hpp,
            work: &mut self.work,
        }
    }
}

/// An observation (choice) model.
///
/// ```
/// use rlgrad::observation::{Choice, ObsBuffers, Softmax};
/// use rlgrad::{learning::order, observation::Observation};
/// let softmax = Softmax::new();
/// let mut buffers = ObsBuffers::new(3, 1)?;
/// let choice = Choice { action: 0, state: 0, previous: None };
/// let lp = softmax.log_prob::<{ order::HESSIAN }>(&[2.0], &[1.0, 0.5, 0.0], choice,
///     &mut buffers.derivs());
/// let mut p = [0.0; 3];
/// softmax.probabilities(&[2.0], &[1.0, 0.5, 0.0], choice.context(), &mut p);
/// assert!((lp.value() - p[0].ln()).abs() < 1e-15);
/// assert!((buffers.dq[0] - 2.0 * (1.0 - p[0])).abs() < 1e-15); // β(1 − π_a)
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub trait Observation: Send + Sync {
    /// The model's natural parameters, in the order it reads them from ψ, with their default
    /// transforms.
    fn params(&self) -> Vec<ParamSpec>;

    /// Checks natural parameter values.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming the parameter.
    fn check_params(&self, psi: &[f64]) -> Result<()> {
        let _ = psi;
        Ok(())
    }

    /// Checks that the model fits a table of `n_states` × `n_actions` values (a model with
    /// per-state parameters, say, has them for exactly `n_states` states);
    /// [`Model::new`](crate::Model::new) calls it. The default accepts every shape.
    ///
    /// # Errors
    /// [`Error::InvalidOption`](crate::Error::InvalidOption) naming the option that does
    /// not fit.
    fn check_shape(&self, n_states: usize, n_actions: usize) -> Result<()> {
        let _ = (n_states, n_actions);
        Ok(())
    }

    /// ℓ = log p(choice.action | q) for the values `q` of the current state (length A), as
    /// a [`LogProb`], and its derivatives up to `ORDER` written into `out` (every entry of
    /// the fields of that order is overwritten).
    fn log_prob<const ORDER: usize>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb;

    /// The chain rule from the values of the current state to K quantities: adds
    /// Σⱼ ∂ℓ/∂Q\[s,j\] · `rows[j·K + k]` into `out[k]` for every k < K = `out.len()`, where
    /// `rows` holds one row of K entries per action (A·K in all) and `derivs.dq` was filled
    /// by the last [`Observation::log_prob`] call for the chosen `action`.
    ///
    /// The likelihood calls it with the rows of D (K = rule parameters) and of E (K = their
    /// square). The default is the plain sum; a model whose ∂ℓ/∂Q has structure may do it
    /// with fewer operations. It runs once per trial: no allocation, no failure.
    #[inline(always)]
    fn contract(&self, derivs: &ObsDerivs<'_>, action: usize, rows: &[f64], out: &mut [f64]) {
        contract_dense(derivs.dq, action, rows, out);
    }

    /// The choice probabilities p(· | q) in the `context` of the trial (state, previous
    /// action), written into `out` (length A); used to simulate and by
    /// [`Model::latents`](crate::Model::latents). They must agree with
    /// [`Observation::log_prob`]: p(a) = exp(ℓ) for the [`Choice`] of action a in the same
    /// context.
    fn probabilities(&self, psi: &[f64], q: &[f64], context: Context, out: &mut [f64]);
}

/// The plain chain-rule contraction: adds Σⱼ `dq[j]` · `rows[j·K + k]` into `out[k]` for every
/// k < K = `out.len()` (the default of [`Observation::contract`]).
///
/// Actions are visited starting from the chosen one. The previous trial stored one entry of
/// these rows; reading them as one wide vector (which a compiler does for adjacent addresses)
/// would defeat store-to-load forwarding and stall every trial.
///
/// ```
/// let mut out = [0.0; 2];
/// rlgrad::observation::contract_dense(&[1.0, -1.0], 0, &[3.0, 4.0, 1.0, 1.0], &mut out);
/// assert_eq!(out, [2.0, 3.0]);
/// ```
#[inline(always)]
pub fn contract_dense(dq: &[f64], action: usize, rows: &[f64], out: &mut [f64]) {
    let n = dq.len();
    let k = out.len();
    for (kk, o) in out.iter_mut().enumerate() {
        let mut acc = 0.0;
        for j in 0..n {
            let jj = rotate::<0>(j, action, n);
            acc += dq[jj] * rows[jj * k + kk];
        }
        *o += acc;
    }
}

/// (j + a) mod n for j, a < n: with the size `NA` known at compile time the remainder is a
/// mask or a multiply (and proves the index in bounds); with `NA = 0`, a compare.
#[inline(always)]
pub(crate) fn rotate<const NA: usize>(j: usize, a: usize, n: usize) -> usize {
    let x = j + a;
    if NA > 0 {
        x % NA
    } else if x >= n {
        x - n
    } else {
        x
    }
}
