//! Fits a Rescorla–Wagner + softmax model by MAP to every subject of a long-format CSV file.
//!
//! Run:
//!
//! ```text
//! cargo run --release --example fit_csv -- examples/data/choices.csv --out /tmp/fits.csv
//! cargo run --release --example fit_csv -- data.csv [--out fits.csv] [--model rw|rw-dual]
//!     [--perseveration] [--starts N] [--seed S] [--action-base 0|1] [--delimiter C]
//! cargo run --release --example fit_csv -- --help
//! ```
//!
//! # Input
//!
//! One row per trial, with a header. Required columns: `subject`, `trial`, `action`,
//! `reward`; optional: `session` (values reset at the start of each session), `state`,
//! `next_state`; other columns are ignored. See `rlgrad::data::read_csv`. States are 0-based
//! integers; actions are 0-based unless `--action-base 1` says the file counts them from 1 (as
//! Matlab, R and hBayesDM's files do). A file whose lowest action is above 0 gets a warning
//! on stderr: read as 0-based, it would be fitted with an arm that is never chosen. Fields
//! are separated by commas unless `--delimiter` says otherwise (`;`, or a tab: `'\t'` or
//! `tab`). The numbers of states and actions are inferred from the data (at least two
//! actions). A malformed file is reported with its line and column, and the program exits
//! with status 1.
//!
//! # Model
//!
//! - `--model rw` (default): one learning rate `alpha`; `--model rw-dual`: `alpha_pos` for
//!   positive and `alpha_neg` for negative prediction errors. Initial values are 0.
//! - Softmax choice with inverse temperature `beta`; `--perseveration` adds `kappa`, a bonus
//!   to the logit of the previous trial's action (within a session).
//!
//! # Prior
//!
//! A weakly informative, independent Gaussian prior on the unconstrained parameters θ:
//!
//! | parameter | θ | prior on θ | central 95% range of the parameter |
//! |---|---|---|---|
//! | `alpha`, `alpha_pos`, `alpha_neg` | logit(alpha) | N(0, 1.5²) | (0.05, 0.95) |
//! | `beta` | log(beta) | N(1, 1²) | (0.38, 19) |
//! | `kappa` | kappa | N(0, 1²) | (−2, 2) |
//!
//! Each subject is fitted separately (in parallel) by L-BFGS from the prior mean and
//! `--starts − 1` further starts drawn from the prior (default 3 starts in all, seeded by
//! `--seed`, default 0). Standard errors come from the exact Hessian of the log posterior at
//! the optimum (Laplace approximation), mapped to the natural scale by the delta method; when
//! that Hessian is not positive definite it is repaired and the subject is flagged.
//!
//! A parameter is *weakly identified* when the data less than halved the prior's variance of
//! its θ, or when its 95% interval covers half of its natural range or more (for `alpha*`,
//! whose range is (0, 1)): its estimate then says more about the prior than about the subject
//! (see `rlgrad::fit::Identification`). Report it as such, or fix it at a group value.
//!
//! # Output
//!
//! A progress bar on stderr (when stderr is a terminal), and warnings about the data on
//! stderr, prefixed with the file name.
//!
//! With `--out FILE`, the results file is written first (see below); then on stdout, a table
//! with one row per subject (each parameter with its standard error, a `*` after those that
//! are weakly identified, explained under the table; log-likelihood, log-posterior,
//! convergence, a note when the Hessian was repaired), then the subjects whose fit failed,
//! with the reason. When stdout is closed early (`fit_csv data.csv | head -2`), the rest of
//! the table is dropped quietly: the fits still run, the results file is still written, and
//! the exit status is 0.
//!
//! # The results file (`--out FILE`)
//!
//! A CSV with a header and one row per subject, in the order of the data:
//!
//! | column | meaning |
//! |---|---|
//! | `subject` | the subject's id |
//! | `<param>` | the MAP estimate of each parameter, natural scale (`alpha`, `beta`, …) |
//! | `<param>_se` | its standard error (Laplace, delta method); after each `<param>` |
//! | `log_likelihood` | log p(choices \| θ̂) |
//! | `log_posterior` | log p(choices \| θ̂) + log p(θ̂) |
//! | `converged` | `true` when the best start's gradient norm met the convergence test |
//! | `hessian_repaired` | `true` when the Hessian was not positive definite and was repaired: standard errors unreliable |
//! | `error` | why the fit failed; empty for a subject that was fitted |
//! | `n_trials` | the subject's number of trials, over all sessions |
//! | `bic` | −2 log p(choices \| θ̂) + K ln(n_trials), K the number of parameters |
//! | `aic` | −2 log p(choices \| θ̂) + 2K |
//! | `grad_norm` | ‖∇ log posterior‖ at θ̂ |
//! | `iterations` | L-BFGS iterations of the best start |
//! | `stop_reason` | why the best start's optimiser stopped |
//! | `<param>_weak` | `true` when the parameter is weakly identified (above), else `false`; one column per parameter, in parameter order, after `stop_reason` |
//!
//! Numbers are written with the shortest text that reads back to the same `f64`. A failed
//! subject has `converged = false`, the reason in `error`, its `n_trials`, and every other
//! field empty.
//!
//! The file is written atomically: into a temporary file in the same directory, then renamed
//! over `FILE`, so that an interrupted run or an error never leaves half a file, and an
//! existing `FILE` is untouched until the rename. `FILE` is checked before the data are read
//! (its directory must exist and be writable; it must not be a directory), so a bad path fails
//! at once, and it must not be the input file.
//!
//! # Exit status
//!
//! 0 when the fits ran (even if some subjects failed: see the table; also when stdout was
//! closed early), 1 when the data could not be read or the output not written (the results
//! file, or stdout for a reason other than a closed pipe), 2 for bad arguments (an unknown
//! option, a bad value, a missing data file, `--out` naming the input file).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::Model;
use rlgrad::data::{ActionBase, CsvOptions, Dataset, read_csv};
use rlgrad::fit::{MapFit, MapOptions, SubjectFit, map_with_progress};
use rlgrad::learning::RescorlaWagner;
use rlgrad::observation::Softmax;
use rlgrad::prior::MvGaussian;

