//! [`NamedParams`]: parameter values with their names.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::check;
use crate::error::Result;

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
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) if the lengths differ.
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
