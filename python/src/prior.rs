//! `Gaussian`: the multivariate normal prior N(mean, cov) on θ (the unconstrained scale).

use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rlgrad::prior::{MvGaussian, Prior};

use crate::arrays::{matrix, to_numpy1, to_numpy2, vector};
use crate::error::OrPy;

/// A multivariate normal prior N(mean, cov) on θ, the unconstrained parameters (logit of a
/// learning rate, log of an inverse temperature, ...). `cov` must be symmetric positive
/// definite; a `ValueError` says why not.
#[pyclass(module = "rlgrad._rlgrad", name = "Gaussian", frozen)]
#[derive(Clone)]
pub struct PyGaussian {
    pub inner: MvGaussian,
}

#[pymethods]
impl PyGaussian {
    #[new]
    fn new(mean: &Bound<'_, PyAny>, cov: &Bound<'_, PyAny>) -> PyResult<PyGaussian> {
        let mean = vector("mean", mean)?;
        let cov = matrix("cov", cov)?;
        Ok(PyGaussian {
            inner: MvGaussian::new(mean, cov).py()?,
        })
    }

    /// N(mean · 1, variance · I) in `dim` dimensions.
    #[staticmethod]
    #[pyo3(signature = (dim, mean = 0.0, variance = 1.0))]
    fn isotropic(dim: usize, mean: f64, variance: f64) -> PyResult<PyGaussian> {
        Ok(PyGaussian {
            inner: MvGaussian::isotropic(dim, mean, variance).py()?,
        })
    }

    /// The mean (numpy, length K).
    #[getter]
    fn mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        to_numpy1(py, self.inner.mean())
    }

    /// The covariance (numpy, K × K).
    #[getter]
    fn cov<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        to_numpy2(py, self.inner.covariance().clone())
    }

    /// The dimension K.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.mean().len()
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cls = py.get_type::<PyGaussian>().into_any();
        let args = PyTuple::new(py, [self.mean(py).into_any(), self.cov(py).into_any()])?;
        PyTuple::new(py, [cls, args.into_any()])
    }

    fn __repr__(&self) -> String {
        format!(
            "Gaussian(mean={}, cov={})",
            self.inner.mean(),
            self.inner.covariance()
        )
    }
}