#[path = "common/cli.rs"]
mod cli;

use cli::{BAD_ARGUMENTS, FAILED, OutputFile, Stream};

const USAGE: &str = "\
Fit Rescorla-Wagner + softmax by MAP to every subject of a long-format CSV file.

usage: fit_csv DATA.csv [--out FITS.csv] [--model rw|rw-dual] [--perseveration]
               [--starts N] [--seed S] [--action-base 0|1] [--delimiter C]

  DATA.csv          one row per trial; columns subject, trial, action, reward
                    (optional: session, state, next_state; others are ignored)
  --out FILE        also write one row per subject to FILE (CSV), atomically,
                    before the table is printed; FILE must not be DATA.csv
  --model rw        one learning rate `alpha` (default)
  --model rw-dual   learning rates `alpha_pos` and `alpha_neg`
  --perseveration   add a perseveration bonus `kappa` to the softmax
  --starts N        optimiser starts per subject, N >= 1 (default 3)
  --seed S          seed for the random starts (default 0)
  --action-base B   the file's first action: 0 (default) or 1 (Matlab, R, hBayesDM)
  --delimiter C     field separator: , (default), ; or a tab (\\t or tab)
  -h, --help        print this help

Prior (on the unconstrained scale): logit(alpha*) ~ N(0, 1.5^2), log(beta) ~ N(1, 1),
kappa ~ N(0, 1).
FILE columns: subject, <param>, <param>_se ..., log_likelihood, log_posterior, converged,
hessian_repaired, error, n_trials, bic, aic, grad_norm, iterations, stop_reason,
<param>_weak ... (true when the data less than halved the prior's variance, or the 95%
interval covers half the parameter's range or more).
Exit status: 0 fitted, 1 data or output error, 2 bad arguments.";

/// The footnote under the table for weakly identified parameters.
const WEAK_NOTE: &str = "* weakly identified: the data less than halved the prior's variance, \
                         or the 95% interval covers half the range or more";

/// Which learning rule to fit.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    Single,
    Dual,
}

