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
//! A missed trial (no response, [`MISSED`]) has no ℓₜ: it is skipped, or with
//! [`Missed::Learn`] the rule's [`LearningRule::update_missed`] runs on its outcome. The
//! previous action seen by the observation model is the last one actually chosen.
//!
//! The per-trial loop runs on slices and a workspace allocated once per evaluation; it
//! allocates nothing and returns no `Result`. The derivative order is a compile-time
//! constant, so the value-only pass does no derivative work at all.

use ndarray::{ArrayView1, ArrayViewMut1, ArrayViewMut2};

use crate::check;
use crate::data::{MISSED, NO_STATE, Session, Subject};
use crate::error::Result;
use crate::learning::{LearningRule, Missed, Step, order};
use crate::model::Natural;
use crate::observation::{Choice, ObsBuffers, ObsDerivs, Observation, rotate};
use crate::{Model, Term};

/// Largest K (parameters) and A (actions) for which the loop keeps its accumulators and the
/// observation's buffers in stack arrays.
const MAXK: usize = 4;
const MAXA: usize = 8;

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

/// Buffers for one evaluation, in one allocation (see [`Workspace::parts`]).
struct Workspace {
    buf: Vec<f64>,
    sizes: [usize; 7],
    /// Observation buffers, for problems too large for the loop's stack arrays.
    obs: ObsBuffers,
}

/// The workspace carved into its buffers.
struct Parts<'w> {
    q: &'w mut [f64],
    d: &'w mut [f64],
    e: &'w mut [f64],
    /// Gradient with respect to ψ.
    g: &'w mut [f64],
    /// Hessian with respect to ψ, K × K row-major.
    h: &'w mut [f64],
    /// A × K_rule scratch for the Hessian contraction.
    tmp: &'w mut [f64],
    /// Σₜ Σⱼ ∂ℓₜ/∂Qⱼ · E\[sₜ,j,·,·\] over a session, K_rule × K_rule.
    he: &'w mut [f64],
    obs: &'w mut ObsBuffers,
}

