//! What the subcommands share: exit statuses and failures, the data options and reading,
//! `--model` over the library's menu (`rlgrad::menu`), the prior, the fitting options, MAP
//! fits with a progress bar, output files, the progress bar, numbers in CSV.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand_chacha::ChaCha8Rng;
use rlgrad::data::{ActionBase, CsvOptions, Dataset, read_csv};
use rlgrad::fit::{
    Covariance, EmOptions, FitModel, MapOptions, Simulate, SubjectFit, map_with_progress,
};
use rlgrad::menu::{MenuModel, ModelName, Table};
use rlgrad::prior::MvGaussian;

use crate::io::{OutputFile, Stream, same_file};

/// Exit status: the work failed (a fit, an output file, stdout).
pub const FAILED: u8 = 1;
/// Exit status: bad arguments or bad data.
pub const BAD: u8 = 2;

/// Why a subcommand stopped.
#[derive(Debug)]
pub enum Failure {
    /// A bad command line (status 2).
    Usage(String),
    /// Input data that cannot be read or are malformed (status 2).
    Data(String),
    /// The work or an output failed (status 1).
    Failed(String),
}

impl Failure {
    /// The message for stderr.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Data(m) | Failure::Failed(m) => m,
        }
    }

    /// The exit status.
    pub fn status(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Data(_) => BAD,
            Failure::Failed(_) => FAILED,
        }
    }
}

/// A library error in the work itself (status 1).
pub fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

/// Result of a subcommand.
pub type Outcome = Result<(), Failure>;

/// The field separator of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Delimiter {
    /// `,`
    #[value(name = ",", alias = "comma")]
    Comma,
    /// `;`
    #[value(name = ";", alias = "semicolon")]
    Semicolon,
    /// a tab
    #[value(name = "tab", alias = "\\t", alias = "\t")]
    Tab,
}

impl Delimiter {
    fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }
}

/// The data file and how to read it.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// The long-format CSV file: one row per trial, columns subject, trial, action, reward
    /// (optional: session, state, next_state; others are ignored).
    #[arg(value_name = "DATA.csv")]
    pub data: PathBuf,

    /// The field separator.
    #[arg(long, value_enum, default_value = ",", value_name = "C")]
    pub delimiter: Delimiter,

    /// The file's first action: 0, or 1 for files that count actions from 1 (Matlab, R,
    /// hBayesDM).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1), value_name = "0|1")]
    pub action_base: u32,

    /// The number of states of the model (default: the highest state in the data + 1). A
    /// state at or above it is refused at its line.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub states: Option<u64>,

    /// The number of actions of the model (default: the highest action in the data + 1, at
    /// least 2). An action at or above it is refused at its line.
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..), value_name = "N")]
    pub actions: Option<u64>,
}

/// The data, with the table size of the model to fit.
pub struct Data {
    pub data: Dataset,
    pub n_states: usize,
    pub n_actions: usize,
}

impl DataArgs {
    /// Reads the data file; warnings go to stderr. A file that cannot be read or is
    /// malformed is [`Failure::Data`], with the library's message (line, column, value).
    pub fn read(&self, err: &mut Stream<impl Write>) -> Result<Data, Failure> {
        let options = CsvOptions {
            action_base: if self.action_base == 1 {
                ActionBase::One
            } else {
                ActionBase::Zero
            },
            delimiter: self.delimiter.byte(),
            n_states: self.states.map(|n| n as usize),
            n_actions: self.actions.map(|n| n as usize),
        };
        let (data, report) = read_csv(&self.data, &options).map_err(|e| match e {
            // The I/O error already names the file.
            rlgrad::Error::Io { .. } => Failure::Data(e.to_string()),
            _ => Failure::Data(format!("{}: {e}", self.data.display())),
        })?;
        for warning in &report.warnings {
            writeln!(err, "rlgrad: warning: {}: {warning}", self.data.display());
        }
        let n_states = self.states.map_or(data.n_states().max(1), |n| n as usize);
        let n_actions = self.actions.map_or(data.n_actions().max(2), |n| n as usize);
        Ok(Data {
            data,
            n_states,
            n_actions,
        })
    }

    /// A one-line description for stdout, and a second line with the number of missed
    /// trials (no response) if there are any.
    pub fn describe(&self, d: &Data) -> String {
        let missed = match d.data.n_missed() {
            0 => String::new(),
            n => format!(
                "\nmissed: {n} trial(s) without a response (empty or NA action), kept: they add \
                 nothing to the likelihood"
            ),
        };
        format!(
            "data:  {} ({} subjects, {} trials, {} state(s), {} actions{}){missed}",
            self.data.display(),
            d.data.len(),
            d.data.n_trials(),
            d.n_states,
            d.n_actions,
            if self.action_base == 1 {
                ", read 1-based"
            } else {
                ""
            }
        )
    }
}