/// Parsed command line.
#[derive(Debug)]
struct Args {
    data: PathBuf,
    out: Option<PathBuf>,
    rule: Rule,
    perseveration: bool,
    starts: usize,
    seed: u64,
    action_base: ActionBase,
    delimiter: u8,
}

/// What the command line asks for.
enum Command {
    Help,
    Fit(Args),
}

fn main() -> ExitCode {
    let mut out = cli::stdout();
    let mut err = cli::stderr();
    let status = match parse_args(std::env::args_os().skip(1)) {
        Err(message) => cli::usage_error("fit_csv", &message, &mut err),
        Ok(Command::Help) => {
            writeln!(out, "{USAGE}");
            0
        }
        Ok(Command::Fit(args)) => match &args.out {
            Some(path) if cli::same_file(&args.data, path) => {
                writeln!(
                    err,
                    "fit_csv: `--out {}` is the input file {}: refusing to write the fits over \
                     the data",
                    path.display(),
                    args.data.display()
                );
                BAD_ARGUMENTS
            }
            _ => match run(&args, &mut out, &mut err) {
                Ok(()) => 0,
                Err(e) => {
                    writeln!(err, "fit_csv: error: {e}");
                    FAILED
                }
            },
        },
    };
    cli::finish("fit_csv", status, &mut out, &mut err)
}

/// Parses the arguments after the program name. `Err` is a message for the user.
fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let args: Vec<OsString> = args.into_iter().collect();
    if cli::asks_for_help(&args) {
        return Ok(Command::Help);
    }

    let mut data: Option<PathBuf> = None;
    let mut out = None;
    let mut rule = Rule::Single;
    let mut perseveration = false;
    let mut starts = 3;
    let mut seed = 0;
    let mut action_base = ActionBase::Zero;
    let mut delimiter = b',';

    let mut args = args.into_iter();
    let mut options_done = false;
    while let Some(arg) = args.next() {
        if options_done {
            set_data(&mut data, PathBuf::from(arg))?;
            continue;
        }
        let Some(text) = arg.to_str() else {
            // Not UTF-8: it can only be the data file.
            set_data(&mut data, PathBuf::from(arg))?;
            continue;
        };
        if text == "--" {
            // Everything after `--` is a file name, even if it starts with `-`.
            options_done = true;
            continue;
        }
        if !text.starts_with("--") || text == "-" {
            if text.starts_with('-') && text != "-" {
                return Err(format!("unknown option `{text}`"));
            }
            set_data(&mut data, PathBuf::from(text))?;
            continue;
        }
        // `--name value` or `--name=value`.
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(OsString::from(v))),
            None => (text.to_string(), None),
        };
        let mut value = |what: &str| -> Result<OsString, String> {
            let missing = || format!("`{name}` needs a value ({what})");
            match &inline {
                Some(v) => Ok(v.clone()),
                // `--out --seed 3` is a forgotten value, not a file called `--seed`.
                None => match args.next() {
                    Some(v) if v.to_str().is_some_and(|t| t.starts_with("--")) => Err(missing()),
                    Some(v) => Ok(v),
                    None => Err(missing()),
                },
            }
        };
        match name.as_str() {
            "--out" => {
                let v = value("an output file")?;
                if v.is_empty() {
                    return Err("`--out` needs a file name, got an empty one".to_string());
                }
                out = Some(PathBuf::from(v));
            }
            "--model" => {
                let v = value("rw or rw-dual")?;
                rule = match v.to_str() {
                    Some("rw") => Rule::Single,
                    Some("rw-dual") => Rule::Dual,
                    _ => {
                        return Err(format!(
                            "unknown model `{}` for `--model` (expected rw or rw-dual)",
                            v.to_string_lossy()
                        ));
                    }
                };
            }
            "--perseveration" => {
                if inline.is_some() {
                    return Err("`--perseveration` takes no value".to_string());
                }
                perseveration = true;
            }
            "--starts" => {
                let v = value("a whole number >= 1")?;
                starts = match v.to_str().and_then(|s| s.parse::<usize>().ok()) {
                    Some(n) if n >= 1 => n,
                    _ => {
                        return Err(format!(
                            "`--starts` must be a whole number >= 1, got `{}`",
                            v.to_string_lossy()
                        ));
                    }
                };
            }
            "--seed" => {
                let v = value("a whole number")?;
                seed = v
                    .to_str()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| {
                        format!(
                            "`--seed` must be a whole number from 0 to {}, got `{}`",
                            u64::MAX,
                            v.to_string_lossy()
                        )
                    })?;
            }
            "--action-base" => {
                let v = value("0 or 1")?;
                action_base = match v.to_str() {
                    Some("0") => ActionBase::Zero,
                    Some("1") => ActionBase::One,
                    _ => {
                        return Err(format!(
                            "`--action-base` must be 0 or 1, got `{}`",
                            v.to_string_lossy()
                        ));
                    }
                };
            }
            "--delimiter" => {
                let v = value(", or ; or \\t")?;
                delimiter = match v.to_str() {
                    Some(",") => b',',
                    Some(";") => b';',
                    Some("\\t" | "\t" | "tab") => b'\t',
                    _ => {
                        return Err(format!(
                            "`--delimiter` must be `,`, `;`, `\\t` or `tab`, got `{}`",
                            v.to_string_lossy()
                        ));
                    }
                };
            }
            _ => return Err(format!("unknown option `{name}`")),
        }
    }
    let data = data.ok_or("no data file given")?;
    Ok(Command::Fit(Args {
        data,
        out,
        rule,
        perseveration,
        starts,
        seed,
        action_base,
        delimiter,
    }))
}

