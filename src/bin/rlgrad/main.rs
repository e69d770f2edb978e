//! `rlgrad`, the command-line program: fit reinforcement-learning models to a long-format CSV
//! of choices (MAP or empirical-Bayes EM, or the hierarchical Bayesian posterior by NUTS with
//! `sample`), compare models, check parameter recovery, simulate cohorts and export the
//! trial-wise latent variables, without writing Rust.
//!
//! Built only with the `cli` feature (`cargo install --path . --features cli`), so that the
//! library and a plain `cargo test` never build clap or indicatif. Run `rlgrad --help` and
//! `rlgrad <subcommand> --help` for the manual.
//!
//! Modules: [`io`] (streams that end quietly on a closed pipe, output files checked up front
//! and written atomically), [`common`] (the data options, `--model` over the library's
//! menu `rlgrad::menu`, the prior, the fitting options, MAP fits with a progress bar, the
//! progress bar, exit statuses),
//! [`cohort`] (the bandit and the `--param` values of `simulate` and `recover`), and one
//! module per subcommand.

mod cohort;
mod common;
mod compare;
mod fit;
mod io;
mod latents;
mod recover;
mod sample;
mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::Failure;

const ABOUT: &str = "Fit reinforcement-learning models to people's choices, from a CSV file.";

/// The manual: the static text, with the model menu and the default prior generated from the
/// models and the prior themselves (so they cannot drift apart).
fn long_about() -> String {
    format!(
        "{INTRO}\nMODELS (--model)\n{}{PARAMETERS}\nDEFAULT PRIOR (MAP fits of fit, recover and latents, \
         unless --prior-variance)\n{}\n{EXIT}",
        rlgrad::menu::models_help(),
        rlgrad::menu::prior_help()
    )
}

const INTRO: &str = "\
Fit reinforcement-learning models (Rescorla-Wagner learning and softmax choice, and task models
such as the two-step task's hybrid learner) to people's choices (`fit`: MAP or EM; `sample`:
the hierarchical Bayesian posterior by NUTS, with R-hat, ESS, PSIS-LOO and WAIC), compare
models, check parameter recovery, simulate cohorts and export trial-wise latent variables,
all on a long-format CSV file (`recover` and `simulate` need no file).

INPUT (every subcommand that reads data)
  One row per trial, with a header. Required columns: subject, trial, action, reward.
  Optional: session (values restart at each session), state, next_state. Other columns are
  ignored. Actions are 0-based unless --action-base 1 (Matlab, R, hBayesDM files); fields
  are separated by commas unless --delimiter says otherwise. The numbers of states and
  actions are taken from the data unless --states/--actions are given. A malformed file is
  refused with the line, the column and the value at fault.

TWO-STEP FILES (--model two-step-hybrid, two-step-mf, two-step-mb)
  One row per stage, in order: a stage-1 row (state 0, the first choice 0 or 1, its reward
  ignored; next_state, if the column is there, the stage-2 state reached), then its stage-2
  row (state 1 or 2, the second choice 0 or 1, the reward). The trial column counts rows
  (trial numbers must increase), so the task's trial k is rows 2k - 1 and 2k. A missed
  choice has an empty or NA action; a missed stage-1 choice may keep its stage-2 row or not.
  A stage-2 row without its stage-1 row, a state other than 0, 1, 2, an action other than 0
  and 1, or a next_state that is not the state of the row after it is refused with its line.
  `rlgrad simulate --model two-step-hybrid` writes such a file:
    subject,session,trial,state,action,reward,next_state
    s1,1,1,0,1,0.0,2
    s1,1,2,2,0,1.0,
    s1,1,3,0,0,0.0,1
    s1,1,4,1,1,0.0,
";

const PARAMETERS: &str =
    "  Parameters are fitted on an unconstrained scale theta (logit for learning rates and other
  values in (0, 1), log for inverse temperatures beta, beta_<k>, identity for kappa and
  beta_c) and reported on their natural scale too. In `simulate` and `recover` the task models
  play their own task (two-step-*: the two-step task with drifting reward probabilities;
  gng-*: the go/no-go task's four cues; kalman*: the restless bandit, --arms arms), the rw*
  models the bandit of --probs. `latents` exports the latent variables of the Rescorla-Wagner + softmax models
  (rw to rw-per-state).
";

const EXIT: &str = "\
EXIT STATUS
  0  success (also when some subjects' fits failed: they are reported, never dropped; and
     when `sample` reports divergences or flagged diagnostics: they are warnings)
  1  the work failed: a model could not be fitted (or sampled), or an output could not be
     written
  2  bad arguments or bad data: an unknown option or value, an unreadable or malformed
     input file (the message names the line, column, subject and trial), data the model
     cannot explain (a two-step file out of layout, named the same way), an output that
     names an input file

Outputs are written atomically (a temporary file renamed into place), only after the work
succeeded, and never over an input file. A progress bar goes to stderr when it is a
terminal (not with --quiet). Every random choice is seeded by --seed (default 0).";

const AFTER_HELP: &str = "\
EXAMPLES
  rlgrad simulate --model rw --subjects 20 --trials 200 --out sim.csv --truth truth.csv
  rlgrad fit sim.csv --model rw --out fits.csv
  rlgrad fit sim.csv --model rw --em --out fits.csv --em-json em.json
  rlgrad sample sim.csv --model rw --draws-out draws.csv --summary-out summary.csv
  rlgrad compare sim.csv --model rw --model rw-dual --model rw-persev --out compare.csv
  rlgrad latents sim.csv --model rw --fits fits.csv --out latents.csv
  rlgrad recover --model rw --subjects 50 --trials 200 --out recovery.csv --summary summary.csv
  rlgrad simulate --model two-step-hybrid --subjects 20 --trials 200 --out two-step.csv
  rlgrad compare two-step.csv --model two-step-hybrid,two-step-mf,two-step-mb --out compare.csv

Run `rlgrad <subcommand> --help` for each subcommand's options and outputs.";

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "rlgrad",
    version,
    about = ABOUT,
    long_about = long_about(),
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
    Sample(sample::SampleArgs),
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
        Command::Sample(args) => sample::run(args, &mut out, &mut err),
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
