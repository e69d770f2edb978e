//! Parameter recovery for Rescorla–Wagner + softmax on a two-armed reversal bandit.
//!
//! Run: `cargo run --release --example quickstart`
//!
//! 1. Draws 40 subjects from a population on the unconstrained scale,
//!    logit(alpha) ~ N(−0.5, 0.7²) and log(beta) ~ N(1.2, 0.5²).
//! 2. Simulates each subject for one session of 200 trials on a bandit whose arms pay 1 with
//!    probability 0.8 and 0.2 and swap every 50 trials.
//! 3. Fits every subject by MAP (L-BFGS from 3 starts, in parallel) under a weakly
//!    informative prior θ ~ N((0, 1), diag(1.5², 1²)) on θ = (logit alpha, log beta).
//! 4. Prints true vs fitted parameters with standard errors, and per parameter the Pearson
//!    correlation and mean bias between true and fitted values (natural scale), how many
//!    subjects converged, needed a repaired Hessian or failed, and how long the fit took.
//!
//! Everything random comes from one seeded `ChaCha8Rng`, so the output is reproducible.
//!
//! It takes no arguments: `-h` or `--help` prints a short usage and exits with status 0; any
//! other argument is refused with status 2. Status 1 means a step failed (the message says
//! which). When stdout is closed early (`quickstart | head`), the rest of the output is
//! dropped quietly and the status is 0.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use ndarray::arr1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Normal;
use rlgrad::prelude::*;

// The sample statistics the tests use (`pearson`: the Pearson correlation).
#[path = "../tests/common/stats.rs"]
mod stats;

use stats::pearson;

#[path = "common/cli.rs"]
mod cli;

use cli::Stream;

const USAGE: &str = "\
Parameter recovery for Rescorla-Wagner + softmax on a two-armed reversal bandit: simulate
40 subjects, fit each by MAP, print true against fitted parameters and the recovery.

usage: quickstart [-h | --help]

  -h, --help   print this help

It takes no other arguments; everything is seeded, so the output is reproducible.
Exit status: 0 ran, 1 a step failed, 2 bad arguments.";

const N_SUBJECTS: usize = 40;
const N_TRIALS: usize = 200;
const SEED: u64 = 2024;
/// Rows of the per-subject table to print.
const SHOW_ROWS: usize = 10;

/// A subject's true natural parameters.
struct Truth {
    alpha: f64,
    beta: f64,
}

fn main() -> ExitCode {
    let mut out = cli::stdout();
    let mut err = cli::stderr();
    let status = match cli::operands(std::env::args_os().skip(1)) {
        Ok(cli::Command::Help) => {
            writeln!(out, "{USAGE}");
            0
        }
        Ok(cli::Command::Run(files)) if files.is_empty() => match run(&mut out) {
            Ok(()) => 0,
            Err(e) => {
                writeln!(err, "quickstart: error: {e}");
                cli::FAILED
            }
        },
        Ok(cli::Command::Run(files)) => cli::usage_error(
            "quickstart",
            &format!("takes no arguments, got `{}`", files[0].display()),
            &mut err,
        ),
        Err(message) => cli::usage_error("quickstart", &message, &mut err),
    };
    cli::finish("quickstart", status, &mut out, &mut err)
}

