//! Fuzz target `csv`: `rlgrad::data::read_csv_from` on any bytes with any options.
//!
//! Input layout: byte 0 and byte 1 choose the options (a missing byte counts as 0), the rest
//! is the file.
//!
//! - byte 0, bits 0–1: the delimiter: 0 `,`, 1 `;`, 2 `\t`, 3 `,`; bit 2: the action base
//!   (0 → `ActionBase::Zero`, 1 → `ActionBase::One`); bits 3–7 are ignored.
//! - byte 1, low nibble: `n_actions`; high nibble: `n_states`. A nibble k means: 0 → `None`,
//!   1..=13 → `Some(k - 1)` (0 to 12), 14 → `Some(16384)` (`check::MAX_ACTIONS`),
//!   15 → `Some(usize::MAX)`.
//!
//! So `\x00\x00` is the default options, `\x04\x00` 1-based actions, `\x01\x00` a
//! semicolon-separated file, `\x02\x00` a tab-separated one, `\x00\x33` n_actions = n_states
//! = Some(2).
//!
//! The target panics (and libFuzzer reports a crash) if the reader panics, aborts, or breaks
//! its contract; see README.md for the list of what is asserted.

#![no_main]

use std::fmt;

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rlgrad::Error;
use rlgrad::check::{MAX_ACTIONS, MAX_FLOATS};
use rlgrad::data::{
    ActionBase, CsvOptions, CsvReport, CsvWarning, Dataset, MISSED, NO_STATE, read_csv_from,
};

/// The options and the file, decoded from the fuzzer's bytes.
struct Input {
    options: CsvOptions,
    file: Vec<u8>,
}

/// A nibble of byte 1 as a limit (see the module docs).
fn limit(nibble: u8) -> Option<usize> {
    match nibble & 0x0f {
        0 => None,
        k @ 1..=13 => Some(usize::from(k) - 1),
        14 => Some(MAX_ACTIONS),
        _ => Some(usize::MAX),
    }
}

impl Input {
    fn decode(bytes: &[u8]) -> Self {
        let b0 = bytes.first().copied().unwrap_or(0);
        let b1 = bytes.get(1).copied().unwrap_or(0);
        let delimiter = match b0 & 0b11 {
            1 => b';',
            2 => b'\t',
            _ => b',',
        };
        let action_base = if b0 & 0b100 == 0 {
            ActionBase::Zero
        } else {
            ActionBase::One
        };
        let options = CsvOptions {
            n_actions: limit(b1),
            n_states: limit(b1 >> 4),
            action_base,
            delimiter,
        };
        Input {
            options,
            file: bytes.get(2..).unwrap_or_default().to_vec(),
        }
    }
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.len();
        Ok(Input::decode(u.bytes(n)?))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input::decode(u.take_rest()))
    }
}

/// What `cargo fuzz fmt csv <input>` prints: the options and the file as a byte-string
/// literal, ready to paste into a regression test.
impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file: String = self
            .file
            .iter()
            .flat_map(|&b| std::ascii::escape_default(b))
            .map(char::from)
            .collect();
        writeln!(f, "let options = {:?};", self.options)?;
        write!(f, "let file: &[u8] = b\"{file}\";")
    }
}

