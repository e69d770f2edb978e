//! The two-step task (Daw et al. 2011): parameter recovery of the hybrid model by EM, then
//! model recovery between the hybrid, pure model-free and pure model-based learners.
//!
//! Run: `cargo run --release --example two_step [-- --out DIR]` (default `target/two_step`,
//! created if missing); `--help` prints the usage; `--quick` is a smoke run (fewer subjects,
//! trials and cohorts) that checks the program works and reproduces nothing.
//!
//! Parameter recovery: 150 subjects × 200 trials (each trial two choices) of the hybrid model
//! on Daw et al.'s task (common transitions 0.7, payoff probabilities drifting in
//! [0.25, 0.75]), θ drawn from a population with logit α₁, logit α₂ ~ N(0, 0.6²),
//! logit λ ~ N(0.5, 0.6²), logit w ~ N(0, 0.8²), log β₁, log β₂ ~ N(1.3, 0.3²),
//! κ ~ N(0.3, 0.3²); fitted by EM (diagonal Σ). Seed 2011.
//!
//! Model recovery: each of hybrid, model-free (w = 0) and model-based (w = 1) generates 3
//! cohorts of 40 subjects × 200 trials from its population (the same distributions for the
//! parameters it has); all three are compared on each cohort by iBIC (500 draws) and the
//! winner counted.
//!
//! Outputs in DIR: `recovery.svg` (fitted against true, natural scale) and `confusion.svg`.
//! Paths are checked before the work; files are written atomically.
//!
//! Exit status: 0 ran, 1 the fit or an output file failed, 2 bad arguments.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use ndarray::arr1;
use rlgrad::fit::{
    Candidate, CompareOptions, Covariance, Criterion, EmOptions, ModelRecoveryOptions, RecoveryFit,
    Scale, TaskSimulator, Truth, model_recovery, parameter_recovery,
};
use rlgrad::plots;
use rlgrad::prelude::*;
use rlgrad::task::TwoStep;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dra_run.rs"]
mod dra_run;

const NAME: &str = "two_step";

const USAGE: &str = "\
two_step: parameter recovery of the two-step task's hybrid model (EM), and model recovery
between the hybrid, model-free and model-based learners.

Usage: two_step [--out DIR] [--quick]

  --out DIR    where the SVG files go (default target/two_step; created if missing)";

fn main() -> ExitCode {
    dra_run::main(
        NAME,
        USAGE,
        "target/two_step",
        &["recovery.svg", "confusion.svg"],
        |opts, files, out| {
            let q = opts.quick;
            let (n, trials) = if q { (30, 100) } else { (150, 200) };
            let (rec_n, rec_cohorts, samples) = if q { (12, 1, 100) } else { (40, 3, 500) };
            let em = EmOptions {
                covariance: Covariance::Diagonal,
                ..EmOptions::default()
            };
            // θ populations: (α₁, α₂, λ, w, β₁, β₂, κ) and the presets' subsets.
            let p_hybrid = MvGaussian::diagonal(
                arr1(&[0.0, 0.0, 0.5, 0.0, 1.3, 1.3, 0.3]),
                arr1(&[0.36, 0.36, 0.36, 0.64, 0.09, 0.09, 0.09]),
            )?;
            let p_free = MvGaussian::diagonal(
                arr1(&[0.0, 0.0, 0.5, 1.3, 1.3, 0.3]),
                arr1(&[0.36, 0.36, 0.36, 0.09, 0.09, 0.09]),
            )?;
            let p_based =
                MvGaussian::diagonal(arr1(&[0.0, 1.3, 1.3, 0.3]), arr1(&[0.36, 0.09, 0.09, 0.09]))?;

            // 1. Parameter recovery of the hybrid model.
            let hybrid = TaskSimulator::new(TwoStep::hybrid(), trials)?;
            let mut rng = ChaCha8Rng::seed_from_u64(2011);
            let start = Instant::now();
            let rec = parameter_recovery(
                &hybrid,
                Truth::Population(&p_hybrid, n),
                &RecoveryFit::Em(em.clone()),
                &mut rng,
            )?;
            let t_params = start.elapsed().as_secs_f64();
            let svg = plots::recovery_scatter_svg(&rec, Scale::Natural)?;
            files[0].write(|w| w.write_all(svg.as_bytes()))?;

            // 2. Model recovery.
            let free = TaskSimulator::new(TwoStep::model_free(), trials)?;
            let based = TaskSimulator::new(TwoStep::model_based(), trials)?;
            let candidates = [
                Candidate {
                    name: "hybrid",
                    model: &hybrid,
                    population: &p_hybrid,
                },
                Candidate {
                    name: "model-free",
                    model: &free,
                    population: &p_free,
                },
                Candidate {
                    name: "model-based",
                    model: &based,
                    population: &p_based,
                },
            ];
            let options = ModelRecoveryOptions {
                n_subjects: rec_n,
                n_cohorts: rec_cohorts,
                criterion: Criterion::Ibic,
                compare: CompareOptions {
                    em,
                    ibic_samples: samples,
                },
            };
            let start = Instant::now();
            let mr = model_recovery(&candidates, &options, &mut rng)?;
            let t_models = start.elapsed().as_secs_f64();
            let svg = plots::confusion_svg(&mr)?;
            files[1].write(|w| w.write_all(svg.as_bytes()))?;

            writeln!(
                out,
                "parameter recovery: hybrid model, {n} subjects x {trials} trials (two choices \
                 each), EM with diagonal Sigma; {t_params:.1} s; {} fits failed\n",
                rec.n_failed()
            );
            write!(out, "{}", rec.table());
            writeln!(
                out,
                "\nmodel recovery: {rec_cohorts} cohorts x {rec_n} subjects x {trials} trials per \
                 generating model, winner by iBIC ({samples} draws); {t_models:.1} s\n"
            );
            write!(out, "{}", mr.table());
            Ok(())
        },
    )
}
