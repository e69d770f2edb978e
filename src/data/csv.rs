//! Reading choice data from CSV in long format (one row per trial).
//!
//! Required columns: `subject`, `trial`, `action`, `reward`. Optional: `session` (default
//! "0"), `state` (default 0), `next_state` (empty for none). Other columns are ignored, so a
//! file may carry reaction times or condition labels. Rows of a (subject, session) pair need
//! not be contiguous; within one, trial numbers must strictly increase in file order.
//! Subjects and sessions keep the order in which they first appear.
//!
//! Actions are 0-based unless [`CsvOptions::action_base`] says the file counts from 1 (as
//! Matlab, R and hBayesDM's files do); read as 0-based, such a file would be fitted as a model
//! with an extra arm that is never chosen, so a file whose lowest action is above 0 gets a
//! warning in the [`CsvReport`]. (States need no base: a state that never occurs does not
//! change a likelihood.)
//!
//! A trial without a response has an empty action or `NA` (also `na`, `NaN`, `nan`: any ASCII
//! case): it is kept as a missed trial ([`MISSED`]) and counted in the [`CsvReport`]. Its
//! reward may be a number (the outcome shown without a response, which a model may learn
//! from: [`Missed`](crate::learning::Missed)) or empty / `NA` as well, read as 0. A trial
//! with an action must have a reward.
//!
//! Every bad row is reported with its exact line number (LF, CRLF and CR line ends alike,
//! blank lines counted) and its column name. An action or state too large for any model
//! (a typo such as `1000000`) is refused at its line, before anything is sized by it.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::lines::Lines;
use super::{Dataset, MISSED, NO_STATE, Session, Subject};
use crate::check::{MAX_ACTIONS, MAX_FLOATS};
use crate::error::{Error, Result};

/// The index of the first action in a file: 0 (the default; Python and most tools) or 1
/// (Matlab, R, hBayesDM). It is subtracted as the file is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ActionBase {
    /// Actions are 0, 1, 2, …
    #[default]
    Zero,
    /// Actions are 1, 2, 3, …
    One,
}

impl ActionBase {
    /// 0 or 1.
    pub fn value(self) -> u32 {
        match self {
            ActionBase::Zero => 0,
            ActionBase::One => 1,
        }
    }
}

/// Options for [`read_csv`].
///
/// ```
/// use rlgrad::data::{ActionBase, CsvOptions, read_csv_from};
/// let options = CsvOptions { action_base: ActionBase::One, ..CsvOptions::default() };
/// let (data, _) = read_csv_from("subject,trial,action,reward\ns,1,1,0\ns,2,2,1\n".as_bytes(), &options)?;
/// assert_eq!(data.subjects()[0].sessions()[0].actions(), &[0, 1]);
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// If set, an action ≥ this (after the base is subtracted) is an error at the line where
    /// it occurs.
    pub n_actions: Option<usize>,
    /// If set, a state or next state ≥ this is an error at the line where it occurs.
    pub n_states: Option<usize>,
    /// The file's first action index (see [`ActionBase`]).
    pub action_base: ActionBase,
    /// The field separator: `b','` by default (`b';'` or `b'\t'` for files from some
    /// spreadsheets and experiment software).
    pub delimiter: u8,
}

impl CsvOptions {
    /// Refuses options no file can satisfy or no parser can use: a limit of 0 actions or 0
    /// states (every trial has an action and a state, state 0 when there is no `state`
    /// column), and a delimiter that is a quote or a line end.
    fn check(&self) -> Result<()> {
        for (name, limit) in [("n_actions", self.n_actions), ("n_states", self.n_states)] {
            if limit == Some(0) {
                return Err(Error::invalid_option(
                    name,
                    0,
                    "must be at least 1 (every trial has one; leave it unset to take it from \
                     the file)",
                ));
            }
        }
        if matches!(self.delimiter, b'"' | b'\n' | b'\r') {
            return Err(Error::invalid_option(
                "delimiter",
                format!("{:?}", char::from(self.delimiter)),
                "a quote or a line end cannot separate fields",
            ));
        }
        Ok(())
    }
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            n_actions: None,
            n_states: None,
            action_base: ActionBase::default(),
            delimiter: b',',
        }
    }
}

