//! Named parameters, and the transforms between unconstrained θ and natural ψ.
//!
//! Optimisers and Gaussian priors work on an unconstrained vector θ ∈ ℝᴷ. Components (learning
//! rules, observation models) work on natural parameters ψ (a learning rate in (0, 1), an
//! inverse temperature > 0, …). Each entry has a [`Transform`] gₖ with ψₖ = gₖ(θₖ), and the
//! chain rule through it is
//!
//! ```text
//! ∂f/∂θₖ       = g′ₖ ∂f/∂ψₖ
//! ∂²f/∂θₖ∂θₗ   = g′ₖ g′ₗ ∂²f/∂ψₖ∂ψₗ + 1[k = l] g″ₖ ∂f/∂ψₖ
//! ```
//!
//! The second term (curvature of the transform) is what makes a Hessian exact away from a
//! stationary point.
//!
//! ```
//! use rlgrad::params::{ParamLayout, ParamSpec, Transform};
//! let layout = ParamLayout::new(vec![
//!     ParamSpec::new("alpha", Transform::unit()),
//!     ParamSpec::new("beta", Transform::Exp),
//! ])?;
//! let theta = layout.theta_from_natural(&[("alpha", 0.3), ("beta", 5.0)])?;
//! let named = layout.natural(theta.view())?;
//! assert!((named.get("alpha").unwrap() - 0.3).abs() < 1e-12);
//! assert!((named.get("beta").unwrap() - 5.0).abs() < 1e-12);
//! # Ok::<(), rlgrad::Error>(())
//! ```

use ndarray::{Array1, ArrayView1};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::check;
use crate::error::{Error, Result};
use crate::numeric::logistic;
use crate::Real;

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
    /// transform enters a [`ParamLayout`]).
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
            return Err(Error::InvalidParameter {
                name: name.to_string(),
                value: psi,
                reason: format!("is outside the range of its transform ({})", self.range()),
            });
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

/// One named parameter and its transform.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Name used in results and output files ("alpha", "beta", …).
    pub name: String,
    /// Map from θ to the natural parameter.
    pub transform: Transform,
}

impl ParamSpec {
    /// A parameter with a name and a transform.
    ///
    /// ```
    /// use rlgrad::params::{ParamSpec, Transform};
    /// let p = ParamSpec::new("beta", Transform::Exp);
    /// assert_eq!(p.name, "beta");
    /// ```
    pub fn new(name: impl Into<String>, transform: Transform) -> Self {
        ParamSpec {
            name: name.into(),
            transform,
        }
    }
}

/// The named layout of θ: which entry is which parameter, with which transform.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamLayout {
    specs: Vec<ParamSpec>,
}

impl ParamLayout {
    /// A layout from parameter specs, in θ order.
    ///
    /// # Errors
    /// [`Error::InvalidLayout`] for an empty or duplicated name;
    /// [`Error::InvalidTransform`] for an invalid transform.
    pub fn new(specs: Vec<ParamSpec>) -> Result<Self> {
        for (i, s) in specs.iter().enumerate() {
            if s.name.is_empty() {
                return Err(Error::InvalidLayout {
                    reason: format!("parameter {i} has an empty name"),
                });
            }
            if specs[..i].iter().any(|o| o.name == s.name) {
                return Err(Error::InvalidLayout {
                    reason: format!("parameter name `{}` appears twice", s.name),
                });
            }
            s.transform.validate(&s.name)?;
        }
        Ok(ParamLayout { specs })
    }

