//! Reading choice data from CSV in long format (one row per trial).
//!
//! Required columns: `subject`, `trial`, `action`, `reward`. Optional: `session` (default
//! "0"), `state` (default 0), `next_state` (empty for none). Other columns are ignored, so a
//! file may carry reaction times or condition labels. Rows of a (subject, session) pair need
//! not be contiguous; within one, trial numbers must strictly increase in file order.
//! Subjects and sessions keep the order in which they first appear.
//!
//! Every bad row is reported with its line number and column name.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::{Dataset, NO_STATE, Session, Subject};
use crate::error::{Error, Result};

/// Options for [`read_csv`].
#[derive(Clone, Debug, Default)]
pub struct CsvOptions {
    /// If set, an action ≥ this is an error at the line where it occurs.
    pub n_actions: Option<usize>,
    /// If set, a state or next state ≥ this is an error at the line where it occurs.
    pub n_states: Option<usize>,
}

/// Reads a dataset from a CSV file.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; otherwise as [`read_csv_from`].
///
/// ```no_run
/// let data = rlgrad::data::read_csv("choices.csv", &Default::default())?;
/// println!("{} subjects, {} trials", data.len(), data.n_trials());
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_csv_from(std::io::BufReader::new(file), options)
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
    fn from_header(header: &csv::StringRecord) -> Result<Self> {
        if header.iter().all(str::is_empty) {
            return Err(Error::empty_data("csv input is empty (no header, no rows)"));
        }
        let find = |name: &str| header.iter().position(|h| h == name);
        if find("subject").is_none() && header.iter().any(|h| h.parse::<f64>().is_ok()) {
            return Err(Error::CsvHeader {
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

/// Reads a dataset from any reader of CSV text (see the module docs for the format).
///
/// # Errors
/// - [`Error::EmptyData`]: empty input, or a header without rows;
/// - [`Error::CsvHeader`]: no header, or a required column missing;
/// - [`Error::CsvRow`]: a row with the wrong number of fields or invalid UTF-8;
/// - [`Error::CsvField`]: a non-numeric, negative or out-of-range action or state, a
///   non-numeric or non-finite reward, an empty subject, a trial number that is not an integer
///   or does not increase within its session. Each names the line and the column.
///
/// ```
/// let text = "subject,trial,action,reward\ns1,1,0,1\ns1,2,1,0\ns2,1,1,1\n";
/// let data = rlgrad::data::read_csv_from(text.as_bytes(), &Default::default())?;
/// assert_eq!(data.len(), 2);
/// let bad = "subject,trial,action,reward\ns1,1,0,1\ns1,2,-1,0\n";
/// let err = rlgrad::data::read_csv_from(bad.as_bytes(), &Default::default()).unwrap_err();
/// assert_eq!(err.to_string(), "csv line 3, column `action`: value `-1` is negative");
/// # Ok::<(), rlgrad::Error>(())
/// ```
pub fn read_csv_from<R: Read>(reader: R, options: &CsvOptions) -> Result<Dataset> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = rdr.headers().map_err(|e| row_error(1, e))?.clone();
    let cols = Columns::from_header(&header)?;

    let mut sessions: Vec<Building> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = rdr
            .read_record(&mut record)
            .map_err(|e| row_error(rdr.position().line(), e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
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
        let action = parse_index(field(cols.action), options.n_actions, "n_actions")
            .map_err(|r| bad(cols.action, &r))?;
        let state = match cols.state {
            Some(c) => {
                parse_index(field(c), options.n_states, "n_states").map_err(|r| bad(c, &r))?
            }
            None => 0,
        };
        let next_state = match cols.next_state {
            Some(c) if !field(c).is_empty() => {
                parse_index(field(c), options.n_states, "n_states").map_err(|r| bad(c, &r))?
            }
            _ => NO_STATE,
        };
        let reward: f64 = field(cols.reward)
            .parse()
            .map_err(|_| bad(cols.reward, "is not a number"))?;
        if !reward.is_finite() {
            return Err(bad(cols.reward, "is not finite"));
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
    assemble(sessions, cols.next_state.is_some())
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

/// Parses a non-negative integer index below an optional limit; the error is the reason.
fn parse_index(text: &str, limit: Option<usize>, what: &str) -> std::result::Result<u32, String> {
    if text.is_empty() {
        return Err("is empty (drop missed trials before fitting)".to_string());
    }
    let v: i64 = match text.parse() {
        Ok(v) => v,
        Err(_) => {
            // Accept "1.0" written by some tools, reject anything fractional.
            match text.parse::<f64>() {
                Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
                _ => return Err("is not a non-negative integer".to_string()),
            }
        }
    };
    if v < 0 {
        return Err("is negative".to_string());
    }
    if v >= i64::from(NO_STATE) {
        return Err(format!("is too large (max {})", NO_STATE - 1));
    }
    if let Some(n) = limit
        && v as usize >= n
    {
        return Err(format!("is out of range (must be below {what} = {n})"));
    }
    Ok(v as u32)
}

fn row_error(line: u64, e: csv::Error) -> Error {
    let line = e.position().map_or(line, |p| p.line());
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
        read_csv_from(text.as_bytes(), &CsvOptions::default())
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
            (2, "action".into(), "is not a non-negative integer".into())
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,1\na,1,2,0,-2,1\n")).0,
            3
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1.5,1\n")).2,
            "is not a non-negative integer"
        );
        assert_eq!(field_error(&format!("{HEAD}a,1,1,-1,1,1\n")).1, "state");
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,NaN\n")),
            (2, "reward".into(), "is not finite".into())
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,inf\n")).2,
            "is not finite"
        );
        assert_eq!(
            field_error(&format!("{HEAD}a,1,1,0,1,abc\n")).2,
            "is not a number"
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
        assert_eq!(field_error(&format!("{HEAD}a,1,1,0,,1\n")).1, "action");
        assert_eq!(field_error(&format!("{HEAD}a,1,x,0,1,1\n")).1, "trial");
    }

    #[test]
    fn limits_from_options() {
        let opts = CsvOptions {
            n_actions: Some(2),
            n_states: Some(1),
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