/// What a read found besides the data: how much, and what deserves a look.
///
/// ```
/// use rlgrad::data::{CsvOptions, CsvWarning, read_csv_from};
/// let text = "subject,trial,action,reward\ns,1,1,0\ns,2,NA,\ns,3,2,1\n";
/// let (data, report) = read_csv_from(text.as_bytes(), &CsvOptions::default())?;
/// assert_eq!((report.rows, report.missed), (3, 1));
/// assert_eq!(data.subjects()[0].n_missed(), 1); // per subject, from the data
/// assert!(matches!(report.warnings[0], CsvWarning::NoActionZero { lowest: 1 }));
/// assert_eq!(report.to_string().lines().next(), Some("3 rows (1 missed trial without a response, kept)"));
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CsvReport {
    /// Data rows read (blank lines not counted).
    pub rows: usize,
    /// Rows without a response (an empty or `NA` action), kept as missed trials
    /// ([`MISSED`]); [`Subject::n_missed`] counts them per subject.
    pub missed: usize,
    /// Things that are not errors but may be mistakes.
    pub warnings: Vec<CsvWarning>,
}

/// A finding of [`read_csv`] that is not an error but may be a mistake.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CsvWarning {
    /// The file was read with actions counted from 0, but its lowest action is `lowest` > 0:
    /// action 0 never occurs. If the file counts actions from 1, the model would get an arm
    /// that is never chosen (and biased estimates); read it with
    /// [`ActionBase::One`](ActionBase::One).
    NoActionZero {
        /// The lowest action in the file.
        lowest: u32,
    },
}

impl std::fmt::Display for CsvWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CsvWarning::NoActionZero { lowest } => write!(
                f,
                "no action is 0 (the lowest is {lowest}): if the file counts actions from 1, \
                 read it with the action base 1 (CsvOptions::action_base = ActionBase::One; \
                 rlgrad --action-base 1), or the model gets an arm that is never chosen"
            ),
        }
    }
}

impl std::fmt::Display for CsvReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rows", self.rows)?;
        if self.missed > 0 {
            let s = if self.missed == 1 { "" } else { "s" };
            write!(
                f,
                " ({} missed trial{s} without a response, kept)",
                self.missed
            )?;
        }
        for w in &self.warnings {
            write!(f, "\nwarning: {w}")?;
        }
        Ok(())
    }
}

/// Reads a dataset from a CSV file (the whole file; see the module docs for the format).
///
/// # Errors
/// [`Error::Io`] naming the path if it cannot be read (missing, a directory, no permission);
/// otherwise as [`read_csv_from`].
///
/// ```no_run
/// use rlgrad::data::{CsvOptions, read_csv};
/// let (data, report) = read_csv("choices.csv", &CsvOptions::default())?;
/// println!("{} subjects, {} trials; {report}", data.len(), data.n_trials());
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<(Dataset, CsvReport)> {
    let path = path.as_ref();
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    read_csv_bytes(&bytes, options)
}

