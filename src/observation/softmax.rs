//! Softmax choice with inverse temperature β and optional perseveration κ.
//!
//! ```text
//! zⱼ = β Q[s,j] + κ·1[j = a_prev]
//! π  = softmax(z),  ℓ = z_a − logsumexp(z)
//! ∂ℓ/∂Qⱼ      = β (1[j=a] − πⱼ)
//! ∂ℓ/∂β       = Q_a − Σⱼ πⱼ Qⱼ
//! ∂ℓ/∂κ       = 1[a = a_prev] − π_{a_prev}             (0 on the first trial)
//! ∂²ℓ/∂Qᵢ∂Qⱼ  = −β² (πᵢ 1[i=j] − πᵢ πⱼ)
//! ∂²ℓ/∂Qⱼ∂β   = (1[j=a] − πⱼ) − β πⱼ (Qⱼ − Q̄),       Q̄ = Σₖ πₖ Qₖ
//! ∂²ℓ/∂Qⱼ∂κ   = −β πⱼ (1[j = a_prev] − π_{a_prev})
//! ∂²ℓ/∂β²     = −Var_π(Q)
//! ∂²ℓ/∂β∂κ    = −π_{a_prev} (Q_{a_prev} − Q̄)
//! ∂²ℓ/∂κ²     = −π_{a_prev} (1 − π_{a_prev})
//! ```
//!
//! Both paths go through the crate's softmax kernel ([`crate::numeric`]), shifted by the
//! maximum: with m = maxⱼ zⱼ, ℓ = (z_a − m) − ln Σⱼ e^(zⱼ − m), and the normaliser
//! Σⱼ e^(zⱼ − m) = 1 + (the other terms) lies in [1, A]. So β = 10³ neither overflows nor
//! loses small probabilities, and equal values give exactly uniform probabilities. The rounding
//! error of 1 + rest is recovered exactly (Fast2Sum) and moved into the shift, so a
//! log-probability near 0 (say −1e−20) keeps its full relative accuracy even though the
//! normaliser rounds to 1 ([`SoftmaxNorm::log_prob_parts`]).
//!
//! A per-state softmax ([`Softmax::per_state`]) reads β = β_g for the trial's state's group
//! g; the formulas hold with β_g for β, and the derivatives with respect to the other β's are
//! zero on that trial.
//!
//! With two actions the model depends only on x = z_a − z_b: ℓ = ln σ(x) =
//! −max(−x, 0) − ln(1 + e^(−|x|)), one `exp` per trial ([`log_logistic_parts`]), and
//! π_b = σ(−x) comes from the same `exp`.

use super::{Choice, Context, LogProb, ObsDerivs, Observation, contract_dense};
use crate::check;
use crate::error::{Error, Result};
use crate::numeric::{SoftmaxNorm, log_logistic_parts, softmax_probabilities};
use crate::params::{ParamSpec, Transform};

/// Softmax (Boltzmann) choice.
///
/// | constructor | parameters (default transform) |
/// |---|---|
/// | [`Softmax::new`] | `beta` (exp) |
/// | [`Softmax::with_perseveration`] | `beta` (exp), `kappa` (identity) |
/// | [`Softmax::per_state`]`(groups)` | `beta_1`, …, `beta_G` (exp): state s uses `beta_{groups[s] + 1}` |
/// | [`Softmax::per_state_with_perseveration`]`(groups)` | `beta_1`, …, `beta_G` (exp), `kappa` (identity) |
///
/// β may be any finite real (a negative β prefers low values); the default exp transform
/// keeps it positive.
///
/// ```
/// use rlgrad::observation::{Choice, ObsBuffers, Softmax};
/// use rlgrad::{learning::order, observation::Observation};
/// let sm = Softmax::new();
/// let mut out = ObsBuffers::new(2, 1)?;
/// let choice = Choice { action: 0, state: 0, previous: None };
/// let l = sm
///     .log_prob::<{ order::GRADIENT }>(&[2.0], &[1.0, 0.0], choice, &mut out.derivs())
///     .value();
/// // p(a=0) = σ(2)
/// assert!((l - (1.0 / (1.0 + (-2.0f64).exp())).ln()).abs() < 1e-15);
/// assert!((out.dpsi[0] - (1.0 - 1.0 / (1.0 + (-2.0f64).exp()))).abs() < 1e-15);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Softmax {
    perseveration: bool,
    /// Per state, the index of its β; empty when one β serves every state.
    groups: Vec<usize>,
    /// The number of β parameters G (1 without groups).
    n_groups: usize,
}

