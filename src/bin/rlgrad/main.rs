//! `rlgrad`, the command-line program: fit reinforcement-learning models to a long-format CSV
//! of choices (MAP or empirical-Bayes EM), compare models, check parameter recovery,
//! simulate cohorts and export the trial-wise latent variables, without writing Rust.
//!
//! Built only with the `cli` feature (`cargo install --path . --features cli`), so that the
//! library and a plain `cargo test` never build clap or indicatif. Run `rlgrad --help` and
//! `rlgrad <subcommand> --help` for the manual.
//!
//! Modules: [`io`] (streams that end quietly on a closed pipe, output files checked up front
//! and written atomically), [`common`] (the data options, the model menu, the prior, the
//! fitting options, MAP fits with a progress bar, the progress bar, exit statuses),
//! [`cohort`] (the bandit and the `--param` values of `simulate` and `recover`), and one
//! module per subcommand.

mod cohort;
mod common;
mod compare;
mod fit;
mod io;
mod latents;
mod recover;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::Failure;

const ABOUT: &str = "Fit reinforcement-learning models to people's choices, from a CSV file.";

const LONG_ABOUT: &str = "\
Fit reinforcement-learning models (Rescorla-Wagner learning, softmax choice) to people's
choices, compare models, check parameter recovery, simulate cohorts and export trial-wise
latent variables, all on a long-format CSV file (`recover` and `simulate` need no file).

INPUT (every subcommand that reads data)
  One row per trial, with a header. Required columns: subject, trial, action, reward.
  Optional: session (values restart at each session), state, next_state. Other columns are
  ignored. Actions are 0-based unless --action-base 1 (Matlab, R, hBayesDM files); fields
  are separated by commas unless --delimiter says otherwise. The numbers of states and
  actions are taken from the data unless --states/--actions are given. A malformed file is
  refused with the line, the column and the value at fault.

MODELS (--model)
  rw              one learning rate alpha, softmax inverse temperature beta
  rw-dual         alpha_pos and alpha_neg for positive and negative prediction errors, beta
  rw-persev       rw + kappa, a bonus to repeating the previous action
  rw-dual-persev  rw-dual + kappa
  Parameters are fitted on an unconstrained scale theta (logit for rates, log for beta,
  identity for kappa) and reported on their natural scale too.

EXIT STATUS
  0  success (also when some subjects' fits failed: they are reported, never dropped)
  1  the work failed: a model could not be fitted, or an output could not be written
  2  bad arguments or bad data: an unknown option or value, an unreadable or malformed
     input file (the message names the line, column, subject and trial), an output that
     names an input file

Outputs are written atomically (a temporary file renamed into place), only after the work
succeeded, and never over an input file. A progress bar goes to stderr when it is a
terminal (not with --quiet). Every random choice is seeded by --seed (default 0).";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad simulate --model rw --subjects 20 --trials 200 --out sim.csv --truth truth.csv
  rlgrad fit sim.csv --model rw --out fits.csv
  rlgrad fit sim.csv --model rw --em --out fits.csv --em-json em.json
  rlgrad compare sim.csv --model rw --model rw-dual --model rw-persev --out compare.csv
  rlgrad latents sim.csv --model rw --fits fits.csv --out latents.csv
  rlgrad recover --model rw --subjects 50 --trials 200 --out recovery.csv --summary summary.csv

Run `rlgrad <subcommand> --help` for each subcommand's options and outputs.";

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "rlgrad",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Fit(fit::FitArgs),
    Compare(compare::CompareArgs),
    Simulate(simulate::SimulateArgs),
    Latents(latents::LatentsArgs),
    Recover(recover::RecoverArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout with status 0; usage errors to stderr with status 2.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { common::BAD } else { 0 });
        }
    };
    let mut out = io::stdout();
    let mut err = io::stderr();
    let result = match &cli.command {
        Command::Fit(args) => fit::run(args, &mut out, &mut err),
        Command::Compare(args) => compare::run(args, &mut out, &mut err),
        Command::Simulate(args) => simulate::run(args, &mut out, &mut err),
        Command::Latents(args) => latents::run(args, &mut out, &mut err),
        Command::Recover(args) => recover::run(args, &mut out, &mut err),
    };
    let mut status = match result {
        Ok(()) => 0,
        Err(failure) => {
            writeln!(err, "rlgrad: error: {}", failure.message());
            if matches!(failure, Failure::Usage(_)) {
                writeln!(err, "run `rlgrad --help` for usage");
            }
            failure.status()
        }
    };
    if let Err(e) = out.finish() {
        writeln!(err, "rlgrad: error: cannot write to stdout: {e}");
        status = status.max(common::FAILED);
    }
    let _ = err.finish();
    ExitCode::from(status)
}
