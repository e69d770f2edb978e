//! A lapse ε-mixture around any observation model: with probability ε the choice is a uniform
//! guess, otherwise the wrapped model O chooses.
//!
//! ```text
//! p(a) = (1 − ε)·p_O(a) + ε/A,   ℓ = ln p(a)
//! w    = (1 − ε)·p_O(a) / p(a)          the share of O in p(a), ∈ [0, 1]
//! r_O  = p_O(a) / p(a),   r_U = (1/A) / p(a)      (w = (1 − ε)·r_O, 1 − w = ε·r_U)
//!
//! ∂ℓ/∂x        = w ∂ℓ_O/∂x                                   x, y ∈ {Q[s,·], ψ_O}
//! ∂ℓ/∂ε        = r_U − r_O
//! ∂²ℓ/∂x∂y     = w ∂²ℓ_O/∂x∂y + w(1 − w) ∂ℓ_O/∂x ∂ℓ_O/∂y
//! ∂²ℓ/∂x∂ε     = −r_O r_U ∂ℓ_O/∂x
//! ∂²ℓ/∂ε²      = −(r_U − r_O)²
//! ```
//!
//! The split ℓ = shift − ln(norm) costs no logarithm in the common case. With
//! p_O = e^shift_O / norm_O (one inlined exponential), p = (1 − ε)·p_O + ε/A is returned as
//! norm = 1/p when 2⁻¹⁰⁰ ≤ p < 1/2 (so norm ≤ 2¹⁰⁰, which the likelihood's product of
//! normalisers, folded at 2⁶⁰⁰, holds). When p ≥ 1/2, norm = 1 + t with t = (1 − p)/p,
//! 1 − p = ε(1 − 1/A) + (1 − ε)(1 − p_O) summed without cancellation, and the rounding error
//! of 1 + t moved into the shift (Fast2Sum, as the softmax does), so a log-probability near 0
//! (a near-certain choice with a tiny lapse rate) keeps its relative accuracy. The ratios are
//! then plain quotients: w = (1 − ε)p_O/p, 1 − w = (ε/A)/p, r_O = p_O/p, r_U = (1/A)/p.
//!
//! Below 2⁻¹⁰⁰ everything is computed in logarithms, so neither a tiny p_O nor a tiny ε
//! underflows: with u = ℓ_O + ln(1 − ε) and v = ln(ε/A), ℓ = max(u, v) + ln(1 + e^(−|u − v|)),
//! w = σ(u − v) and 1 − w = σ(v − u) from the same exponential, r_O = w/(1 − ε) and
//! r_U = (1 − w)/ε. So ℓ is finite whenever ε > 0 or ℓ_O is finite. At ε = 0 the model is O
//! bit for bit (value and derivatives); at ε = 1 it is the uniform guess ℓ = −ln A.
//!
//! The derivatives come from O's own, at the same `ORDER`, computed into the caller's buffers
//! and transformed in place: O sees K_O = K − 1 parameters, so it fills the leading K_O
//! entries of `dpsi`, the leading A·K_O of `hqp` and the leading K_O·K_O of `hpp` (row-major
//! with stride K_O); the rows are then moved to stride K from the last backwards (the new
//! position of an entry is never before its old one, so nothing is overwritten before it is
//! read), and the ε column filled in. No allocation, no scratch.
//!
//! [`Observation::contract`] is the default, the plain sum over the final ∂ℓ/∂Q. The wrapped
//! model's own could be faster (the two-action softmax's uses ∂ℓ/∂Q_b = −∂ℓ/∂Q_a, which the
//! scaling by w keeps), but a model's `contract` may rely on anything its `log_prob` left in
//! the buffers, so it is not delegated.

use super::{Choice, Context, LogProb, ObsDerivs, Observation};
use crate::error::{Error, Result};
use crate::learning::order;
use crate::numeric::{exp_nonpositive, softplus_with_logistic};
use crate::params::{ParamSpec, Transform};