impl Default for Softmax {
    fn default() -> Self {
        Self::new()
    }
}

impl Softmax {
    /// Softmax with inverse temperature `beta`.
    pub fn new() -> Self {
        Softmax {
            perseveration: false,
            groups: Vec::new(),
            n_groups: 1,
        }
    }

    /// Softmax with inverse temperature `beta` and a perseveration bonus `kappa` added to the
    /// logit of the last action chosen in the session.
    pub fn with_perseveration() -> Self {
        Softmax {
            perseveration: true,
            ..Self::new()
        }
    }

    /// Softmax with one inverse temperature per group of states: `groups[s]` is the group of
    /// state s, and state s uses `beta_{groups[s] + 1}` of the parameters `beta_1`, …,
    /// `beta_G` (G = the number of groups). The two-step task, for example, has β₁ at stage 1
    /// (state 0) and β₂ at stage 2 (states 1 and 2): `per_state(&[0, 1, 1])`.
    ///
    /// `groups` has one entry per state of the model ([`Model::new`](crate::Model::new)
    /// refuses another length), and the groups are numbered 0, 1, …, G − 1 with every one
    /// used by some state (an unused group would have a β that the data never inform).
    /// With every state in group 0 this is [`Softmax::new`] with the parameter named
    /// `beta_1`.
    ///
    /// ```
    /// use rlgrad::prelude::*;
    /// let model = Model::new(RescorlaWagner::new(), Softmax::per_state(&[0, 1, 1])?, 3, 2)?;
    /// let names: Vec<&str> = model.layout().names().collect();
    /// assert_eq!(names, ["alpha", "beta_1", "beta_2"]);
    /// assert!(Softmax::per_state(&[0, 2, 2]).is_err()); // group 1 is used by no state
    /// assert!(Model::new(RescorlaWagner::new(), Softmax::per_state(&[0, 1])?, 3, 2).is_err());
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if `groups` is empty, or a group is not below the number of
    /// states, or a group below the largest is used by no state (each names it).
    pub fn per_state(groups: &[usize]) -> Result<Self> {
        Self::grouped(groups, false)
    }

    /// [`Softmax::per_state`] with the perseveration bonus `kappa` of
    /// [`Softmax::with_perseveration`] (one κ for every state), after the β's.
    ///
    /// # Errors
    /// As [`Softmax::per_state`].
    pub fn per_state_with_perseveration(groups: &[usize]) -> Result<Self> {
        Self::grouped(groups, true)
    }

    fn grouped(groups: &[usize], perseveration: bool) -> Result<Self> {
        let n = groups.len();
        if n == 0 {
            return Err(Error::invalid_option(
                "groups",
                "[]",
                "must give the group of every state of the model (one entry per state)",
            ));
        }
        let len = check::floats(&[n], "groups", n, "the groups of the states")?;
        let mut used = check::filled(len, false, "groups")?;
        for (s, &g) in groups.iter().enumerate() {
            if g >= n {
                return Err(Error::invalid_option(
                    format!("groups[{s}]"),
                    g,
                    format!(
                        "must be below the number of states, {n}: the groups are numbered \
                         0, 1, ..., G - 1 with every group used by some state"
                    ),
                ));
            }
            used[g] = true;
        }
        let n_groups = groups.iter().max().map_or(1, |m| m + 1);
        if let Some(g) = used[..n_groups].iter().position(|u| !u) {
            return Err(Error::invalid_option(
                "groups",
                show_groups(groups),
                format!(
                    "group {g} is used by no state, so beta_{} would never be fitted: number \
                     the groups 0, 1, ..., G - 1 with every group used",
                    g + 1
                ),
            ));
        }
        let mut owned = check::filled(len, 0, "groups")?;
        owned.copy_from_slice(groups);
        Ok(Softmax {
            perseveration,
            groups: owned,
            n_groups,
        })
    }

