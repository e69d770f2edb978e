//! Messy real-world CSV files: every line end (LF, CRLF from Excel and E-Prime, CR-only from
//! old Macs), blank lines, semicolon- and tab-separated exports, duplicated columns, 1-based
//! actions (Matlab, R, hBayesDM), typo'd huge indices, and paths that are not files. Every
//! message about a row names its exact line.

use rlgrad::Error;
use rlgrad::data::{ActionBase, CsvOptions, CsvWarning, Dataset, read_csv, read_csv_from};

const ROWS: [&str; 4] = [
    "subject,trial,action,reward",
    "s,1,0,1",
    "s,2,1,0",
    "s,3,x,1", // the bad row: line 4 of the file when nothing else intervenes
];

fn read_text(text: &str) -> rlgrad::Result<Dataset> {
    read_csv_from(text.as_bytes(), &CsvOptions::default()).map(|(d, _)| d)
}

fn field_line(text: &str) -> u64 {
    match read_text(text) {
        Err(Error::CsvField { line, column, .. }) => {
            assert_eq!(column, "action", "{text:?}");
            line
        }
        other => panic!("expected a field error for {text:?}, got {other:?}"),
    }
}

/// The same file with each line end, and with blank lines before the bad row: the reported
/// line is the one a text editor shows.
#[test]
fn line_numbers_are_exact_for_every_line_end() {
    for end in ["\n", "\r\n", "\r"] {
        let plain = ROWS.join(end) + end;
        assert_eq!(field_line(&plain), 4, "line end {end:?}");
        // Two blank lines before the bad row: it is on line 6.
        let blank = format!(
            "{}{end}{}{end}{}{end}{end}{end}{}{end}",
            ROWS[0], ROWS[1], ROWS[2], ROWS[3]
        );
        assert_eq!(field_line(&blank), 6, "blank lines, line end {end:?}");
        // No line end after the last row.
        assert_eq!(field_line(&ROWS.join(end)), 4, "no final line end {end:?}");
    }
    // Blank lines at the very start: the header is on line 3, the bad row on line 6.
    let text = format!("\r\n\r\n{}\r\n", ROWS.join("\r\n"));
    assert_eq!(field_line(&text), 6);
    // Row-level errors too: a short row after a blank line, in a CRLF file.
    let text = "subject,trial,action,reward\r\ns,1,0,1\r\n\r\ns,2,1\r\n";
    match read_text(text) {
        Err(Error::CsvRow { line, .. }) => assert_eq!(line, 4),
        other => panic!("expected a row error, got {other:?}"),
    }
    // A trial that goes backwards names both lines exactly.
    let text = "subject,trial,action,reward\r\ns,2,0,1\r\n\r\ns,1,1,0\r\n";
    match read_text(text) {
        Err(Error::CsvField { line, reason, .. }) => {
            assert_eq!(line, 4);
            assert!(reason.contains("on line 2"), "{reason}");
        }
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_header_of_one_column_names_the_delimiter_option() {
    for (sep, shown) in [(";", ";"), ("\t", "\\t")] {
        let text = ROWS[..3].join("\n").replace(',', sep);
        let err = read_text(&text).unwrap_err();
        assert!(matches!(err, Error::CsvHeader { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("separated by `{shown}`")) && msg.contains("delimiter"),
            "{msg}"
        );
        // With the delimiter set, the file reads.
        let options = CsvOptions {
            delimiter: sep.as_bytes()[0],
            ..CsvOptions::default()
        };
        let (data, _) = read_csv_from(text.as_bytes(), &options).unwrap();
        assert_eq!(data.n_trials(), 2);
    }
}

#[test]
fn a_duplicated_column_is_refused() {
    let err = read_text("subject,trial,action,reward,action\ns,1,0,1,1\n").unwrap_err();
    assert!(matches!(err, Error::CsvHeader { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("column `action` appears twice (columns 3 and 5)"),
        "{err}"
    );
}

/// A header below blank lines is reported at its own line, with every line end.
#[test]
fn a_header_error_names_the_header_line() {
    for end in ["\n", "\r\n", "\r"] {
        // Found with the fuzz target's help: the message used to say line 1 always.
        let text = format!("{end}{end}subject,trial,action{end}a,1,0{end}");
        match read_text(&text) {
            Err(Error::CsvHeader { line, reason }) => {
                assert_eq!(line, 3, "{end:?}: {reason}");
                assert!(
                    reason.contains("missing required column `reward`"),
                    "{reason}"
                );
            }
            other => panic!("{end:?}: expected a header error, got {other:?}"),
        }
    }
    let err = read_text("subject,trial,action,reward,action\ns,1,0,1,1\n").unwrap_err();
    assert!(
        err.to_string().starts_with("csv header (line 1): "),
        "{err}"
    );
}

/// A file whose actions count from 1: read as 0-based it would be a model with an arm that is
/// never chosen (biased α and β), so the report warns and names the option; read with the
/// base 1 it is the same data as its 0-based twin.
#[test]
fn one_based_actions_warn_and_read_with_the_base() {
    let zero = "subject,trial,action,reward\ns,1,0,1\ns,2,1,0\nt,1,1,1\n";
    let one = "subject,trial,action,reward\ns,1,1,1\ns,2,2,0\nt,1,2,1\n";
    let (d0, r0) = read_csv_from(zero.as_bytes(), &CsvOptions::default()).unwrap();
    assert!(r0.warnings.is_empty());
    let (wide, report) = read_csv_from(one.as_bytes(), &CsvOptions::default()).unwrap();
    assert_eq!(wide.n_actions(), 3);
    assert_eq!(report.warnings, [CsvWarning::NoActionZero { lowest: 1 }]);
    let text = report.to_string();
    assert!(
        text.contains("ActionBase::One") && text.contains("--action-base 1"),
        "{text}"
    );
    let based = CsvOptions {
        action_base: ActionBase::One,
        ..CsvOptions::default()
    };
    let (d1, r1) = read_csv_from(one.as_bytes(), &based).unwrap();
    assert!(r1.warnings.is_empty());
    assert_eq!(d1, d0);
    // A 0 in a file read with base 1 is an error at its line.
    let err = read_csv_from(zero.as_bytes(), &based).unwrap_err();
    assert!(
        matches!(&err, Error::CsvField { line: 2, column, reason, .. }
            if column == "action" && reason.contains("below the action base 1")),
        "{err:?}"
    );
}

/// A typo'd action or state would size a model by it (an action of 1000000 makes a
/// 1000001-action model): refused at its line, with the cap named.
#[test]
fn indices_too_large_for_any_model_are_refused_at_their_line() {
    let err = read_text("subject,trial,action,reward\ns,1,0,1\ns,2,1000000,0\n").unwrap_err();
    assert!(
        matches!(&err, Error::CsvField { line: 3, column, reason, .. }
            if column == "action" && reason.contains("at most 16384 actions")
                && reason.ends_with("(subject `s`, trial 2)")),
        "{err:?}"
    );
    let text = "subject,trial,state,action,reward\ns,1,2000000000,0,1\n";
    let err = read_text(text).unwrap_err();
    assert!(
        matches!(&err, Error::CsvField { line: 2, column, .. } if column == "state"),
        "{err:?}"
    );
    // The largest action a model can have is accepted.
    let (d, _) = read_csv_from(
        "subject,trial,action,reward\ns,1,16383,0\n".as_bytes(),
        &CsvOptions::default(),
    )
    .unwrap();
    assert_eq!(d.n_actions(), 16384);
}

#[test]
fn paths_that_are_not_files_are_named() {
    let dir = std::env::temp_dir();
    let err = read_csv(&dir, &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    let missing = dir.join("rlgrad-no-such-file.csv");
    let err = read_csv(&missing, &CsvOptions::default()).unwrap_err();
    assert!(err.to_string().contains("rlgrad-no-such-file.csv"), "{err}");
}

#[test]
fn options_no_file_can_satisfy_are_refused() {
    // Found by the fuzz target `csv` (fuzz/regressions/csv/n_states_zero_*): with
    // n_states = Some(0) a file without a state column read to one state, above the limit.
    let file: &[u8] = b"subject,trial,action,reward,next_state\ns,1,0,1,\n";
    for (name, options) in [
        (
            "n_states",
            CsvOptions {
                n_states: Some(0),
                ..CsvOptions::default()
            },
        ),
        (
            "n_actions",
            CsvOptions {
                n_actions: Some(0),
                ..CsvOptions::default()
            },
        ),
        (
            "delimiter",
            CsvOptions {
                delimiter: b'"',
                ..CsvOptions::default()
            },
        ),
        (
            "delimiter",
            CsvOptions {
                delimiter: b'\n',
                ..CsvOptions::default()
            },
        ),
    ] {
        let err = read_csv_from(file, &options).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { name: ref n, .. } if n == name),
            "{options:?}: {err}"
        );
    }
    // A limit of 1 is a real limit: one state, the file's.
    let one = CsvOptions {
        n_states: Some(1),
        ..CsvOptions::default()
    };
    assert_eq!(read_csv_from(file, &one).unwrap().0.n_states(), 1);
}
