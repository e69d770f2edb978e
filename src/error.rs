//! The crate's one error type.
//!
//! Every fallible public function returns [`Result<T>`](Result). Variants carry structured
//! fields (which subject, session, trial, line, column, value) so that a caller can both print
//! a useful message and react programmatically. Messages are lowercase and name the place at
//! fault.

use std::path::PathBuf;

/// Shorthand for `std::result::Result<T, rlgrad::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `rlgrad`.
///
/// Bad input (data, parameters, options, buffer shapes) is always reported through this enum,
/// never by a panic. The enum is `#[non_exhaustive]`: match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Output could not be written (a CSV export to a caller's writer, say).
    #[error("cannot write {what}: {source}")]
    Write {
        /// What was being written.
        what: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The CSV input has no usable header: it is missing, or lacks a required column.
    #[error("csv header (line {line}): {reason}")]
    CsvHeader {
        /// 1-based line of the header in the file (after any blank lines before it).
        line: u64,
        /// What is wrong with the header.
        reason: String,
    },

    /// A CSV row could not be split into fields (for example, a wrong number of fields).
    #[error("csv line {line}: {reason}")]
    CsvRow {
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong.
        reason: String,
    },

    /// A CSV field has a value that is not allowed.
    #[error("csv line {line}, column `{column}`: value `{value}` {reason}")]
    CsvField {
        /// 1-based line number in the file.
        line: u64,
        /// Name of the column.
        column: String,
        /// The offending text, as found in the file.
        value: String,
        /// Why it is rejected (for example "is not a number").
        reason: String,
    },

    /// There is no data where some is required: an empty file, a dataset with no subjects, a
    /// subject with no sessions, or a session with no trials.
    #[error("empty data: {what}")]
    EmptyData {
        /// What is empty.
        what: String,
    },

    /// Two subjects of a dataset share an identifier.
    #[error("subject `{subject}` appears twice in the dataset")]
    DuplicateSubject {
        /// The identifier.
        subject: String,
    },

    /// A trial field is invalid for the dataset or for the model it is used with.
    #[error("subject `{subject}`, session `{session}`, trial {trial}: {field} = {value} {reason}")]
    InvalidTrial {
        /// Subject identifier.
        subject: String,
        /// Session identifier.
        session: String,
        /// 0-based index of the trial within its session.
        trial: usize,
        /// Which field ("action", "state", "reward", "next_state").
        field: &'static str,
        /// The offending value, formatted.
        value: String,
        /// Why it is rejected (for example "is not below n_actions = 2").
        reason: String,
    },

    /// Two things that must have the same size do not.
    #[error("dimension mismatch for {what}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// What was measured (for example "theta", "gradient buffer").
        what: String,
        /// The size that is required.
        expected: usize,
        /// The size that was given.
        found: usize,
    },

    /// An entry of the unconstrained parameter vector θ is NaN or infinite.
    #[error("theta[{index}] ({name}) = {value} is not finite")]
    NonFiniteTheta {
        /// Position in θ.
        index: usize,
        /// Parameter name, or "?" when the component has no layout.
        name: String,
        /// The value.
        value: f64,
    },

    /// A natural parameter is outside the range its component accepts.
    #[error("parameter `{name}` = {value} {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// The value.
        value: f64,
        /// Why it is rejected (for example "is outside [0, 1]").
        reason: String,
    },

    /// A transform was configured with invalid settings (for example lo >= hi).
    #[error("invalid transform for `{name}`: {reason}")]
    InvalidTransform {
        /// Parameter name (or "transform" when not attached to one yet).
        name: String,
        /// What is wrong.
        reason: String,
    },

    /// A parameter layout is invalid (for example two parameters share a name).
    #[error("invalid parameter layout: {reason}")]
    InvalidLayout {
        /// What is wrong.
        reason: String,
    },

    /// A matrix is not symmetric positive definite where one is required.
    #[error("{what} is not positive definite: {reason}")]
    NotPositiveDefinite {
        /// Which matrix.
        what: String,
        /// Details (for example the smallest eigenvalue).
        reason: String,
    },

    /// A plot could not be drawn (the `plots` feature): nothing to draw, or the drawing
    /// backend failed.
    #[error("plot `{what}`: {reason}")]
    Plot {
        /// Which plot.
        what: String,
        /// What went wrong.
        reason: String,
    },

    /// A matrix has an invalid shape or entries (not square, not symmetric, not finite).
    #[error("invalid matrix {what}: {reason}")]
    InvalidMatrix {
        /// Which matrix.
        what: String,
        /// What is wrong.
        reason: String,
    },

    /// A computation produced NaN or ±∞ at finite input (overflow at extreme parameters).
    #[error("{what} is not finite at theta = {theta:?}")]
    NonFiniteResult {
        /// What was computed (for example "log-likelihood of subject `s1`").
        what: String,
        /// The θ at which it happened.
        theta: Vec<f64>,
    },

    /// An option passed to a routine is invalid.
    #[error("invalid option `{name}` = {value}: {reason}")]
    InvalidOption {
        /// Option name.
        name: String,
        /// The value, formatted.
        value: String,
        /// Why it is rejected.
        reason: String,
    },

    /// A term failed [`testing::assert_term`](crate::testing::assert_term).
    #[error("derivative check failed at theta = {theta:?}:\n{report}")]
    DerivativeCheck {
        /// Where it was checked.
        theta: Vec<f64>,
        /// The report (which comparison, which entry, how far off).
        report: String,
    },

    /// The optimiser failed in a way that is not a property of the data (reported per start).
    #[error("optimiser failed: {reason}")]
    Optimizer {
        /// The optimiser's message.
        reason: String,
    },

    /// The MCMC sampler failed (a chain found no finite starting point, or the sampler
    /// itself reported an error).
    #[error("sampler: {reason}")]
    Sampler {
        /// What failed, naming the chain.
        reason: String,
    },

    /// An index (a state, an action, a block of θ) is outside the range it must lie in.
    #[error("{what} = {index} is out of range: must be below {limit}")]
    IndexOutOfRange {
        /// What the index is, and where it was given (for example "action of sample 3").
        what: String,
        /// The index.
        index: usize,
        /// The exclusive upper bound.
        limit: usize,
    },

    /// An input number other than θ is NaN or infinite: a sample's value, a reward, a score
    /// entry, a weight, an entry of a critic's state–action vector z or z₊.
    #[error("{what} = {value} is not finite")]
    NonFiniteInput {
        /// What the number is, and where it was given (for example "reward of step 4", or
        /// "z\[2\] of pushed transition 17").
        what: String,
        /// The value.
        value: f64,
    },

    /// An episode buffer holds steps after its last finished episode.
    #[error(
        "episode buffer: {steps} steps after the last end_episode; end the episode before estimating"
    )]
    UnfinishedEpisode {
        /// How many steps the unfinished episode has.
        steps: usize,
    },
}