    /// Whether this is the plain softmax: one β for every state, no perseveration.
    pub(crate) fn is_plain(&self) -> bool {
        !self.perseveration && self.groups.is_empty()
    }

    /// The position of κ in ψ: after the β's.
    #[inline(always)]
    fn kappa_index(&self) -> usize {
        self.n_groups
    }

    /// κ·1[j = previous] for action j, κ = ψ\[`ki`\].
    #[inline]
    fn bonus(&self, psi: &[f64], ki: usize, j: usize, previous: Option<usize>) -> f64 {
        if self.perseveration && previous == Some(j) {
            psi[ki]
        } else {
            0.0
        }
    }

    /// The positions of β (for `state`) and κ in ψ, and the number of parameters K: the
    /// constants 0, 1 and 1 + κ without groups, so the plain model's loop indexes with
    /// constants.
    #[inline(always)]
    fn indices<const PER_STATE: bool, const PERSEV: bool>(&self, state: usize) -> [usize; 3] {
        if PER_STATE {
            [
                self.groups[state],
                self.kappa_index(),
                self.n_groups + usize::from(PERSEV),
            ]
        } else {
            [0, 1, 1 + usize::from(PERSEV)]
        }
    }

    #[inline(always)]
    fn two_actions<const ORDER: usize, const PERSEV: bool, const PER_STATE: bool>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        let [bi, ki, k] = self.indices::<PER_STATE, PERSEV>(choice.state);
        let beta = psi[bi];
        let a = choice.action;
        let b = 1 - a;
        let diff = q[a] - q[b];
        // c = 1[a = prev] − 1[b = prev] ∈ {−1, 0, 1}.
        let c = if PERSEV {
            match choice.previous {
                Some(p) if p == a => 1.0,
                Some(_) => -1.0,
                None => 0.0,
            }
        } else {
            0.0
        };
        let x = if PERSEV {
            beta * diff + psi[ki] * c
        } else {
            beta * diff
        };
        let (shift, norm, ex) = log_logistic_parts(x);
        let lp = LogProb { shift, norm };
        if ORDER >= 1 {
            let inv = 1.0 / norm;
            // π_b = σ(−x) and (below) π_a = σ(x), each from the same exp without cancellation.
            let pos = x >= 0.0;
            let pb = select(pos, ex, 1.0) * inv;
            out.dq[a] = beta * pb;
            out.dq[b] = -beta * pb;
            out.dpsi[bi] = diff * pb;
            if PERSEV {
                out.dpsi[ki] = c * pb;
            }
            if ORDER >= 2 {
                let pa = select(pos, 1.0, ex) * inv;
                let w = pa * pb;
                let bw = beta * beta * w;
                out.hqq[a * 2 + a] = -bw;
                out.hqq[b * 2 + b] = -bw;
                out.hqq[a * 2 + b] = bw;
                out.hqq[b * 2 + a] = bw;
                let hb = pb - beta * w * diff;
                out.hqp[a * k + bi] = hb;
                out.hqp[b * k + bi] = -hb;
                out.hpp[bi * k + bi] = -w * diff * diff;
                if PERSEV {
                    out.hqp[a * k + ki] = -beta * w * c;
                    out.hqp[b * k + ki] = beta * w * c;
                    out.hpp[bi * k + ki] = -w * diff * c;
                    out.hpp[ki * k + bi] = -w * diff * c;
                    out.hpp[ki * k + ki] = -w * c * c;
                }
            }
        }
        lp
    }

    #[inline]
    fn many_actions<const ORDER: usize, const PER_STATE: bool>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        let [bi, ki, _] = self.indices::<PER_STATE, false>(choice.state);
        let k = self.n_params();
        let beta = psi[bi];
        let n = q.len();
        let prev = choice.previous;
        let z = |j: usize| beta * q[j] + self.bonus(psi, ki, j, prev);
        // The weights e^(zⱼ − m) are the probabilities times S: keep them for the derivatives.
        let normaliser = if ORDER >= 1 {
            SoftmaxNorm::with_weights(z, &mut out.work[..n])
        } else {
            SoftmaxNorm::new(n, z)
        };
        let s = normaliser.sum;
        let (shift, norm) = normaliser.log_prob_parts(z(choice.action));
        let lp = LogProb { shift, norm };
        if ORDER >= 1 {
            let pi = &mut out.work;
            let inv = 1.0 / s;
            let mut qbar = 0.0;
            for (p, &qj) in pi.iter_mut().zip(q) {
                *p *= inv;
                qbar += *p * qj;
            }
            let a = choice.action;
            for (j, (dq, &p)) in out.dq.iter_mut().zip(pi.iter()).enumerate() {
                *dq = beta * (ind(j == a) - p);
            }
            out.dpsi[bi] = q[a] - qbar;
            let pp = prev.map_or(0.0, |p| pi[p]);
            if self.perseveration {
                out.dpsi[ki] = match prev {
                    Some(p) => ind(a == p) - pp,
                    None => 0.0,
                };
            }
            if ORDER >= 2 {
                let mut var = 0.0;
                for j in 0..n {
                    let dj = q[j] - qbar;
                    var += pi[j] * dj * dj;
                    for i in 0..n {
                        let diag = if i == j { pi[i] } else { 0.0 };
                        out.hqq[i * n + j] = -beta * beta * (diag - pi[i] * pi[j]);
                    }
                    out.hqp[j * k + bi] = ind(j == a) - pi[j] - beta * pi[j] * dj;
                    if self.perseveration {
                        out.hqp[j * k + ki] = match prev {
                            Some(p) => -beta * pi[j] * (ind(j == p) - pp),
                            None => 0.0,
                        };
                    }
                }
                out.hpp[bi * k + bi] = -var;
                if self.perseveration {
                    let (bk, kk) = match prev {
                        Some(p) => (-pp * (q[p] - qbar), -pp * (1.0 - pp)),
                        None => (0.0, 0.0),
                    };
                    out.hpp[bi * k + ki] = bk;
                    out.hpp[ki * k + bi] = bk;
                    out.hpp[ki * k + ki] = kk;
                }
            }
        }
        lp
    }

    /// The kernel for the number of actions, with the perseveration flag as a constant: one
    /// branch per trial instead of several.
    #[inline(always)]
    fn kernel<const ORDER: usize, const PER_STATE: bool>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        if q.len() == 2 {
            if self.perseveration {
                self.two_actions::<ORDER, true, PER_STATE>(psi, q, choice, out)
            } else {
                self.two_actions::<ORDER, false, PER_STATE>(psi, q, choice, out)
            }
        } else {
            self.many_actions::<ORDER, PER_STATE>(psi, q, choice, out)
        }
    }

    fn n_params(&self) -> usize {
        self.n_groups + usize::from(self.perseveration)
    }
}