    /// Number of parameters K (the length of θ).
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether the layout has no parameters.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The parameter specs in θ order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// The parameter names in θ order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.specs.iter().map(|s| s.name.as_str())
    }

    /// Position of a parameter in θ.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// Replaces the transform of one parameter.
    ///
    /// # Errors
    /// [`Error::InvalidLayout`] if there is no parameter of that name;
    /// [`Error::InvalidTransform`] if the transform is invalid.
    ///
    /// ```
    /// use rlgrad::params::{ParamLayout, ParamSpec, Transform};
    /// let layout = ParamLayout::new(vec![ParamSpec::new("beta", Transform::Exp)])?
    ///     .with_transform("beta", Transform::logistic(0.0, 20.0)?)?;
    /// assert_eq!(layout.specs()[0].transform, Transform::Logistic { lo: 0.0, hi: 20.0 });
    /// # Ok::<(), rlgrad::Error>(())
    /// ```
    pub fn with_transform(mut self, name: &str, transform: Transform) -> Result<Self> {
        transform.validate(name)?;
        let i = self.index_of(name).ok_or_else(|| Error::InvalidLayout {
            reason: format!(
                "no parameter named `{name}` (parameters: {})",
                self.names().collect::<Vec<_>>().join(", ")
            ),
        })?;
        self.specs[i].transform = transform;
        Ok(self)
    }

    /// Checks that θ has the right length and finite entries.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFiniteTheta`] naming the entry.
    pub fn check_theta(&self, theta: ArrayView1<f64>) -> Result<()> {
        check::len("theta", self.len(), theta.len())?;
        check::finite_theta(theta, |i| self.specs[i].name.clone())
    }

    /// Natural parameters ψ = g(θ), with names.
    ///
    /// # Errors
    /// As [`ParamLayout::check_theta`], and [`Error::InvalidParameter`] if a transform
    /// overflows (for example exp at θ = 800).
    pub fn natural(&self, theta: ArrayView1<f64>) -> Result<NamedParams> {
        let all = self.natural_with_derivatives(theta)?;
        Ok(NamedParams {
            names: self.specs.iter().map(|s| s.name.clone()).collect(),
            values: all[..self.len()].to_vec(),
        })
    }

    /// ψ, g′(θ) and g″(θ) in one vector of length 3K (in that order), checked: θ of the
    /// right length and finite, and every entry finite (a transform can overflow).
    ///
    /// # Errors
    /// As [`ParamLayout::natural`].
    pub(crate) fn natural_with_derivatives(&self, theta: ArrayView1<f64>) -> Result<Vec<f64>> {
        self.check_theta(theta)?;
        let k = self.len();
        let mut vals = vec![0.0; 3 * k];
        for (i, spec) in self.specs.iter().enumerate() {
            let (v, d1, d2) = spec.transform.derivatives(theta[i]);
            if !v.is_finite() || !d1.is_finite() || !d2.is_finite() {
                return Err(Error::InvalidParameter {
                    name: spec.name.clone(),
                    value: v,
                    reason: format!(
                        "is not finite: theta[{i}] = {} overflows its transform",
                        theta[i]
                    ),
                });
            }
            vals[i] = v;
            vals[k + i] = d1;
            vals[2 * k + i] = d2;
        }
        Ok(vals)
    }

    /// θ from natural values given by name; every parameter must be given exactly once.
    ///
    /// # Errors
    /// [`Error::InvalidLayout`] for a missing, unknown or repeated name;
    /// [`Error::InvalidParameter`] for a value outside a transform's range.
    pub fn theta_from_natural(&self, values: &[(&str, f64)]) -> Result<Array1<f64>> {
        for (i, (name, _)) in values.iter().enumerate() {
            if self.index_of(name).is_none() {
                return Err(Error::InvalidLayout {
                    reason: format!("no parameter named `{name}`"),
                });
            }
            if values[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::InvalidLayout {
                    reason: format!("parameter `{name}` given twice"),
                });
            }
        }
        let mut theta = Array1::zeros(self.len());
        for (k, spec) in self.specs.iter().enumerate() {
            let (_, psi) = values
                .iter()
                .find(|(n, _)| *n == spec.name)
                .ok_or_else(|| Error::InvalidLayout {
                    reason: format!("no value given for parameter `{}`", spec.name),
                })?;
            theta[k] = spec.transform.inverse(&spec.name, *psi)?;
        }
        Ok(theta)
    }

    /// The concatenation of two layouts (names must stay unique).
    ///
    /// # Errors
    /// [`Error::InvalidLayout`] if a name appears in both.
    pub fn concat(&self, other: &ParamLayout) -> Result<ParamLayout> {
        let mut specs = self.specs.clone();
        specs.extend(other.specs.iter().cloned());
        ParamLayout::new(specs)
    }
}

/// Parameter values with their names, in layout order. Serialises as a map `name → value`.
///
/// ```
/// use rlgrad::params::NamedParams;
/// let p = NamedParams::new(vec!["alpha".into(), "beta".into()], vec![0.3, 4.0])?;
/// assert_eq!(p.get("beta"), Some(4.0));
/// assert_eq!(p.to_string(), "alpha = 0.3, beta = 4");
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NamedParams {
    names: Vec<String>,
    values: Vec<f64>,
}

impl NamedParams {
    /// Pairs names with values.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the lengths differ.
    pub fn new(names: Vec<String>, values: Vec<f64>) -> Result<Self> {
        check::len("parameter values", names.len(), values.len())?;
        Ok(NamedParams { names, values })
    }

    /// The value of a parameter by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    /// Names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Values in order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// (name, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }
}

