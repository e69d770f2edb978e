//! [`Likelihood`]: the log-likelihood of one subject's choices, with its exact gradient and
//! Hessian, as a [`Term`].
//!
//! For each session, values start afresh and, trial by trial,
//!
//! ```text
//! ℓₜ = log p(aₜ | Q[sₜ,·]; ψ_obs)
//! ∂ℓ/∂ψ_rule,k      = Σⱼ ∂ℓₜ/∂Qⱼ · D[sₜ,j,k]
//! ∂²ℓ/∂ψ_rule,k∂ψ_rule,l = Σᵢⱼ D[sₜ,i,k] ∂²ℓₜ/∂Qᵢ∂Qⱼ D[sₜ,j,l] + Σⱼ ∂ℓₜ/∂Qⱼ · E[sₜ,j,k,l]
//! ∂²ℓ/∂ψ_rule,k∂ψ_obs,m  = Σⱼ D[sₜ,j,k] ∂²ℓₜ/∂Qⱼ∂ψ_obs,m
//! ```
//!
//! then the rule updates Q, D, E. The derivatives with respect to θ follow from the
//! transforms' chain rule, including its curvature term (see [`crate::params`]).
//!
//! The per-trial loop runs on slices and a workspace allocated once per evaluation; it
//! allocates nothing and returns no `Result`. The derivative order is a compile-time
//! constant, so the value-only pass does no derivative work at all.

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use crate::data::{Session, Subject, NO_STATE};
use crate::error::{Error, Result};
use crate::learning::{order, LearningRule, Step};
use crate::model::Natural;
use crate::observation::{Choice, ObsDerivs, Observation};
use crate::term::{check_args, check_hess_shape};
use crate::{Model, Term};

/// The log-likelihood of a subject's choices under a [`Model`]; build it with
/// [`Model::likelihood`].
///
/// ```
/// use ndarray::{arr1, Array1};
/// use rlgrad::prelude::*;
/// let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
/// let session = Session::bandit("1", vec![0, 0, 1, 0], vec![1.0, 0.0, 1.0, 1.0])?;
/// let subject = Subject::new("s1", vec![session])?;
/// let lik = model.likelihood(&subject)?;
/// let theta = arr1(&[0.0, 1.0]); // alpha = 0.5, beta = e
/// let mut grad = Array1::zeros(2);
/// let ll = lik.value_and_grad(theta.view(), grad.view_mut())?;
/// assert!(ll < 0.0);
/// assert_eq!(ll, lik.value(theta.view())?); // the same bits
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub struct Likelihood<'a, L, O> {
    model: &'a Model<L, O>,
    subject: &'a Subject,
}

/// Buffers for one evaluation.
struct Workspace {
    q: Vec<f64>,
    d: Vec<f64>,
    e: Vec<f64>,
    obs: ObsDerivs,
    /// Gradient with respect to ψ.
    g: Vec<f64>,
    /// Hessian with respect to ψ, K × K row-major.
    h: Vec<f64>,
    /// A × K_rule scratch for the Hessian contraction.
    tmp: Vec<f64>,
}

impl<'a, L: LearningRule, O: Observation> Likelihood<'a, L, O> {
    pub(crate) fn new(model: &'a Model<L, O>, subject: &'a Subject) -> Self {
        Likelihood { model, subject }
    }

    /// The subject.
    pub fn subject(&self) -> &Subject {
        self.subject
    }

    /// The model.
    pub fn model(&self) -> &Model<L, O> {
        self.model
    }

    fn workspace<const ORDER: usize>(&self) -> Workspace {
        let shape = self.model.shape();
        let kl = self.model.n_rule_params();
        let k = self.model.n_params();
        let ko = k - kl;
        let n = shape.len();
        let (dl, el) = match ORDER {
            order::VALUE => (0, 0),
            order::GRADIENT => (n * kl, 0),
            _ => (n * kl, n * kl * kl),
        };
        Workspace {
            q: vec![0.0; n],
            d: vec![0.0; dl],
            e: vec![0.0; el],
            obs: ObsDerivs::new(shape.n_actions, ko),
            g: vec![0.0; k],
            h: vec![0.0; k * k],
            tmp: vec![0.0; shape.n_actions * kl],
        }
    }

    /// Runs every session at the given order; returns ℓ(ψ), with ∂ℓ/∂ψ in `ws.g` and
    /// ∂²ℓ/∂ψ² in `ws.h` as the order asks.
    fn run<const ORDER: usize>(&self, nat: &Natural, ws: &mut Workspace) -> f64 {
        let mut ll = 0.0;
        for session in self.subject.sessions() {
            ll += self.session::<ORDER>(&nat.psi, session, ws);
        }
        ll
    }

