//! Fits a Rescorla–Wagner + softmax model by MAP to every subject of a long-format CSV file.
//!
//! Run:
//!
//! ```text
//! cargo run --release --example fit_csv -- examples/data/choices.csv --out /tmp/fits.csv
//! cargo run --release --example fit_csv -- data.csv [--out fits.csv] [--model rw|rw-dual]
//!     [--perseveration] [--starts N] [--seed S]
//! cargo run --release --example fit_csv -- --help
//! ```
//!
//! # Input
//!
//! One row per trial, with a header. Required columns: `subject`, `trial`, `action`,
//! `reward`; optional: `session` (values reset at the start of each session), `state`,
//! `next_state`; other columns are ignored. Actions and states are 0-based integers. See
//! `rlgrad::data::read_csv`. The numbers of states and actions are inferred from the data (at
//! least two actions). A malformed file is reported with its line and column, and the program
//! exits with status 1.
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
//! # Output
//!
//! A progress bar on stderr; on stdout, a table with one row per subject (each parameter with
//! its standard error, log-likelihood, log-posterior, convergence, a flag when the Hessian was
//! repaired), then the subjects whose fit failed, with the reason. With `--out FILE`, a CSV
//! with one row per subject and the columns `subject`, `<param>`, `<param>_se` (for each
//! parameter), `log_likelihood`, `log_posterior`, `converged`, `hessian_repaired`, `error`.
//! A failed subject has empty numeric fields, `converged = false` and the reason in `error`,
//! which is empty for every other row.
//!
//! Exit status: 0 when the fits ran (even if some subjects failed: see the table), 1 when the
//! data could not be read or the output not written, 2 for bad arguments.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rlgrad::Model;
use rlgrad::data::{CsvOptions, Dataset, read_csv};
use rlgrad::fit::{MapOptions, SubjectFit, map_with_progress};
use rlgrad::learning::RescorlaWagner;
use rlgrad::observation::Softmax;
use rlgrad::prior::MvGaussian;

const USAGE: &str = "\
Fit Rescorla-Wagner + softmax by MAP to every subject of a long-format CSV file.

usage: fit_csv DATA.csv [--out FITS.csv] [--model rw|rw-dual] [--perseveration]
               [--starts N] [--seed S]

  DATA.csv          one row per trial; columns subject, trial, action, reward
                    (optional: session, state, next_state; others are ignored)
  --out FILE        also write one row per subject to FILE (CSV)
  --model rw        one learning rate `alpha` (default)
  --model rw-dual   learning rates `alpha_pos` and `alpha_neg`
  --perseveration   add a perseveration bonus `kappa` to the softmax
  --starts N        optimiser starts per subject, N >= 1 (default 3)
  --seed S          seed for the random starts (default 0)
  -h, --help        print this help

Prior (on the unconstrained scale): logit(alpha*) ~ N(0, 1.5^2), log(beta) ~ N(1, 1),
kappa ~ N(0, 1).
Exit status: 0 fitted, 1 data or output error, 2 bad arguments.";

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
}

/// What the command line asks for.
enum Command {
    Help,
    Fit(Args),
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("fit_csv: {message}");
            eprintln!("run `fit_csv --help` for usage");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Fit(args) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fit_csv: error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// Parses the arguments after the program name. `Err` is a message for the user.
fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let mut data: Option<PathBuf> = None;
    let mut out = None;
    let mut rule = Rule::Single;
    let mut perseveration = false;
    let mut starts = 3;
    let mut seed = 0;

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
        if text == "-h" || text == "--help" {
            return Ok(Command::Help);
        }
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
            "--out" => out = Some(PathBuf::from(value("an output file")?)),
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

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let (data, report) = read_csv(&args.data, &CsvOptions::default()).map_err(|e| match e {
        // The I/O error already names the file.
        rlgrad::Error::Io { .. } => e.to_string(),
        _ => format!("{}: {e}", args.data.display()),
    })?;
    for warning in &report.warnings {
        eprintln!("fit_csv: warning: {}: {warning}", args.data.display());
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

    // Open the output before fitting, so that a bad path fails at once.
    let writer = match &args.out {
        Some(path) => Some(
            csv::Writer::from_path(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        ),
        None => None,
    };

    println!(
        "data:  {} ({} subjects, {} trials, {n_states} state(s), {n_actions} actions)",
        args.data.display(),
        data.len(),
        data.n_trials()
    );
    println!(
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
    println!();

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

    print_table(&data, &names, &fits);
    if let (Some(writer), Some(path)) = (writer, &args.out) {
        write_csv(writer, &names, &fits)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("\nwrote {} rows to {}", fits.len(), path.display());
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

/// The per-subject table on stdout, then the failures and a summary.
fn print_table(data: &Dataset, names: &[String], fits: &[SubjectFit]) {
    let id_width = data
        .subjects()
        .iter()
        .map(|s| s.id().chars().count())
        .max()
        .unwrap_or(0)
        .max("subject".len());
    const PARAM_WIDTH: usize = 20;

    let mut header = format!("{:<id_width$}", "subject");
    for name in names {
        header += &format!(" {:>PARAM_WIDTH$}", format!("{name} (se)"));
    }
    header += &format!(
        " {:>12} {:>12} {:>9}  {}",
        "log_lik", "log_post", "converged", "note"
    );
    println!("{header}");

    for fit in fits {
        let mut row = format!("{:<id_width$}", fit.subject());
        match fit {
            SubjectFit::Fitted(f) => {
                for name in names {
                    let cell = match (f.params.get(name), f.se.get(name)) {
                        (Some(v), Some(se)) => format!("{} ({})", short(v, 4), short(se, 4)),
                        _ => "-".to_string(),
                    };
                    row += &format!(" {cell:>PARAM_WIDTH$}");
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
                    row += &format!(" {:>PARAM_WIDTH$}", "-");
                }
                row += &format!(" {:>12} {:>12} {:>9}  failed (see below)", "-", "-", "no");
            }
        }
        println!("{}", row.trim_end());
    }

    let fitted: Vec<_> = fits.iter().filter_map(SubjectFit::fit).collect();
    let converged = fitted.iter().filter(|f| f.converged).count();
    let repaired = fitted.iter().filter(|f| f.hessian_repaired).count();
    let failed: Vec<_> = fits
        .iter()
        .filter_map(|f| match f {
            SubjectFit::Failed(e) => Some(e),
            SubjectFit::Fitted(_) => None,
        })
        .collect();
    println!();
    println!(
        "{} subjects: {converged} converged, {repaired} with a repaired Hessian, {} failed",
        fits.len(),
        failed.len()
    );
    for f in fitted.iter().filter(|f| !f.converged) {
        println!(
            "  not converged: {} (gradient norm {:.2e}; {})",
            f.subject, f.grad_norm, f.stop_reason
        );
    }
    if !failed.is_empty() {
        println!("failed subjects:");
        for f in failed {
            println!("  {}: {}", f.subject, f.error);
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

/// One row per subject: subject, `<param>`, `<param>_se` …, log_likelihood, log_posterior,
/// converged, hessian_repaired, error.
fn write_csv<W: std::io::Write>(
    mut out: csv::Writer<W>,
    names: &[String],
    fits: &[SubjectFit],
) -> Result<(), csv::Error> {
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
        ]
        .map(String::from),
    );
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
            }
            SubjectFit::Failed(e) => {
                row.extend(std::iter::repeat_n(String::new(), 2 * names.len() + 2));
                row.push("false".to_string());
                row.push(String::new());
                row.push(e.error.to_string());
            }
        }
        out.write_record(&row)?;
    }
    out.flush()?;
    Ok(())
}