impl Workspace {
    fn parts(&mut self) -> Parts<'_> {
        let mut rest: &mut [f64] = &mut self.buf;
        let [q, d, e, g, h, tmp, he] = self.sizes.map(|n| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
            rest = tail;
            head
        });
        Parts {
            q,
            d,
            e,
            g,
            h,
            tmp,
            he,
            obs: &mut self.obs,
        }
    }
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

    /// The buffers of one evaluation at `ORDER`: only what that order uses (a value-only pass
    /// allocates the value table and nothing of the derivatives), allocated fallibly. The
    /// sizes are within [`MAX_FLOATS`](crate::check::MAX_FLOATS), checked by [`Model::new`].
    fn workspace<const ORDER: usize>(&self) -> Result<Workspace> {
        let shape = self.model.shape();
        let kl = self.model.n_rule_params();
        let k = self.model.n_params();
        let ko = k - kl;
        let (n, na) = (shape.len(), shape.n_actions);
        let sizes = match ORDER {
            order::VALUE => [n, 0, 0, 0, 0, 0, 0],
            order::GRADIENT => [n, n * kl, 0, k, 0, 0, 0],
            _ => [n, n * kl, n * kl * kl, k, k * k, na * kl, kl * kl],
        };
        // The loop lends the observation stack arrays when the problem is small enough.
        let obs = if Self::fits_on_stack(na, k) {
            ObsBuffers::for_order(0, 0, order::VALUE)?
        } else {
            ObsBuffers::for_order(na, ko, ORDER)?
        };
        Ok(Workspace {
            buf: check::filled(sizes.iter().sum(), 0.0, "likelihood workspace")?,
            sizes,
            obs,
        })
    }

    /// Whether the loop accumulates in its stack arrays (see [`Self::session_sized`]).
    fn fits_on_stack(n_actions: usize, n_params: usize) -> bool {
        n_params <= MAXK && n_actions <= MAXA
    }

    /// Runs every session at the given order; returns ℓ(ψ), with ∂ℓ/∂ψ in `ws.g` and
    /// ∂²ℓ/∂ψ² in `ws.h` as the order asks.
    fn run<const ORDER: usize>(&self, nat: &Natural, ws: &mut Workspace) -> f64 {
        let mut ll = 0.0;
        for session in self.subject.sessions() {
            ll += self.session::<ORDER>(nat.psi(), session, ws);
        }
        ll
    }

    /// One session's log-likelihood, dispatching to a copy of the loop compiled for the
    /// common small sizes (actions, rule parameters, observation parameters), so that its
    /// inner loops have constant trip counts; 0 means "read the size at run time".
    fn session<const ORDER: usize>(&self, psi: &[f64], sess: &Session, ws: &mut Workspace) -> f64 {
        let na = self.model.shape().n_actions;
        let kl = self.model.n_rule_params();
        match (na, kl, psi.len() - kl) {
            (2, 1, 1) => self.session_sized::<ORDER, 2, 1, 1>(psi, sess, ws),
            (2, 2, 1) => self.session_sized::<ORDER, 2, 2, 1>(psi, sess, ws),
            (2, 1, 2) => self.session_sized::<ORDER, 2, 1, 2>(psi, sess, ws),
            (2, 2, 2) => self.session_sized::<ORDER, 2, 2, 2>(psi, sess, ws),
            (3, 1, 1) => self.session_sized::<ORDER, 3, 1, 1>(psi, sess, ws),
            (4, 1, 1) => self.session_sized::<ORDER, 4, 1, 1>(psi, sess, ws),
            _ => self.session_sized::<ORDER, 0, 0, 0>(psi, sess, ws),
        }
    }

    /// The hot loop over one session's trials.
    ///
    /// ℓ is accumulated as Σ shift − ln Π norm: the product of normalisers (each ≥ 1) is
    /// folded into a logarithm only when it exceeds 2⁶⁰⁰, so a trial costs no logarithm. The
    /// value is the same at every `ORDER`, bit for bit.
    #[inline(never)]
    fn session_sized<const ORDER: usize, const NA: usize, const KL: usize, const KO: usize>(
        &self,
        psi: &[f64],
        sess: &Session,
        ws: &mut Workspace,
    ) -> f64 {
        const BIG: f64 = 4.149515568880993e180; // 2^600
        let rule = self.model.rule();
        let obs = self.model.observation();
        let shape = self.model.shape();
        let na = if NA > 0 { NA } else { shape.n_actions };
        let kl = if NA > 0 {
            KL
        } else {
            self.model.n_rule_params()
        };
        let ko = if NA > 0 { KO } else { psi.len() - kl };
        let k = kl + ko;
        let (psi_l, psi_o) = psi.split_at(kl);
        let Parts {
            q,
            d,
            e,
            g,
            h,
            tmp,
            he,
            obs: ob,
        } = ws.parts();
        rule.reset::<ORDER>(psi_l, shape, q, d, e);
        // Small problems accumulate derivatives in local arrays, which the compiler keeps in
        // registers; the workspace's heap buffers could alias the Q and D stores as far as it
        // knows, which would put a load-add-store through memory on every trial.
        let sized = Self::fits_on_stack(na, k);
        let mut he_local = [0.0; MAXK * MAXK];
        let mut g_local = [0.0; MAXK];
        let mut h_local = [0.0; MAXK * MAXK];
        let mut tmp_local = [0.0; MAXA * MAXK];
        let mut dq_local = [0.0; MAXA];
        let mut dpsi_local = [0.0; MAXK];
        let mut hqq_local = [0.0; MAXA * MAXA];
        let mut hqp_local = [0.0; MAXA * MAXK];
        let mut hpp_local = [0.0; MAXK * MAXK];
        let mut work_local = [0.0; MAXA];
        type Acc<'b> = (&'b mut [f64], &'b mut [f64], &'b mut [f64], &'b mut [f64]);
        let (ga, ha, tmp, hea): Acc<'_> = if sized {
            (
                &mut g_local[..k],
                &mut h_local[..k * k],
                &mut tmp_local[..na * kl],
                &mut he_local[..kl * kl],
            )
        } else {
            (&mut *g, &mut *h, &mut *tmp, &mut *he)
        };
        let mut od = if sized {
            ObsDerivs {
                dq: &mut dq_local[..na],
                dpsi: &mut dpsi_local[..ko],
                hqq: &mut hqq_local[..na * na],
                hqp: &mut hqp_local[..na * ko],
                hpp: &mut hpp_local[..ko * ko],
                work: &mut work_local[..na],
            }
        } else {
            ob.derivs()
        };

        let states = sess.states();
        let actions = &sess.actions()[..states.len()];
        let rewards = &sess.rewards()[..states.len()];
        let next = if L::USES_NEXT_STATE {
            sess.next_states()
        } else {
            None
        };
        let mut shift = 0.0;
        let mut logs = 0.0;
        let mut prod = 1.0;
        let mut previous = None;
        let learn_missed = self.model.missed() == Missed::Learn;
        for t in 0..states.len() {
            let (s, a, reward) = (states[t] as usize, actions[t], rewards[t]);
            // One comparison per trial, always false for data without missed trials.
            if a == MISSED {
                if learn_missed {
                    rule.update_missed::<ORDER>(psi_l, shape, s, reward, q, d, e);
                }
                continue;
            }
            let a = a as usize;
            let row = shape.index(s, 0);
            let choice = Choice {
                action: a,
                state: s,
                previous,
            };
            let lp = obs.log_prob::<ORDER>(psi_o, &q[row..row + na], choice, &mut od);
            shift += lp.shift;
            prod *= lp.norm;
            // One comparison: normalisers are ≥ 1, so the product only grows (a NaN, or an
            // observation breaking the contract, surfaces as a non-finite result).
            if prod > BIG {
                logs += prod.ln();
                prod = 1.0;
            }
            if ORDER >= order::GRADIENT {
                obs.contract(&od, a, &d[row * kl..(row + na) * kl], &mut ga[..kl]);
                for m in 0..ko {
                    ga[kl + m] += od.dpsi[m];
                }
            }
            if ORDER >= order::HESSIAN {
                accumulate_hessian::<NA>(row, a, na, kl, ko, &od, d, tmp, ha);
                let erows = &e[row * kl * kl..(row + na) * kl * kl];
                obs.contract(&od, a, erows, hea);
            }
            let step = Step {
                state: s,
                action: a,
                reward,
                next_state: next.and_then(|n| (n[t] != NO_STATE).then_some(n[t] as usize)),
            };
            rule.update::<ORDER>(psi_l, shape, step, q, d, e);
            previous = Some(a);
        }
        if ORDER >= order::HESSIAN {
            // Fold the session's Σ ∂ℓ/∂Q · E into the rule block of the Hessian.
            for r in 0..kl {
                for c in 0..kl {
                    ha[r * k + c] += hea[r * kl + c];
                }
            }
            hea.fill(0.0);
        }
        if sized {
            for (x, y) in g.iter_mut().zip(&g_local[..k]) {
                *x += y;
            }
            for (x, y) in h.iter_mut().zip(&h_local[..k * k]) {
                *x += y;
            }
        }
        shift - (logs + prod.ln())
    }

    /// An error naming the first of value, gradient and Hessian that is not finite.
    fn check_finite(&self, ll: f64, g: &[f64], h: &[f64], theta: ArrayView1<f64>) -> Result<()> {
        check::finite_log_likelihood(self.subject.id(), ll, g, h, theta)
    }
}