impl Error {
    /// [`Error::InvalidOption`]: option `name` = `value` is rejected, because `reason`.
    ///
    /// ```
    /// let e = rlgrad::Error::invalid_option("gamma", 1.5, "must be in [0, 1]");
    /// assert_eq!(e.to_string(), "invalid option `gamma` = 1.5: must be in [0, 1]");
    /// ```
    pub fn invalid_option(
        name: impl Into<String>,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidOption {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// [`Error::NonFiniteInput`]: the input number `what` is `value`, which is not finite.
    ///
    /// ```
    /// let e = rlgrad::Error::non_finite_input("reward of step 3", f64::NAN);
    /// assert_eq!(e.to_string(), "reward of step 3 = NaN is not finite");
    /// ```
    pub fn non_finite_input(what: impl Into<String>, value: f64) -> Self {
        Error::NonFiniteInput {
            what: what.into(),
            value,
        }
    }

    /// [`Error::NonFiniteResult`]: `what`, computed at `theta`, is not finite.
    pub fn non_finite_result(what: impl Into<String>, theta: Vec<f64>) -> Self {
        Error::NonFiniteResult {
            what: what.into(),
            theta,
        }
    }

    /// [`Error::NonFiniteTheta`]: θ\[`index`\], the parameter `name`, is `value`.
    pub fn non_finite_theta(index: usize, name: impl Into<String>, value: f64) -> Self {
        Error::NonFiniteTheta {
            index,
            name: name.into(),
            value,
        }
    }

    /// [`Error::DimensionMismatch`]: `what` has `found` entries where `expected` are needed.
    pub fn dimension_mismatch(what: impl Into<String>, expected: usize, found: usize) -> Self {
        Error::DimensionMismatch {
            what: what.into(),
            expected,
            found,
        }
    }

    /// [`Error::IndexOutOfRange`]: `what` = `index` is not below `limit`.
    pub fn index_out_of_range(what: impl Into<String>, index: usize, limit: usize) -> Self {
        Error::IndexOutOfRange {
            what: what.into(),
            index,
            limit,
        }
    }

    /// [`Error::InvalidParameter`]: the natural parameter `name` = `value` is rejected, because
    /// `reason`.
    ///
    /// ```
    /// let e = rlgrad::Error::invalid_parameter("alpha", 1.5, "is outside [0, 1]");
    /// assert_eq!(e.to_string(), "parameter `alpha` = 1.5 is outside [0, 1]");
    /// ```
    pub fn invalid_parameter(
        name: impl Into<String>,
        value: f64,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            value,
            reason: reason.into(),
        }
    }

    /// [`Error::EmptyData`]: `what` is empty.
    pub fn empty_data(what: impl Into<String>) -> Self {
        Error::EmptyData { what: what.into() }
    }
}
