//! `Dataset` and `Subject`: the crate's data, read from a CSV file or a pandas DataFrame
//! (through the crate's own CSV reader, so that every check and message is the reader's),
//! indexed by subject id, split into shards, and pickled (for Dask and multiprocessing).

use std::sync::Arc;

use numpy::PyArray1;
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use rlgrad::Error;
use rlgrad::data::{
    ActionBase, CsvOptions, Dataset, MISSED, NO_STATE, Session, Subject, read_csv, read_csv_from,
};

use crate::error::{OrPy, to_py};

/// A cohort: subjects, each with sessions of trials (state, action, reward; a missed trial
/// has no action).
///
/// Build one with `Dataset.from_frame(df)` or `rlgrad.read_csv(path)`; `data["s01"]` is a
/// subject, `len(data)` the number of subjects, `data.ids` their ids in order.
#[pyclass(module = "rlgrad._rlgrad", name = "Dataset", frozen)]
pub struct PyDataset {
    pub inner: Arc<Dataset>,
}

/// One subject of a `Dataset` (shares the dataset's memory).
#[pyclass(module = "rlgrad._rlgrad", name = "Subject", frozen)]
pub struct PySubject {
    data: Arc<Dataset>,
    index: usize,
}

impl PySubject {
    /// The subject.
    pub fn get(&self) -> &Subject {
        &self.data.subjects()[self.index]
    }
}

/// The reader's options from the Python arguments.
fn csv_options(
    action_base: u32,
    delimiter: &str,
    n_states: Option<usize>,
    n_actions: Option<usize>,
) -> PyResult<CsvOptions> {
    let action_base = match action_base {
        0 => ActionBase::Zero,
        1 => ActionBase::One,
        b => {
            return Err(PyValueError::new_err(format!(
                "action_base = {b}: must be 0 or 1 (files that count actions from 1: Matlab, R, hBayesDM)"
            )));
        }
    };
    let delimiter = match delimiter.as_bytes() {
        [b] => *b,
        _ if delimiter == "\\t" => b'\t',
        _ => {
            return Err(PyValueError::new_err(format!(
                "delimiter = {delimiter:?}: must be one ASCII character (',', ';' or '\\t')"
            )));
        }
    };
    Ok(CsvOptions {
        n_actions,
        n_states,
        action_base,
        delimiter,
    })
}

/// Emits the reader's warnings as Python `UserWarning`s at the caller's line, in Python's
/// terms (the argument `action_base=1`, not the Rust option or the program's flag).
fn warn(py: Python<'_>, warnings: &[rlgrad::data::CsvWarning], source: &str) -> PyResult<()> {
    let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
    for w in warnings {
        let text = match w {
            rlgrad::data::CsvWarning::NoActionZero { lowest } => format!(
                "no action is 0 (the lowest is {lowest}): if the data count actions from 1, \
                 pass action_base=1, or the model gets an arm that is never chosen"
            ),
            other => other.to_string(),
        };
        let message = std::ffi::CString::new(format!("{source}: {text}"))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        PyErr::warn(py, &category, &message, 1)?;
    }
    Ok(())
}

