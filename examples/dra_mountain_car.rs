//! DRA on mountain car with each form of Ψ (Patel, Acerbi & Pouget 2020, appendix; spec
//! `dra.md` §3, §6–7): the objective's learning curve for the advantage, q̄, return and
//! policy-weighted advantage forms of the σ gradient's weight.
//!
//! Run: `cargo run --release --example dra_mountain_car [-- --out DIR]` (default
//! `target/dra_mountain_car`, created if missing); `--help` prints the usage. `--quick` is
//! a smoke run (200 episodes, 2 runs; a few seconds) that checks the program works and
//! reproduces nothing: `cargo test` compiles the examples but does not run them, so
//! `cargo run --release --example dra_mountain_car -- --quick --out /tmp/x` is its smoke test.
//!
//! Each Ψ of `Psi::ALL` runs `DraConfig::mountain_car_published()` (α₁ 0.2, α₂ 0.1, λ 0.1,
//! σ_base 5, σ₀ 1, clip [0.01, 10], β annealed as min(1.5^(episode/1000), 10), q̄ ~ U(−1, 1),
//! 200-step time limit, 10 000 episodes evaluated every 100 over 20 episodes) with `psi`
//! set, 5 runs (seeds 1–5) each.
//!
//! Outputs in DIR: `mountain_car.csv` (`psi,run,episode,return,cost,objective`, one row per
//! evaluation of every run; `psi` is `Psi::name()`), `mountain_car.svg` (the objective, and
//! the return and cost, against the episode, mean ± s.e. bands over the 5 runs, one series
//! per Ψ). Every path is checked before training; files are written atomically, before
//! the table is printed on stdout. Progress goes to stderr.
//!
//! The table gives per Ψ the last evaluation's objective, return and cost, and the mean
//! objective of the last 10 evaluations (mean ± s.e. over runs).
//!
//! Time: 62–65 s wall (two runs) in release mode on 2 cores (measured with `time`, 200 000 episodes in all,
//! the machine shared with other builds; `--quick`: about 1 s).
//!
//! Exit status: 0 ran, 1 training or an output file failed, 2 bad arguments.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use rlgrad::dra::{CurveSummary, DraConfig, MeanSe, Psi, TrainingLog, train_runs};
use rlgrad::env::MountainCar;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dra_plots.rs"]
mod dra_plots;
#[path = "common/dra_run.rs"]
mod dra_run;

use cli::{OutputFile, Stream};
use dra_plots::{Finals, Panel, Series, pm};
use dra_run::{Meter, Options, Quick};

const NAME: &str = "dra_mountain_car";

const USAGE: &str = "\
DRA on mountain car with each form of Psi (advantage, q_bar, return, policy_advantage):
learning curves of the objective, 5 runs each.

usage: dra_mountain_car [--out DIR] [--quick]

  --out DIR    where the outputs go (default target/dra_mountain_car; created if missing):
               mountain_car.csv, mountain_car.svg";

const FILES: [&str; 2] = ["mountain_car.csv", "mountain_car.svg"];
/// The plateau is the mean of the last this many evaluations.
const TAIL: usize = 10;

fn main() -> ExitCode {
    dra_run::main(NAME, USAGE, "target/dra_mountain_car", &FILES, run)
}

/// The smoke run's sizes.
const QUICK: Quick = Quick {
    n_trials: 200,
    eval_every: 20,
    eval_episodes: 5,
};

/// The published preset with `psi` (cut down under `--quick`).
fn config(opts: &Options, psi: Psi) -> DraConfig {
    DraConfig {
        psi,
        ..opts.sized(DraConfig::mountain_car_published(), &QUICK)
    }
}

fn run(
    opts: &Options,
    files: &[OutputFile],
    out: &mut Stream<impl Write>,
) -> Result<(), Box<dyn Error>> {
    let n_trials = config(opts, Psi::Advantage).n_trials;
    let runs = opts.seeds.len();
    let meter = Meter::new(NAME, Psi::ALL.len() * runs * n_trials);
    let task = MountainCar::new();
    let mut results: Vec<(Psi, Vec<TrainingLog>, CurveSummary)> = Vec::new();
    for psi in Psi::ALL {
        let logs = train_runs(&task, &config(opts, psi), &opts.seeds, |_, _| meter.tick())?;
        let summary = CurveSummary::of(&logs)?;
        results.push((psi, logs, summary));
    }

    // Files first.
    let rows: Vec<Vec<String>> = results
        .iter()
        .flat_map(|(psi, logs, _)| dra_plots::curve_rows(psi.name(), logs))
        .collect();
    dra_plots::write_csv(
        &files[0],
        &["psi", "run", "episode", "return", "cost", "objective"],
        &rows,
    )?;
    let panel = |y_desc: &str, column: fn(&CurveSummary) -> &[MeanSe]| Panel {
        y_desc: y_desc.to_string(),
        series: results
            .iter()
            .map(|(psi, _, s)| Series::of(format!("Ψ = {}", psi.name()), s, column(s)))
            .collect(),
        y_range: None,
    };
    let svg = dra_plots::curves_svg(
        &format!("Mountain car, DRA with each Ψ: mean ± s.e. over {runs} runs"),
        "episode",
        &[
            panel("objective (reward − λ·KL)", |s| &s.objective),
            panel("return (reward per episode, −1 per step)", |s| {
                &s.return_mean
            }),
            panel("cost λ·KL (reward units)", |s| &s.cost),
        ],
    )?;
    files[1].write(|w| w.write_all(svg.as_bytes()))?;

    // Then the table.
    writeln!(
        out,
        "Mountain car, DRA (published preset), {n_trials} episodes, {runs} runs per Psi; \
         mean ± s.e. over runs"
    );
    writeln!(
        out,
        "\n| Psi | objective (last eval) | return | cost | objective, mean of last {TAIL} evals |"
    );
    writeln!(out, "|---|---|---|---|---|");
    for (psi, logs, _) in &results {
        let f = Finals::of(logs)?;
        let plateau = MeanSe::of(
            &logs
                .iter()
                .filter_map(|l| l.plateau(TAIL))
                .collect::<Vec<_>>(),
        )?;
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            psi.name(),
            pm(f.objective, 2),
            pm(f.ret, 2),
            pm(f.cost, 2),
            pm(plateau, 2)
        );
    }
    Ok(())
}