/// Column positions found in the header.
struct Columns {
    subject: usize,
    session: Option<usize>,
    trial: usize,
    state: Option<usize>,
    action: usize,
    reward: usize,
    next_state: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::StringRecord, delimiter: u8, line: u64) -> Result<Self> {
        if header.iter().all(str::is_empty) {
            return Err(Error::empty_data("csv input is empty (no header, no rows)"));
        }
        if header.len() == 1 {
            let only = &header[0];
            if let Some(sep) = [';', '\t', ','].into_iter().find(|&c| only.contains(c))
                && sep as u32 != u32::from(delimiter)
            {
                let shown = if sep == '\t' {
                    "\\t".to_string()
                } else {
                    sep.to_string()
                };
                return Err(Error::CsvHeader {
                    line,
                    reason: format!(
                        "the header `{only}` is one column: the file looks separated by \
                         `{shown}`, not `{}`; set the delimiter (CsvOptions::delimiter; \
                         rlgrad --delimiter '{shown}')",
                        char::from(delimiter).escape_default()
                    ),
                });
            }
        }
        for (i, h) in header.iter().enumerate() {
            if let Some(j) = header.iter().take(i).position(|o| o == h) {
                return Err(Error::CsvHeader {
                    line,
                    reason: format!(
                        "column `{h}` appears twice (columns {} and {}): which one holds the \
                         data is ambiguous",
                        j + 1,
                        i + 1
                    ),
                });
            }
        }
        let find = |name: &str| header.iter().position(|h| h == name);
        if find("subject").is_none() && header.iter().any(|h| h.parse::<f64>().is_ok()) {
            return Err(Error::CsvHeader {
                line,
                reason: format!(
                    "the first line `{}` looks like data; a header naming the columns \
                     subject, trial, action, reward (and optionally session, state, next_state) \
                     is required",
                    header.iter().collect::<Vec<_>>().join(",")
                ),
            });
        }
        let need = |name: &str| {
            find(name).ok_or_else(|| Error::CsvHeader {
                line,
                reason: format!(
                    "missing required column `{name}` (found: {})",
                    header.iter().collect::<Vec<_>>().join(", ")
                ),
            })
        };
        Ok(Columns {
            subject: need("subject")?,
            session: find("session"),
            trial: need("trial")?,
            state: find("state"),
            action: need("action")?,
            reward: need("reward")?,
            next_state: find("next_state"),
        })
    }
}

/// One session under construction.
struct Building {
    subject: String,
    session: String,
    last_trial: Option<(i64, u64)>,
    states: Vec<u32>,
    actions: Vec<u32>,
    rewards: Vec<f64>,
    next_states: Vec<u32>,
}

/// Reads a dataset from any reader of CSV text (see the module docs for the format). The
/// whole input is read first, so that line numbers can be exact.
///
/// # Errors
/// - [`Error::InvalidOption`]: `n_actions` or `n_states` is `Some(0)`, or the delimiter is
///   `"`, `\n` or `\r`;
/// - [`Error::Io`]: the reader fails (path `<reader>`);
/// - [`Error::EmptyData`]: empty input, or a header without rows;
/// - [`Error::CsvHeader`]: no header, a required column missing, a column name twice, or a
///   header that is one column holding another separator (the error names the option);
/// - [`Error::CsvRow`]: a row with the wrong number of fields or invalid UTF-8;
/// - [`Error::CsvField`]: a non-numeric, negative, below-the-base, out-of-range or too large
///   action or state, a non-numeric or non-finite reward, a missing (empty or `NA`) reward on
///   a trial with an action, an empty subject, a trial number that is not an integer or does
///   not increase within its session. Each names the line and the column;
/// - [`Error::EmptyData`]: a subject whose every trial is missed (see [`Subject::new`]).
///
/// ```
/// use rlgrad::data::{CsvOptions, read_csv_from};
/// let text = "subject,trial,action,reward\ns1,1,0,1\ns1,2,1,0\ns2,1,1,1\n";
/// let (data, report) = read_csv_from(text.as_bytes(), &CsvOptions::default())?;
/// assert_eq!((data.len(), report.rows), (2, 3));
/// let bad = "subject,trial,action,reward\r\ns1,1,0,1\r\n\r\ns1,2,-1,0\r\n";
/// let err = read_csv_from(bad.as_bytes(), &CsvOptions::default()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "csv line 4, column `action`: value `-1` is negative (subject `s1`, trial 2)"
/// );
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn read_csv_from<R: Read>(mut reader: R, options: &CsvOptions) -> Result<(Dataset, CsvReport)> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|source| Error::Io {
        path: "<reader>".into(),
        source,
    })?;
    read_csv_bytes(&bytes, options)
}