fn set_data(data: &mut Option<PathBuf>, path: PathBuf) -> Result<(), String> {
    if let Some(first) = data {
        return Err(format!(
            "more than one data file given (`{}` and `{}`)",
            first.display(),
            path.display()
        ));
    }
    *data = Some(path);
    Ok(())
}

fn run(
    args: &Args,
    out: &mut Stream<impl Write>,
    err: &mut Stream<impl Write>,
) -> Result<(), Box<dyn std::error::Error>> {
    // Check the output path before any work, so that a bad path fails at once.
    let output = args.out.as_deref().map(OutputFile::check).transpose()?;

    let csv_options = CsvOptions {
        action_base: args.action_base,
        delimiter: args.delimiter,
        ..CsvOptions::default()
    };
    let (data, report) = read_csv(&args.data, &csv_options).map_err(|e| match e {
        // The I/O error already names the file.
        rlgrad::Error::Io { .. } => e.to_string(),
        _ => format!("{}: {e}", args.data.display()),
    })?;
    for warning in &report.warnings {
        writeln!(err, "fit_csv: warning: {}: {warning}", args.data.display());
    }
    let n_states = data.n_states().max(1);
    let n_actions = data.n_actions().max(2);

    let rule = match args.rule {
        Rule::Single => RescorlaWagner::new(),
        Rule::Dual => RescorlaWagner::dual(),
    };
    let obs = if args.perseveration {
        Softmax::with_perseveration()
    } else {
        Softmax::new()
    };
    let model = Model::new(rule, obs, n_states, n_actions)?;
    let names: Vec<String> = model.layout().names().map(str::to_string).collect();
    let prior = weakly_informative_prior(&names)?;
    let options = MapOptions {
        n_starts: args.starts,
        ..MapOptions::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);

    writeln!(
        out,
        "data:  {} ({} subjects, {} trials, {n_states} state(s), {n_actions} actions{})",
        args.data.display(),
        data.len(),
        data.n_trials(),
        match args.action_base {
            ActionBase::Zero => "",
            ActionBase::One => ", read 1-based",
        }
    );
    writeln!(
        out,
        "model: {} + softmax{} ({}); {} start(s), seed {}",
        match args.rule {
            Rule::Single => "Rescorla-Wagner",
            Rule::Dual => "Rescorla-Wagner (dual rates)",
        },
        if args.perseveration {
            " with perseveration"
        } else {
            ""
        },
        names.join(", "),
        args.starts,
        args.seed
    );
    writeln!(out);
    out.flush();

    let bar = ProgressBar::new(data.len() as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "fitting [{bar:40}] {pos}/{len} subjects ({elapsed}, eta {eta}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let fits = map_with_progress(&model, &data, &prior, &options, &mut rng, |fit| {
        bar.set_message(fit.subject().to_string());
        bar.inc(1);
    })?;
    bar.finish_and_clear();

    // The results file first: a closed stdout must not cost the fits.
    if let Some(output) = &output {
        output.write(|w| write_csv(w, &data, &names, &fits))?;
    }
    print_table(out, &data, &names, &fits);
    if let Some(output) = &output {
        writeln!(
            out,
            "\nwrote {} rows to {}",
            fits.len(),
            output.path().display()
        );
    }
    Ok(())
}