impl std::fmt::Display for NamedParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (n, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n} = {v}")?;
        }
        Ok(())
    }
}

impl Serialize for NamedParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for (n, v) in self.iter() {
            map.serialize_entry(n, &v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn all_transforms() -> Vec<Transform> {
        vec![
            Transform::Identity,
            Transform::unit(),
            Transform::logistic(-2.0, 30.0).unwrap(),
            Transform::Exp,
            Transform::Softplus,
        ]
    }

    #[test]
    fn derivatives_match_central_differences() {
        for t in all_transforms() {
            for &x in &[-4.0, -0.7, 0.0, 0.3, 2.5] {
                let h = 1e-5;
                let (_, d1, d2) = t.derivatives(x);
                let fd1 = (t.apply(x + h) - t.apply(x - h)) / (2.0 * h);
                let fd2 = (t.derivatives(x + h).1 - t.derivatives(x - h).1) / (2.0 * h);
                assert_relative_eq!(d1, fd1, epsilon = 1e-8, max_relative = 1e-7);
                assert_relative_eq!(d2, fd2, epsilon = 1e-8, max_relative = 1e-7);
            }
        }
    }

    /// Near the upper end 1 − σ(θ) cancels; the derivatives must not. At θ = 30,
    /// g′ = e^(−θ)/(1 + e^(−θ))² = e^(−θ)(1 − 2e^(−θ) + …) and g″ = g′·(1 − 2σ(θ)) =
    /// −g′·(1 − 2e^(−θ) + …) to double precision.
    #[test]
    fn logistic_derivatives_are_accurate_near_the_upper_end() {
        for theta in [30.0f64, 36.0, -30.0] {
            let e = (-theta.abs()).exp();
            let want1 = e * (1.0 - 2.0 * e);
            let want2 = -theta.signum() * want1 * (1.0 - 2.0 * e);
            let (v, d1, d2) = Transform::unit().derivatives(theta);
            assert!(
                (d1 - want1).abs() <= 1e-15 * want1,
                "g′({theta}) = {d1}, want {want1}"
            );
            assert!(
                (d2 - want2).abs() <= 1e-15 * want1,
                "g″({theta}) = {d2}, want {want2}"
            );
            assert!((0.0..=1.0).contains(&v));
        }
        let (v, _, _): (f64, f64, f64) = Transform::unit().derivatives(27.631021115928547);
        // ψ = 1 − 1e-12 to the nearest double (spacing 1.1e-16 there).
        assert!(
            (1.0 - v - 1e-12).abs() <= f64::EPSILON / 2.0,
            "1 − ψ = {}",
            1.0 - v
        );
    }

    #[test]
    fn inverse_round_trips() {
        for t in all_transforms() {
            for &x in &[-3.0, -0.5, 0.0, 1.0, 3.0] {
                let psi = t.apply(x);
                assert_relative_eq!(t.inverse("p", psi).unwrap(), x, epsilon = 1e-9);
            }
        }
    }

    #[test]
    fn bad_transforms_and_layouts_are_errors() {
        assert!(matches!(
            Transform::logistic(2.0, 1.0),
            Err(Error::InvalidTransform { .. })
        ));
        assert!(Transform::logistic(f64::NAN, 1.0).is_err());
        assert!(Transform::logistic(0.0, f64::INFINITY).is_err());
        let dup = ParamLayout::new(vec![
            ParamSpec::new("a", Transform::Identity),
            ParamSpec::new("a", Transform::Exp),
        ]);
        assert!(matches!(dup, Err(Error::InvalidLayout { .. })));
        let bad = ParamLayout::new(vec![ParamSpec::new(
            "a",
            Transform::Logistic { lo: 1.0, hi: 0.0 },
        )]);
        assert!(matches!(bad, Err(Error::InvalidTransform { .. })));
    }

    #[test]
    fn theta_checks_name_the_entry() {
        let layout = ParamLayout::new(vec![
            ParamSpec::new("alpha", Transform::unit()),
            ParamSpec::new("beta", Transform::Exp),
        ])
        .unwrap();
        let err = layout
            .check_theta(ndarray::arr1(&[0.0, f64::NAN]).view())
            .unwrap_err();
        assert!(err.to_string().contains("theta[1] (beta)"), "{err}");
        assert!(layout.check_theta(ndarray::arr1(&[0.0]).view()).is_err());
        assert!(layout.theta_from_natural(&[("alpha", 0.5)]).is_err());
        assert!(layout
            .theta_from_natural(&[("alpha", 1.5), ("beta", 1.0)])
            .is_err());
    }
}