impl DataArgs {
    /// The model `name` for the data's table, checked to explain every subject: a task model
    /// checks its task's layout (the two-step task's stage rows, its states and actions). A
    /// subject it cannot explain is [`Failure::Data`], naming the file, and the line and
    /// column of the row at fault when the library's error names a trial.
    pub fn model(&self, d: &Data, name: ModelName) -> Result<MenuModel, Failure> {
        let built = build(
            name,
            &Table {
                n_states: d.n_states,
                n_actions: d.n_actions,
                bandit: None,
            },
        )?;
        rlgrad::fit::check_explains(built.model(), &d.data)
            .map_err(|e| Failure::Data(self.locate(&e, name.name())))?;
        Ok(built)
    }

    /// The message for an error of `model` on the data: with the line of the row at fault
    /// for an [`rlgrad::Error::InvalidTrial`] (found by reading the file again), else the
    /// library's message after the file's name.
    fn locate(&self, e: &rlgrad::Error, model: &str) -> String {
        let shown = self.data.display();
        let plain = format!("{shown}: model {model}: {e}");
        let rlgrad::Error::InvalidTrial {
            subject,
            session,
            trial,
            field,
            value,
            reason,
        } = e
        else {
            return plain;
        };
        let Some((line, has_session)) = self.line_of_row(subject, session, *trial) else {
            return plain;
        };
        let session = if has_session {
            format!(", session `{session}`")
        } else {
            String::new()
        };
        format!(
            "{shown}, line {line}, column `{field}`: value `{value}`: {reason} (subject \
             `{subject}`{session}; model {model})"
        )
    }

    /// The line of row `index` (0-based, in file order) of a subject's session, and whether
    /// the file has a `session` column (without one, every row is session "0", as the
    /// reader has it). `None` if the file cannot be read again or has no such row.
    fn line_of_row(&self, subject: &str, session: &str, index: usize) -> Option<(u64, bool)> {
        let bytes = std::fs::read(&self.data).ok()?;
        let lines = rlgrad::data::Lines::new(&bytes);
        // As the data reader parses: trimmed fields, the same separator.
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .delimiter(self.delimiter.byte())
            .from_reader(bytes.as_slice());
        let header = reader.headers().ok()?.clone();
        let column = |name: &str| header.iter().position(|h| h == name);
        let subject_col = column("subject")?;
        let session_col = column("session");
        let mut seen = 0;
        for record in reader.records() {
            let record = record.ok()?;
            let in_session = session_col.map_or("0", |c| record.get(c).unwrap_or_default());
            if record.get(subject_col) == Some(subject) && in_session == session {
                if seen == index {
                    let line = lines.line_of_record(record.position()?.byte());
                    return Some((line, session_col.is_some()));
                }
                seen += 1;
            }
        }
        None
    }
}

/// A model of the menu ([`rlgrad::menu::ModelName`]) as `--model` takes it: the library's
/// names and descriptions make its possible values, its help and the error for a bad name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelArg(pub ModelName);

/// Every model, in the menu's order (what [`ValueEnum::value_variants`] lends out).
const MODEL_ARGS: [ModelArg; ModelName::ALL.len()] = {
    let mut args = [ModelArg(ModelName::Rw); ModelName::ALL.len()];
    let mut i = 0;
    while i < args.len() {
        args[i] = ModelArg(ModelName::ALL[i]);
        i += 1;
    }
    args
};

impl ValueEnum for ModelArg {
    fn value_variants<'a>() -> &'a [Self] {
        &MODEL_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.description()))
    }
}

/// The value parser of `--model`: a [`ModelName`], with the menu as possible values.
pub fn model_parser() -> impl TypedValueParser<Value = ModelName> {
    EnumValueParser::<ModelArg>::new().map(|arg| arg.0)
}

/// The model `name` for `table`; a model the table does not fit is [`Failure::Usage`].
pub fn build(name: ModelName, table: &Table) -> Result<MenuModel, Failure> {
    name.build(table)
        .map_err(|e| Failure::Usage(format!("--model {name}: {e}")))
}

