//! Work off the GIL, on the crate's thread pool: the global rayon pool, or one of `threads`
//! threads for this call.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::to_py;

/// The most threads a call may ask for: a pool's threads are started at once, so a huge
/// number would exhaust the process's threads before any work.
pub const MAX_THREADS: usize = 1024;

/// Runs `work` with the GIL released, on `threads` threads (`None`: rayon's global pool, one
/// thread per core; at most [`MAX_THREADS`]), turning a crate error into its Python
/// exception.
pub fn run<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    work: impl FnOnce() -> rlgrad::Result<T> + Send,
) -> PyResult<T> {
    let pool = match threads {
        None => None,
        Some(0) => {
            return Err(PyValueError::new_err(
                "threads = 0: must be at least 1 (or None for one per core)",
            ));
        }
        Some(n) if n > MAX_THREADS => {
            return Err(PyValueError::new_err(format!(
                "threads = {n}: at most {MAX_THREADS} (the pool starts them all at once)"
            )));
        }
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyValueError::new_err(format!("threads = {n}: {e}")))?,
        ),
    };
    py.detach(|| match pool {
        None => work(),
        Some(pool) => pool.install(work),
    })
    .map_err(to_py)
}
