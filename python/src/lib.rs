//! The Python package of rlgrad (`import rlgrad`): its native module `rlgrad._rlgrad`.
//!
//! Every class and function here is a thin front on the crate: arguments are converted and
//! checked (numpy arrays of any real dtype and layout, strings naming the crate's models and
//! tasks), the work runs with the GIL released on the crate's thread pool (sized by a
//! `threads` argument), and a crate error becomes a Python exception with the crate's
//! message. The pure-Python layer (`python/rlgrad/*.py`) turns the columns returned here
//! into pandas DataFrames.

mod arrays;
mod bayes;
mod data;
mod dra;
mod em;
mod error;
mod fit;
mod model;
mod pool;
mod prior;
mod recovery;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _rlgrad(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<data::PyDataset>()?;
    m.add_class::<data::PySubject>()?;
    m.add_class::<prior::PyGaussian>()?;
    m.add_class::<model::PyModel>()?;
    m.add_class::<model::PyObjective>()?;
    m.add_function(wrap_pyfunction!(model::_model, m)?)?;
    m.add_function(wrap_pyfunction!(model::_models, m)?)?;
    m.add_function(wrap_pyfunction!(fit::_fit_map, m)?)?;
    m.add_function(wrap_pyfunction!(fit::_fit_em, m)?)?;
    m.add_function(wrap_pyfunction!(fit::_compare, m)?)?;
    m.add_class::<em::PyEStep>()?;
    m.add_class::<em::PyEStepTask>()?;
    m.add_class::<em::PyEmRun>()?;
    m.add_function(wrap_pyfunction!(em::_e_step, m)?)?;
    m.add_function(wrap_pyfunction!(dra::_dra_train, m)?)?;
    m.add_function(wrap_pyfunction!(recovery::_parameter_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(recovery::_model_recovery, m)?)?;
    m.add_class::<bayes::PyPosterior>()?;
    m.add_function(wrap_pyfunction!(bayes::_sample, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