/// The model simulating `n_trials` trials per subject ([`MenuModel::simulator`]); an error
/// is [`Failure::Usage`].
pub fn simulator(built: MenuModel, n_trials: usize) -> Result<Box<dyn Simulate>, Failure> {
    built
        .simulator(n_trials)
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// The MAP prior: isotropic N(0, v·I) on θ when `variance` is given, else the weakly
/// informative default ([`prior_help`](rlgrad::menu::prior_help): one independent normal per
/// parameter, by name).
pub fn prior(
    model: ModelName,
    names: &[String],
    variance: Option<f64>,
) -> Result<MvGaussian, Failure> {
    if let Some(v) = variance {
        return MvGaussian::isotropic(names.len(), 0.0, v)
            .map_err(|e| Failure::Usage(format!("--prior-variance: {e}")));
    }
    model.default_prior(names).map_err(failed)
}

/// MAP options with `starts` optimiser starts per subject (the rest the library's defaults).
pub fn map_options(starts: u64) -> MapOptions {
    MapOptions {
        n_starts: starts as usize,
        ..MapOptions::default()
    }
}

/// EM options: `starts` optimiser starts per subject in the first E-step, the group
/// covariance, at most `max_iterations` iterations (the rest the library's defaults).
pub fn em_options(starts: u64, covariance: Covariance, max_iterations: u64) -> EmOptions {
    EmOptions {
        map: map_options(starts),
        covariance,
        max_iterations: max_iterations as usize,
        ..EmOptions::default()
    }
}

/// Fits every subject by MAP under `prior`, with a progress bar per subject on stderr
/// (see [`progress`]).
pub fn fit_map(
    model: &dyn FitModel,
    data: &Dataset,
    prior: &MvGaussian,
    options: &MapOptions,
    rng: &mut ChaCha8Rng,
    quiet: bool,
) -> Result<Vec<SubjectFit>, Failure> {
    let bar = progress(
        Some(data.len() as u64),
        quiet,
        "fitting [{bar:40}] {pos}/{len} subjects ({elapsed}, eta {eta}) {msg}",
    );
    let fits = map_with_progress(model, data, prior, options, rng, |fit| {
        bar.set_message(fit.subject().to_string());
        bar.inc(1);
    })
    .map_err(failed)?;
    bar.finish_and_clear();
    Ok(fits)
}

/// A positive, finite number (clap value parser).
pub fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a positive number, got `{s}`")),
    }
}

/// Checks the output paths before any work: none may name an input file or another
/// output, and each must be writable. `outputs` pairs each path with its option's name.
pub fn check_outputs(
    inputs: &[&Path],
    outputs: &[(&str, Option<&Path>)],
) -> Result<Vec<Option<OutputFile>>, Failure> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, p)| p.map(|p| (flag, p)))
        .collect();
    for (i, &(flag, path)) in given.iter().enumerate() {
        for input in inputs {
            if same_file(input, path) {
                return Err(Failure::Usage(format!(
                    "`{flag} {}` is the input file {}: refusing to write over an input",
                    path.display(),
                    input.display()
                )));
            }
        }
        for &(other_flag, other) in &given[..i] {
            if same_file(other, path) {
                return Err(Failure::Usage(format!(
                    "`{other_flag}` and `{flag}` both name {}",
                    path.display()
                )));
            }
        }
    }
    outputs
        .iter()
        .map(|&(_, p)| {
            p.map(OutputFile::check)
                .transpose()
                .map_err(Failure::Failed)
        })
        .collect()
}

/// Writes an output file atomically (status 1 on failure).
pub fn write_file<E: std::fmt::Display>(
    file: &OutputFile,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), E>,
) -> Outcome {
    file.write(fill).map_err(Failure::Failed)
}

/// Tells on stdout which output files were written: `what` names each of `files` (the
/// result of [`check_outputs`]) in order; files not asked for are skipped.
pub fn report_written(out: &mut Stream<impl Write>, files: &[Option<OutputFile>], what: &[&str]) {
    for (file, what) in files.iter().zip(what) {
        if let Some(file) = file {
            writeln!(out, "wrote the {what} to {}", file.path().display());
        }
    }
}

/// A progress bar on stderr: hidden with `quiet` or when stderr is not a terminal. With
/// `len` = None, a spinner.
pub fn progress(len: Option<u64>, quiet: bool, template: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => {
            let b = ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(120));
            b
        }
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A number for CSV: the shortest text that reads back to the same `f64` (`{:?}`, which
/// switches to exponent notation for very small or large numbers).
pub fn number(v: f64) -> String {
    format!("{v:?}")
}

/// A number for a table: fixed-point with `decimals`, or scientific when that would be
/// very long or show only zeros.
pub fn short(v: f64, decimals: usize) -> String {
    let a = v.abs();
    if v != 0.0 && a.is_finite() && !(1e-3..1e7).contains(&a) {
        format!("{v:.decimals$e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// Options every subcommand has.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Seed for every random choice (optimiser starts, simulation, iBIC draws).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_takes_the_menus_names() {
        let parser = clap::Command::new("t").arg(
            clap::Arg::new("model")
                .long("model")
                .value_parser(model_parser()),
        );
        for name in ModelName::ALL {
            let m = parser
                .clone()
                .try_get_matches_from(["t", "--model", name.name()])
                .unwrap();
            assert_eq!(m.get_one::<ModelName>("model"), Some(&name));
        }
        assert!(
            parser
                .try_get_matches_from(["t", "--model", "rw3"])
                .is_err()
        );
    }
}