/// A lapse ε-mixture around the observation model `O`: p = (1 − ε)·p_O + ε/A.
///
/// | constructor | parameters (default transform) |
/// |---|---|
/// | [`Lapse::new`] | O's, then `lapse` (logistic onto (0, 1)) |
///
/// ε may be anywhere in \[0, 1\] ([`Observation::check_params`] refuses the rest, naming
/// `lapse`); the default transform keeps it inside (0, 1).
///
/// ```
/// use rlgrad::observation::{Choice, Lapse, ObsBuffers, Observation, Softmax};
/// use rlgrad::{learning::order, prelude::*};
/// let model = Model::new(RescorlaWagner::new(), Lapse::new(Softmax::new()), 1, 2)?;
/// let names: Vec<&str> = model.layout().names().collect();
/// assert_eq!(names, ["alpha", "beta", "lapse"]);
///
/// // p(a = 0) = (1 − ε)·σ(β (Q₀ − Q₁)) + ε/2
/// let (beta, eps) = (2.0, 0.1);
/// let lapse = Lapse::new(Softmax::new());
/// let mut out = ObsBuffers::new(2, 2)?;
/// let choice = Choice { action: 0, state: 0, previous: None };
/// let l = lapse
///     .log_prob::<{ order::HESSIAN }>(&[beta, eps], &[1.0, 0.0], choice, &mut out.derivs())
///     .value();
/// let p = (1.0 - eps) / (1.0 + (-beta).exp()) + eps / 2.0;
/// assert!((l - p.ln()).abs() < 1e-15);
/// assert!((out.dpsi[1] - (0.5 - 1.0 / (1.0 + (-beta).exp())) / p).abs() < 1e-15); // ∂ℓ/∂ε
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lapse<O> {
    inner: O,
}

impl<O: Observation> Lapse<O> {
    /// The lapse mixture around `inner`, with the new parameter `lapse` after `inner`'s.
    pub fn new(inner: O) -> Self {
        Lapse { inner }
    }

    /// The wrapped observation model.
    pub fn inner(&self) -> &O {
        &self.inner
    }
}

/// (ε, O's parameters) from the mixture's ψ (ε is the last entry). Panics on an empty ψ, a
/// contract violation of the per-trial methods (the model passes ψ of its layout's length).
#[inline(always)]
fn split(psi: &[f64]) -> (f64, &[f64]) {
    let (&eps, inner) = psi
        .split_last()
        .expect("the lapse model's ψ ends with the lapse rate ε");
    (eps, inner)
}

/// Below this p the mixture is computed in logarithms (2⁻¹⁰⁰: a normaliser 1/p above it is
/// at most 2¹⁰⁰, which the likelihood's product of normalisers, folded at 2⁶⁰⁰, holds).
const TINY: f64 = 7.888609052210118e-31;

/// Below this |x|, e^x − 1 = x + x²/2 to a relative 2⁻⁵⁴.
const SMALL: f64 = 1.4901161193847656e-8; // 2^-26

/// One trial's mixture: ℓ as a [`LogProb`] and, from `ORDER` 1 on, the ratios the derivatives
/// need (zero at `ORDER` 0).
struct Mix {
    lp: LogProb,
    /// w = (1 − ε)·p_O/p.
    w: f64,
    /// 1 − w = (ε/A)/p.
    wc: f64,
    /// r_O = p_O/p.
    r_o: f64,
    /// r_U = (1/A)/p.
    r_u: f64,
}

impl Mix {
    /// ℓ alone (`ORDER` 0: the ratios are not used).
    #[inline(always)]
    fn value_only(lp: LogProb) -> Self {
        Mix {
            lp,
            w: 0.0,
            wc: 0.0,
            r_o: 0.0,
            r_u: 0.0,
        }
    }

