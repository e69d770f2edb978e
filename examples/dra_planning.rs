//! DRA in the planning task (after Huys et al. 2015; Patel, Acerbi & Pouget 2020, Fig. 4;
//! spec `dra.md` §6–7): flexible against equal precision when the time to plan is limited,
//! and the discriminability d′ of the memories against their impact on reward.
//!
//! Run: `cargo run --release --example dra_planning [-- --out DIR]` (default
//! `target/dra_planning`, created if missing); `--help` prints the usage. `--quick` is a
//! smoke run (500 trials, 2 runs; a few seconds) that checks the program works and
//! reproduces nothing.
//!
//! 1. Budgets: M = 3 moves, `DraConfig::planning()` (λ 1, σ_base 100, σ₀ 50, clip [1, 100],
//!    Ψ the search's return with a leave-one-out baseline, 50 000 trials, evaluated every
//!    1000 over 200 trials) with `search_budget = Some(B)` for B = 3, 6, …, 24 (24 = the
//!    whole tree), once with flexible (per-memory) and once with equal precision, 5 runs
//!    (seeds 1–5) each.
//! 2. d′: for M = 3, 4, 5 the task without a time limit (`search_budget = None`), flexible,
//!    the same preset (50 000 trials), 5 runs; then `dra::dprime::dprime_points` at the final
//!    q̄ and σ with β = 10, and a least-squares line of d′ on impact (`LinearFit`), pooled
//!    over the runs of each M.
//!
//! Outputs in DIR: `planning.csv` (`budget,allocation,run,return,cost,objective`, the last
//! evaluation of every run), `dprime.csv` (`moves,run,state,level,node,reach,impact,dprime`),
//! `planning.svg` (the objective of flexible − equal, mean ± s.e., against the searchable
//! fraction B/24 of the tree, and both objectives), `dprime.svg` (d′ against impact with the
//! fitted line per M). Every path is checked before training; files are written atomically,
//! before the table is printed on stdout. Progress goes to stderr.
//!
//! The difference's s.e. is √(s.e.²_flexible + s.e.²_equal) (independent runs).
//!
//! Time: about 3 minutes in release mode on 2 cores (`--quick`: about 1 s).
//!
//! Exit status: 0 ran, 1 training or an output file failed, 2 bad arguments.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use rlgrad::dra::dprime::{DprimePoint, LinearFit, dprime_points};
use rlgrad::dra::{Allocation, DraConfig, MeanSe, TrainingLog, train_runs};
use rlgrad::env::PlanningTask;

#[path = "common/cli.rs"]
mod cli;
#[path = "common/dra_plots.rs"]
mod dra_plots;
#[path = "common/dra_run.rs"]
mod dra_run;

use cli::{OutputFile, Stream};
use dra_plots::{Panel, ScatterGroup, Series, pm};
use dra_run::{Meter, Options};

const NAME: &str = "dra_planning";

const USAGE: &str = "\
DRA in the planning task: flexible against equal precision for search budgets
B = 3, 6, ..., 24 (M = 3 moves, 5 runs each), and d' against impact for M = 3, 4, 5.

usage: dra_planning [--out DIR] [--quick]

  --out DIR    where the outputs go (default target/dra_planning; created if missing):
               planning.csv, dprime.csv, planning.svg, dprime.svg
  --quick      a smoke run (500 trials, 2 runs): checks the program, reproduces nothing
  -h, --help   print this help

Exit status: 0 ran, 1 training or an output file failed, 2 bad arguments.";

const FILES: [&str; 4] = ["planning.csv", "dprime.csv", "planning.svg", "dprime.svg"];
/// The budgets, in sampled transitions (24: the whole tree of M = 3).
const BUDGETS: [usize; 8] = [3, 6, 9, 12, 15, 18, 21, 24];
const WHOLE_TREE: f64 = 24.0;
const BUDGET_MOVES: usize = 3;
const DPRIME_MOVES: [usize; 3] = [3, 4, 5];
const ALLOCATIONS: [Allocation; 2] = [Allocation::Flexible, Allocation::Equal];
/// β of the d′ analysis (the preset's).
const BETA: f64 = 10.0;