/// `reason` with every "line N" of the hidden CSV text said as the DataFrame's row.
fn rows_for_lines(reason: &str, row: &dyn Fn(u64) -> String) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some(i) = rest.find("line ") {
        let after = &rest[i + 5..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<u64>() {
            Ok(line) if digits > 0 => {
                out.push_str(&rest[..i]);
                out.push_str(&row(line));
                rest = &after[digits..];
            }
            _ => {
                out.push_str(&rest[..i + 5]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A reader error on the CSV text of a DataFrame, told in the DataFrame's terms: its row
/// (position from 0, and index label) instead of the text's line.
fn frame_error(e: Error, index: &Bound<'_, PyAny>) -> PyErr {
    // The text has the header on line 1, so position p is line p + 2.
    let row = |line: u64| -> String {
        let position = line.saturating_sub(2);
        let label = index
            .get_item(position)
            .and_then(|l| l.str().map(|s| s.to_string()))
            .unwrap_or_else(|_| "?".to_string());
        format!("DataFrame row {position} (index {label})")
    };
    match e {
        Error::CsvField {
            line,
            column,
            value,
            reason,
        } => PyValueError::new_err(format!(
            "{}, column `{column}`: value `{value}` {}",
            row(line),
            rows_for_lines(&reason, &row)
        )),
        Error::CsvRow { line, reason } => {
            PyValueError::new_err(format!("{}: {}", row(line), rows_for_lines(&reason, &row)))
        }
        Error::CsvHeader { reason, .. } => {
            PyValueError::new_err(format!("DataFrame columns: {reason}"))
        }
        other => to_py(other),
    }
}

#[pymethods]
impl PyDataset {
    /// Reads the long-format CSV file `path` (columns subject, trial, action, reward;
    /// optional session, state, next_state; an empty or NA action is a missed trial).
    /// `action_base=1` for files that count actions from 1; `n_states`/`n_actions` refuse
    /// larger states/actions at their line. The reader's warnings become `UserWarning`s.
    #[staticmethod]
    #[pyo3(signature = (path, *, action_base = 0, delimiter = ",", n_states = None, n_actions = None))]
    fn read_csv(
        py: Python<'_>,
        path: std::path::PathBuf,
        action_base: u32,
        delimiter: &str,
        n_states: Option<usize>,
        n_actions: Option<usize>,
    ) -> PyResult<PyDataset> {
        let options = csv_options(action_base, delimiter, n_states, n_actions)?;
        let (data, report) = py
            .detach(|| read_csv(&path, &options))
            .map_err(|e| match e {
                Error::Io { .. } => to_py(e),
                other => PyValueError::new_err(format!("{}: {other}", path.display())),
            })?;
        warn(py, &report.warnings, &path.display().to_string())?;
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    /// A dataset from a pandas DataFrame with the CSV file's columns (subject, trial,
    /// action, reward; optional session, state, next_state). An action column may be
    /// integer, or float with NaN for missed trials (a non-integral value is refused);
    /// errors name the DataFrame row (position and index label) and column.
    #[classmethod]
    #[pyo3(signature = (frame, *, action_base = 0, n_states = None, n_actions = None))]
    fn from_frame(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        action_base: u32,
        n_states: Option<usize>,
        n_actions: Option<usize>,
    ) -> PyResult<PyDataset> {
        let frames = py.import("rlgrad._frames")?;
        let text: String = frames.call_method1("frame_to_csv", (frame,))?.extract()?;
        let index = frame.getattr("index")?;
        let options = csv_options(action_base, ",", n_states, n_actions)?;
        let (data, report) = py
            .detach(|| read_csv_from(text.as_bytes(), &options))
            .map_err(|e| frame_error(e, &index))?;
        warn(py, &report.warnings, "DataFrame")?;
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    /// The subjects' ids, in order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.inner
            .subjects()
            .iter()
            .map(|s| s.id().to_string())
            .collect()
    }

    /// Trials over all subjects, missed ones included.
    #[getter]
    fn n_trials(&self) -> usize {
        self.inner.n_trials()
    }

    /// Choices over all subjects (trials with a response).
    #[getter]
    fn n_choices(&self) -> usize {
        self.inner.n_choices()
    }

    /// Missed trials over all subjects (no response).
    #[getter]
    fn n_missed(&self) -> usize {
        self.inner.n_missed()
    }

    /// 1 + the largest state in the data.
    #[getter]
    fn n_states(&self) -> usize {
        self.inner.n_states()
    }

    /// 1 + the largest action chosen in the data.
    #[getter]
    fn n_actions(&self) -> usize {
        self.inner.n_actions()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// `data["s01"]` (by id) or `data[0]` (by position; negative counts from the end).
    fn __getitem__(&self, key: &Bound<'_, PyAny>) -> PyResult<PySubject> {
        let n = self.inner.len();
        if key.is_instance_of::<pyo3::types::PyBool>() {
            return Err(PyTypeError::new_err(
                "a subject is indexed by its id (str) or its position (int), not a bool",
            ));
        }
        let index = if let Ok(id) = key.extract::<String>() {
            self.inner
                .subjects()
                .iter()
                .position(|s| s.id() == id)
                .ok_or_else(|| PyKeyError::new_err(format!("no subject `{id}` in the dataset")))?
        } else if let Ok(i) = key.extract::<i64>() {
            let j = if i < 0 { i + n as i64 } else { i };
            if j < 0 || j >= n as i64 {
                return Err(pyo3::exceptions::PyIndexError::new_err(format!(
                    "subject position {i} is out of range for {n} subjects"
                )));
            }
            j as usize
        } else {
            return Err(PyTypeError::new_err(
                "a subject is indexed by its id (str) or its position (int)",
            ));
        };
        Ok(PySubject {
            data: Arc::clone(&self.inner),
            index,
        })
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        key.extract::<String>()
            .is_ok_and(|id| self.inner.subject(&id).is_some())
    }

    /// The data as a pandas DataFrame in the columns `from_frame` reads: subject, session,
    /// trial (from 1 within each session), state, action (NaN for a missed trial), reward,
    /// and next_state where the data have one.
    fn to_frame<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let columns = self._columns(py)?;
        py.import("rlgrad._frames")?
            .call_method1("dataset_frame", (columns,))
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let subjects: Vec<PySubject> = (0..slf.inner.len())
            .map(|index| PySubject {
                data: Arc::clone(&slf.inner),
                index,
            })
            .collect();
        Ok(PyList::new(py, subjects)?.try_iter()?.into_any().unbind())
    }

    /// The subjects `ids` (in that order) as a dataset of their own: a shard.
    fn subset(&self, ids: Vec<String>) -> PyResult<PyDataset> {
        let subjects =
            ids.iter()
                .map(|id| {
                    self.inner.subject(id).cloned().ok_or_else(|| {
                        PyKeyError::new_err(format!("no subject `{id}` in the dataset"))
                    })
                })
                .collect::<PyResult<Vec<_>>>()?;
        Ok(PyDataset {
            inner: Arc::new(Dataset::new(subjects).py()?),
        })
    }

    /// The dataset cut into `n` shards of consecutive subjects, as even as can be (for EM
    /// over workers). `n` is at least 1 and at most the number of subjects.
    fn shards(&self, n: usize) -> PyResult<Vec<PyDataset>> {
        let total = self.inner.len();
        if n == 0 || n > total {
            return Err(PyValueError::new_err(format!(
                "n = {n} shards: must be between 1 and the number of subjects ({total})"
            )));
        }
        let subjects = self.inner.subjects();
        (0..n)
            .map(|k| {
                let (lo, hi) = (k * total / n, (k + 1) * total / n);
                Ok(PyDataset {
                    inner: Arc::new(Dataset::new(subjects[lo..hi].to_vec()).py()?),
                })
            })
            .collect()
    }

    /// The columns as numpy arrays and lists, one entry per trial in dataset order: subject,
    /// session (lists of str), trial (0-based within its session), state, action (−1 for a
    /// missed trial), reward, next_state (−1 where there is none).
    fn _columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let n = self.inner.n_trials();
        let mut subject = Vec::with_capacity(n);
        let mut session = Vec::with_capacity(n);
        let mut trial = Vec::with_capacity(n);
        let mut state = Vec::with_capacity(n);
        let mut action = Vec::with_capacity(n);
        let mut reward = Vec::with_capacity(n);
        let mut next_state = Vec::with_capacity(n);
        for s in self.inner.subjects() {
            for sess in s.sessions() {
                for t in 0..sess.len() {
                    subject.push(s.id());
                    session.push(sess.id());
                    trial.push(t as i64);
                    state.push(i64::from(sess.states()[t]));
                    let a = sess.actions()[t];
                    action.push(if a == MISSED { -1 } else { i64::from(a) });
                    reward.push(sess.rewards()[t]);
                    let next = sess.next_states().map_or(NO_STATE, |ns| ns[t]);
                    next_state.push(if next == NO_STATE {
                        -1
                    } else {
                        i64::from(next)
                    });
                }
            }
        }
        let d = pyo3::types::PyDict::new(py);
        d.set_item("subject", subject)?;
        d.set_item("session", session)?;
        d.set_item("trial", PyArray1::from_vec(py, trial))?;
        d.set_item("state", PyArray1::from_vec(py, state))?;
        d.set_item("action", PyArray1::from_vec(py, action))?;
        d.set_item("reward", PyArray1::from_vec(py, reward))?;
        d.set_item("next_state", PyArray1::from_vec(py, next_state))?;
        Ok(d)
    }

    /// Pickling (Dask, multiprocessing): the dataset as its parts, each column as
    /// little-endian bytes (exact, and free of the alignment of any buffer a transport
    /// hands back).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let parts = PyList::empty(py);
        for s in self.inner.subjects() {
            let sessions = PyList::empty(py);
            for sess in s.sessions() {
                let next = sess
                    .next_states()
                    .map(|ns| PyBytes::new(py, &u32_bytes(ns)));
                sessions.append((
                    sess.id(),
                    PyBytes::new(py, &u32_bytes(sess.states())),
                    PyBytes::new(py, &u32_bytes(sess.actions())),
                    PyBytes::new(py, &f64_bytes(sess.rewards())),
                    next,
                ))?;
            }
            parts.append((s.id(), sessions))?;
        }
        let rebuild = py.get_type::<PyDataset>().getattr("_from_parts")?;
        PyTuple::new(py, [rebuild, PyTuple::new(py, [parts])?.into_any()])
    }

    /// The inverse of `__reduce__`'s parts.
    #[staticmethod]
    #[allow(clippy::type_complexity)]
    fn _from_parts(
        parts: Vec<(
            String,
            Vec<(String, Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>)>,
        )>,
    ) -> PyResult<PyDataset> {
        let mut subjects = Vec::with_capacity(parts.len());
        for (id, sessions) in parts {
            let mut built = Vec::with_capacity(sessions.len());
            for (sid, states, actions, rewards, next) in sessions {
                let states = u32_column("states", &states)?;
                let actions = u32_column("actions", &actions)?;
                let limit = rlgrad::check::MAX_ACTIONS as u32;
                if states.iter().any(|&s| s >= limit)
                    || actions.iter().any(|&a| a >= limit && a != MISSED)
                {
                    return Err(PyValueError::new_err(format!(
                        "not a pickled Dataset: subject `{id}`, session `{sid}` has a state or \
                         action at or above {limit}"
                    )));
                }
                let mut s =
                    Session::new(sid, states, actions, f64_column("rewards", &rewards)?).py()?;
                if let Some(next) = next {
                    s = s.with_next_states(u32_column("next states", &next)?).py()?;
                }
                built.push(s);
            }
            subjects.push(Subject::new(id, built).py()?);
        }
        Ok(PyDataset {
            inner: Arc::new(Dataset::new(subjects).py()?),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Dataset({} subjects, {} trials, {} missed, {} state(s), {} action(s))",
            self.inner.len(),
            self.inner.n_trials(),
            self.inner.n_missed(),
            self.inner.n_states(),
            self.inner.n_actions()
        )
    }
}

#[pymethods]
impl PySubject {
    /// The subject's id.
    #[getter]
    fn id(&self) -> String {
        self.get().id().to_string()
    }

    /// Trials over all sessions, missed ones included.
    #[getter]
    fn n_trials(&self) -> usize {
        self.get().n_trials()
    }

    /// Choices (trials with a response).
    #[getter]
    fn n_choices(&self) -> usize {
        self.get().n_choices()
    }

    /// Missed trials.
    #[getter]
    fn n_missed(&self) -> usize {
        self.get().n_missed()
    }

    /// The session ids, in order.
    #[getter]
    fn sessions(&self) -> Vec<String> {
        self.get()
            .sessions()
            .iter()
            .map(|s| s.id().to_string())
            .collect()
    }

    /// The subject as a dataset of one.
    fn to_dataset(&self) -> PyResult<PyDataset> {
        Ok(PyDataset {
            inner: Arc::new(Dataset::new(vec![self.get().clone()]).py()?),
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        // A subject pickles as a dataset of one and its first subject.
        let data = Bound::new(py, self.to_dataset()?)?;
        let getitem = data.getattr("__getitem__")?;
        PyTuple::new(py, [getitem, PyTuple::new(py, [0i64])?.into_any()])
    }

    fn __repr__(&self) -> String {
        let s = self.get();
        format!(
            "Subject({:?}, {} session(s), {} trials, {} missed)",
            s.id(),
            s.sessions().len(),
            s.n_trials(),
            s.n_missed()
        )
    }
}

/// A u32 column as little-endian bytes.
fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// An f64 column as little-endian bytes.
fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A u32 column from `u32_bytes`.
fn u32_column(what: &str, b: &[u8]) -> PyResult<Vec<u32>> {
    if !b.len().is_multiple_of(4) {
        return Err(PyValueError::new_err(format!(
            "not a pickled Dataset: {what} of {} bytes",
            b.len()
        )));
    }
    Ok(b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// An f64 column from `f64_bytes`.
fn f64_column(what: &str, b: &[u8]) -> PyResult<Vec<f64>> {
    if !b.len().is_multiple_of(8) {
        return Err(PyValueError::new_err(format!(
            "not a pickled Dataset: {what} of {} bytes",
            b.len()
        )));
    }
    Ok(b.chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}