/// The whole program: simulate, fit, print.
fn run(out: &mut Stream<impl Write>) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let model = Model::new(RescorlaWagner::new(), Softmax::new(), 1, 2)?;
    let bandit = Bandit::new(vec![0.8, 0.2])?.with_reversals(50)?;

    // Population on the unconstrained scale: θ = (logit alpha, log beta), which is exactly
    // the model's θ (alpha has the logistic transform onto (0, 1), beta the exp transform).
    let logit_alpha = Normal::new(-0.5, 0.7)?;
    let log_beta = Normal::new(1.2, 0.5)?;

    let mut truths = Vec::with_capacity(N_SUBJECTS);
    let mut subjects = Vec::with_capacity(N_SUBJECTS);
    for i in 0..N_SUBJECTS {
        let theta = arr1(&[rng.sample(logit_alpha), rng.sample(log_beta)]);
        let natural = model.natural(theta.view())?;
        truths.push(Truth {
            alpha: natural.get("alpha").ok_or("model has no `alpha`")?,
            beta: natural.get("beta").ok_or("model has no `beta`")?,
        });
        // A fresh bandit per subject: every subject starts at the same point of the schedule.
        let mut env = bandit.clone();
        let session = model.simulate(theta.view(), &mut env, N_TRIALS, "1", &mut rng)?;
        subjects.push(Subject::new(format!("s{:02}", i + 1), vec![session])?);
    }
    let data = Dataset::new(subjects)?;

    // Weakly informative prior on θ = (logit alpha, log beta): alpha's central 95% range is
    // about (0.05, 0.95), beta's about (0.4, 19).
    let prior = MvGaussian::diagonal(arr1(&[0.0, 1.0]), arr1(&[1.5 * 1.5, 1.0]))?;
    let options = MapOptions::default();

    writeln!(
        out,
        "rlgrad quickstart: parameter recovery, Rescorla–Wagner + softmax"
    );
    writeln!(
        out,
        "{N_SUBJECTS} subjects x {N_TRIALS} trials, two-armed bandit (p = 0.8 / 0.2, reversing \
         every 50 trials)"
    );
    writeln!(
        out,
        "population: logit(alpha) ~ N(-0.5, 0.7^2), log(beta) ~ N(1.2, 0.5^2)"
    );
    writeln!(
        out,
        "prior:      logit(alpha) ~ N(0, 1.5^2),    log(beta) ~ N(1, 1^2); MAP from {} starts",
        options.n_starts
    );
    writeln!(out);

    let start = Instant::now();
    let fits = rlgrad::fit::map(&model, &data, &prior, &options, &mut rng)?;
    let elapsed = start.elapsed();

    writeln!(
        out,
        "{:<8} {:>10} {:>18} {:>10} {:>18}  converged",
        "subject", "true alpha", "fitted alpha", "true beta", "fitted beta"
    );
    for (fit, truth) in fits.iter().zip(&truths).take(SHOW_ROWS) {
        match fit {
            SubjectFit::Fitted(f) => {
                let alpha = estimate(f, "alpha");
                let beta = estimate(f, "beta");
                writeln!(
                    out,
                    "{:<8} {:>10.3} {:>18} {:>10.3} {:>18}  {}",
                    f.subject,
                    truth.alpha,
                    alpha,
                    truth.beta,
                    beta,
                    convergence(f)
                );
            }
            SubjectFit::Failed(e) => writeln!(
                out,
                "{:<8} {:>10.3} {:>18} {:>10.3} {:>18}  failed: {}",
                e.subject, truth.alpha, "-", truth.beta, "-", e.error
            ),
        }
    }
    if fits.len() > SHOW_ROWS {
        writeln!(
            out,
            "... ({} more subjects not shown)",
            fits.len() - SHOW_ROWS
        );
    }
    writeln!(out);

    // Recovery over the subjects that have a fit (failed subjects are counted below).
    let pairs: Vec<(&MapFit, &Truth)> = fits
        .iter()
        .zip(&truths)
        .filter_map(|(fit, truth)| fit.fit().map(|f| (f, truth)))
        .collect();
    writeln!(
        out,
        "recovery on the natural scale ({} fitted subjects):",
        pairs.len()
    );
    for name in ["alpha", "beta"] {
        let (truth, fitted): (Vec<f64>, Vec<f64>) = pairs
            .iter()
            .filter_map(|(f, t)| {
                let true_value = if name == "alpha" { t.alpha } else { t.beta };
                f.params.get(name).map(|v| (true_value, v))
            })
            .unzip();
        let bias = fitted.iter().zip(&truth).map(|(f, t)| f - t).sum::<f64>() / truth.len() as f64;
        writeln!(
            out,
            "  {name:<5}  r(true, fitted) = {:.3}   mean bias (fitted - true) = {bias:+.3}",
            pearson(&truth, &fitted)
        );
    }

    let converged = pairs.iter().filter(|(f, _)| f.converged).count();
    let repaired = pairs.iter().filter(|(f, _)| f.hessian_repaired).count();
    let failed = fits.len() - pairs.len();
    writeln!(
        out,
        "converged: {converged}/{}   repaired Hessian: {repaired}   failed: {failed}",
        fits.len()
    );
    writeln!(
        out,
        "fit time: {:.3} s ({} subjects, {} threads)",
        elapsed.as_secs_f64(),
        fits.len(),
        rayon::current_num_threads()
    );
    Ok(())
}

/// "value ± se" for a named parameter of a fit.
fn estimate(fit: &MapFit, name: &str) -> String {
    match (fit.params.get(name), fit.se.get(name)) {
        (Some(v), Some(se)) => format!("{v:.3} ± {se:.3}"),
        _ => "-".to_string(),
    }
}

/// "yes", "no", with a note when the Hessian had to be repaired.
fn convergence(fit: &MapFit) -> String {
    let c = if fit.converged { "yes" } else { "no" };
    if fit.hessian_repaired {
        format!("{c} (Hessian repaired)")
    } else {
        c.to_string()
    }
}
