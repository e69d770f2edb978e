//! The crate's errors as Python exceptions, with the crate's message (which names the
//! subject, trial, line, column, parameter or value at fault).

use pyo3::PyErr;
use pyo3::exceptions::{
    PyFileNotFoundError, PyFloatingPointError, PyIndexError, PyOSError, PyRuntimeError,
    PyValueError,
};
use rlgrad::Error;

/// The Python exception for a crate error:
///
/// | crate error | exception |
/// |---|---|
/// | `Io` (file not found) | `FileNotFoundError` |
/// | `Io`, `Write` | `OSError` |
/// | `IndexOutOfRange` | `IndexError` |
/// | `NonFiniteResult` | `FloatingPointError` |
/// | `Optimizer`, `Sampler`, `DerivativeCheck` | `RuntimeError` |
/// | any other (bad data, parameters, options, shapes, sizes too large to allocate) | `ValueError` |
pub fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match &e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Io { .. } | Error::Write { .. } => PyOSError::new_err(message),
        Error::IndexOutOfRange { .. } => PyIndexError::new_err(message),
        Error::NonFiniteResult { .. } => PyFloatingPointError::new_err(message),
        Error::Optimizer { .. } | Error::Sampler { .. } | Error::DerivativeCheck { .. } => {
            PyRuntimeError::new_err(message)
        }
        _ => PyValueError::new_err(message),
    }
}

/// `?` for crate results inside binding functions.
pub trait OrPy<T> {
    /// The result with a crate error turned into its Python exception.
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> OrPy<T> for rlgrad::Result<T> {
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}