    /// The mixture of O's log-probability `lp_o` with the uniform guess over `na` actions.
    ///
    /// ε = 0 is O itself. Otherwise, with p_O = e^shift / norm (one inlined exponential),
    /// p = (1 − ε)·p_O + ε/A ≥ 2⁻¹⁰⁰ is returned as the normaliser 1/p, so a trial costs no
    /// logarithm; for p ≥ 1/2 as 1 + t, t = (1 − p)/p with 1 − p = ε(1 − 1/A) + (1 − ε)(1 − p_O)
    /// summed without cancellation and the rounding of 1 + t kept in the shift (Fast2Sum), so
    /// that ℓ near 0 keeps its relative accuracy. Everything is scaled by O's normaliser, so
    /// the trial divides once. Below 2⁻¹⁰⁰ (or for a shift that would overflow), ℓ and the
    /// ratios come from logarithms (see the module docs).
    #[inline(always)]
    fn new<const ORDER: usize>(lp_o: LogProb, eps: f64, na: usize) -> Self {
        let first = ORDER >= order::GRADIENT;
        let n = na as f64;
        if eps == 0.0 {
            // r_U = 1/(A p_O), the only ratio that is not 0 or 1.
            let r_u = if first {
                (-n.ln() - lp_o.value()).exp()
            } else {
                0.0
            };
            return Mix {
                lp: lp_o,
                w: 1.0,
                wc: 0.0,
                r_o: 1.0,
                r_u,
            };
        }
        // p_O = e / z, and D = z·p = (1 − ε)·e + (ε/A)·z: one division per trial (1/D).
        let (s, z) = (lp_o.shift, lp_o.norm);
        let e = if s <= 0.0 {
            exp_nonpositive(s)
        } else {
            1.0 / exp_nonpositive(-s)
        };
        let recip_n = 1.0 / n;
        let c = eps * recip_n;
        let oe = (1.0 - eps) * e;
        let cz = c * z;
        let d = oe + cz;
        if !(d >= TINY * z && s <= 700.0) {
            return Self::in_logs::<ORDER>(lp_o, eps, n);
        }
        let inv = 1.0 / d;
        let lp = if 2.0 * d >= z {
            // z·(1 − p) = ε(1 − 1/A)·z + (1 − ε)·(z − 1 − (e^s − 1)), a sum of terms ≥ 0 for
            // a softmax (z − 1 is exact, and s is the tiny rounding correction whenever
            // p_O > 1/2); t = (1 − p)/p.
            let em1 = if s.abs() < SMALL {
                s + 0.5 * s * s
            } else {
                s.exp_m1()
            };
            let t = (eps * (1.0 - recip_n) * z + (1.0 - eps) * ((z - 1.0) - em1)) * inv;
            let norm = 1.0 + t;
            // Exact rounding error of 1 + t (Fast2Sum, 1 ≥ t): ln(1 + t) = ln(norm) + lost.
            let lost = t - (norm - 1.0);
            LogProb { shift: -lost, norm }
        } else {
            LogProb {
                shift: 0.0,
                norm: z * inv,
            }
        };
        if !first {
            return Self::value_only(lp);
        }
        Mix {
            lp,
            w: oe * inv,
            wc: cz * inv,
            r_o: e * inv,
            r_u: z * inv * recip_n,
        }
    }

    /// The mixture in logarithms, for p below 2⁻¹⁰⁰ and 0 < ε (see the module docs): finite
    /// whenever ℓ_O is not NaN.
    #[cold]
    fn in_logs<const ORDER: usize>(lp_o: LogProb, eps: f64, n: f64) -> Self {
        let l_o = lp_o.value();
        let u = l_o + (-eps).ln_1p();
        let c = eps / n;
        // ln(ε/A), also where ε/A would lose its bits in the subnormal range.
        let v = if c >= f64::MIN_POSITIVE {
            c.ln()
        } else {
            eps.ln() - n.ln()
        };
        let o_first = u >= v;
        // v is finite (ε > 0 here), so x = lo − hi ≤ 0 is never ∞ − ∞.
        let (hi, lo) = if o_first { (u, v) } else { (v, u) };
        // ln(1 + e^x), σ(x) and σ(−x) for x ≤ 0, from one exponential.
        let (log1p, s_lo, s_hi) = softplus_with_logistic(lo - hi);
        let l = hi + log1p;
        let lp = LogProb {
            shift: l,
            norm: 1.0,
        };
        if ORDER < order::GRADIENT {
            return Self::value_only(lp);
        }
        // w = σ(u − v), 1 − w = σ(v − u); r_O = w/(1 − ε), r_U = (1 − w)/ε, and at ε = 1
        // (w = 0) r_O = A·p_O from the logarithms.
        let (w, wc) = if o_first { (s_hi, s_lo) } else { (s_lo, s_hi) };
        let r_o = if eps < 1.0 {
            w / (1.0 - eps)
        } else {
            (l_o - l).exp()
        };
        Mix {
            lp,
            w,
            wc,
            r_o,
            r_u: wc / eps,
        }
    }
}