/// The prior described in the module docs, for the parameters in `names` (θ order).
fn weakly_informative_prior(names: &[String]) -> rlgrad::Result<MvGaussian> {
    let (mean, sd): (Vec<f64>, Vec<f64>) = names
        .iter()
        .map(|name| match name.as_str() {
            "alpha" | "alpha_pos" | "alpha_neg" => (0.0, 1.5),
            "beta" => (1.0, 1.0),
            "kappa" => (0.0, 1.0),
            // Not reached with the models built here; a broad default for anything else.
            _ => (0.0, 2.0),
        })
        .unzip();
    MvGaussian::diagonal(Array1::from(mean), Array1::from(sd).mapv(|s: f64| s * s))
}

/// Whether parameter `name` of a fit is weakly identified (`None` if the fit does not say).
fn weak(fit: &MapFit, name: &str) -> Option<bool> {
    fit.identification
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.weak)
}

/// The per-subject table on stdout, then the failures and a summary.
fn print_table(
    out: &mut Stream<impl Write>,
    data: &Dataset,
    names: &[String],
    fits: &[SubjectFit],
) {
    let id_width = data
        .subjects()
        .iter()
        .map(|s| s.id().chars().count())
        .max()
        .unwrap_or(0)
        .max("subject".len());
    const PARAM_WIDTH: usize = 20;

    // Every parameter cell is followed by one mark column: `*` (weak) or a space.
    let mut header = format!("{:<id_width$}", "subject");
    for name in names {
        header += &format!(" {:>PARAM_WIDTH$} ", format!("{name} (se)"));
    }
    header += &format!(
        " {:>12} {:>12} {:>9}  {}",
        "log_lik", "log_post", "converged", "note"
    );
    writeln!(out, "{header}");

    for fit in fits {
        let mut row = format!("{:<id_width$}", fit.subject());
        match fit {
            SubjectFit::Fitted(f) => {
                for name in names {
                    let cell = match (f.params.get(name), f.se.get(name)) {
                        (Some(v), Some(se)) => format!("{} ({})", short(v, 4), short(se, 4)),
                        _ => "-".to_string(),
                    };
                    let mark = if weak(f, name) == Some(true) {
                        '*'
                    } else {
                        ' '
                    };
                    row += &format!(" {cell:>PARAM_WIDTH$}{mark}");
                }
                let note = if f.hessian_repaired {
                    "Hessian repaired: SEs unreliable"
                } else {
                    ""
                };
                row += &format!(
                    " {:>12} {:>12} {:>9}  {note}",
                    short(f.log_likelihood, 3),
                    short(f.log_posterior, 3),
                    if f.converged { "yes" } else { "no" }
                );
            }
            SubjectFit::Failed(_) => {
                for _ in names {
                    row += &format!(" {:>PARAM_WIDTH$} ", "-");
                }
                row += &format!(" {:>12} {:>12} {:>9}  failed (see below)", "-", "-", "no");
            }
        }
        writeln!(out, "{}", row.trim_end());
    }

    let fitted: Vec<_> = fits.iter().filter_map(SubjectFit::fit).collect();
    let converged = fitted.iter().filter(|f| f.converged).count();
    let repaired = fitted.iter().filter(|f| f.hessian_repaired).count();
    let weakly = fitted
        .iter()
        .filter(|f| !f.weakly_identified().is_empty())
        .count();
    let failed: Vec<_> = fits
        .iter()
        .filter_map(|f| match f {
            SubjectFit::Failed(e) => Some(e),
            SubjectFit::Fitted(_) => None,
        })
        .collect();
    if weakly > 0 {
        writeln!(out, "{WEAK_NOTE}");
    }
    writeln!(out);
    writeln!(
        out,
        "{} subjects: {converged} converged, {repaired} with a repaired Hessian, {weakly} with \
         a weakly identified parameter, {} failed",
        fits.len(),
        failed.len()
    );
    for f in fitted.iter().filter(|f| !f.converged) {
        writeln!(
            out,
            "  not converged: {} (gradient norm {:.2e}; {})",
            f.subject, f.grad_norm, f.stop_reason
        );
    }
    if !failed.is_empty() {
        writeln!(out, "failed subjects:");
        for f in failed {
            writeln!(out, "  {}: {}", f.subject, f.error);
        }
    }
}

