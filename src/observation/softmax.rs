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
//! With two actions the model depends only on x = z_a − z_b: ℓ = ln σ(x) =
//! −max(−x, 0) − ln(1 + e^(−|x|)), one `exp` per trial ([`log_logistic_parts`]), and
//! π_b = σ(−x) comes from the same `exp`.

use super::{Choice, Context, LogProb, ObsDerivs, Observation, contract_dense};
use crate::error::{Error, Result};
use crate::numeric::{SoftmaxNorm, log_logistic_parts, softmax_probabilities};
use crate::params::{ParamSpec, Transform};

/// Softmax (Boltzmann) choice.
///
/// | constructor | parameters (default transform) |
/// |---|---|
/// | [`Softmax::new`] | `beta` (exp) |
/// | [`Softmax::with_perseveration`] | `beta` (exp), `kappa` (identity) |
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Softmax {
    perseveration: bool,
}

impl Softmax {
    /// Softmax with inverse temperature `beta`.
    pub fn new() -> Self {
        Softmax {
            perseveration: false,
        }
    }

    /// Softmax with inverse temperature `beta` and a perseveration bonus `kappa` added to the
    /// logit of the previous trial's action.
    pub fn with_perseveration() -> Self {
        Softmax {
            perseveration: true,
        }
    }

    /// κ·1[j = previous] for action j.
    #[inline]
    fn bonus(&self, psi: &[f64], j: usize, previous: Option<usize>) -> f64 {
        if self.perseveration && previous == Some(j) {
            psi[1]
        } else {
            0.0
        }
    }

    #[inline(always)]
    fn two_actions<const ORDER: usize, const PERSEV: bool>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        let beta = psi[0];
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
            beta * diff + psi[1] * c
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
            out.dpsi[0] = diff * pb;
            if PERSEV {
                out.dpsi[1] = c * pb;
            }
            if ORDER >= 2 {
                let pa = select(pos, 1.0, ex) * inv;
                let w = pa * pb;
                let bw = beta * beta * w;
                out.hqq[a * 2 + a] = -bw;
                out.hqq[b * 2 + b] = -bw;
                out.hqq[a * 2 + b] = bw;
                out.hqq[b * 2 + a] = bw;
                let k = self.n_params();
                let hb = pb - beta * w * diff;
                out.hqp[a * k] = hb;
                out.hqp[b * k] = -hb;
                out.hpp[0] = -w * diff * diff;
                if PERSEV {
                    out.hqp[a * k + 1] = -beta * w * c;
                    out.hqp[b * k + 1] = beta * w * c;
                    out.hpp[1] = -w * diff * c;
                    out.hpp[2] = -w * diff * c;
                    out.hpp[3] = -w * c * c;
                }
            }
        }
        lp
    }

    #[inline]
    fn many_actions<const ORDER: usize>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        let beta = psi[0];
        let n = q.len();
        let prev = choice.previous;
        let z = |j: usize| beta * q[j] + self.bonus(psi, j, prev);
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
            let k = self.n_params();
            for (j, (dq, &p)) in out.dq.iter_mut().zip(pi.iter()).enumerate() {
                *dq = beta * (ind(j == a) - p);
            }
            out.dpsi[0] = q[a] - qbar;
            let pp = prev.map_or(0.0, |p| pi[p]);
            if self.perseveration {
                out.dpsi[1] = match prev {
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
                    out.hqp[j * k] = ind(j == a) - pi[j] - beta * pi[j] * dj;
                    if self.perseveration {
                        out.hqp[j * k + 1] = match prev {
                            Some(p) => -beta * pi[j] * (ind(j == p) - pp),
                            None => 0.0,
                        };
                    }
                }
                out.hpp[0] = -var;
                if self.perseveration {
                    let (bk, kk) = match prev {
                        Some(p) => (-pp * (q[p] - qbar), -pp * (1.0 - pp)),
                        None => (0.0, 0.0),
                    };
                    out.hpp[1] = bk;
                    out.hpp[2] = bk;
                    out.hpp[3] = kk;
                }
            }
        }
        lp
    }

    fn n_params(&self) -> usize {
        1 + usize::from(self.perseveration)
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
        let mut p = vec![ParamSpec::new("beta", Transform::Exp)];
        if self.perseveration {
            p.push(ParamSpec::new("kappa", Transform::Identity));
        }
        p
    }

    fn check_params(&self, psi: &[f64]) -> Result<()> {
        match ["beta", "kappa"]
            .iter()
            .zip(psi)
            .find(|(_, v)| !v.is_finite())
        {
            None => Ok(()),
            Some((name, &v)) => Err(Error::invalid_parameter(*name, v, "is not finite")),
        }
    }

    #[inline(always)]
    fn log_prob<const ORDER: usize>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        if q.len() == 2 {
            // The perseveration flag as a constant: one branch per trial instead of several.
            if self.perseveration {
                self.two_actions::<ORDER, true>(psi, q, choice, out)
            } else {
                self.two_actions::<ORDER, false>(psi, q, choice, out)
            }
        } else {
            self.many_actions::<ORDER>(psi, q, choice, out)
        }
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
    fn probabilities(&self, psi: &[f64], q: &[f64], context: Context, out: &mut [f64]) {
        let beta = psi[0];
        let previous = context.previous;
        softmax_probabilities(|j| beta * q[j] + self.bonus(psi, j, previous), out);
    }
}