impl<O: Observation> Observation for Lapse<O> {
    fn params(&self) -> Vec<ParamSpec> {
        let mut p = self.inner.params();
        p.push(ParamSpec::new("lapse", Transform::unit()));
        p
    }

    fn check_params(&self, psi: &[f64]) -> Result<()> {
        let Some((&eps, inner)) = psi.split_last() else {
            return Err(Error::dimension_mismatch(
                "natural parameters of the lapse model",
                self.inner.params().len() + 1,
                0,
            ));
        };
        self.inner.check_params(inner)?;
        if (0.0..=1.0).contains(&eps) {
            Ok(())
        } else {
            Err(Error::invalid_parameter("lapse", eps, "is outside [0, 1]"))
        }
    }

    /// O's: the mixture fits any table O fits.
    fn check_shape(&self, n_states: usize, n_actions: usize) -> Result<()> {
        self.inner.check_shape(n_states, n_actions)
    }

    #[inline(always)]
    fn log_prob<const ORDER: usize>(
        &self,
        psi: &[f64],
        q: &[f64],
        choice: Choice,
        out: &mut ObsDerivs<'_>,
    ) -> LogProb {
        let (eps, psi_o) = split(psi);
        let ko = psi_o.len();
        let k = ko + 1;
        let na = q.len();
        let first = ORDER >= order::GRADIENT;
        let second = ORDER >= order::HESSIAN;
        // O writes its derivatives into the leading parts of the buffers (those of orders
        // above ORDER may be empty, and O does not touch them).
        let lp_o = self.inner.log_prob::<ORDER>(
            psi_o,
            q,
            choice,
            &mut ObsDerivs {
                dq: &mut *out.dq,
                dpsi: if first { &mut out.dpsi[..ko] } else { &mut [] },
                hqq: &mut *out.hqq,
                hqp: if second {
                    &mut out.hqp[..na * ko]
                } else {
                    &mut []
                },
                hpp: if second {
                    &mut out.hpp[..ko * ko]
                } else {
                    &mut []
                },
                work: &mut *out.work,
            },
        );
        let mix = Mix::new::<ORDER>(lp_o, eps, na);
        if first {
            let Mix {
                w, wc, r_o, r_u, ..
            } = mix;
            let g_eps = r_u - r_o;
            if second {
                let ww = w * wc;
                let cross = -(r_o * r_u);
                for i in 0..na {
                    for j in 0..na {
                        let h = &mut out.hqq[i * na + j];
                        *h = w * *h + ww * out.dq[i] * out.dq[j];
                    }
                }
                // Stride K_O → K, last row first.
                for j in (0..na).rev() {
                    let gj = out.dq[j];
                    out.hqp[j * k + ko] = cross * gj;
                    for m in (0..ko).rev() {
                        out.hqp[j * k + m] = w * out.hqp[j * ko + m] + ww * gj * out.dpsi[m];
                    }
                }
                out.hpp[ko * k + ko] = -(g_eps * g_eps);
                for m in (0..ko).rev() {
                    let gm = out.dpsi[m];
                    out.hpp[m * k + ko] = cross * gm;
                    out.hpp[ko * k + m] = cross * gm;
                    for nn in (0..ko).rev() {
                        out.hpp[m * k + nn] = w * out.hpp[m * ko + nn] + ww * gm * out.dpsi[nn];
                    }
                }
            }
            for g in out.dq.iter_mut() {
                *g *= w;
            }
            for g in &mut out.dpsi[..ko] {
                *g *= w;
            }
            out.dpsi[ko] = g_eps;
        }
        mix.lp
    }

    /// O's probabilities, mixed with the uniform guess.
    fn probabilities(&self, psi: &[f64], q: &[f64], context: Context, out: &mut [f64]) {
        let (eps, psi_o) = split(psi);
        self.inner.probabilities(psi_o, q, context, out);
        let c = eps / out.len() as f64;
        for p in out.iter_mut() {
            *p = (1.0 - eps) * *p + c;
        }
    }
}
