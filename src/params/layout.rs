//! [`ParamSpec`] and [`ParamLayout`]: which entry of θ is which named parameter, with which
//! transform.

use ndarray::{Array1, ArrayView1};
use serde::Serialize;

use super::{NamedParams, Transform};
use crate::check;
use crate::error::{Error, Result};

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
        let mut values = self.natural_with_derivatives(theta)?;
        values.truncate(self.len());
        NamedParams::new(self.names().map(str::to_string).collect(), values)
    }

    /// ψ, g′(θ) and g″(θ) in one vector of length 3K (in that order), checked: θ of the
    /// right length and finite, and every entry finite (a transform can overflow).
    ///
    /// # Errors
    /// As [`ParamLayout::natural`].
    pub(crate) fn natural_with_derivatives(&self, theta: ArrayView1<f64>) -> Result<Vec<f64>> {
        let mut vals = vec![0.0; 3 * self.len()];
        self.natural_with_derivatives_into(theta, &mut vals)?;
        Ok(vals)
    }

    /// As [`ParamLayout::natural_with_derivatives`], into `vals` (3K long), allocating
    /// nothing unless it fails.
    ///
    /// # Errors
    /// As [`ParamLayout::natural`].
    ///
    /// # Panics
    /// If `vals` is not 3K long (a contract with the crate's callers).
    pub(crate) fn natural_with_derivatives_into(
        &self,
        theta: ArrayView1<f64>,
        vals: &mut [f64],
    ) -> Result<()> {
        self.check_theta(theta)?;
        let k = self.len();
        assert_eq!(
            vals.len(),
            3 * k,
            "natural_with_derivatives_into: 3K values"
        );
        for (i, spec) in self.specs.iter().enumerate() {
            let (v, d1, d2) = spec.transform.derivatives(theta[i]);
            if !v.is_finite() || !d1.is_finite() || !d2.is_finite() {
                return Err(Error::invalid_parameter(
                    spec.name.as_str(),
                    v,
                    format!(
                        "is not finite: theta[{i}] = {} overflows its transform",
                        theta[i]
                    ),
                ));
            }
            vals[i] = v;
            vals[k + i] = d1;
            vals[2 * k + i] = d2;
        }
        Ok(())
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