/// Adds one trial's contribution to the ψ-Hessian (see the module docs for the formula),
/// except the Σⱼ ∂ℓ/∂Qⱼ · E term, which goes through [`Observation::contract`].
/// Actions are visited starting from the chosen one `a`, for the reason given in
/// [`Likelihood::session_sized`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn accumulate_hessian<const NA: usize>(
    row: usize,
    a: usize,
    na: usize,
    kl: usize,
    ko: usize,
    od: &ObsDerivs<'_>,
    d: &[f64],
    tmp: &mut [f64],
    h: &mut [f64],
) {
    let k = kl + ko;
    // tmp[j, l] = Σᵢ hqq[j, i] D[i, l]
    for j in 0..na {
        let jj = rotate::<NA>(j, a, na);
        for l in 0..kl {
            let mut acc = 0.0;
            for i in 0..na {
                let ii = rotate::<NA>(i, a, na);
                acc += od.hqq[jj * na + ii] * d[(row + ii) * kl + l];
            }
            tmp[jj * kl + l] = acc;
        }
    }
    for r in 0..kl {
        for c in 0..kl {
            let mut acc = 0.0;
            for j in 0..na {
                let jj = rotate::<NA>(j, a, na);
                acc += d[(row + jj) * kl + r] * tmp[jj * kl + c];
            }
            h[r * k + c] += acc;
        }
        for m in 0..ko {
            let mut acc = 0.0;
            for j in 0..na {
                let jj = rotate::<NA>(j, a, na);
                acc += d[(row + jj) * kl + r] * od.hqp[jj * ko + m];
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
        let mut ws = self.workspace::<{ order::VALUE }>()?;
        let ll = self.run::<{ order::VALUE }>(&nat, &mut ws);
        self.check_finite(ll, &[], &[], theta)?;
        Ok(ll)
    }

    fn add_value_and_grad(
        &self,
        theta: ArrayView1<f64>,
        alpha: f64,
        mut grad: ArrayViewMut1<f64>,
    ) -> Result<f64> {
        // θ first, through the layout, so a bad entry is named by its parameter.
        let nat = self.model.natural_checked(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", self.dim(), grad.len())?;
        let mut ws = self.workspace::<{ order::GRADIENT }>()?;
        let ll = self.run::<{ order::GRADIENT }>(&nat, &mut ws);
        let parts = ws.parts();
        // ∂/∂θₖ = g′ₖ ∂/∂ψₖ, in place.
        for (gk, d1) in parts.g.iter_mut().zip(nat.d1()) {
            *gk *= d1;
        }
        self.check_finite(ll, parts.g, &[], theta)?;
        for (gi, v) in grad.iter_mut().zip(parts.g.iter()) {
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
        let nat = self.model.natural_checked(theta)?;
        check::alpha(alpha)?;
        check::len("gradient buffer", self.dim(), grad.len())?;
        check::hessian_shape(self.dim(), &hess)?;
        let mut ws = self.workspace::<{ order::HESSIAN }>()?;
        let ll = self.run::<{ order::HESSIAN }>(&nat, &mut ws);
        let parts = ws.parts();
        let (g, h) = (parts.g, parts.h);
        let (d1, d2) = (nat.d1(), nat.d2());
        let k = g.len();
        // ∂²/∂θₖ∂θₗ = g′ₖ g′ₗ ∂²/∂ψₖ∂ψₗ + 1[k=l] g″ₖ ∂/∂ψₖ (with the ψ-gradient, so before
        // the gradient itself is scaled), in place.
        for r in 0..k {
            for c in 0..k {
                h[r * k + c] *= d1[r] * d1[c];
            }
            h[r * k + r] += d2[r] * g[r];
        }
        for (gk, d) in g.iter_mut().zip(d1) {
            *gk *= d;
        }
        self.check_finite(ll, g, h, theta)?;
        for (gi, v) in grad.iter_mut().zip(g.iter()) {
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