/// The reader proper, on the whole input.
fn read_csv_bytes(bytes: &[u8], options: &CsvOptions) -> Result<(Dataset, CsvReport)> {
    options.check()?;
    let lines = Lines::new(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .delimiter(options.delimiter)
        .from_reader(bytes);
    let header = rdr.headers().map_err(|e| row_error(&lines, e))?.clone();
    let header_line = header
        .position()
        .map_or(1, |p| lines.line_of_record(p.byte()));
    let cols = Columns::from_header(&header, options.delimiter, header_line)?;
    let base = options.action_base.value();

    let mut sessions: Vec<Building> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    let mut missed = 0;
    let mut lowest_action = u32::MAX;
    loop {
        let more = rdr
            .read_record(&mut record)
            .map_err(|e| row_error(&lines, e))?;
        if !more {
            break;
        }
        rows += 1;
        let line = record
            .position()
            .map_or(0, |p| lines.line_of_record(p.byte()));
        let field = |i: usize| record.get(i).unwrap_or("");
        let bad = |col: usize, reason: &str| Error::CsvField {
            line,
            column: header.get(col).unwrap_or("?").to_string(),
            value: field(col).to_string(),
            reason: reason.to_string(),
        };

        let subject = field(cols.subject);
        if subject.is_empty() {
            return Err(bad(cols.subject, "is empty (every row needs a subject id)"));
        }
        let session = cols.session.map_or("0", field);
        let trial: i64 = field(cols.trial)
            .parse()
            .map_err(|_| bad(cols.trial, "is not an integer trial number"))?;
        // From here on the message also names the subject and the trial.
        let bad_trial = |col: usize, reason: &str| {
            bad(
                col,
                &format!("{reason} (subject `{subject}`, trial {trial})"),
            )
        };
        let action = if is_na(field(cols.action)) {
            missed += 1;
            MISSED
        } else {
            let a = parse_action(field(cols.action), base, options.n_actions)
                .map_err(|r| bad_trial(cols.action, &r))?;
            lowest_action = lowest_action.min(a + base);
            a
        };
        let state = match cols.state {
            Some(c) => parse_state(field(c), options.n_states).map_err(|r| bad_trial(c, &r))?,
            None => 0,
        };
        let next_state = match cols.next_state {
            Some(c) if !field(c).is_empty() => {
                parse_state(field(c), options.n_states).map_err(|r| bad_trial(c, &r))?
            }
            _ => NO_STATE,
        };
        let reward: f64 = if !is_na(field(cols.reward)) {
            field(cols.reward)
                .parse()
                .map_err(|_| bad_trial(cols.reward, "is not a number"))?
        } else if action == MISSED {
            0.0
        } else {
            return Err(bad_trial(
                cols.reward,
                "is missing, but the trial has an action (only a trial without a response, \
                 an empty or NA action, may lack its reward)",
            ));
        };
        if !reward.is_finite() {
            return Err(bad_trial(cols.reward, "is not finite"));
        }

        let key = (subject.to_string(), session.to_string());
        let next_id = sessions.len();
        let id = *index.entry(key).or_insert(next_id);
        if id == next_id {
            sessions.push(Building {
                subject: subject.to_string(),
                session: session.to_string(),
                last_trial: None,
                states: Vec::new(),
                actions: Vec::new(),
                rewards: Vec::new(),
                next_states: Vec::new(),
            });
        }
        let b = &mut sessions[id];
        if let Some((prev, prev_line)) = b.last_trial
            && trial <= prev
        {
            let what = if trial == prev {
                "repeats"
            } else {
                "goes backwards"
            };
            return Err(bad(
                cols.trial,
                &format!(
                    "{what} within session `{}` of subject `{}` (trial {prev} on line \
                         {prev_line}); trial numbers must increase",
                    b.session, b.subject
                ),
            ));
        }
        b.last_trial = Some((trial, line));
        b.states.push(state);
        b.actions.push(action);
        b.rewards.push(reward);
        b.next_states.push(next_state);
    }

    if sessions.is_empty() {
        return Err(Error::empty_data("csv input has a header but no data rows"));
    }
    let mut warnings = Vec::new();
    if base == 0 && lowest_action > 0 && lowest_action != u32::MAX {
        warnings.push(CsvWarning::NoActionZero {
            lowest: lowest_action,
        });
    }
    let data = assemble(sessions, cols.next_state.is_some())?;
    Ok((
        data,
        CsvReport {
            rows,
            missed,
            warnings,
        },
    ))
}

/// Groups sessions by subject (in order of first appearance) and validates through the
/// ordinary constructors.
fn assemble(sessions: Vec<Building>, has_next: bool) -> Result<Dataset> {
    let mut order: Vec<String> = Vec::new();
    let mut by_subject: HashMap<String, Vec<Session>> = HashMap::new();
    for b in sessions {
        let mut s = Session::new(b.session, b.states, b.actions, b.rewards)?;
        if has_next {
            s = s.with_next_states(b.next_states)?;
        }
        by_subject
            .entry(b.subject.clone())
            .or_insert_with(|| {
                order.push(b.subject.clone());
                Vec::new()
            })
            .push(s);
    }
    let subjects = order
        .into_iter()
        .map(|id| {
            let sessions = by_subject.remove(&id).unwrap_or_default();
            Subject::new(id, sessions)
        })
        .collect::<Result<Vec<_>>>()?;
    Dataset::new(subjects)
}

/// Whether a field is a missing value: empty, or `NA` / `NaN` in any ASCII case.
fn is_na(text: &str) -> bool {
    text.is_empty() || text.eq_ignore_ascii_case("na") || text.eq_ignore_ascii_case("nan")
}

/// A non-negative integer (a "1.0" written by some tools is accepted, anything fractional
/// is not); the error is the reason.
fn parse_index(text: &str) -> std::result::Result<u64, String> {
    if text.is_empty() {
        return Err("is empty".to_string());
    }
    let v: i64 = match text.parse() {
        Ok(v) => v,
        Err(_) => match text.parse::<f64>() {
            Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
            _ => return Err("is not a non-negative integer".to_string()),
        },
    };
    u64::try_from(v).map_err(|_| "is negative".to_string())
}

/// An action: at least the base, then 0-based below [`MAX_ACTIONS`] and the optional limit.
fn parse_action(text: &str, base: u32, limit: Option<usize>) -> std::result::Result<u32, String> {
    let v = parse_index(text)?;
    if v < u64::from(base) {
        return Err(format!(
            "is below the action base {base} (the file's actions are read as counted from \
             {base})"
        ));
    }
    within(v - u64::from(base), MAX_ACTIONS, "actions", limit)
}

/// A state or next state: 0-based below [`MAX_FLOATS`] (no model has more states) and the
/// optional limit.
fn parse_state(text: &str, limit: Option<usize>) -> std::result::Result<u32, String> {
    within(parse_index(text)?, MAX_FLOATS, "states", limit)
}

/// A 0-based index of `what` ("actions" or "states"): below `cap`, the most any model has,
/// and below the caller's limit `n_<what>`.
fn within(
    v: u64,
    cap: usize,
    what: &str,
    limit: Option<usize>,
) -> std::result::Result<u32, String> {
    if v >= cap as u64 {
        return Err(format!(
            "is too large (a model has at most {cap} {what}): a typo?"
        ));
    }
    if let Some(n) = limit
        && v >= n as u64
    {
        return Err(format!("is out of range (must be below n_{what} = {n})"));
    }
    // Below a cap that is at most 2^28.
    Ok(v as u32)
}

/// A row the csv parser refused, at its exact line.
fn row_error(lines: &Lines, e: csv::Error) -> Error {
    let line = e.position().map_or(1, |p| lines.line_of_record(p.byte()));
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, but the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
        _ => e.to_string(),
    };
    Error::CsvRow { line, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Dataset> {
        read_csv_from(text.as_bytes(), &CsvOptions::default()).map(|(d, _)| d)
    }

    fn field_error(text: &str) -> (u64, String, String) {
        match read(text) {
            Err(Error::CsvField {
                line,
                column,
                reason,
                ..
            }) => (line, column, reason),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    const HEAD: &str = "subject,session,trial,state,action,reward\n";

    #[test]
    fn reads_ragged_interleaved_long_format() {
        let text =
            format!("{HEAD}a,1,1,0,0,1\nb,1,1,1,1,0.5\na,1,2,0,1,0\na,2,1,0,1,1\nb,1,2,0,0,-1\n");
        let d = read(&text).unwrap();
        assert_eq!(d.len(), 2);
        let a = d.subject("a").unwrap();
        assert_eq!(a.sessions().len(), 2);
        assert_eq!(a.sessions()[0].actions(), &[0, 1]);
        assert_eq!(a.sessions()[1].id(), "2");
        let b = d.subject("b").unwrap();
        assert_eq!(b.sessions()[0].states(), &[1, 0]);
        assert_eq!(b.sessions()[0].rewards(), &[0.5, -1.0]);
        assert_eq!(d.n_states(), 2);
    }

    #[test]
    fn optional_columns_and_extra_columns() {
        let d = read("rt,subject,trial,action,reward\n0.4,s,1,1,1\n0.5,s,3,0,0\n").unwrap();
        let s = &d.subjects()[0].sessions()[0];
        assert_eq!(s.id(), "0");
        assert_eq!(s.states(), &[0, 0]);
        let d = read("subject,trial,state,action,reward,next_state\ns,1,0,1,0,1\ns,2,1,0,1,\n")
            .unwrap();
        let s = &d.subjects()[0].sessions()[0];
        assert_eq!(s.next_states(), Some(&[1, NO_STATE][..]));
    }

    #[test]
    fn every_bad_row_names_line_and_column() {
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,x,1\n")),
            (
                2,
                "action".into(),
                "is not a non-negative integer (subject `a`, trial 1)".into()
            )
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,1\na,1,2,0,-2,1\n")).0,
            3
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1.5,1\n")).2,
            "is not a non-negative integer (subject `a`, trial 1)"
        );
        assert_eq!(field_error(&format!("{HEAD}a,1,1,-1,1,1\n")).1, "state");
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,NaN\n")),
            (
                2,
                "reward".into(),
                "is missing, but the trial has an action (only a trial without a response, an \
                 empty or NA action, may lack its reward) (subject `a`, trial 1)"
                    .into()
            )
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,inf\n")).2,
            "is not finite (subject `a`, trial 1)"
        );
        assert_eq!(
            field_error(&format!("{HEAD}b,1,7,0,1,abc\n")).2,
            "is not a number (subject `b`, trial 7)"
        );
        let (line, col, reason) = field_error(&format!("{HEAD}a,1,5,0,1,1\na,1,4,0,1,1\n"));
        assert_eq!((line, col.as_str()), (3, "trial"));
        assert!(
            reason.contains("goes backwards") && reason.contains("line 2"),
            "{reason}"
        );
        assert!(
            field_error(&format!("{HEAD}a,1,5,0,1,1\na,1,5,0,1,1\n"))
                .2
                .contains("repeats")
        );
        assert_eq!(field_error(&format!("{HEAD},1,1,0,1,1\n")).1, "subject");
        assert_eq!(field_error(&format!("{HEAD}a,1,1,,1,1\n")).1, "state");
        assert_eq!(field_error(&format!("{HEAD}a,1,x,0,1,1\n")).1, "trial");
    }

    #[test]
    fn missed_trials_are_kept_and_counted() {
        // Empty, NA and NaN in any case, LF and CRLF; the reward of a missed trial may be a
        // number (kept), empty or NA (read as 0).
        for end in ["\n", "\r\n"] {
            let rows = [
                "a,1,1,0,1,1",
                "a,1,2,0,,0.5",
                "a,1,3,0,NA,NA",
                "a,1,4,1,na,",
                "a,1,5,0, NaN ,2",
                "a,1,6,0,nan,nan",
                "a,1,7,0,0,0",
                "b,1,1,0,nA,1",
                "b,1,2,0,1,0",
            ];
            let text = format!("{}{end}{}{end}", HEAD.trim_end(), rows.join(end));
            let (d, report) = read_csv_from(text.as_bytes(), &CsvOptions::default()).unwrap();
            assert_eq!((report.rows, report.missed), (9, 6), "{end:?}");
            assert!(report.to_string().starts_with("9 rows (6 missed trials"));
            let a = &d.subject("a").unwrap().sessions()[0];
            assert_eq!(a.actions(), &[1, MISSED, MISSED, MISSED, MISSED, MISSED, 0]);
            assert_eq!(a.rewards(), &[1.0, 0.5, 0.0, 0.0, 2.0, 0.0, 0.0]);
            assert_eq!(a.states(), &[0, 0, 0, 1, 0, 0, 0]);
            assert_eq!(d.subject("b").unwrap().n_missed(), 1);
            assert_eq!((d.n_missed(), d.n_choices()), (6, 3));
            // No warning about action 0: the missed rows do not count as actions.
            assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        }
        // A trial with an action needs its reward, at its exact line (CRLF and a blank line).
        let text = format!("{}\r\na,1,1,0,1,1\r\n\r\na,1,2,0,1,NA\r\n", HEAD.trim_end());
        let (line, column, reason) = field_error(&text);
        assert_eq!((line, column.as_str()), (4, "reward"));
        assert!(reason.starts_with("is missing, but the trial has an action"));
        assert_eq!(field_error(&format!("{HEAD}a,1,1,0,1,\n")).1, "reward");
        // A missed trial's reward, when given, must still be a finite number.
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,1\na,1,2,0,NA,inf\n")),
            (
                3,
                "reward".into(),
                "is not finite (subject `a`, trial 2)".into()
            )
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,NA,x\n")).2,
            "is not a number (subject `a`, trial 1)"
        );
        // Other spellings are not missing values; the state is still required.
        assert_eq!(field_error(&format!("{HEAD}a,1,1,0,N/A,1\n")).1, "action");
        assert_eq!(field_error(&format!("{HEAD}a,1,1,NA,NA,1\n")).1, "state");
        // A subject with no choice at all is refused, by name.
        let err = read(&format!("{HEAD}a,1,1,0,1,1\nz,1,1,0,NA,1\n")).unwrap_err();
        assert!(
            matches!(err, Error::EmptyData { .. })
                && err.to_string().contains("`z` made no choice"),
            "{err}"
        );
        // The action limit does not apply to a missed row.
        let opts = CsvOptions {
            n_actions: Some(2),
            ..CsvOptions::default()
        };
        let text = format!("{HEAD}a,1,1,0,1,1\na,1,2,0,NA,1\n");
        assert!(read_csv_from(text.as_bytes(), &opts).is_ok());
    }

    #[test]
    fn limits_from_options() {
        let opts = CsvOptions {
            n_actions: Some(2),
            n_states: Some(1),
            ..CsvOptions::default()
        };
        let err = read_csv_from(format!("{HEAD}a,1,1,0,2,1\n").as_bytes(), &opts).unwrap_err();
        assert!(err.to_string().contains("below n_actions = 2"), "{err}");
        let err = read_csv_from(format!("{HEAD}a,1,1,1,0,1\n").as_bytes(), &opts).unwrap_err();
        assert!(matches!(err, Error::CsvField { line: 2, ref column, .. } if column == "state"));
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(read(""), Err(Error::EmptyData { .. })));
        assert!(matches!(read(HEAD), Err(Error::EmptyData { .. })));
        assert!(matches!(
            read("a,1,1,0,1,1\n"),
            Err(Error::CsvHeader { .. })
        ));
        let err = read("subject,trial,action\na,1,1\n").unwrap_err();
        assert!(
            err.to_string().contains("missing required column `reward`"),
            "{err}"
        );
        let err = read(&format!("{HEAD}a,1,1,0,1\n")).unwrap_err();
        assert!(matches!(err, Error::CsvRow { line: 2, .. }), "{err}");
        let err = read_csv("/nonexistent/x.csv", &CsvOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }
}