/// The lines of the input, without their ends. A line ends at LF, CRLF or a lone CR; text after
/// the last line end is a last line; an input that ends with a line end has no empty line
/// after it (so "" has 0 lines, "a" and "a\n" have 1, "a\n\n" has 2).
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&bytes[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(&bytes[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// The same lines with every line end written as `end`.
fn with_line_ends(bytes: &[u8], end: &[u8]) -> Vec<u8> {
    let ends_with_end = matches!(bytes.last(), Some(b'\n' | b'\r'));
    let lines = lines(bytes);
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for (k, line) in lines.iter().enumerate() {
        out.extend_from_slice(line);
        if k + 1 < lines.len() || ends_with_end {
            out.extend_from_slice(end);
        }
    }
    out
}

/// The contract on success.
fn check_ok(data: &Dataset, report: &CsvReport, options: &CsvOptions, n_lines: usize) {
    assert!(!data.is_empty(), "a dataset without subjects");
    let n_actions = data.n_actions();
    let n_states = data.n_states();
    assert!(
        (1..=MAX_ACTIONS).contains(&n_actions),
        "n_actions() = {n_actions}"
    );
    assert!(
        (1..=MAX_FLOATS).contains(&n_states),
        "n_states() = {n_states}"
    );
    if let Some(n) = options.n_actions {
        assert!(
            n_actions <= n,
            "n_actions() = {n_actions} > the option's {n}"
        );
    }
    if let Some(n) = options.n_states {
        assert!(n_states <= n, "n_states() = {n_states} > the option's {n}");
    }
    assert_eq!(
        report.rows,
        data.n_trials(),
        "report.rows vs the trials read"
    );
    assert_eq!(
        report.missed,
        data.n_missed(),
        "report.missed vs the missed trials read"
    );
    // The header takes a line and every row at least one more.
    assert!(
        report.rows < n_lines,
        "{} rows from {n_lines} lines",
        report.rows
    );

    let mut ids: Vec<&str> = Vec::new();
    let mut lowest_action = u32::MAX;
    for subject in data.subjects() {
        assert!(!subject.id().is_empty(), "an empty subject id");
        ids.push(subject.id());
        assert!(!subject.sessions().is_empty(), "subject without sessions");
        assert!(subject.n_choices() > 0, "a subject without a choice");
        if let Err(e) = subject.check_shape(n_states, n_actions) {
            panic!("the data does not fit its own n_states/n_actions: {e}");
        }
        for s in subject.sessions() {
            let n = s.len();
            assert!(n > 0, "an empty session");
            assert_eq!(s.actions().len(), n);
            assert_eq!(s.states().len(), n);
            assert_eq!(s.rewards().len(), n);
            for (t, &r) in s.rewards().iter().enumerate() {
                assert!(r.is_finite(), "reward {r} at trial {t}");
            }
            // A missed trial (no response) is the sentinel, outside every bound.
            for &a in s.actions().iter().filter(|&&a| a != MISSED) {
                assert!(
                    (a as usize) < n_actions,
                    "action {a} ≥ n_actions() {n_actions}"
                );
                lowest_action = lowest_action.min(a);
            }
            for &x in s.states() {
                assert!((x as usize) < n_states, "state {x} ≥ n_states() {n_states}");
            }
            if let Some(next) = s.next_states() {
                assert_eq!(next.len(), n);
                for &x in next {
                    assert!(
                        x == NO_STATE || (x as usize) < n_states,
                        "next state {x} ≥ n_states() {n_states}"
                    );
                }
            }
            assert_eq!(s.trials().count(), n);
        }
    }
    ids.sort_unstable();
    assert!(ids.windows(2).all(|w| w[0] != w[1]), "a subject id twice");

    // The 1-based warning: exactly when read 0-based and action 0 never occurs.
    let warned: Vec<u32> = report
        .warnings
        .iter()
        .filter_map(|w| match w {
            CsvWarning::NoActionZero { lowest } => Some(*lowest),
            _ => None,
        })
        .collect();
    match options.action_base {
        ActionBase::Zero if lowest_action > 0 => {
            assert_eq!(warned, [lowest_action], "the NoActionZero warning")
        }
        _ => assert!(warned.is_empty(), "NoActionZero warning {warned:?}"),
    }
    let _ = report.to_string();
}

/// The contract on failure: a documented variant, and the line of a row or of the header is a
/// real, non-blank line.
fn check_err(e: &Error, options: &CsvOptions, all_lines: &[&[u8]]) {
    let _ = e.to_string();
    let line = match e {
        Error::CsvRow { line, .. }
        | Error::CsvField { line, .. }
        | Error::CsvHeader { line, .. } => *line,
        Error::EmptyData { .. } => return,
        // A limit of 0 admits no action or state: the option itself is refused, by name.
        Error::InvalidOption { name, .. }
            if (name == "n_actions" && options.n_actions == Some(0))
                || (name == "n_states" && options.n_states == Some(0)) =>
        {
            return;
        }
        other => panic!("an error read_csv_from does not document: {other:?}"),
    };
    let n_lines = all_lines.len();
    assert!(
        line >= 1 && line <= n_lines as u64,
        "error line {line} outside 1..={n_lines}: {e}"
    );
    let text = all_lines[line as usize - 1];
    assert!(
        !text.is_empty(),
        "error at line {line}, which is blank: {e}"
    );
}

fn read(file: &[u8], options: &CsvOptions) -> rlgrad::Result<(Dataset, CsvReport)> {
    read_csv_from(file, options)
}

fuzz_target!(|input: Input| {
    let Input { options, file } = input;
    let all_lines = lines(&file);
    let result = read(&file, &options);
    match &result {
        Ok((data, report)) => check_ok(data, report, &options, all_lines.len()),
        Err(e) => check_err(e, &options, &all_lines),
    }

    // Line ends do not matter: without quotes (so that no field can hold a line end), the same
    // lines ended by LF, by CRLF or by CR read the same, to the message and its line number.
    if !file.contains(&b'"') {
        for end in [&b"\n"[..], b"\r\n", b"\r"] {
            let other = with_line_ends(&file, end);
            if other == file {
                continue;
            }
            let again = read(&other, &options);
            match (&result, &again) {
                (Ok(a), Ok(b)) => assert!(a == b, "{end:?} line ends read differently"),
                (Err(a), Err(b)) => assert_eq!(
                    a.to_string(),
                    b.to_string(),
                    "{end:?} line ends give another error"
                ),
                (a, b) => panic!(
                    "{end:?} line ends change the outcome: {:?} vs {:?}",
                    a.as_ref().err(),
                    b.as_ref().err()
                ),
            }
        }
    }
});
