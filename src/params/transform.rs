//! [`Transform`]: the smooth maps from unconstrained θ to natural ψ, with their first and
//! second derivatives and inverses.

use serde::Serialize;

use crate::Real;
use crate::error::{Error, Result};
use crate::numeric::logistic;

/// A smooth, strictly increasing map g from ℝ onto a parameter's natural range.
///
/// Construct a logistic transform with [`Transform::logistic`] (which validates the range) or
/// [`Transform::unit`] for (0, 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// ψ = θ.
    Identity,
    /// ψ = lo + (hi − lo) σ(θ), onto the interval (lo, hi) (whose ends floating point reaches
    /// at large |θ|; the inverse needs ψ strictly inside).
    Logistic {
        /// Lower end of the range (exclusive).
        lo: f64,
        /// Upper end of the range (exclusive).
        hi: f64,
    },
    /// ψ = e^θ, onto (0, ∞).
    Exp,
    /// ψ = ln(1 + e^θ), onto (0, ∞); grows linearly rather than exponentially.
    Softplus,
}

impl Transform {
    /// The logistic transform onto (lo, hi).
    ///
    /// # Errors
    /// [`Error::InvalidTransform`] if either bound is not finite or `lo >= hi`.
    ///
    /// ```
    /// use rlgrad::params::Transform;
    /// assert!(Transform::logistic(0.0, 20.0).is_ok());
    /// assert!(Transform::logistic(1.0, 1.0).is_err());
    /// ```
    pub fn logistic(lo: f64, hi: f64) -> Result<Self> {
        let t = Transform::Logistic { lo, hi };
        t.validate("transform")?;
        Ok(t)
    }

    /// The logistic transform onto (0, 1), the default for learning rates.
    pub fn unit() -> Self {
        Transform::Logistic { lo: 0.0, hi: 1.0 }
    }

    /// Checks the settings (the enum's fields are public, so this runs again wherever a
    /// transform enters a [`ParamLayout`](super::ParamLayout)).
    ///
    /// # Errors
    /// [`Error::InvalidTransform`] naming `name` for a non-finite bound or `lo >= hi`.
    pub fn validate(&self, name: &str) -> Result<()> {
        if let Transform::Logistic { lo, hi } = *self {
            if !lo.is_finite() || !hi.is_finite() {
                return Err(Error::InvalidTransform {
                    name: name.to_string(),
                    reason: format!("logistic bounds ({lo}, {hi}) must be finite"),
                });
            }
            if lo >= hi {
                return Err(Error::InvalidTransform {
                    name: name.to_string(),
                    reason: format!("logistic range needs lo < hi, got lo = {lo}, hi = {hi}"),
                });
            }
            if !(hi - lo).is_finite() {
                return Err(Error::InvalidTransform {
                    name: name.to_string(),
                    reason: format!(
                        "logistic range ({lo:e}, {hi:e}) is wider than a double can hold"
                    ),
                });
            }
        }
        Ok(())
    }

    /// ψ = g(θ).
    ///
    /// ```
    /// use rlgrad::params::Transform;
    /// assert_eq!(Transform::Exp.apply(0.0_f64), 1.0);
    /// ```
    #[inline]
    pub fn apply<F: Real>(&self, theta: F) -> F {
        self.derivatives(theta).0
    }

    /// (g(θ), g′(θ), g″(θ)).
    ///
    /// ```
    /// use rlgrad::params::Transform;
    /// let (v, d1, d2) = Transform::unit().derivatives(0.0_f64);
    /// assert_eq!((v, d1, d2), (0.5, 0.25, 0.0));
    /// ```
    #[inline]
    pub fn derivatives<F: Real>(&self, theta: F) -> (F, F, F) {
        match *self {
            Transform::Identity => (theta, F::one(), F::zero()),
            Transform::Logistic { lo, hi } => {
                let lo = F::from(lo).unwrap_or_else(F::zero);
                let hi = F::from(hi).unwrap_or_else(F::one);
                let width = hi - lo;
                // σ(θ) and σ(−θ) each computed directly: 1 − σ(θ) would cancel for large θ
                // (at θ = 30 it loses three digits; the derivatives would then be wrong
                // exactly where a learning rate approaches 1).
                let (s, t) = (logistic(theta), logistic(-theta));
                let ds = s * t;
                // Measure from the nearer end; clamp because lo + width·σ can round past an
                // end by an ulp. In floating point the ends themselves are reached at |θ|
                // large enough (about 37 for (0, 1)), so ψ ∈ [lo, hi].
                let v = if theta > F::zero() {
                    hi - width * t
                } else {
                    lo + width * s
                };
                (v.max(lo).min(hi), width * ds, width * ds * (t - s))
            }
            Transform::Exp => {
                let e = theta.exp();
                (e, e, e)
            }
            Transform::Softplus => {
                let (s, t) = (logistic(theta), logistic(-theta));
                (crate::numeric::softplus(theta), s, s * t)
            }
        }
    }

    /// Whether ψ lies in the open range of the transform (where the inverse exists).
    pub fn contains(&self, psi: f64) -> bool {
        psi.is_finite()
            && match *self {
                Transform::Identity => true,
                Transform::Logistic { lo, hi } => psi > lo && psi < hi,
                Transform::Exp | Transform::Softplus => psi > 0.0,
            }
    }

    /// θ = g⁻¹(ψ).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming `name` if ψ is outside the open range.
    ///
    /// ```
    /// use rlgrad::params::Transform;
    /// let t = Transform::logistic(0.0, 20.0)?;
    /// let theta = t.inverse("beta", 5.0)?;
    /// assert!((t.apply(theta) - 5.0).abs() < 1e-12);
    /// assert!(t.inverse("beta", 25.0).is_err());
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn inverse(&self, name: &str, psi: f64) -> Result<f64> {
        if !self.contains(psi) {
            let reason = format!("is outside the range of its transform ({})", self.range());
            return Err(Error::invalid_parameter(name, psi, reason));
        }
        Ok(match *self {
            Transform::Identity => psi,
            // logit((ψ − lo)/(hi − lo)) = ln(ψ − lo) − ln(hi − ψ): no ratio to underflow or
            // round to 1 near a bound (both differences are > 0 and finite here).
            Transform::Logistic { lo, hi } => (psi - lo).ln() - (hi - psi).ln(),
            Transform::Exp => psi.ln(),
            // ln(e^ψ − 1): as ln(expm1 ψ) for small ψ (no cancellation), and as
            // ψ + ln(1 − e^(−ψ)) for large ψ (no overflow).
            Transform::Softplus => {
                if psi < 1.0 {
                    psi.exp_m1().ln()
                } else {
                    psi + (-(-psi).exp()).ln_1p()
                }
            }
        })
    }

    /// The range as text, for messages: "(0, 1)", "(0, inf)", "(-inf, inf)".
    pub fn range(&self) -> String {
        match *self {
            Transform::Identity => "(-inf, inf)".to_string(),
            Transform::Logistic { lo, hi } => format!("({lo}, {hi})"),
            Transform::Exp | Transform::Softplus => "(0, inf)".to_string(),
        }
    }
}