/// `groups` for a message: the whole list when short, else its start and length.
fn show_groups(groups: &[usize]) -> String {
    if groups.len() <= 12 {
        format!("{groups:?}")
    } else {
        format!("{:?} ... ({} states)", &groups[..12], groups.len())
    }
}

/// `if cond { a } else { b }` as a bit mask, never a branch: the sign of the logit difference
/// is as random as the subject's choices, and a mispredicted branch costs more than the mask.
#[inline(always)]
fn select(cond: bool, a: f64, b: f64) -> f64 {
    let mask = u64::from(cond).wrapping_neg();
    f64::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
}

/// 1.0 if `b`, else 0.0.
#[inline]
fn ind(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

impl Observation for Softmax {
    fn params(&self) -> Vec<ParamSpec> {
        let mut p: Vec<ParamSpec> = if self.groups.is_empty() {
            vec![ParamSpec::new("beta", Transform::Exp)]
        } else {
            (1..=self.n_groups)
                .map(|g| ParamSpec::new(format!("beta_{g}"), Transform::Exp))
                .collect()
        };
        if self.perseveration {
            p.push(ParamSpec::new("kappa", Transform::Identity));
        }
        p
    }

    fn check_params(&self, psi: &[f64]) -> Result<()> {
        match psi.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => {
                let name = self.params().get(i).map_or_else(
                    || format!("softmax parameter {i}"),
                    |spec| spec.name.clone(),
                );
                Err(Error::invalid_parameter(name, psi[i], "is not finite"))
            }
        }
    }

    /// A per-state softmax needs one group per state of the model; the plain softmax fits
    /// any table.
    fn check_shape(&self, n_states: usize, n_actions: usize) -> Result<()> {
        let _ = n_actions;
        if self.groups.is_empty() || self.groups.len() == n_states {
            return Ok(());
        }
        Err(Error::invalid_option(
            "groups",
            show_groups(&self.groups),
            format!(
                "Softmax::per_state has {} entries, one per state, but the model has {n_states} \
                 states",
                self.groups.len()
            ),
        ))
    }

    #[inline(always)]
    fn log_prob<const ORDER: usize>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        if self.groups.is_empty() {
            return self.kernel::<ORDER, false>(psi, q, choice, out);
        }
        // Per state: a trial reads one β of several, so the derivatives with respect to the
        // others are zero, written as such first.
        if ORDER >= 1 {
            out.dpsi.fill(0.0);
        }
        if ORDER >= 2 {
            out.hqp.fill(0.0);
            out.hpp.fill(0.0);
        }
        self.kernel::<ORDER, true>(psi, q, choice, out)
    }

    /// With two actions ∂ℓ/∂Q = (c, −c) for the chosen action and the other (the softmax's
    /// gradient sums to zero), so the contraction is c·(row_a − row_b): half the work.
    #[inline(always)]
    fn contract(&self, derivs: &ObsDerivs<'_>, action: usize, rows: &[f64], out: &mut [f64]) {
        let k = out.len();
        if derivs.dq.len() == 2 && action < 2 && rows.len() == 2 * k {
            let c = derivs.dq[action];
            let (own, other) = (action * k, (1 - action) * k);
            for (kk, o) in out.iter_mut().enumerate() {
                *o += c * (rows[own + kk] - rows[other + kk]);
            }
        } else {
            contract_dense(derivs.dq, action, rows, out);
        }
    }

    /// Shifted by the maximum logit. If a logit overflows (β·Q beyond the double range) the
    /// limit is taken: the probability is shared equally by the actions at +∞.
    ///
    /// # Panics
    /// For a per-state softmax, if `context.state` has no group (a contract with the caller:
    /// [`Model::new`](crate::Model::new) checked the groups against the table).
    fn probabilities(&self, psi: &[f64], q: &[f64], context: Context, out: &mut [f64]) {
        let (bi, ki) = if self.groups.is_empty() {
            (0, 1)
        } else {
            (self.groups[context.state], self.kappa_index())
        };
        let beta = psi[bi];
        let previous = context.previous;
        softmax_probabilities(|j| beta * q[j] + self.bonus(psi, ki, j, previous), out);
    }
}