    /// The hot loop over one session's trials.
    #[inline(never)]
    fn session<const ORDER: usize>(&self, psi: &[f64], sess: &Session, ws: &mut Workspace) -> f64 {
        let rule = self.model.rule();
        let obs = self.model.observation();
        let shape = self.model.shape();
        let na = shape.n_actions;
        let kl = self.model.n_rule_params();
        let k = psi.len();
        let ko = k - kl;
        let (psi_l, psi_o) = psi.split_at(kl);
        let Workspace {
            q,
            d,
            e,
            obs: od,
            g,
            h,
            tmp,
        } = ws;
        rule.reset::<ORDER>(psi_l, shape, q, d, e);

        let states = sess.states();
        let actions = sess.actions();
        let rewards = sess.rewards();
        let next = sess.next_states();
        let mut ll = 0.0;
        let mut previous = None;
        for t in 0..actions.len() {
            let s = states[t] as usize;
            let a = actions[t] as usize;
            let row = shape.index(s, 0);
            let choice = Choice {
                action: a,
                previous,
            };
            ll += obs.log_prob::<ORDER>(psi_o, &q[row..row + na], choice, od);
            if ORDER >= order::GRADIENT {
                for (kk, gk) in g.iter_mut().enumerate().take(kl) {
                    let mut acc = 0.0;
                    for j in 0..na {
                        acc += od.dq[j] * d[(row + j) * kl + kk];
                    }
                    *gk += acc;
                }
                for m in 0..ko {
                    g[kl + m] += od.dpsi[m];
                }
            }
            if ORDER >= order::HESSIAN {
                accumulate_hessian(row, na, kl, ko, od, d, e, tmp, h);
            }
            let step = Step {
                state: s,
                action: a,
                reward: rewards[t],
                next_state: next.and_then(|n| (n[t] != NO_STATE).then_some(n[t] as usize)),
            };
            rule.update::<ORDER>(psi_l, shape, step, q, d, e);
            previous = Some(a);
        }
        ll
    }

    fn non_finite(&self, what: &str, theta: ArrayView1<f64>) -> Error {
        Error::NonFiniteResult {
            what: format!("{what} of subject `{}`", self.subject.id()),
            theta: theta.to_vec(),
        }
    }
}

/// Adds one trial's contribution to the ψ-Hessian (see the module docs for the formula).
#[allow(clippy::too_many_arguments)]
#[inline]
fn accumulate_hessian(
    row: usize,
    na: usize,
    kl: usize,
    ko: usize,
    od: &ObsDerivs,
    d: &[f64],
    e: &[f64],
    tmp: &mut [f64],
    h: &mut [f64],
) {
    let k = kl + ko;
    // tmp[j, l] = Σᵢ hqq[j, i] D[i, l]
    for j in 0..na {
        for l in 0..kl {
            let mut acc = 0.0;
            for i in 0..na {
                acc += od.hqq[j * na + i] * d[(row + i) * kl + l];
            }
            tmp[j * kl + l] = acc;
        }
    }
    for r in 0..kl {
        for c in 0..kl {
            let mut acc = 0.0;
            for j in 0..na {
                acc += d[(row + j) * kl + r] * tmp[j * kl + c]
                    + od.dq[j] * e[((row + j) * kl + r) * kl + c];
            }
            h[r * k + c] += acc;
        }
        for m in 0..ko {
            let mut acc = 0.0;
            for j in 0..na {
                acc += d[(row + j) * kl + r] * od.hqp[j * ko + m];
            }
            h[r * k + kl + m] += acc;
            h[(kl + m) * k + r] += acc;
        }
    }
    for m in 0..ko {
        for n in 0..ko {
            h[(kl + m) * k + kl + n] += od.hpp[m * ko + n];
        }
    }
}

impl<L: LearningRule, O: Observation> Term for Likelihood<'_, L, O> {
    fn dim(&self) -> usize {
        self.model.n_params()
    }

    fn value(&self, theta: ArrayView1<f64>) -> Result<f64> {
        let nat = self.model.natural_checked(theta)?;
        let mut ws = self.workspace::<{ order::VALUE }>();
        let ll = self.run::<{ order::VALUE }>(&nat, &mut ws);
        if !ll.is_finite() {
            return Err(self.non_finite("log-likelihood", theta));
        }
        Ok(ll)
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        check_args(self.dim(), theta, grad.len())?;
        let nat = self.model.natural_checked(theta)?;
        let mut ws = self.workspace::<{ order::GRADIENT }>();
        let ll = self.run::<{ order::GRADIENT }>(&nat, &mut ws);
        let gt: Vec<f64> = (0..ws.g.len()).map(|k| nat.d1[k] * ws.g[k]).collect();
        if !ll.is_finite() {
            return Err(self.non_finite("log-likelihood", theta));
        }
        if gt.iter().any(|v| !v.is_finite()) {
            return Err(self.non_finite("gradient of the log-likelihood", theta));
        }
        for (gi, v) in grad.iter_mut().zip(&gt) {
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
        check_args(self.dim(), theta, grad.len())?;
        check_hess_shape(self.dim(), &hess)?;
        let nat = self.model.natural_checked(theta)?;
        let mut ws = self.workspace::<{ order::HESSIAN }>();
        let ll = self.run::<{ order::HESSIAN }>(&nat, &mut ws);
        let k = ws.g.len();
        let gt: Vec<f64> = (0..k).map(|i| nat.d1[i] * ws.g[i]).collect();
        // ∂²/∂θₖ∂θₗ = g′ₖ g′ₗ ∂²/∂ψₖ∂ψₗ + 1[k=l] g″ₖ ∂/∂ψₖ
        let ht: Vec<f64> = (0..k * k)
            .map(|idx| {
                let (r, c) = (idx / k, idx % k);
                let curv = if r == c { nat.d2[r] * ws.g[r] } else { 0.0 };
                nat.d1[r] * nat.d1[c] * ws.h[idx] + curv
            })
            .collect();
        if !ll.is_finite() {
            return Err(self.non_finite("log-likelihood", theta));
        }
        if gt.iter().any(|v| !v.is_finite()) {
            return Err(self.non_finite("gradient of the log-likelihood", theta));
        }
        if ht.iter().any(|v| !v.is_finite()) {
            return Err(self.non_finite("hessian of the log-likelihood", theta));
        }
        for (gi, v) in grad.iter_mut().zip(&gt) {
            *gi += alpha * v;
        }
        for ((r, c), hv) in hess.indexed_iter_mut() {
            *hv += alpha * ht[r * k + c];
        }
        Ok(ll)
    }

    fn has_exact_hessian(&self) -> bool {
        true
    }
}