/// The sizes of a run: the reproduction, or `--quick`.
struct Plan {
    seeds: Vec<u64>,
    n_trials: usize,
    eval_every: usize,
    eval_episodes: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        let preset = DraConfig::planning();
        if quick {
            Plan {
                seeds: vec![1, 2],
                n_trials: 500,
                eval_every: 100,
                eval_episodes: 20,
            }
        } else {
            Plan {
                seeds: (1..=5).collect(),
                n_trials: preset.n_trials,
                eval_every: preset.eval_every,
                eval_episodes: preset.eval_episodes,
            }
        }
    }

    fn config(&self, budget: Option<usize>, allocation: Allocation) -> DraConfig {
        let mut config = DraConfig::planning();
        config.search_budget = budget;
        config.allocation = allocation;
        config.n_trials = self.n_trials;
        config.eval_every = self.eval_every;
        config.eval_episodes = self.eval_episodes;
        config
    }
}

fn main() -> ExitCode {
    dra_run::main(NAME, USAGE, "target/dra_planning", &FILES, run)
}

/// The d′ points of one run.
struct DprimeRun {
    moves: usize,
    run: usize,
    points: Vec<DprimePoint>,
}

fn run(opts: &Options, files: &[OutputFile], out: &mut Stream<impl Write>) -> Result<(), Box<dyn Error>> {
    let plan = Plan::new(opts.quick);
    let runs = plan.seeds.len();
    let configs = BUDGETS.len() * ALLOCATIONS.len() + DPRIME_MOVES.len();
    let meter = Meter::new(NAME, configs * runs * plan.n_trials);

    let task = PlanningTask::new(BUDGET_MOVES)?;
    let mut budget_logs: Vec<(usize, Allocation, Vec<TrainingLog>)> = Vec::new();
    for budget in BUDGETS {
        for allocation in ALLOCATIONS {
            let config = plan.config(Some(budget), allocation);
            let logs = train_runs(&task, &config, &plan.seeds, |_, _| meter.tick())?;
            budget_logs.push((budget, allocation, logs));
        }
    }
    let mut dprime_runs = Vec::new();
    for moves in DPRIME_MOVES {
        let task = PlanningTask::new(moves)?;
        let config = plan.config(None, Allocation::Flexible);
        let logs = train_runs(&task, &config, &plan.seeds, |_, _| meter.tick())?;
        for (k, log) in logs.iter().enumerate() {
            dprime_runs.push(DprimeRun {
                moves,
                run: k + 1,
                points: dprime_points(&task, &log.q_bar, BETA, &log.sigma)?,
            });
        }
    }

    // Files first.
    let rows: Vec<Vec<String>> = budget_logs
        .iter()
        .flat_map(|(budget, allocation, logs)| {
            logs.iter().enumerate().filter_map(move |(k, log)| {
                let p = log.last()?;
                Some(vec![
                    budget.to_string(),
                    allocation.name().to_string(),
                    (k + 1).to_string(),
                    p.return_mean.to_string(),
                    p.cost.to_string(),
                    p.objective.to_string(),
                ])
            })
        })
        .collect();
    dra_plots::write_csv(&files[0], &["budget", "allocation", "run", "return", "cost", "objective"], &rows)?;
    let rows: Vec<Vec<String>> = dprime_runs
        .iter()
        .flat_map(|r| {
            r.points.iter().map(move |p| {
                vec![
                    r.moves.to_string(),
                    r.run.to_string(),
                    p.state.to_string(),
                    p.level.to_string(),
                    p.node.to_string(),
                    p.reach.to_string(),
                    p.impact.to_string(),
                    p.dprime.to_string(),
                ]
            })
        })
        .collect();
    dra_plots::write_csv(
        &files[1],
        &["moves", "run", "state", "level", "node", "reach", "impact", "dprime"],
        &rows,
    )?;

    // Final objectives per budget: (budget, flexible, equal, difference).
    let table: Vec<(usize, [(MeanSe, MeanSe, MeanSe); 2], MeanSe)> = BUDGETS
        .iter()
        .map(|&b| {
            let pick = |a: Allocation| {
                budget_logs
                    .iter()
                    .find(|(bb, aa, _)| *bb == b && *aa == a)
                    .map(|(_, _, logs)| dra_plots::finals(logs))
                    .expect("every budget and allocation was trained")
            };
            let (flex, equal) = (pick(Allocation::Flexible), pick(Allocation::Equal));
            let diff = MeanSe {
                mean: flex.2.mean - equal.2.mean,
                se: flex.2.se.hypot(equal.2.se),
            };
            (b, [flex, equal], diff)
        })
        .collect();
    let fraction: Vec<f64> = BUDGETS.iter().map(|&b| b as f64 / WHOLE_TREE).collect();
    let series = |label: &str, f: &dyn Fn(&(usize, [(MeanSe, MeanSe, MeanSe); 2], MeanSe)) -> MeanSe| Series {
        label: label.to_string(),
        x: fraction.clone(),
        mean: table.iter().map(|r| f(r).mean).collect(),
        se: table.iter().map(|r| f(r).se).collect(),
    };
    let svg = dra_plots::curves_svg(
        &format!(
            "Planning task (M = {BUDGET_MOVES}), last evaluation after {} trials: mean ± s.e. over {runs} runs",
            plan.n_trials
        ),
        "fraction of the tree that can be searched (B / 24)",
        &[
            Panel {
                y_desc: "objective, flexible − equal (reward)".into(),
                series: vec![series("flexible − equal", &|r| r.2)],
                y_range: None,
            },
            Panel {
                y_desc: "objective (reward − λ·KL)".into(),
                series: vec![
                    series("flexible (DRA)", &|r| r.1[0].2),
                    series("equal precision", &|r| r.1[1].2),
                ],
                y_range: None,
            },
        ],
    )?;
    files[2].write(|w| w.write_all(svg.as_bytes()))?;
    let fits = DPRIME_MOVES
        .iter()
        .map(|&m| {
            let pts: Vec<&DprimePoint> = dprime_runs
                .iter()
                .filter(|r| r.moves == m)
                .flat_map(|r| &r.points)
                .collect();
            let x: Vec<f64> = pts.iter().map(|p| p.impact).collect();
            let y: Vec<f64> = pts.iter().map(|p| p.dprime).collect();
            let per_run: Vec<f64> = dprime_runs
                .iter()
                .filter(|r| r.moves == m)
                .filter_map(|r| {
                    let x: Vec<f64> = r.points.iter().map(|p| p.impact).collect();
                    let y: Vec<f64> = r.points.iter().map(|p| p.dprime).collect();
                    LinearFit::of(&x, &y).ok().map(|f| f.slope)
                })
                .collect();
            Ok((m, LinearFit::of(&x, &y)?, x.into_iter().zip(y).collect::<Vec<_>>(), per_run))
        })
        .collect::<Result<Vec<_>, rlgrad::Error>>()?;
    let groups: Vec<ScatterGroup> = fits
        .iter()
        .map(|(m, fit, points, _)| ScatterGroup {
            label: format!("M = {m}: slope {:.3} ± {:.3}", fit.slope, fit.slope_se),
            points: points.clone(),
            line: Some((fit.intercept, fit.slope)),
        })
        .collect();
    let svg = dra_plots::scatter_svg(
        &format!("Planning task: discriminability against impact ({runs} runs per M, no time limit)"),
        "impact ρ(s)·|ΔQ*(s)| (expected reward lost by the worse move)",
        "d′ = |ΔQ*| / √(σ²₀ + σ²₁) (dimensionless)",
        &groups,
    )?;
    files[3].write(|w| w.write_all(svg.as_bytes()))?;

    // Then the tables.
    writeln!(
        out,
        "Planning task, M = {BUDGET_MOVES}, {} trials, {runs} runs per cell; last evaluation (mean ± s.e. over runs)",
        plan.n_trials
    );
    writeln!(
        out,
        "\n| B | B/24 | flexible objective | equal objective | flexible - equal | flexible return | equal return | flexible cost | equal cost |"
    );
    writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for (b, [f, e], d) in &table {
        writeln!(
            out,
            "| {b} | {:.3} | {} | {} | {} | {} | {} | {} | {} |",
            *b as f64 / WHOLE_TREE,
            pm(f.2, 2),
            pm(e.2, 2),
            pm(*d, 2),
            pm(f.0, 2),
            pm(e.0, 2),
            pm(f.1, 2),
            pm(e.1, 2)
        );
    }
    writeln!(
        out,
        "\nd' against impact, no time limit, flexible, {} trials, beta {BETA}: least squares pooled over \
         the {runs} runs of each M (and the mean ± s.e. of the per-run slopes)",
        plan.n_trials
    );
    writeln!(out, "\n| M | points | slope ± s.e. | intercept | R² | per-run slope |");
    writeln!(out, "|---|---|---|---|---|---|");
    for (m, fit, points, per_run) in &fits {
        writeln!(
            out,
            "| {m} | {} | {:.4} ± {:.4} | {:.3} | {:.3} | {} |",
            points.len(),
            fit.slope,
            fit.slope_se,
            fit.intercept,
            fit.r2,
            pm(MeanSe::of(per_run), 4)
        );
    }
    writeln!(out, "\nwritten to {}: {}", opts.out.display(), FILES.join(", "));
    Ok(())
}