/// A number for the table: fixed-point with `decimals`, or scientific when that would be
/// very long or show only zeros.
fn short(v: f64, decimals: usize) -> String {
    let a = v.abs();
    if v != 0.0 && a.is_finite() && !(1e-3..1e7).contains(&a) {
        format!("{v:.decimals$e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// One row per subject, with the columns of the module docs.
fn write_csv(
    w: &mut impl Write,
    data: &Dataset,
    names: &[String],
    fits: &[SubjectFit],
) -> Result<(), csv::Error> {
    let mut out = csv::Writer::from_writer(w);
    let mut header = vec!["subject".to_string()];
    for name in names {
        header.push(name.clone());
        header.push(format!("{name}_se"));
    }
    header.extend(
        [
            "log_likelihood",
            "log_posterior",
            "converged",
            "hessian_repaired",
            "error",
            "n_trials",
            "bic",
            "aic",
            "grad_norm",
            "iterations",
            "stop_reason",
        ]
        .map(String::from),
    );
    header.extend(names.iter().map(|name| format!("{name}_weak")));
    out.write_record(&header)?;

    // `{:?}` is the shortest text that reads back to the same f64, and (unlike `{}`) switches
    // to exponent notation for very small or large numbers.
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:?}"));
    for fit in fits {
        let mut row = vec![fit.subject().to_string()];
        match fit {
            SubjectFit::Fitted(f) => {
                for name in names {
                    row.push(number(f.params.get(name)));
                    row.push(number(f.se.get(name)));
                }
                row.push(number(Some(f.log_likelihood)));
                row.push(number(Some(f.log_posterior)));
                row.push(f.converged.to_string());
                row.push(f.hessian_repaired.to_string());
                row.push(String::new());
                row.push(f.n_trials.to_string());
                row.push(number(Some(f.bic)));
                row.push(number(Some(f.aic)));
                row.push(number(Some(f.grad_norm)));
                row.push(f.iterations.to_string());
                row.push(f.stop_reason.clone());
                for name in names {
                    row.push(weak(f, name).map_or_else(String::new, |w| w.to_string()));
                }
            }
            SubjectFit::Failed(e) => {
                row.extend(std::iter::repeat_n(String::new(), 2 * names.len() + 2));
                row.push("false".to_string());
                row.push(String::new());
                row.push(e.error.to_string());
                row.push(
                    data.subject(&e.subject)
                        .map_or_else(String::new, |s| s.n_trials().to_string()),
                );
                row.extend(std::iter::repeat_n(String::new(), 5 + names.len()));
            }
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}
