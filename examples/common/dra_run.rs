//! What the DRA examples (`dra_gridworld`, `dra_planning`, `dra_mountain_car`) share as
//! programs: their command line (`--out DIR`, `--quick`, `--help`), the checks of their
//! output files before the work, and a progress meter on stderr.
//!
//! - [`main`]: the whole `main` of a DRA example: reads the command line, creates the output
//!   directory, checks every output file there ([`OutputFile::check`]) before `run` starts,
//!   and maps errors to the exit statuses of [`cli`](super::cli).
//! - [`Options::seeds`] and [`Options::sized`]: the runs' seeds and a preset cut down to a
//!   [`Quick`] size under `--quick`.
//! - [`Meter`]: counts trials done across all runs of an example (from rayon's threads) and
//!   prints a line on stderr at every tenth of the total.
//!
//! Compiled into each DRA example with `#[path = "common/dra_run.rs"] mod dra_run;`, after
//! `cli.rs`.
#![allow(dead_code)]

use std::error::Error;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rlgrad::dra::DraConfig;

use super::cli::{self, OutputFile, Stream};

/// The sizes of a `--quick` smoke run (its seeds are 1 and 2).
pub struct Quick {
    /// Trials per run.
    pub n_trials: usize,
    /// Evaluate after every this many trials.
    pub eval_every: usize,
    /// Episodes per evaluation.
    pub eval_episodes: usize,
}

/// The command line of a DRA example.
#[derive(Debug)]
pub struct Options {
    /// Where the outputs go (created if missing).
    pub out: PathBuf,
    /// A fast smoke run (few trials, two runs): checks that the example works, reproduces
    /// nothing.
    pub quick: bool,
    /// The seeds of the runs of each configuration: 1–5, or 1 and 2 under `--quick`.
    pub seeds: Vec<u64>,
}

/// The end of every DRA example's usage, after its own lines.
const USAGE_TAIL: &str =
    "  --quick      a smoke run (few trials, 2 runs; seconds): checks the program,
               reproduces nothing
  -h, --help   print this help

Exit status: 0 ran, 1 training or an output file failed, 2 bad arguments.";

impl Options {
    /// The seeds of the runs of each configuration: 1–5, or 1 and 2 under `--quick`.
    pub fn seeds(&self) -> Vec<u64> {
        if self.quick {
            vec![1, 2]
        } else {
            (1..=5).collect()
        }
    }

    /// `preset` as it is, or under `--quick` with the trials and evaluations of `quick`.
    pub fn sized(&self, preset: DraConfig, quick: &Quick) -> DraConfig {
        if !self.quick {
            return preset;
        }
        DraConfig {
            n_trials: quick.n_trials,
            eval_every: quick.eval_every,
            eval_episodes: quick.eval_episodes,
            ..preset
        }
    }
}

/// Reads `--out DIR` (or `--out=DIR`), `--quick` and `-h`/`--help`; `Ok(None)` asks for
/// help. `Err` is a message for the user (an unknown option, a missing value, an operand).
pub fn options(
    args: impl IntoIterator<Item = OsString>,
    default_out: &str,
) -> Result<Option<Options>, String> {
    let args: Vec<OsString> = args.into_iter().collect();
    if cli::asks_for_help(&args) {
        return Ok(None);
    }
    let mut opts = Options {
        out: PathBuf::from(default_out),
        quick: false,
        seeds: Vec::new(),
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--quick" {
            opts.quick = true;
        } else if text == "--out" {
            let dir = it.next().ok_or("`--out` needs a directory")?;
            opts.out = PathBuf::from(dir);
        } else if let Some(dir) = text.strip_prefix("--out=") {
            opts.out = PathBuf::from(dir);
        } else if text.starts_with('-') {
            return Err(format!("unknown option `{text}`"));
        } else {
            return Err(format!(
                "unexpected operand `{text}` (the output directory is `--out DIR`)"
            ));
        }
    }
    if opts.out.as_os_str().is_empty() {
        return Err("`--out` needs a non-empty directory".into());
    }
    opts.seeds = if opts.quick {
        vec![1, 2]
    } else {
        (1..=5).collect()
    };
    Ok(Some(opts))
}

/// The whole `main` of a DRA example: `usage` is its description, usage line and `--out`
/// (the common `--quick`, `--help` and exit statuses follow); `files` are the names of its outputs inside the output
/// directory, checked (in this order) before `run` starts and handed to it as
/// [`OutputFile`]s. `run` trains, writes the files, then prints its table on `out`; a line
/// naming the files written ends the output.
pub fn main(
    name: &str,
    usage: &str,
    default_out: &str,
    files: &[&str],
    run: impl FnOnce(
        &Options,
        &[OutputFile],
        &mut Stream<io::StdoutLock<'static>>,
    ) -> Result<(), Box<dyn Error>>,
) -> ExitCode {
    let mut out = cli::stdout();
    let mut err = cli::stderr();
    let status = match options(std::env::args_os().skip(1), default_out) {
        Err(message) => cli::usage_error(name, &message, &mut err),
        Ok(None) => {
            writeln!(out, "{usage}\n{USAGE_TAIL}");
            0
        }
        Ok(Some(opts)) => match prepare(&opts, files) {
            Err(message) => {
                writeln!(err, "{name}: error: {message}");
                cli::FAILED
            }
            Ok(outputs) => match run(&opts, &outputs, &mut out) {
                Ok(()) => {
                    writeln!(
                        out,
                        "\nwritten to {}: {}",
                        opts.out.display(),
                        files.join(", ")
                    );
                    0
                }
                Err(e) => {
                    writeln!(err, "{name}: error: {e}");
                    cli::FAILED
                }
            },
        },
    };
    cli::finish(name, status, &mut out, &mut err)
}

/// Creates the output directory and checks every output file in it.
fn prepare(opts: &Options, files: &[&str]) -> Result<Vec<OutputFile>, String> {
    fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create the directory {}: {e}", opts.out.display()))?;
    files
        .iter()
        .map(|f| OutputFile::check(&opts.out.join(f)))
        .collect()
}

/// A progress meter over `total` trials (all runs of all configurations of an example):
/// [`Meter::tick`] from any thread; a line on stderr at every tenth.
pub struct Meter {
    name: &'static str,
    total: usize,
    done: AtomicUsize,
    start: Instant,
}

impl Meter {
    /// A meter for `total` trials, its lines prefixed with the example's name.
    pub fn new(name: &'static str, total: usize) -> Meter {
        Meter {
            name,
            total: total.max(1),
            done: AtomicUsize::new(0),
            start: Instant::now(),
        }
    }

    /// One trial done (the `progress` callback of `train_runs` calls it).
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let tenth = |n: usize| n * 10 / self.total;
        if tenth(done) > tenth(done - 1) {
            let mut err = cli::stderr();
            writeln!(
                err,
                "{}: {:>3}% of {} trials ({:.0} s)",
                self.name,
                tenth(done) * 10,
                self.total,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}
