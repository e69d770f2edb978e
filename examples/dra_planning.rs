//! DRA in the planning task (after Huys et al. 2015; Patel, Acerbi & Pouget 2020, Fig. 4;
//! spec `dra.md` §6–7): flexible against equal precision when the time to plan is limited,
//! and the discriminability d′ of the memories against their impact on reward.
//!
//! Run: `cargo run --release --example dra_planning [-- --out DIR]` (default
//! `target/dra_planning`, created if missing); `--help` prints the usage. `--quick` is a
//! smoke run (500 trials, 2 runs; a few seconds) that checks the program works and
//! reproduces nothing: `cargo test` compiles the examples but does not run them, so
//! `cargo run --release --example dra_planning -- --quick --out /tmp/x` is its smoke test.
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
//! Time: 59–91 s wall (two runs) in release mode on 2 cores (measured with `time`, 4.75 million trials in
//! all, the machine shared with other builds; `--quick`: under 1 s). The d′ runs use the
//! preset's full 50 000 trials, as the budget runs do.
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
use dra_plots::{Finals, Panel, ScatterGroup, Series, pm};
use dra_run::{Meter, Options, Quick};

const NAME: &str = "dra_planning";

const USAGE: &str = "\
DRA in the planning task: flexible against equal precision for search budgets
B = 3, 6, ..., 24 (M = 3 moves, 5 runs each), and d' against impact for M = 3, 4, 5.

usage: dra_planning [--out DIR] [--quick]

  --out DIR    where the outputs go (default target/dra_planning; created if missing):
               planning.csv, dprime.csv, planning.svg, dprime.svg";

const FILES: [&str; 4] = ["planning.csv", "dprime.csv", "planning.svg", "dprime.svg"];
/// The budgets, in sampled transitions (24: the whole tree of M = 3).
const BUDGETS: [usize; 8] = [3, 6, 9, 12, 15, 18, 21, 24];
const WHOLE_TREE: f64 = 24.0;
const BUDGET_MOVES: usize = 3;
const DPRIME_MOVES: [usize; 3] = [3, 4, 5];
const ALLOCATIONS: [Allocation; 2] = [Allocation::Flexible, Allocation::Equal];
/// β of the d′ analysis (the preset's).
const BETA: f64 = 10.0;

/// The smoke run's sizes.
const QUICK: Quick = Quick {
    n_trials: 500,
    eval_every: 100,
    eval_episodes: 20,
};

/// The preset (cut down under `--quick`) with a budget and an allocation.
fn config(opts: &Options, search_budget: Option<usize>, allocation: Allocation) -> DraConfig {
    DraConfig {
        search_budget,
        allocation,
        ..opts.sized(DraConfig::planning(), &QUICK)
    }
}

fn main() -> ExitCode {
    dra_run::main(NAME, USAGE, "target/dra_planning", &FILES, run)
}

/// One budget's last evaluations: flexible, equal, and the objective's difference
/// (flexible − equal).
struct BudgetRow {
    budget: usize,
    flexible: Finals,
    equal: Finals,
    difference: MeanSe,
}

/// The d′ points of one run.
struct DprimeRun {
    moves: usize,
    run: usize,
    points: Vec<DprimePoint>,
}

