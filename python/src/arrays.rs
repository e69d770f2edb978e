//! numpy in and out: θ vectors and matrices read from any float64 array (strided views
//! included, without copying), results handed to numpy without copying.

use ndarray::{Array, Array1, Array2, Dimension, Ix1, Ix2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A 1-d float64 array argument `name` as an owned vector. A float64 array (contiguous or
/// not) is read without conversion; a list or an array of another real dtype (int, float32)
/// is converted by numpy (`numpy.array(x, dtype=float64)`), and anything else (complex,
/// strings, objects that are not numbers, a 2-d array) is a `TypeError` or `ValueError`
/// naming the argument.
pub fn vector(name: &str, x: &Bound<'_, PyAny>) -> PyResult<Array1<f64>> {
    array::<Ix1>(name, x)
}

/// A 2-d float64 array argument `name`, as [`vector`] for matrices.
pub fn matrix(name: &str, x: &Bound<'_, PyAny>) -> PyResult<Array2<f64>> {
    array::<Ix2>(name, x)
}

/// An array argument of D's dimension (see [`vector`]).
fn array<D: Dimension>(name: &str, x: &Bound<'_, PyAny>) -> PyResult<Array<f64, D>> {
    if aligned(x)
        && let Ok(a) = x.extract::<PyReadonlyArray<'_, f64, D>>()
    {
        return Ok(a.as_array().to_owned());
    }
    let converted = as_float64(name, x)?;
    let a = converted
        .extract::<PyReadonlyArray<'_, f64, D>>()
        .map_err(|_| {
            let ndim: usize = converted
                .getattr("ndim")
                .and_then(|n| n.extract())
                .unwrap_or(0);
            let want = D::NDIM.unwrap_or(0);
            PyValueError::new_err(format!(
                "{name} must be a {want}-d array of numbers, got a {ndim}-d array"
            ))
        })?;
    Ok(a.as_array().to_owned())
}

/// Whether `x` is a numpy array whose data are aligned for its dtype (an array from a
/// buffer at an odd offset, as a transport may hand back, is not: it is copied first).
fn aligned(x: &Bound<'_, PyAny>) -> bool {
    x.getattr("flags")
        .and_then(|f| f.getattr("aligned"))
        .and_then(|a| a.extract::<bool>())
        .unwrap_or(false)
}

/// `numpy.array(x, dtype=float64)` (a copy, aligned), refusing complex and boolean input (which numpy would
/// convert silently, losing the imaginary part or reading True as 1).
fn as_float64<'py>(name: &str, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let np = x.py().import("numpy")?;
    let raw = np
        .call_method1("asarray", (x,))
        .map_err(|e| PyTypeError::new_err(format!("{name} must be an array of numbers: {e}")))?;
    let kind: String = raw.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "f" | "i" | "u") {
        let dtype = raw.getattr("dtype")?.str()?.to_string();
        return Err(PyTypeError::new_err(format!(
            "{name} must be an array of real numbers, got dtype {dtype}"
        )));
    }
    np.call_method1("array", (raw, np.getattr("float64")?))
}

/// A vector to numpy (no copy).
pub fn to_numpy1<'py>(py: Python<'py>, a: Array1<f64>) -> Bound<'py, PyArray1<f64>> {
    a.into_pyarray(py)
}

/// A matrix to numpy (no copy).
pub fn to_numpy2<'py>(py: Python<'py>, a: Array2<f64>) -> Bound<'py, PyArray2<f64>> {
    a.into_pyarray(py)
}