fn run(
    opts: &Options,
    files: &[OutputFile],
    out: &mut Stream<impl Write>,
) -> Result<(), Box<dyn Error>> {
    let n_trials = config(opts, None, Allocation::Flexible).n_trials;
    let runs = opts.seeds.len();
    let configs = BUDGETS.len() * ALLOCATIONS.len() + DPRIME_MOVES.len();
    let meter = Meter::new(NAME, configs * runs * n_trials);

    let task = PlanningTask::new(BUDGET_MOVES)?;
    let mut budget_logs: Vec<(usize, Allocation, Vec<TrainingLog>)> = Vec::new();
    for budget in BUDGETS {
        for allocation in ALLOCATIONS {
            let config = config(opts, Some(budget), allocation);
            let logs = train_runs(&task, &config, &opts.seeds, |_, _| meter.tick())?;
            budget_logs.push((budget, allocation, logs));
        }
    }
    let mut dprime_runs = Vec::new();
    for moves in DPRIME_MOVES {
        let task = PlanningTask::new(moves)?;
        let config = config(opts, None, Allocation::Flexible);
        let logs = train_runs(&task, &config, &opts.seeds, |_, _| meter.tick())?;
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
    dra_plots::write_csv(
        &files[0],
        &["budget", "allocation", "run", "return", "cost", "objective"],
        &rows,
    )?;
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
        &[
            "moves", "run", "state", "level", "node", "reach", "impact", "dprime",
        ],
        &rows,
    )?;

    let table: Vec<BudgetRow> = BUDGETS
        .iter()
        .map(|&budget| {
            let pick = |a: Allocation| {
                budget_logs
                    .iter()
                    .find(|(bb, aa, _)| *bb == budget && *aa == a)
                    .map(|(_, _, logs)| Finals::of(logs))
                    .expect("every budget and allocation was trained")
            };
            let (flexible, equal) = (pick(Allocation::Flexible)?, pick(Allocation::Equal)?);
            let difference = MeanSe {
                mean: flexible.objective.mean - equal.objective.mean,
                se: flexible.objective.se.hypot(equal.objective.se),
            };
            Ok(BudgetRow {
                budget,
                flexible,
                equal,
                difference,
            })
        })
        .collect::<Result<_, rlgrad::Error>>()?;
    let fraction: Vec<f64> = BUDGETS.iter().map(|&b| b as f64 / WHOLE_TREE).collect();
    let series = |label: &str, f: fn(&BudgetRow) -> MeanSe| Series {
        label: label.to_string(),
        x: fraction.clone(),
        mean: table.iter().map(|r| f(r).mean).collect(),
        se: table.iter().map(|r| f(r).se).collect(),
    };
    let svg = dra_plots::curves_svg(
        &format!(
            "Planning task (M = {BUDGET_MOVES}), last evaluation after {} trials: mean ± s.e. over {runs} runs",
            n_trials
        ),
        "fraction of the tree that can be searched (B / 24)",
        &[
            Panel {
                y_desc: "objective, flexible − equal (reward)".into(),
                series: vec![series("flexible − equal", |r| r.difference)],
                y_range: None,
            },
            Panel {
                y_desc: "objective (reward − λ·KL)".into(),
                series: vec![
                    series("flexible (DRA)", |r| r.flexible.objective),
                    series("equal precision", |r| r.equal.objective),
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
            Ok((
                m,
                LinearFit::of(&x, &y)?,
                x.into_iter().zip(y).collect::<Vec<_>>(),
                per_run,
            ))
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
        &format!(
            "Planning task: discriminability against impact ({runs} runs per M, no time limit)"
        ),
        "impact ρ(s)·|ΔQ*(s)| (expected reward lost by the worse move)",
        "d′ = |ΔQ*| / √(σ²₀ + σ²₁) (dimensionless)",
        &groups,
    )?;
    files[3].write(|w| w.write_all(svg.as_bytes()))?;

    // Then the tables.
    writeln!(
        out,
        "Planning task, M = {BUDGET_MOVES}, {} trials, {runs} runs per cell; last evaluation (mean ± s.e. over runs)",
        n_trials
    );
    writeln!(
        out,
        "\n| B | B/24 | flexible objective | equal objective | flexible - equal | flexible return | equal return | flexible cost | equal cost |"
    );
    writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for r in &table {
        let (f, e) = (&r.flexible, &r.equal);
        writeln!(
            out,
            "| {} | {:.3} | {} | {} | {} | {} | {} | {} | {} |",
            r.budget,
            r.budget as f64 / WHOLE_TREE,
            pm(f.objective, 2),
            pm(e.objective, 2),
            pm(r.difference, 2),
            pm(f.ret, 2),
            pm(e.ret, 2),
            pm(f.cost, 2),
            pm(e.cost, 2)
        );
    }
    writeln!(
        out,
        "\nd' against impact, no time limit, flexible, {} trials, beta {BETA}: least squares pooled over \
         the {runs} runs of each M (and the mean ± s.e. of the per-run slopes)",
        n_trials
    );
    writeln!(
        out,
        "\n| M | points | slope ± s.e. | intercept | R² | per-run slope |"
    );
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
            pm(MeanSe::of(per_run)?, 4)
        );
    }
    Ok(())
}
